/* test_multifd: multifd (+ zlib/zstd) and the legacy compress threads in
 * the simulator (models/mdl_drv_qemu.c, docs/features.md), without QEMU.
 *
 * Most answers are closed forms over a small guest: 1024 non-zero pages
 * (4 MiB) and no writes, so the first iteration step sends every page and
 * the migration then completes. QEMU 7.2 syncs the multifd channels three
 * times (ram_save_setup, the one ram_save_iterate, ram_save_complete), each
 * sync a 1344-byte packet per channel (64-byte header, 256-byte block name,
 * 128 offsets of 8 bytes), and 1024 pages fill 8 packets of 128 pages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mdl_feature.h"
#include "mdl_sim.h"
#include "sim_err.h"
#include "test_util.h"

enum { PAGES = 1024, PAGE = 4096, PACKET_LEN = 320 + 8 * 128 };

static void set(mdl_scenario *s, const char *key, const char *value) {
  if (mdl_scenario_set(s, key, value)) fail_msg("%s=%s: %s", key, value, sim_error_message());
}

/* The small still guest; `nonzero`: guest pages 0..nonzero-1 hold data. */
static void still_guest(mdl_scenario *s, const char *nonzero) {
  mdl_scenario_defaults(s);
  set(s, "workload", "uniform:wss=1,rate=1,compress_ratio=0.25");
  set(s, "memory", "4MiB");
  set(s, "guest-nonzero", nonzero);
  set(s, "multifd", "yes");
}

static void run_with(const mdl_scenario *s, const mdl_profile *p, mdl_result *r) {
  mdl_result_init(r, "sim");
  if (mdl_simulate_with(s, p, r)) fail_msg("simulate: %s", sim_error_message());
  assert_int_equal(r->status, MDL_STATUS_COMPLETED);
}

static void run(const mdl_scenario *s, mdl_result *r) {
  mdl_profile p;
  assert_int_equal(mdl_profile_load(s->profile, &p), 0);
  run_with(s, &p, r);
}

/* Packets of 128 pages, each with the whole 1344-byte header; one sync
 * packet per channel at setup, after the step and at completion; 7.2
 * counts raw pages + headers in multifd-bytes and in `transferred`. */
static void test_multifd_packets(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  for (uint32_t n = 1; n <= 4; n *= 2) {
    char v[8];
    snprintf(v, sizeof v, "%u", n);
    set(&s, "multifd-channels", v);
    mdl_result r;
    run(&s, &r);
    assert_int_equal(r.normal_pages, PAGES);
    assert_int_equal(r.zero_pages, 0);
    assert_int_equal(r.multifd_packets, 8 + 3 * n);
    assert_int_equal(r.multifd_bytes, (uint64_t)PAGES * PAGE + (8 + 3 * n) * (uint64_t)PACKET_LEN);
    /* The main stream: the block name (7) and two end markers (8 each). */
    assert_int_equal(r.transferred_bytes, r.multifd_bytes + 7 + 8 + 8);
    mdl_result_free(&r);
  }
}

/* 7.2: the migration thread finds zero pages and sends them on the main
 * stream (9 bytes each); 10.0 (multifd_zero_in_threads) puts them in the
 * packets as offsets only. */
static void test_multifd_zero_pages(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-511");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  mdl_result r72, r10;
  run_with(&s, &p, &r72);
  assert_int_equal(r72.normal_pages, 512);
  assert_int_equal(r72.zero_pages, 512);
  assert_int_equal(r72.multifd_packets, 4 + 6);
  assert_int_equal(r72.multifd_bytes, 512ull * PAGE + 10ull * PACKET_LEN);
  assert_int_equal(r72.transferred_bytes, r72.multifd_bytes + 512 * 9 + 7 + 16);
  p.multifd_zero_in_threads = 1;
  run_with(&s, &p, &r10);
  assert_int_equal(r10.zero_pages, 512);
  assert_int_equal(r10.multifd_packets, 8 + 6);
  assert_int_equal(r10.multifd_bytes, 512ull * PAGE + 14ull * PACKET_LEN);
  assert_int_equal(r10.transferred_bytes, r10.multifd_bytes + 7 + 16);
  mdl_result_free(&r72);
  mdl_result_free(&r10);
}

/* zlib/zstd: the packet's payload is compress_ratio x its pages. 7.2
 * still counts (and rate-limits) the raw size; 10.0 (multifd_count_sent)
 * the bytes written. */
static void test_multifd_compression_bytes(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  const char *algs[] = {"zlib", "zstd"};
  for (int a = 0; a < 2; a++) {
    set(&s, "multifd-compression", algs[a]);
    mdl_result r72, r10;
    p.multifd_count_sent = 0;
    run_with(&s, &p, &r72);
    assert_int_equal(r72.multifd_bytes, (uint64_t)PAGES * PAGE + 14ull * PACKET_LEN);
    p.multifd_count_sent = 1;
    run_with(&s, &p, &r10);
    assert_int_equal(r10.multifd_bytes, 8ull * (128 * PAGE / 4) + 14ull * PACKET_LEN);
    mdl_result_free(&r72);
    mdl_result_free(&r10);
  }
}

/* Under a rate limit 7.2's raw accounting gains nothing from zlib while
 * 10.0's does: the same guest at 8 MiB/s. */
static void test_multifd_rate_limit_raw(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "max-bandwidth", "8MiB/s");
  set(&s, "downtime-limit", "10ms"); /* no early stop-and-copy */
  set(&s, "multifd-compression", "zlib");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  mdl_result r72, r10;
  run_with(&s, &p, &r72);
  p.multifd_count_sent = 1;
  run_with(&s, &p, &r10);
  print_message("zlib at 8 MiB/s: 7.2 %.1f ms, 10.0 accounting %.1f ms\n", r72.total_time_ms, r10.total_time_ms);
  assert_true(r72.total_time_ms > 400);              /* 4 MiB at 0.8 MiB per window */
  assert_true(r10.total_time_ms < r72.total_time_ms / 2.5);
  mdl_result_free(&r72);
  mdl_result_free(&r10);
}

/* Profile multifd_count_on_wait (qemu-10.0-tcg): a channel's packet reaches
 * the rate limit only when the migration thread next waits, so a window
 * carries the packets that cross its budget plus one per channel; without
 * it, the packets that cross the budget. 32 MiB/s: a budget of 3,355,443
 * bytes per 100 ms window, packets of 128 raw pages + 1344 bytes: 7 cross
 * it. Real 10.0 windows, docs/features.md: 8, 9 and 11 packets. */
static void test_multifd_count_on_wait(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-16383");
  set(&s, "memory", "64MiB");
  set(&s, "max-bandwidth", "32MiB/s");
  set(&s, "timeline", "yes");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-10.0", &p), 0);
  const double packet = 128.0 * PAGE + PACKET_LEN;
  for (uint32_t wait = 0; wait <= 1; wait++) {
    p.multifd_count_on_wait = wait;
    for (uint32_t n = 1; n <= 4; n *= 2) {
      char v[8];
      snprintf(v, sizeof v, "%u", n);
      set(&s, "multifd-channels", v);
      mdl_result r;
      run_with(&s, &p, &r);
      assert_true(r.sample_count > 5);
      /* A middle window, whole (the thread sleeps to its end). */
      const mdl_sample *w = &r.samples[3];
      double packets = w->bandwidth_est * 0.1 / packet;
      print_message("count_on_wait %u, %u channel(s): %.2f packets a window, %.1f ms\n", wait, n, packets,
                    r.total_time_ms);
      assert_true(fabs(packets - (7.0 + (wait ? n : 0))) < 0.05);
      mdl_result_free(&r);
    }
  }
}

/* Only the busy workers share the core: when the migration thread fills
 * packets slower than a channel sends them (100 us a page to queue, 40 to
 * send), one channel at a time is busy and shares the core with the vCPU
 * alone, whatever the channel count: each packet takes twice its 5.1 ms
 * of CPU, not 5 times (four channels and the vCPU). The migration thread
 * waits for a packet only at 7.2's syncs (two here, at the end of each
 * iteration step), so the run ends 2 x 5.1 ms later than with a core for
 * each channel (8 x 5.1 ms if idle channels counted). */
static void test_multifd_idle_channels_free(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "multifd-channels", "4");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  p.multifd_page_ns = 40000;
  p.multifd_queue_page_ns = 100000;
  mdl_result own, shared;
  run_with(&s, &p, &own);
  p.worker_cpus = 1;
  run_with(&s, &p, &shared);
  double later = shared.total_time_ms - own.total_time_ms, packet_ms = 128 * 0.040;
  print_message("4 mostly idle channels: %.2f ms on their own cores, %.2f ms sharing one (+%.2f)\n",
                own.total_time_ms, shared.total_time_ms, later);
  assert_true(later > 1.5 * packet_ms && later < 2.5 * packet_ms);
  mdl_result_free(&own);
  mdl_result_free(&shared);
}

/* The channels run beside the migration thread and each other: with a
 * CPU-bound channel (40 us a page) four channels take about a quarter of
 * the time of one. zlib's per-level cost is charged the same way. */
static void test_multifd_channels_parallel(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  p.multifd_page_ns = 40000;
  mdl_result one, four;
  set(&s, "multifd-channels", "1");
  run_with(&s, &p, &one);
  set(&s, "multifd-channels", "4");
  run_with(&s, &p, &four);
  double ratio = (one.total_time_ms - one.setup_time_ms) / (four.total_time_ms - four.setup_time_ms);
  print_message("1 channel %.2f ms, 4 channels %.2f ms (x%.2f)\n", one.total_time_ms, four.total_time_ms, ratio);
  assert_true(one.total_time_ms > PAGES * 0.040);
  assert_true(ratio > 3.0 && ratio < 4.5);
  /* the same CPU time, spread over four threads */
  assert_true(one.cpu_workers_ms > 0.95 * PAGES * 0.040 && one.cpu_workers_ms < 1.1 * PAGES * 0.040);
  assert_true(fabs(four.cpu_workers_ms - one.cpu_workers_ms) < 0.01 * one.cpu_workers_ms);
  /* On two cores shared with the source's vCPU, the four busy channels
   * get 2 x 4/5 of a core: 1.6 times as fast as one on a core of its
   * own. A guest that halts through its gaps (one access a second) leaves
   * them both cores: twice as fast. */
  p.worker_cpus = 2;
  mdl_result two_cores, halting;
  run_with(&s, &p, &two_cores);
  double r2 = (one.total_time_ms - one.setup_time_ms) / (two_cores.total_time_ms - two_cores.setup_time_ms);
  p.vcpu_halt_min_ns = 200000;
  p.vcpu_wake_spin_ns = 50000;
  run_with(&s, &p, &halting);
  double rh = (one.total_time_ms - one.setup_time_ms) / (halting.total_time_ms - halting.setup_time_ms);
  print_message("4 channels on 2 cores %.2f ms (x%.2f), the guest halting %.2f ms (x%.2f)\n",
                two_cores.total_time_ms, r2, halting.total_time_ms, rh);
  assert_true(r2 > 1.45 && r2 < 1.75);
  assert_true(rh > 1.8 && rh < 2.2);
  mdl_result_free(&two_cores);
  mdl_result_free(&halting);
  p.worker_cpus = 0;
  p.vcpu_halt_min_ns = 0;
  p.multifd_page_ns = 300;
  set(&s, "multifd-compression", "zlib");
  mdl_result l1, l9;
  set(&s, "multifd-zlib-level", "1");
  run_with(&s, &p, &l1);
  set(&s, "multifd-zlib-level", "9");
  run_with(&s, &p, &l9);
  double per_page = (l9.total_time_ms - l1.total_time_ms) * 1e6 / (PAGES / 4.0);
  print_message("zlib level 1 %.2f ms, level 9 %.2f ms: %.0f ns a page a channel\n", l1.total_time_ms,
                l9.total_time_ms, per_page);
  assert_true(fabs(per_page - (p.zlib_page_ns[9] - p.zlib_page_ns[1])) < 0.15 * p.zlib_page_ns[9]);
  mdl_result_free(&one);
  mdl_result_free(&four);
  mdl_result_free(&l1);
  mdl_result_free(&l9);
}

/* Profile multifd_link: on loopback each channel moves its bytes at that
 * speed on its own (four channels at twice the link: about eight times
 * the shared link); a scenario's own
 * link is a network the channels share, and so is a share of a NIC. */
static void test_multifd_own_links(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "max-bandwidth", "100GiB/s");
  set(&s, "multifd-channels", "4");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  p.link_bytes_per_s = 1e8;
  mdl_result shared, own, network;
  run_with(&s, &p, &shared);
  p.multifd_link_bytes_per_s = 2e8;
  run_with(&s, &p, &own);
  set(&s, "link", "100MB/s");
  run_with(&s, &p, &network);
  double ts = shared.total_time_ms - shared.setup_time_ms, to = own.total_time_ms - own.setup_time_ms,
         tn = network.total_time_ms - network.setup_time_ms;
  print_message("4 channels: shared link %.1f ms, own links %.1f ms, scenario link %.1f ms\n", ts, to, tn);
  assert_true(ts > PAGES * PAGE / 1e8 * 1e3);
  assert_true(ts / to > 6.0 && ts / to < 9.0);
  assert_true(fabs(tn - ts) < 0.02 * ts);
  mdl_result_free(&shared);
  mdl_result_free(&own);
  mdl_result_free(&network);
}

/* 7.2 syncs the channels after every iteration step; 10.0
 * (multifd_sync_per_round) once per pass of the cursor. A guest that needs
 * many steps shows the difference in sync packets. */
static void test_multifd_sync_rule(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "workload", "uniform:wss=4096,rate=2000,nonzero=1");
  set(&s, "memory", "64MiB");
  set(&s, "guest-nonzero", "0-16383");
  set(&s, "max-bandwidth", "64MiB/s");
  set(&s, "multifd", "yes");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  mdl_result step, round;
  run_with(&s, &p, &step);
  p.multifd_sync_per_round = 1;
  run_with(&s, &p, &round);
  /* Data packets are at least pages / 128; the rest are syncs, 2 each. */
  uint64_t syncs72 = step.multifd_packets - (step.normal_pages + 127) / 128;
  uint64_t syncs10 = round.multifd_packets - (round.normal_pages + 127) / 128;
  print_message("packets: 7.2 %llu (<= %llu syncs), 10.0 %llu (<= %llu syncs), %llu syncs\n",
                (unsigned long long)step.multifd_packets, (unsigned long long)syncs72 / 2,
                (unsigned long long)round.multifd_packets, (unsigned long long)syncs10 / 2,
                (unsigned long long)step.dirty_sync_count);
  /* 7.2: at least one sync per 100 ms window (a step ends at the budget). */
  assert_true(syncs72 / 2 >= (uint64_t)(step.total_time_ms / 100));
  assert_true(syncs10 / 2 <= round.dirty_sync_count + 3);
  assert_true(syncs72 > 2 * syncs10);
  mdl_result_free(&step);
  mdl_result_free(&round);
}

/* Not in post-copy: 7.2 sends the pages of a post-copy run on the main
 * stream (the channels see only sync packets); 10.0 refuses the pair. */
static void test_multifd_postcopy(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "algo", "postcopy");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  mdl_result r;
  run_with(&s, &p, &r);
  assert_int_equal(r.normal_pages, PAGES);
  assert_true(r.multifd_bytes > 0 && r.multifd_bytes % PACKET_LEN == 0);
  assert_int_equal(r.multifd_bytes, r.multifd_packets * PACKET_LEN);
  assert_true(r.transferred_bytes - r.multifd_bytes >= (uint64_t)PAGES * (PAGE + 8));
  mdl_result_free(&r);
  p.multifd_no_postcopy = 1;
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate_with(&s, &p, &r), SIM_EUNSUPPORTED);
  assert_non_null(strstr(sim_error_message(), "post-copy"));
  mdl_result_free(&r);
}

/* Legacy compress: the first page of the block goes plain, every other
 * one through a thread as header + 4-byte length + compress_ratio x page;
 * compressed-size leaves the header out. */
static void test_compress_sizes(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "multifd", "no");
  set(&s, "compress", "yes");
  mdl_result r;
  run(&s, &r);
  assert_int_equal(r.normal_pages, 1);
  assert_int_equal(r.compression_pages, PAGES - 1);
  assert_int_equal(r.compressed_size, (PAGES - 1) * (4 + PAGE / 4));
  assert_int_equal(r.transferred_bytes, (PAGE + 8) + (PAGES - 1) * (8 + 4 + PAGE / 4) + 7 + 16);
  assert_int_equal(r.multifd_bytes, 0);
  mdl_result_free(&r);
  /* Zero pages are found by the threads and sent as zero records. */
  still_guest(&s, "0-511");
  set(&s, "multifd", "no");
  set(&s, "compress", "yes");
  run(&s, &r);
  assert_int_equal(r.compression_pages, 511);
  assert_int_equal(r.zero_pages, 512);
  mdl_result_free(&r);
}

/* The threads compress in parallel and the migration thread waits when
 * none is free: eight threads take about an eighth of the time of one, at
 * compress_page_ns (a stream per page), not multifd's zlib_page_ns;
 * compression-rate is reported per rate period. With worker_cpus = 1 the
 * threads share one core with the vCPU, equally (mdl__worker_run). */
static void test_compress_threads(void **state) {
  (void)state;
  mdl_scenario s;
  still_guest(&s, "0-1023");
  set(&s, "multifd", "no");
  set(&s, "compress", "yes");
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  mdl_result one, eight;
  set(&s, "compress-threads", "1");
  run_with(&s, &p, &one);
  set(&s, "compress-threads", "8");
  run_with(&s, &p, &eight);
  double t1 = one.total_time_ms - one.setup_time_ms, t8 = eight.total_time_ms - eight.setup_time_ms;
  print_message("compress: 1 thread %.2f ms, 8 threads %.2f ms\n", t1, t8);
  assert_true(p.compress_page_ns[1] > 1.5 * p.zlib_page_ns[1]);
  assert_true(t1 > (PAGES - 1) * p.compress_page_ns[1] / 1e6);
  assert_true(t1 / t8 > 4);
  /* ... and no faster than eight threads can be: a busy thread is waited for. */
  assert_true(t8 > 0.9 * (PAGES - 1) * p.compress_page_ns[1] / 8 / 1e6);
  /* The threads' CPU time (cpu_workers_ms): the zero check and the
   * deflate of every page a thread took, however many threads. */
  double cpu = (double)one.compression_pages * (double)(p.zero_page_ns + p.compress_page_ns[1]) / 1e6;
  print_message("compress: %.3f ms of thread CPU for %llu pages\n", one.cpu_workers_ms,
                (unsigned long long)one.compression_pages);
  assert_true(one.compression_pages >= PAGES - 2);
  assert_true(one.cpu_workers_ms >= cpu - 1e-9 && one.cpu_workers_ms < cpu + PAGES * p.zero_page_ns / 1e6);
  assert_true(fabs(eight.cpu_workers_ms - one.cpu_workers_ms) < 1e-6 * one.cpu_workers_ms);
  /* Sharing one core with the vCPU, the eight busy threads get 8/9 of it
   * and one thread half: 9/8 and twice the time of a thread with a core
   * of its own. */
  p.worker_cpus = 1;
  mdl_result shared, shared1;
  run_with(&s, &p, &shared);
  set(&s, "compress-threads", "1");
  run_with(&s, &p, &shared1);
  double ts = shared.total_time_ms - shared.setup_time_ms, ts1 = shared1.total_time_ms - shared1.setup_time_ms;
  print_message("compress, one core with the vCPU: 8 threads %.2f ms, 1 thread %.2f ms\n", ts, ts1);
  assert_true(ts > 1.07 * t1 && ts < 1.18 * t1);
  assert_true(ts1 > 1.9 * t1 && ts1 < 2.1 * t1);
  p.worker_cpus = 0;
  mdl_result_free(&one);
  mdl_result_free(&eight);
  mdl_result_free(&shared);
  mdl_result_free(&shared1);
  /* A run long enough to end a rate period (1 s) reports the rate. */
  set(&s, "max-bandwidth", "256KiB/s");
  set(&s, "downtime-limit", "1ms");
  mdl_result slow;
  run_with(&s, &p, &slow);
  assert_true(fabs(slow.compression_rate - (double)PAGE / (4 + PAGE / 4)) < 1e-9);
  mdl_result_free(&slow);
}

/* With xbzrle compress works in the first pass only; a profile without
 * the capability (10.0) refuses it. */
static void test_compress_xbzrle_and_10(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  set(&s, "workload", "uniform:wss=256,rate=3000,nonzero=1,compress_ratio=0.5");
  set(&s, "memory", "16MiB");
  set(&s, "guest-nonzero", "0-4095");
  set(&s, "max-bandwidth", "16MiB/s");
  set(&s, "compress", "yes");
  mdl_result plain, xbz;
  run(&s, &plain);
  set(&s, "xbzrle", "yes");
  run(&s, &xbz);
  print_message("compress: %llu pages alone, %llu with xbzrle (%llu xbzrle pages)\n",
                (unsigned long long)plain.compression_pages, (unsigned long long)xbz.compression_pages,
                (unsigned long long)xbz.xbzrle_pages);
  assert_true(plain.compression_pages > 4096);     /* later passes too */
  assert_int_equal(xbz.compression_pages, 4095);   /* first pass only, its first page plain */
  assert_true(xbz.xbzrle_cache_miss > 0);          /* then xbzrle */
  mdl_result_free(&plain);
  mdl_result_free(&xbz);
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-10.0", &p), 0);
  mdl_result r;
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate_with(&s, &p, &r), SIM_EUNSUPPORTED);
  assert_non_null(strstr(sim_error_message(), "9.1"));
  mdl_result_free(&r);
}

/* The table: variants, versions, the QMP parameters; and the refusals. */
static void test_multifd_table(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  assert_int_equal(mdl_variant_apply(&s, "precopy+multifd"), 0);
  assert_true(s.multifd && s.multifd_channels == 2 && !strcmp(s.multifd_compression, "none"));
  char name[64];
  assert_string_equal(mdl_variant_name(&s, name, sizeof name), "precopy+multifd");
  const mdl_feature *c = mdl_feature_find("compress"), *m = mdl_feature_find("multifd");
  assert_non_null(c);
  assert_non_null(m);
  assert_false(mdl_feature_removed(c, "7.2.0"));
  assert_false(mdl_feature_removed(c, "9.0.1"));
  assert_true(mdl_feature_removed(c, "9.1.0"));
  assert_true(mdl_feature_removed(c, "10.0."));
  assert_false(mdl_feature_removed(m, "10.0.2"));
  assert_true(m->params[0].both && !strcmp(m->params[0].key, "multifd-channels"));
  set(&s, "workload", "uniform:wss=1,rate=1");
  set(&s, "multifd-compression", "lz4");
  assert_int_equal(mdl_scenario_validate(&s), SIM_EINVAL);
  set(&s, "multifd-compression", "zstd");
  assert_int_equal(mdl_scenario_validate(&s), 0);
  assert_int_not_equal(mdl_scenario_set(&s, "multifd-channels", "0"), 0);
  assert_int_not_equal(mdl_scenario_set(&s, "multifd-zstd-level", "21"), 0);
  set(&s, "compress", "yes");
  assert_int_equal(mdl_scenario_validate(&s), SIM_EUNSUPPORTED);
  /* Same seed, same bytes. */
  mdl_scenario a;
  still_guest(&a, "0-511");
  set(&a, "multifd-compression", "zstd");
  mdl_result r1, r2;
  run(&a, &r1);
  run(&a, &r2);
  assert_true(r1.total_time_ms == r2.total_time_ms && r1.multifd_bytes == r2.multifd_bytes);
  mdl_result_free(&r1);
  mdl_result_free(&r2);
}

/* Per-level profile lists: "a,b" fills the rest with b; bad lists fail. */
static void test_profile_levels(void **state) {
  (void)state;
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  assert_int_equal(mdl_profile_set(&p, "zlib_page_ns", "1000,2000,3000"), 0);
  assert_true(p.zlib_page_ns[0] == 1000 && p.zlib_page_ns[2] == 3000 && p.zlib_page_ns[9] == 3000);
  assert_int_not_equal(mdl_profile_set(&p, "zlib_page_ns", "1,2,3,4,5,6,7,8,9,10,11"), 0);
  assert_int_not_equal(mdl_profile_set(&p, "zlib_page_ns", "1,-5"), 0);
  assert_int_not_equal(mdl_profile_set(&p, "zstd_page_ns", ""), 0);
  assert_true(p.zlib_page_ns[9] == 3000); /* a refused value changes nothing */
  /* A key the loader would refuse as a whole is refused when set (the
   * fuzzer's promise: a profile built by mdl_profile_set stays valid). */
  assert_int_equal(mdl_profile_set(&p, "dest_region_pages", "117"), SIM_ERANGE);
  assert_int_equal(p.dest_region_pages, 512);
  assert_int_equal(mdl_profile_set(&p, "dest_region_pages", "128"), 0);
  assert_int_equal(mdl_profile_validate(&p), 0);
  /* A saved profile (migsim calibrate) loads back with every level. */
  char path[] = "/tmp/migsim-levels-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char ini[64];
  snprintf(ini, sizeof ini, "%s.ini", path);
  p.zstd_page_ns[20] = 123456; /* saved as %.6g, like every number */
  assert_int_equal(mdl_profile_save(&p, "qemu-7.2", ini, NULL), 0);
  mdl_profile q;
  assert_int_equal(mdl_profile_load(ini, &q), 0);
  assert_memory_equal(q.zlib_page_ns, p.zlib_page_ns, sizeof p.zlib_page_ns);
  assert_memory_equal(q.zstd_page_ns, p.zstd_page_ns, sizeof p.zstd_page_ns);
  unlink(ini);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_multifd_packets),        cmocka_unit_test(test_multifd_zero_pages),
      cmocka_unit_test(test_multifd_compression_bytes), cmocka_unit_test(test_multifd_rate_limit_raw),
      cmocka_unit_test(test_multifd_count_on_wait), cmocka_unit_test(test_multifd_own_links),
      cmocka_unit_test(test_multifd_channels_parallel), cmocka_unit_test(test_multifd_idle_channels_free), cmocka_unit_test(test_multifd_sync_rule),
      cmocka_unit_test(test_multifd_postcopy),       cmocka_unit_test(test_compress_sizes),
      cmocka_unit_test(test_compress_threads),       cmocka_unit_test(test_compress_xbzrle_and_10),
      cmocka_unit_test(test_multifd_table),          cmocka_unit_test(test_profile_levels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
