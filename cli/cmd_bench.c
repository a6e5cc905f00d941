/* migsim bench: the simulator's performance figures, printed (not a test).
 *
 *  1. a 1 TiB guest, pre-copy, uniform writes: wall time on one core;
 *  2. time per simulated page vs a plain bitmap scan of the same guest
 *     (find each set bit and clear it, as QEMU's sender does), same run;
 *  3. peak memory vs the budget of 2 bits per guest page + 64 MiB;
 *  4. a 10,000-point sweep of a 4 GiB guest on all cores;
 *  5. plans: a 1,000-VM, 50-host rack evacuation with the optimising
 *     policy on one core, and a 10,000-VM plan's peak memory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_pool.h"
#include "kvr.h"
#include "mdl_sim.h"
#include "res_plan.h"
#include "sim_err.h"
#include "sim_units.h"

static double cli__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cli__peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

/* Visits every set bit of an all-ones bitmap of `pages` bits page by page
 * (count trailing zeros, clear the bit), like a sender walking its dirty
 * bitmap. Returns seconds; *checksum defeats dead-code elimination. */
static double cli__bitmap_scan(uint64_t pages, uint64_t *checksum) {
  uint64_t words = (pages + 63) / 64;
  uint64_t *bm = malloc(words * sizeof *bm);
  if (!bm) cli_die("bench: out of memory for the bitmap baseline");
  memset(bm, 0xff, words * sizeof *bm);
  double t0 = cli__now();
  uint64_t sum = 0;
  for (uint64_t w = 0; w < words; w++) {
    uint64_t bits = bm[w];
    while (bits) {
      uint64_t b = (uint64_t)__builtin_ctzll(bits);
      sum += (w << 6) + b;
      bits &= bits - 1;
    }
    bm[w] = 0;
  }
  double el = cli__now() - t0;
  free(bm);
  *checksum = sum;
  return el;
}

typedef struct {
  uint64_t points;
  char workloads[5][128];
} cli__bench_sweep;

static int cli__bench_point(void *ctx, uint64_t i) {
  cli__bench_sweep *b = ctx;
  static const char *const algos[] = {"precopy", "hybrid"};
  static const char *const dl[] = {"30ms", "60ms", "100ms", "150ms", "200ms", "300ms", "400ms", "500ms", "750ms", "1000ms"};
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  uint64_t k = i;
  char buf[32];
  mdl_scenario_set(&s, "workload", b->workloads[k % 5]);
  k /= 5;
  mdl_scenario_set(&s, "algo", algos[k % 2]);
  k /= 2;
  snprintf(buf, sizeof buf, "%lluMiB/s", (unsigned long long)(64 + 64 * (k % 10)));
  mdl_scenario_set(&s, "max-bandwidth", buf);
  k /= 10;
  mdl_scenario_set(&s, "downtime-limit", dl[k % 10]);
  k /= 10;
  s.seed = 1 + k;
  mdl_scenario_set(&s, "memory", "4GiB");
  mdl_scenario_set(&s, "link", "10Gbit/s");
  mdl_result r;
  mdl_result_init(&r, "sim");
  int rc = mdl_simulate(&s, &r);
  mdl_result_free(&r);
  return rc;
}

/* One target's verdict for its line on stdout; a miss is counted and, with
 * --check, named on stderr (fmt: what was measured against what). */
static const char *cli__target(int met, int check, int *missed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *cli__target(int met, int check, int *missed, const char *fmt, ...) {
  if (met) return "met";
  (*missed)++;
  if (check) {
    va_list ap;
    va_start(ap, fmt);
    fputs("migsim: bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
  return "MISSED";
}

/* Writes a rack evacuation: `hosts` hosts of 20 VMs each (1, 2 or 4 GiB,
 * 0-120 MiB/s of writes over a quarter to a half of memory) in rack `a`,
 * leaving for as many empty hosts in rack `b`; 25 Gbit/s NICs, 200 Gbit/s
 * rack uplinks. Deterministic. */
static void cli__bench_fleet(const char *dir, unsigned hosts, char *inventory, char *topology, size_t len) {
  snprintf(inventory, len, "%s/inventory.csv", dir);
  snprintf(topology, len, "%s/topology.ini", dir);
  FILE *t = fopen(topology, "w"), *f = fopen(inventory, "w");
  if (!t || !f) cli_die("bench: cannot write into %s", dir);
  fputs("latency = 50us\n[rack a]\nuplink = 200Gbit/s\n[rack b]\nuplink = 200Gbit/s\n", t);
  for (unsigned h = 0; h < 2 * hosts; h++)
    fprintf(t, "[host %c%u]\nnic = 25Gbit/s\nrack = %c\n", h < hosts ? 'a' : 'b', h % hosts, h < hosts ? 'a' : 'b');
  fputs("name,host,memory,dirty_rate,wss,nonzero,priority\n", f);
  uint64_t x = 42;
  for (unsigned h = 0; h < hosts; h++)
    for (unsigned k = 0; k < 20; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      unsigned gib = 1u << ((x >> 33) % 3), rate = (unsigned)((x >> 40) % 7) * 20;
      fprintf(f, "vm%u-%u,a%u,%uGiB,%uMiB/s,%uMiB,%u%%,%u\n", h, k, h, gib, rate, gib * 1024 / (2 + (unsigned)((x >> 50) % 3)),
              40 + (unsigned)((x >> 20) % 51), (unsigned)((x >> 56) % 2));
    }
  fclose(t);
  fclose(f);
}

/* Plans the fleet (no report files): wall seconds, and the summary. */
static double cli__cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cli__bench_plan(const char *inventory, const char *topology, res_policy policy, res_plan_summary *sum,
                              double *cpu_s) {
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  o.policy = policy;
  o.deadline_ns = 3600 * SIM_NS_PER_S;
  double t0 = cli__now(), c0 = cli__cpu();
  res_plan *p;
  if (res_plan_load(inventory, topology, &o, &p) || res_plan_run(p)) cli_die("bench: plan: %s", sim_error_message());
  double el = cli__now() - t0;
  *cpu_s = cli__cpu() - c0;
  res_plan_summarise(p, sum);
  res_plan_free(p);
  return el;
}

/* --compress: zlib's cost per page on this host, as profile lines. */
static int cli__bench_compress(double ratio) {
  kvr_zlib_cost c;
  if (kvr_zlib_costs(ratio, 5, &c)) cli_die("bench: %s", sim_error_message());
  printf("; zlib on this host, levels 0..9, the replay guest's pages at compress_ratio %g\n"
         "; (a %u-byte random prefix); the fastest of 5 passes over 1024 pages\n",
         c.ratio, c.random_bytes);
  printf("; multifd: one stream per channel, a sync flush per 128-page packet\nzlib_page_ns = ");
  for (int l = 0; l < 10; l++) printf("%s%.0f", l ? "," : "", c.packet_ns[l]);
  printf("\n; legacy compress threads (7.2): a new stream per page\ncompress_page_ns = ");
  for (int l = 0; l < 10; l++) printf("%s%.0f", l ? "," : "", c.page_ns[l]);
  printf("\n; compressed bytes per page, levels 0..9: a page alone / in a multifd stream\n; ");
  for (int l = 0; l < 10; l++) printf("%s%.0f/%.0f", l ? ", " : "", c.page_bytes[l], c.packet_bytes[l]);
  /* The workload's compress_ratio is a page compressed alone at level 1;
   * a channel's stream pays its framing once, which the simulator does
   * not model (docs/features.md, "multifd"). */
  printf("\n");
  return CLI_EXIT_OK;
}

int cli_cmd_bench(int argc, char **argv) {
  uint64_t sweep_points = 10000;
  int check = 0, missed = 0, plan_only = 0, no_plan = 0, compress = 0;
  double compress_ratio = 0.3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help")) {
      printf("usage: migsim bench [--sweep-points N] [--plan-only | --no-plan] [--check]\n"
             "       migsim bench --compress [RATIO]\n\n"
             "Prints the simulator's performance figures: a 1 TiB pre-copy migration\n"
             "with a uniform trace on one core, its time per simulated page against a\n"
             "plain bitmap scan of the same guest, peak memory against 2 bits per page\n"
             "+ 64 MiB, and a sweep of N (default 10000) 4 GiB scenarios on all cores,\n"
             "each against its target (the sweep's scales with N: 60 s per 10,000);\n"
             "then plans (migsim plan, policy optimise, one core): a 1,000-VM, 50-host\n"
             "rack evacuation (target <= 10 s) and a 10,000-VM one's peak RSS.\n\n"
             "  --plan-only   only the plan figures\n"
             "  --no-plan     no plan figures (the 10,000-VM plan takes minutes)\n"
             "  --check       exit 1 when a target is missed (each named on stderr)\n"
             "  --compress [RATIO]  instead: what zlib costs this host per page of the\n"
             "                replay guest's content at compress_ratio RATIO (default\n"
             "                0.3), levels 0..9, printed as the profile lines\n"
             "                zlib_page_ns (multifd) and compress_page_ns (7.2's\n"
             "                compress threads) (docs/features.md, \"compress\")\n\n"
             "Exit status: 0 done (with --check: every target met), 1 a target\n"
             "missed with --check, 2 an error.\n");
      return CLI_EXIT_OK;
    } else if (!strcmp(argv[i], "--plan-only")) {
      plan_only = 1;
    } else if (!strcmp(argv[i], "--no-plan")) {
      no_plan = 1;
    } else if (!strcmp(argv[i], "--check")) {
      check = 1;
    } else if (!strcmp(argv[i], "--compress")) {
      compress = 1;
      /* RATIO is optional: a next word that is not an option is it */
      if (i + 1 < argc && (argv[i + 1][0] != '-' || (argv[i + 1][1] >= '0' && argv[i + 1][1] <= '9'))) {
        compress_ratio = cli_double("--compress", argv[++i]);
        if (!(compress_ratio > 0 && compress_ratio <= 1)) cli_die("bench: --compress %s: RATIO must be above 0 and at most 1", argv[i]);
      }
    } else if (!strcmp(argv[i], "--sweep-points")) {
      if (i + 1 >= argc) cli_die("bench: --sweep-points needs a value (see --help)");
      sweep_points = cli_count("--sweep-points", argv[++i]);
      if (sweep_points < 1) cli_die("bench: --sweep-points must be at least 1");
    } else {
      cli_die("bench: unknown argument '%s' (see --help)", argv[i]);
    }
  }

  if (plan_only && no_plan) cli_die("bench: --plan-only and --no-plan: one or the other");
  if (compress) {
    if (plan_only || no_plan || check || sweep_points != 10000)
      cli_die("bench: --compress measures zlib only: no other option with it");
    return cli__bench_compress(compress_ratio);
  }
  if (plan_only) goto plans;
  /* 1-3: one 1 TiB guest. λ = 0.1 of a 10 Gbit/s limit. */
  const uint64_t pages = (1ull << 40) / 4096;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  mdl_scenario_set(&s, "workload", "uniform:rate=30517,nonzero=1");
  mdl_scenario_set(&s, "memory", "1TiB");
  mdl_scenario_set(&s, "max-bandwidth", "10Gbit/s");
  mdl_scenario_set(&s, "link", "10Gbit/s");
  mdl_scenario_set(&s, "timeout", "1h");
  printf("1 TiB guest (%llu pages), pre-copy, %s, max-bandwidth 10 Gbit/s\n",
         (unsigned long long)pages, s.workload);
  mdl_result r;
  mdl_result_init(&r, "sim");
  double t0 = cli__now();
  if (mdl_simulate(&s, &r)) cli_die("bench: %s", sim_error_message());
  double sim_s = cli__now() - t0;
  uint64_t sent = r.normal_pages + r.zero_pages;
  printf("  simulated %.1f s of migration (%s, %llu syncs, %llu pages sent) in %.3f s wall [target <= 2 s: %s]\n",
         r.total_time_ms / 1e3, mdl_status_name(r.status), (unsigned long long)r.dirty_sync_count,
         (unsigned long long)sent, sim_s,
         cli__target(sim_s <= 2.0, check, &missed, "1 TiB migration took %.3f s (target <= 2 s)", sim_s));
  mdl_result_free(&r);
  double rss = cli__peak_rss_mib();
  uint64_t checksum;
  double scan_s = cli__bitmap_scan(pages, &checksum);
  double sim_per_page = sim_s / (double)sent * 1e9, scan_per_page = scan_s / (double)pages * 1e9;
  printf("  time per simulated page %.2f ns; plain bitmap scan %.2f ns/page (checksum %llx)\n",
         sim_per_page, scan_per_page, (unsigned long long)(checksum & 0xffff));
  double ratio = sim_per_page / scan_per_page;
  printf("  ratio sim/scan = %.2f [target <= 3: %s]\n", ratio,
         cli__target(ratio <= 3.0, check, &missed, "sim/scan ratio %.2f (target <= 3)", ratio));
  /* The same guest without writes isolates the per-page path. */
  mdl_scenario idle = s;
  mdl_scenario_set(&idle, "workload", "idle:nonzero=1");
  mdl_result_init(&r, "sim");
  t0 = cli__now();
  if (mdl_simulate(&idle, &r)) cli_die("bench: %s", sim_error_message());
  double idle_s = cli__now() - t0;
  double idle_per_page = idle_s / (double)(r.normal_pages + r.zero_pages) * 1e9;
  mdl_result_free(&r);
  printf("  same guest without writes: %.3f s, %.2f ns per page, ratio to the scan %.2f\n", idle_s,
         idle_per_page, idle_per_page / scan_per_page);
  double budget = (double)pages * 2 / 8 / 1048576.0 + 64;
  printf("  peak RSS %.1f MiB; budget 2 bits/page + 64 MiB = %.1f MiB [target: within: %s]\n", rss, budget,
         cli__target(rss <= budget, check, &missed, "peak RSS %.1f MiB over %.1f MiB", rss, budget));

  /* 4: the sweep. */
  cli__bench_sweep b = {sweep_points, {{0}}};
  snprintf(b.workloads[0], sizeof b.workloads[0], "uniform:rate=5000,nonzero=0.5");
  snprintf(b.workloads[1], sizeof b.workloads[1], "uniform:wss=65536,rate=20000,nonzero=0.5");
  snprintf(b.workloads[2], sizeof b.workloads[2], "hotcold:hot=0.05,hotprob=0.9,rate=15000,nonzero=0.5");
  snprintf(b.workloads[3], sizeof b.workloads[3], "zipf:s=1.1,rate=10000,nonzero=0.5");
  snprintf(b.workloads[4], sizeof b.workloads[4], "idle:nonzero=0.5");
  long jobs = cli_cores();
  t0 = cli__now();
  int rc = cli_pool_run(sweep_points, jobs, cli__bench_point, &b, NULL);
  if (rc) cli_die("bench sweep: %s", sim_error_message());
  double sweep_s = cli__now() - t0;
  double sweep_target = 60.0 * (double)sweep_points / 10000.0;
  printf("sweep: %llu scenarios of a 4 GiB guest (5 workloads x 2 algorithms x 10 limits x 10 "
         "downtime limits x seeds) on %ld threads in %.1f s [target <= %.1f s: %s], %.2f ms per scenario\n",
         (unsigned long long)sweep_points, jobs, sweep_s, sweep_target,
         cli__target(sweep_s <= sweep_target, check, &missed, "sweep took %.1f s (target <= %.1f s)", sweep_s,
                     sweep_target),
         sweep_points ? sweep_s / (double)sweep_points * 1e3 * (double)jobs : 0.0);

  if (no_plan) return check && missed ? CLI_EXIT_CHECK : CLI_EXIT_OK;
plans:;
  /* 5: plans, one core (the fleet engine is single-threaded). */
  char dir[] = "/tmp/migsim-bench-plan-XXXXXX", inventory[256], topology[256];
  if (!mkdtemp(dir)) cli_die("bench: cannot create a temporary folder");
  res_plan_summary sum;
  cli__bench_fleet(dir, 50, inventory, topology, sizeof inventory);
  double cpu_s, plan_s = cli__bench_plan(inventory, topology, RES_POLICY_OPTIMISE, &sum, &cpu_s);
  printf("plan: 1,000 VMs leaving a 50-host rack, policy optimise (%zu schedules estimated; chosen: %s): "
         "makespan %.1f s simulated page-exact (estimate %.1f s), %zu fallbacks, %zu breaking a limit, in %.2f s wall "
         "(%.2f s CPU) [target <= 10 s: %s]\n",
         sum.candidates, sum.schedule, sum.makespan_s, sum.estimated_makespan_s, sum.fallbacks,
         sum.not_converged + sum.over_downtime + sum.late, plan_s, cpu_s,
         cli__target(plan_s <= 10.0, check, &missed, "1,000-VM plan took %.2f s (target <= 10 s)", plan_s));
  remove(inventory);
  remove(topology);
  cli__bench_fleet(dir, 500, inventory, topology, sizeof inventory);
  double rss_before = cli__peak_rss_mib();
  plan_s = cli__bench_plan(inventory, topology, RES_POLICY_OPTIMISE, &sum, &cpu_s);
  double rss_plan = cli__peak_rss_mib();
  printf("plan: 10,000 VMs leaving a 500-host rack, policy optimise (chosen: %s): makespan %.1f s, in %.1f s wall "
         "(%.1f s CPU); "
         "peak RSS %.1f MiB (%.1f MiB before it) [target: bounded, <= 1 GiB: %s]\n",
         sum.schedule, sum.makespan_s, plan_s, cpu_s, rss_plan, rss_before,
         cli__target(rss_plan <= 1024, check, &missed, "10,000-VM plan peak RSS %.1f MiB (target <= 1 GiB)", rss_plan));
  remove(inventory);
  remove(topology);
  rmdir(dir);
  return check && missed ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}
