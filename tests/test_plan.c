/* test_plan: capacity planning inputs and schedules. Bad inventory and
 * topology lines are refused with FILE:LINE and the column; parallel
 * keeps its limits; the optimiser's plan is never worse than serial's;
 * the command writes its report and exits 2 on bad input; a plan's real
 * counterpart (res_plan_one_link, res_plan_vm_scenario,
 * res_plan_write_real) gets the shared link, the scenarios and the error
 * statistics right; the fallback ladder (--fallbacks) gives a writer
 * that cannot converge auto-converge, hybrid or nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "mdl_algo.h"
#include "mdl_scenario.h"
#include "mdl_sim.h"
#include "res_plan.h"
#include "sim_err.h"
#include "sim_units.h"

static const char *topology_text = "latency = 50us\n"
                                   "[host a]\nnic = 1Gbit/s\n"
                                   "[host b]\nnic = 1Gbit/s\n"
                                   "[host c]\nnic = 1Gbit/s\n"
                                   "[host d]\nnic = 2Gbit/s\n";

static char *path_of(const char *name) {
  static char buf[4][512];
  static int k;
  char *p = buf[k++ & 3];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

/* Loads INVENTORY (rows after the header) and expects `want` in the
 * error message. */
static void expect_bad(const char *header, const char *rows, const char *want) {
  char text[4096];
  snprintf(text, sizeof text, "%s\n%s", header, rows);
  write_file(path_of("bad.csv"), text);
  write_file(path_of("topo.ini"), topology_text);
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  res_plan *p = NULL;
  int rc = res_plan_load(path_of("bad.csv"), path_of("topo.ini"), &o, &p);
  assert_null(p);
  if (rc >= 0) fail_msg("accepted: %s", rows);
  if (!strstr(sim_error_message(), want)) fail_msg("message '%s' lacks '%s'", sim_error_message(), want);
  assert_null(strchr(sim_error_message(), '\n'));
}

static void test_bad_rows(void **state) {
  (void)state;
  const char *h = "name,host,memory,dirty_rate,wss,priority";
  expect_bad(h, "vm1,a,64MiB,1MiB/s,16MiB,0\nvm2,a,lots,1MiB/s,16MiB,0\n", "bad.csv:3: memory:");
  expect_bad(h, "vm1,zz,64MiB,1MiB/s,16MiB,0\n", "bad.csv:2: host: 'zz'");
  expect_bad(h, "vm1,a,64MiB,1MiB/s,16MiB,0\nvm1,b,64MiB,1MiB/s,16MiB,0\n", "bad.csv:3: name: 'vm1' already on line 2");
  expect_bad(h, "vm1,a,64MiB,fast,16MiB,0\n", "bad.csv:2: dirty_rate:");
  expect_bad(h, "vm1,a,64MiB,1MiB/s,1GiB,0\n", "bad.csv:2: wss:");
  expect_bad(h, "vm1,a,64MiB,1MiB/s,16MiB,high\n", "bad.csv:2: priority:");
  expect_bad(h, "vm1,a,,1MiB/s,16MiB,0\n", "bad.csv:2: memory: empty");
  expect_bad(h, "\n# a comment\nvm1,a,64MiB,,16MiB,0\n", "bad.csv:4: workload:");
  expect_bad("name,host,colour", "vm1,a,red\n", "bad.csv:1: unknown column 'colour'");
  /* A spec with commas must be quoted: unquoted it is too many cells. */
  expect_bad("name,host,memory,workload", "vm1,a,64MiB,uniform:wss=32MiB,rate=lots\n", "bad.csv:2: row: 5 cells");
  expect_bad("name,host,memory,workload", "vm1,a,64MiB,\"uniform:wss=32MiB,rate=lots\"\n", "bad.csv:2: workload: ");
  expect_bad("name,host,memory,workload,max_downtime", "vm1,a,64MiB,idle,forever\n", "bad.csv:2: max_downtime:");
  expect_bad("name,host,dest,memory,workload", "vm1,a,a,64MiB,idle\n", "bad.csv:2: dest: 'a' is the VM's own host");

  /* Topology lines. */
  write_file(path_of("inv.csv"), "name,host,memory,workload\nvm1,a,64MiB,idle\n");
  static const struct {
    const char *text, *want;
  } topo[] = {
      {"[host a]\nnic = 1Gbit/s\n[host b]\nnic = fast\n", "topo.ini:4: nic:"},
      {"[host a]\nnic = 1Gbit/s\n[host b]\nlatency = 1ms\n", "topo.ini:4: [host b] needs nic"},
      {"[host a]\nnic = 1Gbit/s\n[hots b]\nnic = 1Gbit/s\n", "topo.ini:4: unknown section [hots b]"},
      {"[host a]\nnic = 1Gbit/s\nrack = r9\n[host b]\nnic = 1Gbit/s\n", "topo.ini:3: rack 'r9'"},
      {"uplnk = 1Gbit/s\n[host a]\nnic = 1Gbit/s\n[host b]\nnic = 1Gbit/s\n", "topo.ini:1: unknown key 'uplnk'"},
  };
  for (size_t i = 0; i < sizeof topo / sizeof topo[0]; i++) {
    write_file(path_of("topo.ini"), topo[i].text);
    res_plan_opts o;
    res_plan_opts_defaults(&o);
    res_plan *p = NULL;
    assert_true(res_plan_load(path_of("inv.csv"), path_of("topo.ini"), &o, &p) < 0);
    if (!strstr(sim_error_message(), topo[i].want))
      fail_msg("message '%s' lacks '%s'", sim_error_message(), topo[i].want);
  }
}

/* Six small VMs on hosts a and b, to c and d; dirty rates from idle to a
 * writer that cannot converge alone at 1 Gbit/s with 300 ms. */
static void write_fleet(uint64_t seed) {
  char text[4096];
  size_t at = (size_t)snprintf(text, sizeof text, "name,host,memory,dirty_rate,wss,nonzero,priority\n");
  uint64_t x = seed * 2654435761u + 1;
  for (int i = 0; i < 6; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    unsigned mem = 32u << ((x >> 33) % 3);            /* 32, 64, 128 MiB */
    unsigned rate = (unsigned)((x >> 40) % 5) * 40;   /* 0..160 MiB/s */
    at += (size_t)snprintf(text + at, sizeof text - at, "vm%d,%s,%uMiB,%uMiB/s,%uMiB,%u%%,%d\n", i, i % 2 ? "a" : "b",
                           mem, rate, mem / 2, 50 + (unsigned)((x >> 20) % 51), (int)((x >> 50) % 2));
  }
  write_file(path_of("fleet.csv"), text);
  write_file(path_of("topo.ini"), topology_text);
}

typedef struct {
  double makespan;
  size_t broken;
} outcome;

static outcome plan_with(res_policy policy, uint32_t k, uint32_t per_host, res_plan **keep) {
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  o.policy = policy;
  o.max_parallel = k;
  o.max_per_host = per_host;
  o.timeout_ns = 120 * 1000000000ull;
  res_plan *p;
  if (res_plan_load(path_of("fleet.csv"), path_of("topo.ini"), &o, &p)) fail_msg("load: %s", sim_error_message());
  if (res_plan_run(p)) fail_msg("run: %s", sim_error_message());
  res_plan_summary s;
  res_plan_summarise(p, &s);
  outcome out = {s.makespan_s, s.not_converged + s.over_downtime + s.late};
  if (keep)
    *keep = p;
  else
    res_plan_free(p);
  return out;
}

static void test_optimise_not_worse_than_serial(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 4; seed++) {
    write_fleet(seed);
    outcome serial = plan_with(RES_POLICY_SERIAL, 0, 0, NULL);
    outcome best = plan_with(RES_POLICY_OPTIMISE, 0, 0, NULL);
    if (best.broken > serial.broken || (best.broken == serial.broken && best.makespan > serial.makespan * 1.0001))
      fail_msg("seed %llu: optimise %.3f s, %zu broken; serial %.3f s, %zu broken", (unsigned long long)seed,
               best.makespan, best.broken, serial.makespan, serial.broken);
    assert_true(serial.makespan > 0);
  }
}

/* Parallel with 3 at once and 1 per host: at every start, what runs keeps
 * both limits, and the limit is reached. */
static void test_parallel_limits(void **state) {
  (void)state;
  write_fleet(7);
  res_plan *p;
  plan_with(RES_POLICY_PARALLEL, 3, 1, &p);
  size_t n = res_plan_vm_count(p);
  int peak = 0;
  for (size_t i = 0; i < n; i++) {
    res_plan_vm_outcome a;
    assert_int_equal(res_plan_vm(p, i, &a), 0);
    int total = 0, per_host[4] = {0};
    for (size_t j = 0; j < n; j++) {
      res_plan_vm_outcome b;
      res_plan_vm(p, j, &b);
      if (b.start_s <= a.start_s && a.start_s < b.end_s) {
        total++;
        per_host[b.src_host]++;
        per_host[b.dst_host]++;
      }
    }
    assert_true(total <= 3);
    for (int h = 0; h < 4; h++) assert_true(per_host[h] <= 1);
    if (total > peak) peak = total;
  }
  /* Two sources and two destinations, one migration per host: two at once. */
  assert_int_equal(peak, 2);
  res_plan_free(p);
}

/* Four hosts emptied into four others over their own NICs: migrations on
 * disjoint paths do not share, so the optimiser must run them at once and
 * finish in about a quarter of serial's time. */
static void test_optimise_uses_disjoint_paths(void **state) {
  (void)state;
  char topo[1024], inv[2048];
  size_t at = 0, iv = (size_t)snprintf(inv, sizeof inv, "name,host,dest,memory,dirty_rate,wss,nonzero\n");
  for (int h = 0; h < 8; h++) at += (size_t)snprintf(topo + at, sizeof topo - at, "[host h%d]\nnic = 1Gbit/s\n", h);
  for (int v = 0; v < 8; v++)
    iv += (size_t)snprintf(inv + iv, sizeof inv - iv, "vm%d,h%d,h%d,48MiB,4MiB/s,8MiB,100%%\n", v, v % 4, 4 + v % 4);
  write_file(path_of("topo.ini"), topo);
  write_file(path_of("fleet.csv"), inv);
  outcome serial = plan_with(RES_POLICY_SERIAL, 0, 0, NULL);
  res_plan *p;
  outcome best = plan_with(RES_POLICY_OPTIMISE, 0, 0, &p);
  assert_int_equal(best.broken, 0);
  if (!(best.makespan < 0.3 * serial.makespan))
    fail_msg("optimise %.3f s vs serial %.3f s: expected about a quarter", best.makespan, serial.makespan);
  res_plan_summary s;
  res_plan_summarise(p, &s);
  assert_true(s.candidates > 20);
  res_plan_free(p);
}

static void test_command(void **state) {
  (void)state;
  write_fleet(3);
  char err[2048], out[600];
  snprintf(out, sizeof out, "%s/plan-out", tmpdir);
  int st = migsim(err, sizeof err, "plan %s --topology %s --deadline 10min --out %s --quiet", path_of("fleet.csv"),
                  path_of("topo.ini"), out);
  if (st != 0 && st != 1) fail_msg("exit %d: %s", st, err);
  static const char *const files[] = {"report.md", "report.html", "vms.csv", "links.csv", "gantt.png", "links.png"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char f[700];
    snprintf(f, sizeof f, "%s/%s", out, files[i]);
    char *text = slurp(f);
    if (!text) fail_msg("%s missing", files[i]);
    if (strcmp(files[i], "report.html") == 0) {
      assert_non_null(strstr(text, "data:image/png;base64,iVBORw0KGgo")); /* the PNG signature, embedded */
      assert_null(strstr(text, "src=\"gantt.png\""));
    }
    if (strcmp(files[i], "vms.csv") == 0) assert_non_null(strstr(text, "name,host,dest,memory_bytes,algo,fallback,start_s"));
    free(text);
  }
  /* Bad input: exit 2, one line naming file:line and the column; the
   * folder's earlier plan stays as it was. */
  char report[1024];
  snprintf(report, sizeof report, "%s/report.md", out);
  char *before = slurp(report);
  assert_non_null(before);
  write_file(path_of("bad.csv"), "name,host,memory,workload\nvm1,a,64MiB,idle\nvm2,a,-3,idle\n");
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s --quiet", path_of("bad.csv"), path_of("topo.ini"), out);
  assert_int_equal(st, 2);
  assert_non_null(strstr(err, "bad.csv:3: memory:"));
  assert_int_equal(strchr(err, '\n'), err + strlen(err) - 1);
  char *after = slurp(report);
  assert_non_null(after);
  assert_string_equal(before, after);
  free(before);
  free(after);
  /* The folder contract: another command's results are refused without
   * --force (docs/results.md). */
  char cmp[700];
  snprintf(cmp, sizeof cmp, "%s/plan-cmp", tmpdir);
  assert_int_equal(migsim(err, sizeof err, "compare --workload idle --memory 8MiB --algos precopy --links 1Gbit/s "
                          "--no-plots --out %s", cmp),
                   0);
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s --quiet", path_of("fleet.csv"), path_of("topo.ini"), cmp);
  assert_int_equal(st, 2);
  assert_non_null(strstr(err, "already holds results of another `migsim compare`"));
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s --quiet --force", path_of("fleet.csv"),
              path_of("topo.ini"), cmp);
  if (st != 0 && st != 1) fail_msg("exit %d: %s", st, err);
  snprintf(report, sizeof report, "%s/summary.csv", cmp);
  after = slurp(report);
  assert_null(after); /* the comparison's runs went with --force */
  st = migsim(err, sizeof err, "plan --help");
  assert_int_equal(st, 0);
  /* comments and blank lines before the header are skipped too (docs) */
  write_file(path_of("commented.csv"), "# two VMs\n\nname,host,memory,workload\nvm1,a,64MiB,idle\n# gone\nvm2,a,64MiB,idle\n");
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s/c --quiet", path_of("commented.csv"), path_of("topo.ini"), out);
  if (st != 0 && st != 1) fail_msg("exit %d: %s", st, err);
  char vms[700];
  snprintf(vms, sizeof vms, "%s/c/vms.csv", out);
  char *text = slurp(vms);
  assert_non_null(text);
  assert_non_null(strstr(text, "\nvm1,"));
  assert_non_null(strstr(text, "\nvm2,"));
  free(text);
}

/* --what-if: one plan per point of the grid, the last key fastest; a
 * faster NIC shortens the makespan of the same serial plan; bad keys and
 * values are refused before anything runs. */
static void test_what_if(void **state) {
  (void)state;
  write_fleet(3);
  char err[4096], out[600], f[700];
  snprintf(out, sizeof out, "%s/what-if", tmpdir);
  int st = migsim(err, sizeof err,
                  "plan %s --topology %s --out %s --quiet --what-if nic=1Gbit/s,4Gbit/s --what-if policy=serial,parallel",
                  path_of("fleet.csv"), path_of("topo.ini"), out);
  if (st != 0 && st != 1) fail_msg("exit %d: %s", st, err);
  snprintf(f, sizeof f, "%s/what-if.csv", out);
  char *csv = slurp(f);
  assert_non_null(csv);
  assert_non_null(strstr(csv, "nic,policy,makespan_s,deadline_met,completed,"));
  const char *rows[4] = {strstr(csv, "\n1Gbit/s,serial,"), strstr(csv, "\n1Gbit/s,parallel,"),
                         strstr(csv, "\n4Gbit/s,serial,"), strstr(csv, "\n4Gbit/s,parallel,")};
  for (int i = 0; i < 4; i++) assert_non_null(rows[i]);
  assert_true(rows[0] < rows[1] && rows[1] < rows[2] && rows[2] < rows[3]);
  double slow = strtod(rows[0] + strlen("\n1Gbit/s,serial,"), NULL);
  double fast = strtod(rows[2] + strlen("\n4Gbit/s,serial,"), NULL);
  if (!(fast < 0.6 * slow)) fail_msg("serial makespan %.1f s at 4 Gbit/s vs %.1f s at 1 Gbit/s", fast, slow);
  free(csv);
  snprintf(f, sizeof f, "%s/what-if.md", out);
  char *md = slurp(f);
  assert_non_null(md);
  assert_non_null(strstr(md, "| 4Gbit/s | parallel |"));
  free(md);
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s --what-if speed=1", path_of("fleet.csv"),
              path_of("topo.ini"), out);
  assert_int_equal(st, 2);
  assert_non_null(strstr(err, "policy, max-parallel"));
  st = migsim(err, sizeof err, "plan %s --topology %s --out %s --what-if policy=serial,fastest", path_of("fleet.csv"),
              path_of("topo.ini"), out);
  assert_int_equal(st, 2);
  assert_non_null(strstr(err, "fastest"));
}

/* What plan --real takes from a plan, and the comparison it writes, with
 * real outcomes made up so that every error is known. */
static void test_real_comparison(void **state) {
  (void)state;
  write_file(path_of("topo.ini"), "latency = 50us\nuplink = 80Mbit/s\n"
                                  "[host s]\nnic = 100Mbit/s\nlatency = 10us\n[host d]\nnic = 1Gbit/s\n"
                                  "[host d2]\nnic = 1Gbit/s\ntarget = no\n");
  write_file(path_of("fleet.csv"), "name,host,dest,memory,dirty_rate,wss,nonzero,algo\n"
                                   "v1,s,d,32MiB,1MiB/s,4MiB,50%,precopy\n"
                                   "v2,s,d,48MiB,1MiB/s,4MiB,50%,postcopy\n"
                                   "v3,s,d,32MiB,2MiB/s,4MiB,80%,precopy\n");
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  o.policy = RES_POLICY_PARALLEL;
  o.max_parallel = o.max_per_host = 0;
  o.timeout_ns = 60 * SIM_NS_PER_S;
  res_plan *p;
  if (res_plan_load(path_of("fleet.csv"), path_of("topo.ini"), &o, &p)) fail_msg("load: %s", sim_error_message());
  assert_int_equal(res_plan_run(p), 0);
  double rate;
  uint64_t latency;
  assert_int_equal(res_plan_one_link(p, &rate, &latency), 0);
  assert_true(fabs(rate - 10e6) < 1e-6); /* the uplink, not the 100 Mbit/s NIC */
  assert_int_equal(latency, 60 * SIM_NS_PER_US);
  mdl_scenario sc;
  assert_int_equal(res_plan_vm_scenario(p, 1, &sc), 0);
  assert_string_equal(sc.name, "v2");
  assert_int_equal(sc.algo, MDL_ALGO_POSTCOPY);
  assert_true(fabs(sc.max_bandwidth - 12.5e6) < 1e-6); /* its path's speed: the slower NIC */
  assert_int_equal(sc.timeout_ns, 60 * SIM_NS_PER_S);
  assert_int_equal(res_plan_vm_scenario(p, 3, &sc), SIM_ERANGE);

  /* Real totals the plan over-predicts by 5, 10 and 20 % of the real one;
   * downtimes 10, 30, 50 ms off; the real makespan twice the plan's. */
  static const double over[3] = {0.05, 0.10, 0.20}, dt[3] = {10, -30, 50};
  res_plan_real_vm real[3];
  memset(real, 0, sizeof real);
  for (size_t i = 0; i < 3; i++) {
    res_plan_vm_outcome v;
    assert_int_equal(res_plan_vm(p, i, &v), 0);
    assert_int_equal(v.status, MDL_STATUS_COMPLETED);
    assert_true(v.transferred_bytes > 16u << 20);
    real[i].start_s = v.start_s;
    real[i].end_s = v.start_s + (v.end_s - v.start_s) / (1 + over[i]);
    real[i].downtime_ms = v.downtime_ms + dt[i];
    real[i].transferred_bytes = v.transferred_bytes;
    real[i].status = MDL_STATUS_COMPLETED;
    snprintf(real[i].integrity, sizeof real[i].integrity, "ok");
  }
  res_plan_summary ps;
  res_plan_summarise(p, &ps);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/plan-real", tmpdir);
  res_plan_real_summary s;
  assert_int_equal(res_plan_write_real(p, real, 2 * ps.makespan_s, dir, &s), 0);
  assert_int_equal(s.compared, 3);
  assert_true(fabs(s.total_median_pct - 10) < 1e-6);
  assert_true(fabs(s.total_p90_pct - 18) < 1e-6); /* 10 + 0.8 x (20 - 10) */
  assert_true(fabs(s.bytes_median_pct) < 1e-9);
  assert_true(fabs(s.downtime_median_ms - 30) < 1e-6);
  assert_true(fabs(s.downtime_p90_ms - 46) < 1e-6);
  assert_true(fabs(s.makespan_pct - 50) < 1e-6);
  char f[700];
  snprintf(f, sizeof f, "%s/vms.csv", dir);
  char *text = slurp(f);
  assert_non_null(text);
  assert_non_null(strstr(text, "name,host,dest,memory_bytes,algo,fallback,start_s,end_s,total_s,downtime_ms,status,verdict,fix\n"
                               "v1,s,d,"));
  free(text);
  snprintf(f, sizeof f, "%s/comparison.csv", dir);
  assert_non_null(text = slurp(f));
  assert_non_null(strstr(text, "\nv3,precopy,completed,completed,"));
  assert_non_null(strstr(text, "\nmakespan,"));
  free(text);
  snprintf(f, sizeof f, "%s/comparison.md", dir);
  assert_non_null(text = slurp(f));
  assert_non_null(strstr(text, "| total time (relative to real) | 10.0 % | 18.0 % |"));
  free(text);
  /* A failed real run is not compared, and says why. */
  real[2].status = MDL_STATUS_FAILED;
  snprintf(real[2].failure, sizeof real[2].failure, "destination QEMU died");
  assert_int_equal(res_plan_write_real(p, real, 2 * ps.makespan_s, dir, &s), 0);
  assert_int_equal(s.compared, 2);
  assert_true(fabs(s.total_median_pct - 7.5) < 1e-6);
  snprintf(f, sizeof f, "%s/comparison.csv", dir);
  assert_non_null(text = slurp(f));
  char *v3 = strstr(text, "\nv3,precopy,completed,failed,");
  assert_non_null(v3);
  assert_non_null(strstr(v3, ",,destination QEMU died\n")); /* no downtime error, the reason */
  assert_null(strstr(v3, "nan"));
  free(text);
  res_plan_free(p);

  /* Two destinations are two links: no one shaped link reproduces them. */
  write_file(path_of("topo.ini"), "[host s]\nnic = 1Gbit/s\n[host d]\nnic = 1Gbit/s\n[host d2]\nnic = 1Gbit/s\n");
  write_file(path_of("fleet.csv"), "name,host,dest,memory,dirty_rate\nv1,s,d,32MiB,1MiB/s\nv2,s,d2,32MiB,1MiB/s\n");
  if (res_plan_load(path_of("fleet.csv"), path_of("topo.ini"), &o, &p)) fail_msg("load: %s", sim_error_message());
  assert_int_equal(res_plan_one_link(p, &rate, &latency), SIM_EUNSUPPORTED);
  assert_non_null(strstr(sim_error_message(), "v2 goes s -> d2"));
  res_plan_free(p);
}

/* A writer that no share of 1 Gbit/s lets pre-copy converge (400 MiB/s
 * over 48 MiB, 100 ms limit: a pass dirties its whole working set) next
 * to an idle VM. Plans it with `fallbacks` (a --fallbacks list) and
 * returns the plan; the writer is VM 0. */
static res_plan *plan_hot(const char *fallbacks) {
  write_file(path_of("topo.ini"), "[host a]\nnic = 1Gbit/s\n[host b]\nnic = 1Gbit/s\n");
  write_file(path_of("fleet.csv"), "name,host,memory,dirty_rate,wss,nonzero\n"
                                   "hot,a,96MiB,400MiB/s,48MiB,100%\n"
                                   "idle,a,32MiB,1MiB/s,8MiB,100%\n");
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  o.downtime_limit_ns = 100 * SIM_NS_PER_MS;
  o.timeout_ns = 60 * SIM_NS_PER_S;
  if (fallbacks && res_fallbacks_parse(fallbacks, &o.fallbacks)) fail_msg("%s: %s", fallbacks, sim_error_message());
  res_plan *p;
  if (res_plan_load(path_of("fleet.csv"), path_of("topo.ini"), &o, &p)) fail_msg("load: %s", sim_error_message());
  if (res_plan_run(p)) fail_msg("run: %s", sim_error_message());
  return p;
}

/* The fallback ladder: by default the writer gets auto-converge first and
 * completes page-exact, throttled (the outputs name the variant and the
 * throttle); without that rung it gets hybrid; with none it times out;
 * a bad rung name is refused with the valid ones. */
static void test_fallback_ladder(void **state) {
  (void)state;
  res_plan_vm_outcome v, idle;
  res_plan *p = plan_hot(NULL);
  assert_int_equal(res_plan_vm(p, 0, &v), 0);
  assert_int_equal(v.algo, MDL_ALGO_PRECOPY);
  assert_true(v.auto_converge && v.fallback);
  if (v.status != MDL_STATUS_COMPLETED || v.over_downtime) fail_msg("status %d, downtime %.1f ms", v.status, v.downtime_ms);
  /* The throttle did the work: it rose past its first step and cost the
   * guest time. */
  if (!(v.cpu_throttle_pct > 20 && v.cpu_throttle_pct <= 99 && v.guest_throttle_ms > 100))
    fail_msg("throttle %llu %%, guest lost %.1f ms", (unsigned long long)v.cpu_throttle_pct, v.guest_throttle_ms);
  assert_int_equal(res_plan_vm(p, 1, &idle), 0);
  assert_false(idle.auto_converge || idle.fallback);
  assert_true(idle.cpu_throttle_pct == 0 && idle.guest_throttle_ms == 0);
  mdl_scenario sc;
  assert_int_equal(res_plan_vm_scenario(p, 0, &sc), 0);
  assert_true(sc.auto_converge && sc.algo == MDL_ALGO_PRECOPY); /* what --real would run */
  char out[600], f[700];
  snprintf(out, sizeof out, "%s/plan-ac", tmpdir);
  if (res_plan_write(p, out)) fail_msg("write: %s", sim_error_message());
  snprintf(f, sizeof f, "%s/vms.csv", out);
  char *text = slurp(f), want[200];
  assert_non_null(text);
  assert_non_null(strstr(text, ",fix,cpu_throttle_percentage,guest_throttle_ms\n"));
  snprintf(want, sizeof want, ",precopy+auto-converge,precopy+auto-converge,");
  assert_non_null(strstr(text, want));
  snprintf(want, sizeof want, ",%llu,%.3f\n", (unsigned long long)v.cpu_throttle_pct, v.guest_throttle_ms);
  assert_non_null(strstr(text, want));
  assert_non_null(strstr(text, "ok,,,\n")); /* the idle VM: empty throttle cells */
  free(text);
  snprintf(f, sizeof f, "%s/report.md", out);
  text = slurp(f);
  assert_non_null(text);
  assert_non_null(strstr(text, "| precopy+auto-converge (fallback; throttle up to "));
  free(text);
  res_plan_free(p);

  p = plan_hot("postcopy,hybrid"); /* order in the list does not matter */
  res_plan_vm(p, 0, &v);
  assert_int_equal(v.algo, MDL_ALGO_HYBRID);
  assert_false(v.auto_converge);
  assert_true(v.fallback && v.status == MDL_STATUS_COMPLETED && v.cpu_throttle_pct == 0);
  if (res_plan_write(p, out)) fail_msg("write: %s", sim_error_message());
  snprintf(f, sizeof f, "%s/vms.csv", out);
  text = slurp(f);
  assert_non_null(strstr(text, ",verdict,fix\n")); /* no auto-converge: the columns as before */
  assert_null(strstr(text, "auto-converge"));
  free(text);
  res_plan_free(p);

  p = plan_hot("none");
  res_plan_vm(p, 0, &v);
  assert_int_equal(v.algo, MDL_ALGO_PRECOPY);
  assert_false(v.auto_converge || v.fallback);
  assert_int_equal(v.status, MDL_STATUS_NOT_CONVERGED);
  res_plan_free(p);

  unsigned bits = 99;
  assert_int_equal(res_fallbacks_parse("auto-converge,hybrid,postcopy", &bits), 0);
  assert_int_equal(bits, RES_FALLBACK_ALL);
  assert_int_equal(res_fallbacks_parse("hybrid", &bits), 0);
  assert_int_equal(bits, RES_FALLBACK_HYBRID);
  static const char *const bad[] = {"post-copy", "hybrid,", "", "none,hybrid", "autoconverge"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (res_fallbacks_parse(bad[i], &bits) != SIM_EINVAL) fail_msg("accepted '%s'", bad[i]);
    assert_non_null(strstr(sim_error_message(), "auto-converge, hybrid, postcopy; or none"));
  }
  char err[2048];
  int st = migsim(err, sizeof err, "plan %s --topology %s --fallbacks hybrid,bogus --out %s --quiet",
                  path_of("fleet.csv"), path_of("topo.ini"), out);
  assert_int_equal(st, 2);
  assert_non_null(strstr(err, "unknown fallback 'bogus' (a list of auto-converge, hybrid, postcopy; or none)"));
  assert_int_equal(strchr(err, '\n'), err + strlen(err) - 1);
}

static void count_repairs(void *ctx, const char *stage, uint64_t done, uint64_t total) {
  (void)done;
  (void)total;
  if (strcmp(stage, "fallbacks after the page-exact run") == 0) ++*(int *)ctx;
}

/* A writer the estimate lets pre-copy converge within 100 ms, but that
 * page-exact converges over it (160 MiB/s over 14 MiB): one repair gives
 * it post-copy, not first auto-converge, which acts only on
 * non-convergence. */
static void test_repair_over_downtime_skips_auto_converge(void **state) {
  (void)state;
  write_file(path_of("topo.ini"), "[host a]\nnic = 1Gbit/s\n[host b]\nnic = 1Gbit/s\n");
  write_file(path_of("fleet.csv"), "name,host,memory,dirty_rate,wss,nonzero\nedge,a,96MiB,160MiB/s,14MiB,100%\n");
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  o.downtime_limit_ns = 100 * SIM_NS_PER_MS;
  o.timeout_ns = 30 * SIM_NS_PER_S;
  int repairs = 0;
  o.progress = count_repairs;
  o.progress_ctx = &repairs;
  res_plan *p;
  if (res_plan_load(path_of("fleet.csv"), path_of("topo.ini"), &o, &p)) fail_msg("load: %s", sim_error_message());
  if (res_plan_run(p)) fail_msg("run: %s", sim_error_message());
  res_plan_vm_outcome v;
  res_plan_vm(p, 0, &v);
  assert_int_equal(v.algo, MDL_ALGO_POSTCOPY);
  assert_false(v.auto_converge);
  assert_true(v.fallback && v.status == MDL_STATUS_COMPLETED && !v.over_downtime);
  assert_int_equal(repairs, 1);
  res_plan_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_rows),
      cmocka_unit_test(test_optimise_not_worse_than_serial),
      cmocka_unit_test(test_parallel_limits),
      cmocka_unit_test(test_optimise_uses_disjoint_paths),
      cmocka_unit_test(test_command),
      cmocka_unit_test(test_what_if),
      cmocka_unit_test(test_real_comparison),
      cmocka_unit_test(test_fallback_ladder),
      cmocka_unit_test(test_repair_over_downtime_skips_auto_converge),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
