/* migsim replay: run a scenario (or every scenario of a file) on real QEMU
 * guests through kvmreplay and write the same summary.csv / rounds.csv as
 * `migsim run`, with source=kvmreplay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_scenario.h"
#include "cli_real.h"
#include "kvr.h"
#include "res_csv.h"
#include "res_output.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_units.h"
#include "wl_gen.h"

/* Most calc-dirty-rate measurements one run takes. */
#define CLI__DR_MAX 64

typedef struct {
  const char *out;
  const char *scenario_file;
  int quiet, verbose;
  int count, failed;
  res_folder_mode mode;
  kvr_options kvr;
  /* --calc-dirty-rate: measure instead of migrating */
  uint32_t dr_periods[CLI__DR_MAX];
  kvr_dirty_measure dr_out[CLI__DR_MAX];
  kvr_dirtyrate_plan dr;
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
         "                         scenario; keys are the parameter names below);\n"
         "                         parameters given as flags override the\n"
         "                         file's values in every section\n"
         "  --out DIR              output folder [out/replay]; runs already there are\n"
         "                         skipped, other results refused (docs/results.md)\n"
         "  --append               add these runs to a folder holding other results\n"
         "  --force                replace the folder's results\n"
         "  --qemu PATH|VERSION    QEMU binary: a path, a name in PATH, or 7.2 (the\n"
         "                         system QEMU) / 10.0 (scripts/deps.sh puts it in\n"
         "                         /opt/migsim/qemu-10.0); also a scenario key\n"
         "                         [qemu-system-x86_64 from PATH]\n"
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
         "  --calc-dirty-rate LIST do not migrate: start only the source and, while\n"
         "                         the guest plays the workload, run QEMU's\n"
         "                         calc-dirty-rate once per period of LIST (whole\n"
         "                         seconds, 1..60, in order; repeat a period to\n"
         "                         average it: 1,1,1,4,4); writes OUT/dirtyrate.csv\n"
         "                         and compares with the curve of a curve: workload\n"
         "  --calc-mode MODE       page-sampling (works under TCG) | dirty-bitmap\n"
         "                         (exact, KVM only) [page-sampling]\n"
         "  --sample-pages N       page-sampling: sampled pages per GiB, 128..16384\n"
         "                         [QEMU's 512]\n"
         "  --qemu-trace P,...     enable QEMU trace events matching each pattern on\n"
         "                         both QEMUs (e.g. 'postcopy_*,ram_save_queue_pages');\n"
         "                         they land in src.log / dst.log (use with --keep)\n"
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
  if (!strcmp(name, "accel")) return o->kvr.accel = value, 1;
  if (!strcmp(name, "qemu-trace")) {
    if (value) {
      size_t patterns = 1;
      for (const char *q = value; *q; q++) patterns += *q == ',';
      if (patterns > 16 || strlen(value) > 16 * 80)
        cli_die("replay: --qemu-trace takes at most 16 patterns of at most 80 characters");
    }
    return o->kvr.qemu_trace = value, 1;
  }
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
  if (!strcmp(name, "calc-dirty-rate")) {
    if (!value) return 1;
    char list[512];
    snprintf(list, sizeof list, "%s", value);
    o->dr.count = 0;
    for (char *save = NULL, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
      uint64_t ns = cli_duration("--calc-dirty-rate", item, SIM_NS_PER_S);
      if (ns % SIM_NS_PER_S || ns < SIM_NS_PER_S || ns > 60 * SIM_NS_PER_S)
        cli_die("replay: --calc-dirty-rate: '%s' is not a whole number of seconds in 1..60 "
                "(QEMU's calc-time)", item);
      if (o->dr.count == CLI__DR_MAX) cli_die("replay: --calc-dirty-rate: more than %d periods", CLI__DR_MAX);
      o->dr_periods[o->dr.count++] = (uint32_t)(ns / SIM_NS_PER_S);
    }
    if (!o->dr.count) cli_die("replay: --calc-dirty-rate needs at least one period");
    return 1;
  }
  if (!strcmp(name, "calc-mode")) {
    if (value && strcmp(value, "page-sampling") && strcmp(value, "dirty-bitmap"))
      cli_die("replay: --calc-mode must be page-sampling or dirty-bitmap, not '%s'", value);
    return o->dr.mode = value, 1;
  }
  if (!strcmp(name, "sample-pages")) {
    if (value) o->dr.sample_pages = cli_count("--sample-pages", value);
    if (value && (o->dr.sample_pages < 128 || o->dr.sample_pages > 16384))
      cli_die("replay: --sample-pages must be in 128..16384 (QEMU's range)");
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

static const char *const cli__dr_columns[] = {
    "scenario", "workload", "period_s", "mode", "sample_pages", "start_s", "dirty_rate_mib_s",
    "measured_pages", "curve_pages", "error", "replay_on_time"};

/* --calc-dirty-rate: one row per measurement in OUT/dirtyrate.csv, and a
 * table with the curve's value next to each (curve: workloads only). */
static void cli__dirtyrate_one(cli__replay_opts *o, mdl_scenario *s) {
  /* The guest must still be playing when the last period ends: an endless
   * generator is kept up to the timeout + 5 s. */
  uint64_t total_ns = 0;
  for (size_t i = 0; i < o->dr.count; i++) total_ns += (o->dr_periods[i] + 1) * SIM_NS_PER_S;
  if (s->timeout_ns < total_ns + 5 * SIM_NS_PER_S) s->timeout_ns = total_ns + 5 * SIM_NS_PER_S;
  wl_curve *curve = NULL;
  if (strncmp(s->workload, "curve:", 6) == 0 && s->pages &&
      wl_curve_open(s->workload, s->pages, 4096, &curve))
    cli_die("replay %s: %s", s->name, sim_error_message());
  o->dr.periods_s = o->dr_periods;
  o->dr.out = o->dr_out;
  o->kvr.dirtyrate = &o->dr;
  mdl_result r;
  kvr_info info;
  int rc = kvr_run(s, &o->kvr, &r, &info);
  o->kvr.dirtyrate = NULL;
  if (rc && rc != SIM_EINTERRUPTED) {
    mdl_result_free(&r);
    wl_curve_free(curve);
    cli_die("replay %s: %s", s->name, sim_error_message());
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/dirtyrate.csv", o->out);
  res_csv *csv = NULL;
  int wrc = sim_mkdir_p(o->out);
  if (!wrc) wrc = res_csv_append(path, cli__dr_columns, sizeof cli__dr_columns / sizeof cli__dr_columns[0], &csv);
  if (!o->quiet && o->count == 0)
    printf("%-24s %8s %-13s %9s %12s %12s %8s\n", "scenario", "period_s", "mode", "MiB/s",
           "measured", "curve", "error");
  for (size_t i = 0; i < o->dr.done && !wrc; i++) {
    const kvr_dirty_measure *m = &o->dr_out[i];
    double want = curve ? wl_curve_expected(curve, m->period_s) : NAN;
    double err = curve && want > 0 ? (m->dirty_pages - want) / want : NAN;
    if (!o->quiet && curve)
      printf("%-24s %8u %-13s %9.0f %12.0f %12.0f %7.1f%%\n", s->name, m->period_s, m->mode,
             m->dirty_rate_mib_s, m->dirty_pages, want, 100 * err);
    else if (!o->quiet)
      printf("%-24s %8u %-13s %9.0f %12.0f %12s %8s\n", s->name, m->period_s, m->mode,
             m->dirty_rate_mib_s, m->dirty_pages, "-", "-");
    wrc = res_csv_str(csv, s->name);
    if (!wrc) wrc = res_csv_str(csv, s->workload);
    if (!wrc) wrc = res_csv_u64(csv, m->period_s);
    if (!wrc) wrc = res_csv_str(csv, m->mode);
    if (!wrc) wrc = res_csv_u64(csv, m->sample_pages);
    if (!wrc) wrc = res_csv_fixed(csv, m->start_ms / 1e3, 3);
    if (!wrc) wrc = res_csv_double(csv, m->dirty_rate_mib_s);
    if (!wrc) wrc = res_csv_double(csv, m->dirty_pages);
    if (!wrc) wrc = res_csv_fixed(csv, want, 1);
    if (!wrc) wrc = res_csv_fixed(csv, err, 4);
    if (!wrc) wrc = res_csv_fixed(csv, r.replay_on_time, 4);
    if (!wrc) wrc = res_csv_end_row(csv);
  }
  if (!wrc && csv) wrc = res_csv_commit(csv);
  else res_csv_abort(csv);
  if (!o->quiet && r.status != MDL_STATUS_FAILED)
    printf("  %s %s, replay on time %.2f%% (max lag %.1f ms)\n", r.accel, r.qemu_version,
           r.replay_on_time * 100.0, r.replay_lag_ms);
  if (r.status == MDL_STATUS_FAILED) {
    fprintf(stderr, "migsim: replay %s failed: %s\n", s->name, r.failure);
    o->failed++;
  }
  mdl_result_free(&r);
  wl_curve_free(curve);
  cli_check(wrc, "writing dirtyrate.csv");
  o->count++;
  if (rc == SIM_EINTERRUPTED) cli_die("replay interrupted");
}

/* --calc-dirty-rate measures instead of migrating: no result folder,
 * its rows go to OUT/dirtyrate.csv. */
static int cli__dirtyrate_each(void *ctx, const mdl_scenario *given) {
  mdl_scenario s = *given;
  cli_scenario_name(&s);
  cli__dirtyrate_one(ctx, &s);
  return 0;
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
    if (o->count == 0) res_print_header(stdout, RES_NAME_WIDTH);
    res_print_row(stdout, RES_NAME_WIDTH, &s, &r);
    printf("  %s %s on %s, integrity %s, replay on time %.2f%% (max lag %.1f ms)%s%s\n", r.accel,
           r.qemu_version, r.host_cpu[0] ? r.host_cpu : "an unnamed CPU", r.integrity[0] ? r.integrity : "-",
           r.replay_on_time * 100.0,
           r.replay_lag_ms, info.dir[0] && o->kvr.keep_dir ? ", kept " : "",
           info.dir[0] && o->kvr.keep_dir ? info.dir : "");
  }
  if (!o->quiet && r.cpu_source_ms >= 0 && r.total_time_ms > 0) {
    /* where the host's CPU went, in cores over the migration (docs/kvmreplay.md, "Host CPU") */
    double t = r.total_time_ms;
    printf("  host CPU (cores): vCPU %.2f, migration thread %.2f", r.cpu_vcpu_ms / t, r.cpu_migration_ms / t);
    if (r.cpu_workers_ms >= 0) printf(", %s %.2f", s.compress ? "compress threads" : "channels", r.cpu_workers_ms / t);
    printf(", source %.2f, destination %.2f; threads waited for a CPU %.2f\n", r.cpu_source_ms / t,
           r.cpu_dest_ms / t, r.cpu_wait_ms / t);
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
  if (o.dr.count && o.scenario_file) {
    cli_check(mdl_scenario_file_each(o.scenario_file, &s, cli__dirtyrate_each, &o), "");
  } else if (o.dr.count) {
    cli_check(mdl_scenario_validate(&s), "replay");
    cli__dirtyrate_each(&o, &s);
  } else {
    cli_scenarios_each("replay", o.scenario_file, &s, o.out, o.mode, o.quiet, 1, 0, 0, cli__replay_one, &o);
  }
  if (!o.quiet && o.dr.count) printf("results: %s/dirtyrate.csv\n", o.out);
  else if (!o.quiet) printf("results: %s/summary.csv, %s/rounds.csv\n", o.out, o.out);
  return o.failed ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}
