/* migsim replay: run a scenario (or every scenario of a file) on real QEMU
 * guests through kvmreplay and write the same summary.csv / rounds.csv as
 * `migsim run`, with source=kvmreplay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_scenario.h"
#include "cli_real.h"
#include "kvr.h"
#include "res_output.h"
#include "sim_err.h"
#include "sim_units.h"

typedef struct {
  const char *out;
  const char *scenario_file;
  int quiet, verbose;
  int count, failed;
  res_folder_mode mode;
  kvr_options kvr;
} cli__replay_opts;

static void cli__replay_help(void) {
  printf("usage: migsim replay [--workload SPEC | --trace FILE] [OPTIONS]\n"
         "       migsim replay --scenario FILE [OPTIONS]\n\n"
         "Runs the scenario on two real QEMU guests (source and destination on\n"
         "127.0.0.1): a small replay guest replays the workload's page accesses at\n"
         "trace time while QEMU migrates it with the scenario's algorithm and limits.\n"
         "Writes OUT/summary.csv and OUT/rounds.csv (source=kvmreplay), the same\n"
         "schema as `migsim run`, plus the integrity check (destination memory vs\n"
         "source), accelerator, QEMU version and replay pacing. See docs/kvmreplay.md.\n\n"
         "options:\n"
         "  --scenario FILE        INI scenario file ([defaults] + one [section] per\n"
         "                         scenario; keys are the parameter names below)\n"
         "  --out DIR              output folder [out/replay]; runs already there are\n"
         "                         skipped, other results refused (docs/results.md)\n"
         "  --append               add these runs to a folder holding other results\n"
         "  --force                replace the folder's results\n"
         "  --qemu PATH            QEMU binary [qemu-system-x86_64 from PATH]\n"
         "  --accel ACCEL          auto | tcg | kvm | kvm:tcg [auto: kvm:tcg, or tcg\n"
         "                         when /dev/kvm is missing or software-only]\n"
         "  --poll MS              query-migrate interval, at most 20 [10]\n"
         "  --nice N               add N to both QEMUs' nice value; negative (root)\n"
         "                         steadies pacing on a busy machine [0]\n"
         "  --vcpu-nice N          nice value of the guest's vCPU threads only, e.g.\n"
         "                         -10 (root): steadiest pacing on a small machine [0]\n"
         "  --pin                  give the guest's vCPU a CPU of its own, all other\n"
         "                         QEMU threads the remaining CPUs\n"
         "  --halt-min US          the guest halts through gaps between accesses longer\n"
         "                         than this, and spins through shorter ones [200]\n"
         "  --spin                 the guest never halts\n"
         "  --report MS            guest progress line interval (console capture) [100]\n"
         "  --keep                 keep the run directory (QEMU logs, consoles, module)\n"
         "  --verbose              progress on stderr\n"
         "  --quiet                no table on stdout\n"
         "  --help                 this text\n\n"
         "Exit status: 0 all runs completed or did not converge, 1 a run failed,\n"
         "2 an error (bad options, QEMU missing, no userfaultfd for post-copy).\n\n"
         "scenario parameters (link and latency are recorded but not emulated):\n");
  mdl_scenario_help(stdout);
  printf("\nexample:\n  migsim replay --workload uniform:wss=8192,rate=10000 --memory 64MiB \\\n"
         "                --algo precopy --max-bandwidth 32MiB/s --out out/replay\n");
}

static int cli__replay_opt(void *ctx, const char *name, const char *value) {
  cli__replay_opts *o = ctx;
  if (!strcmp(name, "help")) {
    cli__replay_help();
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "out")) return o->out = value, 1;
  if (!strcmp(name, "scenario")) return o->scenario_file = value, 1;
  if (!strcmp(name, "qemu")) return o->kvr.qemu = value, 1;
  if (!strcmp(name, "accel")) return o->kvr.accel = value, 1;
  if (!strcmp(name, "poll")) {
    if (value) o->kvr.poll_ns = cli_duration("--poll", value, SIM_NS_PER_MS);
    if (value && (o->kvr.poll_ns == 0 || o->kvr.poll_ns > 20 * SIM_NS_PER_MS))
      cli_die("replay: --poll must be between 1 us and 20 ms");
    return 1;
  }
  if (!strcmp(name, "nice") || !strcmp(name, "vcpu-nice")) {
    if (value) {
      char *end;
      long v = strtol(value, &end, 10);
      if (*end || v < -20 || v > 19) cli_die("replay: --%s expects an integer from -20 to 19", name);
      *(name[0] == 'n' ? &o->kvr.nice : &o->kvr.vcpu_nice) = (int)v;
    }
    return 1;
  }
  if (!strcmp(name, "report")) {
    if (value) o->kvr.report_ns = cli_duration("--report", value, SIM_NS_PER_MS);
    if (value && o->kvr.report_ns < SIM_NS_PER_MS) cli_die("replay: --report must be at least 1 ms");
    return 1;
  }
  if (!strcmp(name, "halt-min")) {
    if (value) o->kvr.halt_min_ns = cli_duration("--halt-min", value, SIM_NS_PER_US);
    if (value && o->kvr.halt_min_ns < 10 * SIM_NS_PER_US) cli_die("replay: --halt-min must be at least 10 us");
    return 1;
  }
  if (!strcmp(name, "spin")) return o->kvr.spin = 1, 0;
  if (!strcmp(name, "keep")) return o->kvr.keep_dir = 1, 0;
  if (!strcmp(name, "pin")) return o->kvr.pin_vcpu = 1, 0;
  if (!strcmp(name, "quiet")) return o->quiet = 1, 0;
  if (!strcmp(name, "verbose")) return o->verbose = 1, 0;
  if (!strcmp(name, "append")) return o->mode = RES_FOLDER_APPEND, 0;
  if (!strcmp(name, "force")) return o->mode = RES_FOLDER_FORCE, 0;
  return -1;
}

static void cli__replay_one(void *ctx, res_folder *folder, const char *id, const mdl_scenario *given,
                            const mdl_scenario *used) {
  cli__replay_opts *o = ctx;
  mdl_scenario s = *given;
  mdl_result r;
  kvr_info info;
  int rc = kvr_run(&s, &o->kvr, &r, &info);
  if (rc && rc != SIM_EINTERRUPTED) {
    mdl_result_free(&r);
    cli_die("replay %s: %s", s.name, sim_error_message());
  }
  if (!o->quiet) {
    if (o->count == 0) res_print_header(stdout);
    res_print_row(stdout, &s, &r);
    printf("  %s %s, integrity %s, replay on time %.2f%% (max lag %.1f ms)%s%s\n", r.accel,
           r.qemu_version, r.integrity[0] ? r.integrity : "-", r.replay_on_time * 100.0,
           r.replay_lag_ms, info.dir[0] && o->kvr.keep_dir ? ", kept " : "",
           info.dir[0] && o->kvr.keep_dir ? info.dir : "");
  }
  if (!o->quiet && info.note[0]) printf("  note: %s\n", info.note);
  if (r.status == MDL_STATUS_FAILED) {
    fprintf(stderr, "migsim: replay %s failed: %s\n", s.name, r.failure);
    o->failed++;
  }
  int wrc = res_folder_write(folder, id, used, &r);
  mdl_result_free(&r);
  cli_check(wrc, "writing results");
  o->count++;
  if (rc == SIM_EINTERRUPTED) {
    res_folder_close(folder);
    cli_die("replay interrupted; the failed run was recorded in %s", o->out);
  }
}

int cli_cmd_replay(int argc, char **argv) {
  cli__replay_opts o;
  memset(&o, 0, sizeof o);
  o.out = "out/replay";
  kvr_options_init(&o.kvr);
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  cli_scenario_args(argc, argv, &s, cli__replay_opt, &o, NULL, 0);
  if (o.verbose) o.kvr.log = stderr;
  cli_scenarios_each("replay", o.scenario_file, &s, o.out, o.mode, o.quiet, cli__replay_one, &o);
  if (!o.quiet) printf("results: %s/summary.csv, %s/rounds.csv\n", o.out, o.out);
  return o.failed ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}
