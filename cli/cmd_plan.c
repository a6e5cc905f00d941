/* migsim plan: capacity planning (res_plan.h, docs/planning.md). Thin:
 * options in, res_plan_load / run / write, a summary out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_plan.h"
#include "cmd_plan_whatif.h"
#include "kvr.h"
#include "res_output.h"
#include "res_plan.h"
#include "sim_err.h"
#include "sim_units.h"

static void cli__plan_help(FILE *out) {
  fputs("usage: migsim plan INVENTORY --topology FILE [--deadline 15min] [--downtime-limit 300ms]\n"
        "                   [--policy optimise] [--max-parallel 6] [--max-per-host 2]\n"
        "                   [--fallbacks LIST] [--timeout T] [--out DIR] [--force] [--quiet]\n"
        "                   [--real [--net-name NAME] [--accel A] [--qemu Q] [--verbose]]\n\n"
        "Plans the evacuation of the VMs of INVENTORY (CSV, one row per VM) over the hosts\n"
        "and links of the topology (INI): in what order and how many at once, each\n"
        "migration simulated page-exact with its own driver, concurrent ones sharing\n"
        "every link on their path max-min fairly. Writes into DIR (default out/plan):\n"
        "report.md, report.html (self-contained), vms.csv (start, end, total time,\n"
        "downtime, verdict, fallback, fix per VM), links.csv, gantt.png, links.png.\n\n"
        "options:\n"
        "  --topology FILE     hosts (NIC speeds, racks), switch and rack uplinks, latency\n"
        "  --deadline T        every VM must have left by T (e.g. 15min); default none\n"
        "  --downtime-limit T  per-VM downtime limit unless the inventory gives max_downtime\n"
        "                      (default 300ms); also QEMU's downtime-limit\n"
        "  --policy P          serial | parallel | shortest-first | dirty-last | optimise\n"
        "                      (default optimise: searches orders and limits, with\n"
        "                      fallbacks for VMs that would not converge)\n"
        "  --max-parallel K    migrations at once for parallel, shortest-first, dirty-last\n"
        "                      (default 6, OpenStack Watcher's; 0 = no limit)\n"
        "  --max-per-host K    migrations at once touching one host (default 2; 0 = none)\n"
        "  --fallbacks LIST    optimise's per-VM fallbacks for a pre-copy VM that would\n"
        "                      not converge or would break its downtime limit, tried in\n"
        "                      the order pre-copy -> auto-converge (guest throttled on\n"
        "                      the source) -> hybrid -> post-copy; LIST picks the rungs:\n"
        "                      default auto-converge,hybrid,postcopy; none = no fallback\n"
        "  --timeout T         a migration still going after T is not converged\n"
        "                      (default: the deadline, else 1h)\n"
        "  --out DIR           output folder (default out/plan); a plan replaces an\n"
        "                      earlier plan's results there once it has its own,\n"
        "                      other commands' results are refused without --force\n"
        "  --force             replace whatever results --out holds\n"
        "  --quiet             no progress lines on stderr\n",
        out);
  fputs("  --real              then run the plan on real QEMU (root): every VM at its\n"
        "                      simulated start, all over one veth link between network\n"
        "                      namespaces shaped with tc to the path's speed; writes\n"
        "                      DIR/real/vms.csv (same columns), comparison.md and\n"
        "                      comparison.csv (total time, bytes, downtime, makespan:\n"
        "                      simulated vs real, median and p90 errors). Every VM must\n"
        "                      leave one host for one other; the simulation then models\n"
        "                      the replay guest's whole memory; --timeout defaults to 120s\n"
        "  --net-name NAME     namespace and interface prefix for --real (default migsim)\n"
        "  --accel A, --qemu Q as for migsim replay (--real)\n"
        "  --verbose           every ip/tc command and QEMU step on stderr (--real)\n"
        "  --what-if KEY=V,... plan once per value instead (repeatable: the grid of all\n"
        "                      combinations, the last key varying fastest); KEY is\n"
        "                      policy, max-parallel, max-per-host, nic (every host's\n"
        "                      NIC), downtime-limit or deadline; writes DIR/what-if.csv\n"
        "                      and what-if.md (makespan, verdict counts per plan); exit 0\n"
        "                      when at least one plan meets every limit\n\n"
        "Exit status: 0 when every VM completes within its limits and the deadline,\n"
        "1 when some do not (the report says which and what would fix each), 2 on bad input.\n\n"
        "example (the worked example of docs/planning.md: 40 VMs leave one host over\n"
        "its 10 Gbit/s NIC within 15 minutes, 300 ms downtime each):\n"
        "  migsim plan scenarios/plan/evacuate-40.csv --topology scenarios/plan/one-host.ini \\\n"
        "      --deadline 15min --downtime-limit 300ms --out out/plan-40\n",
        out);
}

typedef struct {
  int quiet;
  char stage[64];
  struct timespec last;
} cli__plan_progress;

static void cli__plan_report(void *ctx, const char *stage, uint64_t done, uint64_t total) {
  cli__plan_progress *p = ctx;
  if (p->quiet) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double since = (double)(now.tv_sec - p->last.tv_sec) + (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
  int new_stage = strcmp(stage, p->stage) != 0;
  if (!new_stage && since < 2 && done != total) return;
  snprintf(p->stage, sizeof p->stage, "%s", stage);
  p->last = now;
  if (total)
    fprintf(stderr, "plan: %s: %llu/%llu\n", stage, (unsigned long long)done, (unsigned long long)total);
  else
    fprintf(stderr, "plan: %s: %llu\n", stage, (unsigned long long)done);
}

int cli_cmd_plan(int argc, char **argv) {
  static const struct option opts[] = {{"topology", required_argument, 0, 't'},
                                       {"deadline", required_argument, 0, 'd'},
                                       {"downtime-limit", required_argument, 0, 'l'},
                                       {"policy", required_argument, 0, 'p'},
                                       {"max-parallel", required_argument, 0, 'k'},
                                       {"max-per-host", required_argument, 0, 'n'},
                                       {"timeout", required_argument, 0, 'T'},
                                       {"fallbacks", required_argument, 0, 'F'},
                                       {"out", required_argument, 0, 'o'},
                                       {"force", no_argument, 0, 'f'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"real", no_argument, 0, 'R'},
                                       {"net-name", required_argument, 0, 'N'},
                                       {"accel", required_argument, 0, 'A'},
                                       {"qemu", required_argument, 0, 'Q'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"what-if", required_argument, 0, 'W'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  res_plan_opts o;
  res_plan_opts_defaults(&o);
  const char *topology = NULL, *out = "out/plan";
  cli__plan_progress progress = {0, "", {0, 0}};
  cli_plan_real_opts real = {NULL, NULL, NULL, 0, 0};
  int run_real = 0, timeout_given = 0, force = 0;
  cli_whatif *whatif = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 't': topology = optarg; break;
    case 'd':
      o.deadline_ns = cli_duration("--deadline", optarg, SIM_NS_PER_S);
      if (!o.deadline_ns) cli_die("plan: --deadline must be above 0 (leave it out for no deadline)");
      break;
    case 'l': o.downtime_limit_ns = cli_duration("--downtime-limit", optarg, SIM_NS_PER_MS); break;
    case 'p': cli_check(res_policy_parse(optarg, &o.policy), "plan: --policy"); break;
    case 'k': o.max_parallel = (uint32_t)cli_count("--max-parallel", optarg); break;
    case 'n': o.max_per_host = (uint32_t)cli_count("--max-per-host", optarg); break;
    case 'T':
      o.timeout_ns = cli_duration("--timeout", optarg, SIM_NS_PER_S), timeout_given = 1;
      if (!o.timeout_ns) cli_die("plan: --timeout must be above 0 (leave it out for the default)");
      break;
    case 'F': cli_check(res_fallbacks_parse(optarg, &o.fallbacks), "plan: --fallbacks"); break;
    case 'o': out = optarg; break;
    case 'f': force = 1; break;
    case 'q': progress.quiet = real.quiet = 1; break;
    case 'R': run_real = 1; break;
    case 'N': real.net_name = optarg; break;
    case 'A': real.accel = optarg; break;
    case 'Q': real.qemu = optarg; break;
    case 'v': real.verbose = 1; break;
    case 'W':
      if (!whatif) whatif = cli_whatif_new();
      cli_whatif_add(whatif, optarg, &o);
      break;
    case 'h': cli__plan_help(stdout); return CLI_EXIT_OK;
    case ':': cli_die("plan: option '%s' needs a value (see 'migsim plan --help')", argv[optind - 1]);
    default: cli_die("plan: unknown option '%s' (see 'migsim plan --help')", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) cli_die("plan: expected one INVENTORY file (see 'migsim plan --help')");
  if (!topology) cli_die("plan: --topology FILE is required (see 'migsim plan --help')");
  if (o.downtime_limit_ns < SIM_NS_PER_MS || o.downtime_limit_ns > 3600 * SIM_NS_PER_S)
    cli_die("plan: --downtime-limit: expected 1ms to 1h");
  if (o.max_parallel > 100000 || o.max_per_host > 100000) cli_die("plan: --max-parallel, --max-per-host: at most 100000");
  if (run_real) {
    /* Refused before anything is simulated. */
    cli_check(kvr_net_check(), "plan --real");
    /* The replay guest carries its workload up to the timeout. */
    if (!timeout_given) o.timeout_ns = 120 * SIM_NS_PER_S;
    if (o.timeout_ns > 600 * SIM_NS_PER_S) cli_die("plan --real: --timeout: at most 10min for a real run");
    o.adjust = cli_plan_layout;
  }
  if (whatif && run_real) cli_die("plan: --what-if and --real: one at a time");
  /* The folder contract (docs/results.md): a plan owns its folder, another
   * command's results are refused without --force, and the old results go
   * only once this plan has its own. */
  res_folder *folder;
  cli_check(res_folder_open(out, "plan", 0, force ? RES_FOLDER_FORCE : RES_FOLDER_OWN, &folder), "plan");
  if (whatif) {
    int wrc = cli_whatif_run(whatif, argv[optind], topology, &o, out, progress.quiet);
    cli_whatif_free(whatif);
    cli_check(res_folder_replace(folder), "plan");
    cli_check(res_folder_close(folder), "plan");
    return wrc;
  }
  o.progress = cli__plan_report;
  o.progress_ctx = &progress;
  res_plan *plan;
  cli_check(res_plan_load(argv[optind], topology, &o, &plan), "plan");
  int rc = res_plan_run(plan);
  if (rc) {
    res_plan_free(plan);
    cli_check(rc, "plan");
  }
  cli_check(res_folder_replace(folder), "plan");
  if ((rc = res_plan_write(plan, out))) {
    res_plan_free(plan);
    cli_check(rc, "plan");
  }
  res_plan_summary s;
  res_plan_summarise(plan, &s);
  printf("plan: %zu VMs, %s\n", s.vms, s.schedule);
  printf("makespan %.1f s (%.1f min; estimated %.1f s)", s.makespan_s, s.makespan_s / 60, s.estimated_makespan_s);
  if (o.deadline_ns)
    printf(", deadline %.1f min %s", (double)o.deadline_ns / 60e9,
           s.makespan_s * 1e9 <= (double)o.deadline_ns ? "met" : "MISSED");
  printf("\ncompleted %zu, not converged %zu, over their downtime limit %zu, late %zu, fallbacks %zu\n",
         s.completed, s.not_converged, s.over_downtime, s.late, s.fallbacks);
  printf("report: %s/report.md, %s/report.html\n", out, out);
  int bad = s.not_converged || s.over_downtime || s.late;
  if (run_real) bad |= cli_plan_real(plan, out, &real) != CLI_EXIT_OK;
  res_plan_free(plan);
  cli_check(res_folder_close(folder), "plan");
  return bad ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}
