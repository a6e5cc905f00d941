/* test_features: the QEMU features (models/mdl_feature.c) and their rules
 * in the simulator (models/mdl_drv_qemu.c), without QEMU.
 *
 * auto-converge (docs/features.md): a guest that dirties 12,000 random
 * pages/s of a 64 MiB working set (~47 MiB/s) cannot converge at a 32 MiB/s
 * rate limit; QEMU 7.2 throttles it at the end of every second dirty-rate
 * period (a period is the time between syncs at least 1 s apart) in which
 * it dirtied more than throttle-trigger-threshold % of what was sent, and a
 * throttled guest runs only 1 - pct/100 of the time. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mdl_feature.h"
#include "mdl_sim.h"
#include "sim_err.h"
#include "test_util.h"

static void set(mdl_scenario *s, const char *key, const char *value) {
  if (mdl_scenario_set(s, key, value)) fail_msg("%s=%s: %s", key, value, sim_error_message());
}

static void hot_guest(mdl_scenario *s) {
  mdl_scenario_defaults(s);
  set(s, "workload", "uniform:wss=16384,rate=12000,nonzero=1");
  set(s, "memory", "64MiB");
  set(s, "max-bandwidth", "32MiB/s");
  set(s, "timeout", "30s");
}

static void sim(const mdl_scenario *s, mdl_result *r) {
  mdl_result_init(r, "sim");
  if (mdl_simulate(s, r)) fail_msg("simulate: %s", sim_error_message());
}

/* Off, the hot guest never converges; on, it does, with the throttle QEMU
 * reaches and the guest's loss reported. */
static void test_auto_converge_converges(void **state) {
  (void)state;
  mdl_scenario s;
  hot_guest(&s);
  mdl_result off, on;
  sim(&s, &off);
  assert_int_equal(off.status, MDL_STATUS_NOT_CONVERGED);
  assert_int_equal(off.cpu_throttle_pct, 0);
  assert_true(off.guest_throttle_ms == 0);
  set(&s, "auto-converge", "yes");
  sim(&s, &on);
  assert_int_equal(on.status, MDL_STATUS_COMPLETED);
  assert_true(on.cpu_throttle_pct >= 20 && on.cpu_throttle_pct < 99);
  assert_true(on.guest_throttle_ms > 100);
  mdl_result_free(&off);
  mdl_result_free(&on);
}

/* The throttle per round: 0, then cpu-throttle-initial, then steps of
 * cpu-throttle-increment capped at max-cpu-throttle, never down; it first
 * appears at the end of the *second* high period, i.e. not before 2 s. */
static void test_auto_converge_steps(void **state) {
  (void)state;
  mdl_scenario s;
  hot_guest(&s);
  set(&s, "auto-converge", "yes");
  set(&s, "cpu-throttle-initial", "15");
  set(&s, "cpu-throttle-increment", "7");
  set(&s, "max-cpu-throttle", "25");
  set(&s, "timeout", "20s");
  mdl_result r;
  sim(&s, &r);
  uint32_t prev = 0;
  int first = -1, capped = 0;
  double last_step = 0;
  for (size_t i = 0; i < r.round_count; i++) {
    uint32_t t = r.rounds[i].throttle_pct;
    if (t != prev) {
      if (prev == 0) assert_int_equal(t, 15);
      else assert_int_equal(t, prev + 7 > 25 ? 25 : prev + 7);
      if (first < 0) first = (int)i;
      /* Two periods of more than 1 s each between steps: the counter
       * starts over after each step. */
      assert_true(r.rounds[i].start_ms - last_step > 2000);
      last_step = r.rounds[i].start_ms;
    }
    capped |= t == 25;
    prev = t;
  }
  assert_true(first > 0);
  assert_true(r.rounds[first].start_ms >= 2000);
  assert_true(capped); /* 15, 22, 25 */
  assert_int_equal(r.cpu_throttle_pct, 25);
  mdl_result_free(&r);
}

/* The guest's loss is the throttle integrated over time: each round runs
 * at the throttle set at its sync, until the guest stops. */
static void test_auto_converge_guest_loss(void **state) {
  (void)state;
  mdl_scenario s;
  hot_guest(&s);
  set(&s, "auto-converge", "yes");
  mdl_result r;
  sim(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  double stop = r.total_time_ms - r.downtime_ms, expect = 0;
  for (size_t i = 0; i < r.round_count; i++) {
    double end = r.rounds[i].end_ms < stop ? r.rounds[i].end_ms : stop;
    if (end > r.rounds[i].start_ms) expect += (end - r.rounds[i].start_ms) * r.rounds[i].throttle_pct / 100.0;
  }
  print_message("guest lost %.1f ms to the throttle, rounds say %.1f ms\n", r.guest_throttle_ms, expect);
  assert_true(fabs(r.guest_throttle_ms - expect) < 5);
  /* A throttled guest dirties less: fewer dirty pages at the last syncs
   * than without the throttle at the same time. */
  mdl_result_free(&r);
}

/* The trigger threshold decides whether a period counts. */
static void test_auto_converge_threshold(void **state) {
  (void)state;
  mdl_scenario s;
  hot_guest(&s);
  set(&s, "auto-converge", "yes");
  mdl_result lo, hi;
  sim(&s, &lo);
  set(&s, "throttle-trigger-threshold", "100");
  sim(&s, &hi);
  /* The guest writes ~47 MiB/s, but only pages not already dirty count:
   * with the 64 MiB working set largely dirty, a period dirties more than
   * 50 % of what it sends at once, more than 100 % only now and then (the
   * first step comes after ~19 s instead of ~3 s). */
  double t_lo = -1, t_hi = -1;
  for (size_t i = 0; i < lo.round_count && t_lo < 0; i++) if (lo.rounds[i].throttle_pct) t_lo = lo.rounds[i].start_ms;
  for (size_t i = 0; i < hi.round_count && t_hi < 0; i++) if (hi.rounds[i].throttle_pct) t_hi = hi.rounds[i].start_ms;
  assert_true(t_lo > 0);
  assert_true(t_hi < 0 || t_hi > t_lo + 10000);
  assert_int_equal(hi.status, MDL_STATUS_NOT_CONVERGED);
  mdl_result_free(&lo);
  mdl_result_free(&hi);
}

/* A hybrid leaves the throttle behind at the switch: the guest's loss
 * stops growing when it runs on the destination. */
static void test_auto_converge_hybrid(void **state) {
  (void)state;
  mdl_scenario s;
  hot_guest(&s);
  set(&s, "algo", "hybrid+auto-converge+postcopy-preempt"); /* the guest runs in post-copy */
  set(&s, "switch-policy", "time");
  set(&s, "switch-time", "8.2s");
  mdl_result r;
  sim(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_true(r.switch_time_ms >= 8200);
  assert_true(r.cpu_throttle_pct >= 30);
  assert_true(r.total_time_ms - r.switch_time_ms > 5); /* a post-copy phase to measure */
  double expect = 0;
  for (size_t i = 0; i < r.round_count; i++) {
    double end = r.rounds[i].end_ms < r.switch_time_ms ? r.rounds[i].end_ms : r.switch_time_ms;
    if (end > r.rounds[i].start_ms) expect += (end - r.rounds[i].start_ms) * r.rounds[i].throttle_pct / 100.0;
  }
  print_message("hybrid: guest lost %.2f ms, %.2f ms before the switch\n", r.guest_throttle_ms, expect);
  assert_true(fabs(r.guest_throttle_ms - expect) < 1);
  mdl_result_free(&r);
}

/* tailslow: near the trigger the step is only what brings the dirty rate
 * down to the threshold (here 15 points instead of 40); without it, the
 * full increment. */
static void test_auto_converge_tailslow(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "workload", "uniform:wss=32768,rate=7000,nonzero=1");
  set(&s, "memory", "128MiB");
  set(&s, "max-bandwidth", "32MiB/s");
  set(&s, "auto-converge", "yes");
  set(&s, "cpu-throttle-increment", "40");
  uint32_t second[2] = {0, 0};
  for (int ts = 0; ts < 2; ts++) {
    set(&s, "cpu-throttle-tailslow", ts ? "yes" : "no");
    mdl_result r;
    sim(&s, &r);
    assert_int_equal(r.status, MDL_STATUS_COMPLETED);
    for (size_t i = 0; i < r.round_count; i++)
      if (r.rounds[i].throttle_pct > 20) {
        second[ts] = r.rounds[i].throttle_pct;
        break;
      }
    mdl_result_free(&r);
  }
  assert_int_equal(second[0], 60);
  assert_true(second[1] > 20 && second[1] < 60);
}

/* xbzrle (docs/features.md) on the hot guest whose writes change 64 bytes
 * of a page: it converges at 32 MiB/s, where plain pre-copy does not. */
static void xbz_guest(mdl_scenario *s, const char *write_bytes) {
  hot_guest(s);
  char w[160];
  snprintf(w, sizeof w, "uniform:wss=16384,rate=12000,nonzero=1,write_bytes=%s", write_bytes);
  set(s, "workload", w);
  set(s, "xbzrle", "yes");
}

static void test_xbzrle_converges(void **state) {
  (void)state;
  mdl_scenario s;
  xbz_guest(&s, "64");
  mdl_result on, off;
  sim(&s, &on);
  assert_int_equal(on.status, MDL_STATUS_COMPLETED);
  set(&s, "xbzrle", "no");
  sim(&s, &off);
  assert_int_equal(off.status, MDL_STATUS_NOT_CONVERGED);
  assert_int_equal(off.xbzrle_pages + off.xbzrle_cache_miss, 0);
  /* Every encoded page costs 3 bytes of framing, 1 + 1 bytes of run
   * lengths and the 64 changed bytes; pages unchanged since they were
   * cached (written only before their last send) cost nothing, and there
   * are some. */
  assert_true(on.xbzrle_bytes > 0);
  assert_int_equal(on.xbzrle_bytes % (3 + 2 + 64), 0);
  uint64_t encoded = on.xbzrle_bytes / (3 + 2 + 64);
  assert_true(encoded < on.xbzrle_pages);
  assert_true(encoded > on.xbzrle_pages / 4);
  assert_int_equal(on.xbzrle_overflow, 0);
  assert_true(on.xbzrle_cache_miss > 0);
  mdl_result_free(&on);
  mdl_result_free(&off);
}

/* A write that changes the whole page cannot be encoded in less than a
 * page: every changed hit overflows and counts the page size. */
static void test_xbzrle_overflow(void **state) {
  (void)state;
  mdl_scenario s;
  xbz_guest(&s, "4096");
  set(&s, "timeout", "10s");
  mdl_result r;
  sim(&s, &r);
  assert_true(r.xbzrle_overflow > 0);
  assert_int_equal(r.xbzrle_bytes, 4096 * r.xbzrle_overflow);
  assert_true(r.xbzrle_pages > r.xbzrle_overflow); /* and unchanged pages */
  mdl_result_free(&r);
}

/* The first pass sends everything in full and caches nothing: a guest that
 * completes within it (idle) never touches the cache. */
static void test_xbzrle_first_pass(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "workload", "idle:nonzero=1,write_bytes=64");
  set(&s, "memory", "64MiB");
  set(&s, "xbzrle", "yes");
  mdl_result r;
  sim(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.xbzrle_pages + r.xbzrle_cache_miss + r.xbzrle_bytes, 0);
  mdl_result_free(&r);
}

/* A cache of 256 pages holds a fraction of the 16,384-page working set:
 * more misses, fewer hits than QEMU's default 64 MiB; sizes that are not
 * a power-of-two number of pages are refused as QEMU refuses them. */
static void test_xbzrle_cache_size(void **state) {
  (void)state;
  mdl_scenario s;
  xbz_guest(&s, "64");
  set(&s, "timeout", "10s");
  mdl_result big, small;
  sim(&s, &big);
  set(&s, "xbzrle-cache-size", "1MiB");
  sim(&s, &small);
  assert_true(small.xbzrle_cache_miss > big.xbzrle_cache_miss);
  assert_true(small.xbzrle_pages < big.xbzrle_pages / 4);
  mdl_result_free(&big);
  mdl_result_free(&small);
  set(&s, "xbzrle-cache-size", "3MiB");
  mdl_result r;
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate(&s, &r), SIM_ERANGE);
  assert_non_null(strstr(sim_error_message(), "power-of-two"));
  mdl_result_free(&r);
}

/* postcopy-preempt (docs/features.md): requested pages skip the main
 * stream's backlog, so a fault costs the page's placement and the vCPU's
 * wake (fault_resume_ns) instead of tens of milliseconds behind the queue. */
static void preempt_guest(mdl_scenario *s) {
  mdl_scenario_defaults(s);
  set(s, "workload", "uniform:wss=32768,rate=20000,nonzero=0.5");
  set(s, "memory", "512MiB");
  set(s, "algo", "postcopy");
  set(s, "max-bandwidth", "64MiB/s");
  set(s, "link", "1Gbit/s");
}

static void test_preempt_skips_backlog(void **state) {
  (void)state;
  mdl_scenario s;
  preempt_guest(&s);
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  p.rp_delayed_ack_ns = 0; /* the wake alone (the held requests: test_mechanisms) */
  mdl_result off, on;
  mdl_result_init(&off, "sim");
  mdl_result_init(&on, "sim");
  assert_int_equal(mdl_simulate_with(&s, &p, &off), 0);
  set(&s, "postcopy-preempt", "yes");
  assert_int_equal(mdl_simulate_with(&s, &p, &on), 0);
  double mean_off = off.guest_stall_ms / (double)off.postcopy_requests;
  double mean_on = on.guest_stall_ms / (double)on.postcopy_requests;
  print_message("mean fault: %.3f ms without preempt (%llu requests), %.3f ms with (%llu)\n", mean_off,
                (unsigned long long)off.postcopy_requests, mean_on, (unsigned long long)on.postcopy_requests);
  assert_true(mean_off > 1.0); /* behind the backlog */
  /* placement and wake, but for the faults on pages already in the main
   * stream, which still wait for it (test_mechanisms) */
  assert_true(mean_on < mean_off / 20);
  assert_true(on.postcopy_requests > 5 * off.postcopy_requests);
  /* The wake costs every fault the same: 1 ms more per fault (within a
   * quarter: a later guest meets a few more pages still in flight, whose
   * wait is not the wake's). */
  mdl_profile q = p;
  q.fault_resume_ns = p.fault_resume_ns + 1e6;
  mdl_result slow;
  mdl_result_init(&slow, "sim");
  assert_int_equal(mdl_simulate_with(&s, &q, &slow), 0);
  double mean_slow = slow.guest_stall_ms / (double)slow.postcopy_requests;
  print_message("mean fault with a 1 ms longer wake: %.3f ms\n", mean_slow);
  assert_true(fabs(mean_slow - mean_on - 1.0) < 0.25);
  /* The longer wake while the main stream sends (fault_resume_busy_ns) is
   * weighted by the share of time it sends: all of it without a post-copy
   * limit, 32 MiB/s of the 1 Gbit/s link with one. */
  mdl_profile b = p;
  b.fault_resume_busy_ns = 1e6;
  mdl_result busy, busy_limited, limited;
  mdl_result_init(&busy, "sim");
  mdl_result_init(&busy_limited, "sim");
  mdl_result_init(&limited, "sim");
  assert_int_equal(mdl_simulate_with(&s, &b, &busy), 0);
  double mean_busy = busy.guest_stall_ms / (double)busy.postcopy_requests;
  print_message("mean fault with a busy wake of 1 ms: %.3f ms unlimited\n", mean_busy);
  assert_true(fabs(mean_busy - mean_on - 1.0) < 0.25);
  /* 10.0's rule serves a request on arrival (preempt_urgent), so the
   * rate limit adds no wait of its own to the comparison. */
  set(&s, "postcopy-bandwidth", "32MiB/s");
  mdl_profile p10, b10;
  assert_int_equal(mdl_profile_load("qemu-10.0", &p10), 0);
  /* A small socket: few pages in flight, whose waits would blur the
   * comparison (each rate-limit window's burst queues tens of ms of
   * placements at the destination; test_mechanisms pins those). */
  p10.socket_buffer_bytes = 16 * 4104;
  p10.rp_delayed_ack_ns = 0; /* held requests would blur it too */
  b10 = p10;
  b10.fault_resume_busy_ns = 1e6;
  assert_int_equal(mdl_simulate_with(&s, &p10, &limited), 0);
  assert_int_equal(mdl_simulate_with(&s, &b10, &busy_limited), 0);
  double mean_limited = limited.guest_stall_ms / (double)limited.postcopy_requests;
  double mean_busy_limited = busy_limited.guest_stall_ms / (double)busy_limited.postcopy_requests;
  double duty = 32.0 * 1048576 / 125e6;
  print_message("at 32 MiB/s: %.3f ms (%llu requests), %.3f ms (%llu) with the busy wake (expected +%.3f)\n", mean_limited, (unsigned long long)limited.postcopy_requests,
                mean_busy_limited, (unsigned long long)busy_limited.postcopy_requests, duty);
  assert_true(fabs(mean_busy_limited - mean_limited - duty) < 0.1);
  mdl_result_free(&busy);
  mdl_result_free(&busy_limited);
  mdl_result_free(&limited);
  mdl_result_free(&off);
  mdl_result_free(&on);
  mdl_result_free(&slow);
  /* QEMU refuses the capability without postcopy-ram. */
  set(&s, "algo", "precopy");
  mdl_result r;
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate(&s, &r), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "postcopy-preempt needs a post-copy algorithm"));
  mdl_result_free(&r);
}

/* QEMU 10.0's preempt (profile key preempt_urgent): the return path sends
 * a requested page itself, so with a post-copy rate limit a fault no
 * longer waits for the next window as on 7.2. */
static void test_preempt_urgent(void **state) {
  (void)state;
  mdl_scenario s;
  preempt_guest(&s);
  set(&s, "postcopy-preempt", "yes");
  set(&s, "postcopy-bandwidth", "64MiB/s");
  set(&s, "link", "0"); /* the profile's loopback */
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2-tcg", &p), 0);
  p.rp_delayed_ack_ns = 0; /* where the page is sent from alone */
  mdl_profile q = p;
  q.preempt_urgent = 1;
  mdl_result r72, r10;
  mdl_result_init(&r72, "sim");
  mdl_result_init(&r10, "sim");
  assert_int_equal(mdl_simulate_with(&s, &p, &r72), 0);
  assert_int_equal(mdl_simulate_with(&s, &q, &r10), 0);
  double m72 = r72.guest_stall_ms / (double)r72.postcopy_requests;
  double m10 = r10.guest_stall_ms / (double)r10.postcopy_requests;
  print_message("rate-limited preempt: 7.2 rule %llu requests of %.2f ms, 10.0 rule %llu of %.3f ms\n",
                (unsigned long long)r72.postcopy_requests, m72, (unsigned long long)r10.postcopy_requests, m10);
  assert_true(m72 > 5 + p.fault_resume_ns / 1e6);   /* waits for a window */
  assert_true(m10 < 0.5 + p.fault_resume_ns / 1e6); /* served on arrival */
  assert_true(r10.postcopy_requests > 5 * r72.postcopy_requests);
  mdl_result_free(&r72);
  mdl_result_free(&r10);
  /* A fault served where it lands does not hold the guest until the
   * migration thread next runs: the guest goes on through the rate-limit
   * sleep, so no access waits for a page the stream sends only after it
   * (which the simulator once took for a page in flight: p99 88 ms). */
  mdl_scenario u;
  mdl_scenario_defaults(&u);
  set(&u, "algo", "postcopy+postcopy-preempt");
  set(&u, "workload", "uniform:wss=32768,rate=20000,nonzero=0.5");
  set(&u, "memory", "256MiB");
  set(&u, "max-bandwidth", "64MiB/s");
  set(&u, "postcopy-bandwidth", "64MiB/s");
  set(&u, "profile", "qemu-10.0-tcg");
  mdl_result ru;
  mdl_result_init(&ru, "sim");
  assert_int_equal(mdl_simulate(&u, &ru), 0);
  print_message("10.0, rate-limited: %llu requests, delay p50 %.2f ms, p99 %.2f ms\n",
                (unsigned long long)ru.postcopy_requests, ru.delay_p50_ms, ru.delay_p99_ms);
  assert_true(ru.postcopy_requests > 2400);
  assert_true(ru.delay_p99_ms < 20.0);
  mdl_result_free(&ru);
}

/* Page content that cannot be: one line naming it, from a generator key
 * and from a trace's metadata. */
static void test_write_bytes_bad(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "memory", "16MiB");
  set(&s, "workload", "uniform:wss=100,write_bytes=5000");
  mdl_result r;
  mdl_result_init(&r, "sim");
  assert_int_not_equal(mdl_simulate(&s, &r), 0);
  assert_non_null(strstr(sim_error_message(), "write_bytes=5000"));
  char path[512];
  snprintf(path, sizeof path, "%s/bad-wb.csv", tmpdir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# migsim-trace v1\n# pages=64\n# write_bytes=9999\ntime_ns,pfn\n0,1\n");
  fclose(f);
  set(&s, "workload", path);
  assert_int_equal(mdl_simulate(&s, &r), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "write_bytes=9999"));
  mdl_result_free(&r);
}

/* Variants: ALGO+FEATURE sets both; unknown parts name the choices. */
static void test_variants(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "algo", "hybrid+auto-converge");
  assert_int_equal(s.algo, MDL_ALGO_HYBRID);
  assert_int_equal(s.auto_converge, 1);
  assert_true(mdl_feature_enabled(&s, mdl_feature_find("auto-converge")));
  mdl_scenario before = s;
  assert_int_equal(mdl_scenario_set(&s, "algo", "precopy+xbzrl"), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "unknown feature 'xbzrl'"));
  assert_non_null(strstr(sim_error_message(), "auto-converge"));
  assert_int_equal(s.algo, before.algo); /* unchanged on error */
  assert_int_equal(mdl_scenario_set(&s, "algo", "precopyy+auto-converge"), SIM_EINVAL);
  assert_int_equal(mdl_scenario_set(&s, "cpu-throttle-initial", "100"), SIM_ERANGE);
  assert_int_equal(mdl_scenario_set(&s, "max-cpu-throttle", "0"), SIM_ERANGE);
  /* Every feature parameter is a scenario parameter. */
  for (size_t i = 0; mdl_feature_at(i); i++) {
    const mdl_feature *f = mdl_feature_at(i);
    char v[64];
    mdl_scenario_get(&s, f->name, v, sizeof v);
    assert_true(v[0] != '\0');
    for (const mdl_feature_param *p = f->params; p->key; p++) {
      mdl_scenario_get(&s, p->key, v, sizeof v);
      assert_true(v[0] != '\0');
    }
  }
}

/* Feature parameters at their defaults leave the digest as it was without
 * the feature (result folders keep resuming); a change shows. */
static void test_feature_digest(void **state) {
  (void)state;
  mdl_scenario a, b;
  mdl_scenario_defaults(&a);
  set(&a, "workload", "idle");
  b = a;
  set(&b, "cpu-throttle-initial", "20");
  assert_true(mdl_scenario_digest(&a, NULL, 0) == mdl_scenario_digest(&b, NULL, 0));
  set(&b, "cpu-throttle-initial", "30");
  assert_true(mdl_scenario_digest(&a, NULL, 0) != mdl_scenario_digest(&b, NULL, 0));
  b = a;
  set(&b, "auto-converge", "yes");
  assert_true(mdl_scenario_digest(&a, NULL, 0) != mdl_scenario_digest(&b, NULL, 0));
}

/* docs/features.md and the README carry the feature table (migsim run
 * --features), each in full. */
static void test_docs_features(void **state) {
  (void)state;
  const char *const docs[][2] = {{"docs/features.md", NULL}, {"README.md", NULL}};
  for (int d = 0; d < 2; d++) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    mdl_feature_md(f);
    fclose(f);
    assert_docs_carry(text, docs[d], "scripts/update-doc-tables.py");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auto_converge_converges), cmocka_unit_test(test_auto_converge_steps),
      cmocka_unit_test(test_auto_converge_guest_loss), cmocka_unit_test(test_auto_converge_threshold),
      cmocka_unit_test(test_auto_converge_hybrid),     cmocka_unit_test(test_auto_converge_tailslow),
      cmocka_unit_test(test_variants),
      cmocka_unit_test(test_feature_digest),          cmocka_unit_test(test_docs_features),
      cmocka_unit_test(test_xbzrle_converges),        cmocka_unit_test(test_xbzrle_overflow),
      cmocka_unit_test(test_xbzrle_first_pass),       cmocka_unit_test(test_xbzrle_cache_size),
      cmocka_unit_test(test_preempt_skips_backlog),   cmocka_unit_test(test_preempt_urgent),
      cmocka_unit_test(test_write_bytes_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
