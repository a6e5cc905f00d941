/* kvr_dirtyrate: QEMU's own dirty-rate measurement (calc-dirty-rate +
 * query-dirty-rate) on the replay guest while it plays its workload, so a
 * workload's dirty curve can be checked against what QEMU reports for it
 * (docs/kvmreplay.md, "calc-dirty-rate").
 *
 * QEMU runs one measurement at a time in a thread of its own; the answer to
 * calc-dirty-rate comes at once, the result when query-dirty-rate says
 * "measured" with a start-time other than the previous result's. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "kvr_internal.h"
#include "sim_err.h"
#include "wl_curve_import.h"

#define KVR_DR_NS_PER_MS 1000000ull
#define KVR_DR_NS_PER_S 1000000000ull
#define KVR_DR_QMP_TIMEOUT_NS (30 * KVR_DR_NS_PER_S)
#define KVR_DR_POLL_NS (100 * KVR_DR_NS_PER_MS)

/* Sleeps ns while keeping the guest's console drained. */
static void kvr_dr_sleep(kvr_console *con, uint64_t ns) {
  uint64_t deadline = kvr__now_ns() + ns;
  for (;;) {
    uint64_t now = kvr__now_ns();
    if (now >= deadline || kvr__guard_signal()) return;
    uint64_t left = deadline - now;
    struct timespec ts = {(time_t)(left / KVR_DR_NS_PER_S), (long)(left % KVR_DR_NS_PER_S)};
    struct pollfd pfd = {con ? kvr__console_fd(con) : -1, POLLIN, 0};
    if (ppoll(&pfd, 1, &ts, NULL) > 0 && con) (void)kvr__console_drain(con);
  }
}

static int kvr_dr_query(kvr_qmp *q, json_t **ret) {
  return kvr__qmp_exec(q, "query-dirty-rate", NULL, KVR_DR_QMP_TIMEOUT_NS, ret);
}

/* start-time of the result QEMU holds, or -1 when there is none. */
static json_int_t kvr_dr_start_time(json_t *ret) {
  json_t *st = json_object_get(ret, "start-time");
  return json_is_integer(st) ? json_integer_value(st) : -1;
}

int kvr__dirtyrate_measure(kvr_qmp *q, kvr_console *con, kvr_dirtyrate_plan *plan, uint64_t go_ns,
                           FILE *log) {
  plan->done = 0;
  const char *mode = plan->mode ? plan->mode : "page-sampling";
  if (strcmp(mode, "page-sampling") && strcmp(mode, "dirty-bitmap"))
    return sim_errorf(SIM_EINVAL, "calc-dirty-rate mode '%s' (expected page-sampling or dirty-bitmap)",
                      mode);
  json_t *ret = NULL;
  int rc;
  if (strcmp(mode, "dirty-bitmap") == 0) {
    /* QEMU 7.2 asks KVM whether its dirty ring is on before it accepts
     * dirty-bitmap mode, and without KVM that dereferences a null pointer:
     * the QEMU dies (SIGSEGV in kvm_dirty_ring_enabled). Without KVM the
     * mode would count nothing anyway: the counter it reads grows only when
     * KVM's (or VFIO's) dirty log is merged in, not on TCG's stores. */
    if ((rc = kvr__qmp_exec(q, "query-kvm", NULL, KVR_DR_QMP_TIMEOUT_NS, &ret))) return rc;
    int kvm = json_is_true(json_object_get(ret, "enabled"));
    json_decref(ret);
    if (!kvm)
      return sim_errorf(SIM_EUNSUPPORTED,
                        "calc-dirty-rate mode dirty-bitmap needs KVM (QEMU 7.2 crashes on it "
                        "under TCG); use page-sampling");
  }
  rc = kvr_dr_query(q, &ret);
  if (rc) return rc;
  json_int_t last_start = kvr_dr_start_time(ret);
  json_decref(ret);
  for (size_t i = 0; i < plan->count; i++) {
    uint32_t period = plan->periods_s[i];
    if (period < 1 || period > 60)
      return sim_errorf(SIM_ERANGE, "calc-dirty-rate period %us is outside QEMU's 1..60 s", period);
    json_t *args = json_pack("{s:I, s:s}", "calc-time", (json_int_t)period, "mode", mode);
    if (!args) return sim_errorf(SIM_ENOMEM, "out of memory");
    if (plan->sample_pages && !strcmp(mode, "page-sampling"))
      json_object_set_new(args, "sample-pages", json_integer((json_int_t)plan->sample_pages));
    uint64_t issued = kvr__now_ns();
    rc = kvr__qmp_exec(q, "calc-dirty-rate", args, KVR_DR_QMP_TIMEOUT_NS, NULL);
    json_decref(args);
    if (rc) return rc;
    uint64_t deadline = issued + period * KVR_DR_NS_PER_S + KVR_DR_QMP_TIMEOUT_NS;
    for (;;) {
      kvr_dr_sleep(con, KVR_DR_POLL_NS);
      if (kvr__guard_signal())
        return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
      if ((rc = kvr_dr_query(q, &ret))) return rc;
      json_t *status = json_object_get(ret, "status");
      json_int_t start = kvr_dr_start_time(ret);
      if (json_is_string(status) && !strcmp(json_string_value(status), "measured") &&
          start != last_start) {
        wl_dirty_result r;
        rc = wl_dirty_result_parse(ret, 4096, &r);
        json_decref(ret);
        if (rc) return rc;
        kvr_dirty_measure *m = &plan->out[i];
        memset(m, 0, sizeof *m);
        m->period_s = period;
        snprintf(m->mode, sizeof m->mode, "%s", r.mode);
        m->sample_pages = r.sample_pages;
        m->start_ms = (double)(issued - go_ns) / 1e6;
        m->dirty_rate_mib_s = r.dirty_rate_mib_s;
        m->dirty_pages = r.dirty_pages;
        plan->done = i + 1;
        last_start = start;
        if (log)
          fprintf(log, "kvr: calc-dirty-rate %us (%s) at %.1f s: %.0f MiB/s = %.0f pages\n", period,
                  m->mode, m->start_ms / 1e3, m->dirty_rate_mib_s, m->dirty_pages);
        break;
      }
      json_decref(ret);
      if (kvr__now_ns() > deadline)
        return sim_errorf(SIM_ETIMEOUT, "calc-dirty-rate of %us did not finish", period);
    }
  }
  return 0;
}
