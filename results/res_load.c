/* res_load: summary.csv and rounds.csv back into mdl_result values. */
#include "res_load.h"

#include <stdlib.h>
#include <string.h>

#include "res_csv_read.h"
#include "sim_err.h"
#include "sim_vec.h"

static double res__num(const char *const *h, const char *const *c, size_t n, const char *col) {
  int i = res_csv_col(h, n, col);
  if (i < 0 || !c[i][0]) return -1;
  return strtod(c[i], NULL);
}

static uint64_t res__u64(const char *const *h, const char *const *c, size_t n, const char *col) {
  int i = res_csv_col(h, n, col);
  if (i < 0 || !c[i][0]) return 0;
  return strtoull(c[i], NULL, 10);
}

static void res__str(const char *const *h, const char *const *c, size_t n, const char *col, char *dst,
                     size_t len) {
  int i = res_csv_col(h, n, col);
  snprintf(dst, len, "%s", i < 0 ? "" : c[i]);
}

static int res__summary_row(void *ctx, const char *const *h, const char *const *c, size_t n) {
  res_run_set *set = ctx;
  res_loaded *g = sim_grow(set->runs, &set->cap, set->count + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory loading results");
  set->runs = g;
  res_loaded *L = &set->runs[set->count++];
  memset(L, 0, sizeof *L);
  char source[16];
  res__str(h, c, n, "source", source, sizeof source);
  mdl_result_init(&L->result, source);
  res__str(h, c, n, "run_id", L->run_id, sizeof L->run_id);
  res__str(h, c, n, "name", L->name, sizeof L->name);
  mdl_result *r = &L->result;
  char status[32];
  res__str(h, c, n, "status", status, sizeof status);
  r->status = !strcmp(status, "completed")       ? MDL_STATUS_COMPLETED
              : !strcmp(status, "not_converged") ? MDL_STATUS_NOT_CONVERGED
                                                 : MDL_STATUS_FAILED;
  r->total_time_ms = res__num(h, c, n, "total_time_ms");
  r->downtime_ms = res__num(h, c, n, "downtime_ms");
  r->setup_time_ms = res__num(h, c, n, "setup_time_ms");
  r->expected_downtime_ms = res__num(h, c, n, "expected_downtime_ms");
  r->guest_stall_ms = res__num(h, c, n, "guest_stall_ms");
  r->delayed_share = res__num(h, c, n, "delayed_share");
  r->delay_p50_ms = res__num(h, c, n, "delay_p50_ms");
  r->delay_p99_ms = res__num(h, c, n, "delay_p99_ms");
  r->switch_time_ms = res__num(h, c, n, "switch_time_ms");
  r->transferred_bytes = res__u64(h, c, n, "transferred_bytes");
  r->precopy_bytes = res__u64(h, c, n, "precopy_bytes");
  r->postcopy_bytes = res__u64(h, c, n, "postcopy_bytes");
  r->normal_pages = res__u64(h, c, n, "normal_pages");
  r->zero_pages = res__u64(h, c, n, "zero_pages");
  r->dirty_sync_count = res__u64(h, c, n, "dirty_sync_count");
  r->postcopy_requests = res__u64(h, c, n, "postcopy_requests");
  r->replay_lag_ms = res__num(h, c, n, "replay_lag_ms");
  r->replay_on_time = res__num(h, c, n, "replay_on_time");
  res__str(h, c, n, "integrity", r->integrity, sizeof r->integrity);
  res__str(h, c, n, "accel", r->accel, sizeof r->accel);
  res__str(h, c, n, "qemu_version", r->qemu_version, sizeof r->qemu_version);
  res__str(h, c, n, "failure", r->failure, sizeof r->failure);
  return 0;
}

static int res__round_row(void *ctx, const char *const *h, const char *const *c, size_t n) {
  res_run_set *set = ctx;
  char run_id[256];
  res__str(h, c, n, "run_id", run_id, sizeof run_id);
  /* Rounds precede their summary row in the files; attach by run id to the
   * last run with that id (a rerun id replaces an older one). */
  for (size_t i = set->count; i-- > 0;) {
    if (strcmp(set->runs[i].run_id, run_id) != 0) continue;
    mdl_round d = {0};
    d.round = (uint32_t)res__u64(h, c, n, "round");
    d.start_ms = res__num(h, c, n, "start_ms");
    d.end_ms = res__num(h, c, n, "end_ms");
    d.pages_sent = res__u64(h, c, n, "pages_sent");
    d.bytes_sent = res__u64(h, c, n, "bytes_sent");
    d.dirty_pages_at_sync = res__u64(h, c, n, "dirty_pages_at_sync");
    d.bandwidth_est = res__num(h, c, n, "bandwidth_est");
    /* A round number that restarts means an earlier attempt's rows: keep
     * only the last complete sequence. */
    if (d.round == 1) set->runs[i].result.round_count = 0;
    return mdl_result_add_round(&set->runs[i].result, &d);
  }
  return 0;
}

int res_runs_load(const char *dir, res_run_set *set) {
  memset(set, 0, sizeof *set);
  char path[1024];
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  int rc = res_csv_each(path, 1, res__summary_row, set);
  if (rc < 0) return rc;
  snprintf(path, sizeof path, "%s/rounds.csv", dir);
  rc = res_csv_each(path, 1, res__round_row, set);
  return rc < 0 ? rc : 0;
}

void res_runs_free(res_run_set *set) {
  for (size_t i = 0; i < set->count; i++) mdl_result_free(&set->runs[i].result);
  free(set->runs);
  memset(set, 0, sizeof *set);
}

size_t res_runs_of(const res_run_set *set, const char *name, const res_loaded **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < set->count && n < max; i++)
    if (!strcmp(set->runs[i].name, name)) out[n++] = &set->runs[i];
  return n;
}
