/* migsim validate: every scenario simulated and run on real QEMU, and an
 * error table per metric. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_real.h"
#include "mdl_sim.h"
#include "res_output.h"
#include "res_validate.h"
#include "sim_err.h"
#include "sim_file.h"

static void cli__validate_help(void) {
  printf("usage: migsim validate SCENARIOS.ini [OPTIONS]\n\n"
         "Runs every scenario of the file in the simulator and --repeat times on real\n"
         "QEMU (kvmreplay), then writes OUT/validation.md (error table per metric:\n"
         "median and p90 absolute %% error, round-count and downtime agreement,\n"
         "convergence verdicts; beside each, the real system's own spread: every\n"
         "real run judged against the median of its scenario's other real runs),\n"
         "OUT/errors.csv, scatter plots of predicted vs\n"
         "measured per metric (OUT/scatter_*.png) and per-round overlays\n"
         "(OUT/rounds_<scenario>.png). Real runs are kept in OUT/real/ and reused by\n"
         "later validations (only missing repeats run); predictions go to OUT/sim/.\n\n"
         "options:\n"
         "  --repeat N        real runs per scenario [3]\n"
         "  --out DIR         output folder [out/validate]\n"
         "  --profile NAME    simulate with this profile instead of the file's\n"
         "  --qemu Q          real runs on this QEMU unless a scenario says otherwise\n"
         "                    (path, or 7.2 / 10.0; keep one --out per version)\n"
         "  --overlay LIST    scenarios to overlay round by round [first two]\n"
         "  --only PATTERNS   validate only the scenarios whose names match one of\n"
         "                    these comma-separated shell patterns (mfd-*,cmp-*)\n"
         "  --notes TEXT      text for the report's Notes section\n"
         "  --no-layout       simulate the trace's pages only, not the replay guest's\n"
         "                    whole memory (kernel, module, margins)\n"
         "  --no-replay       use only the real runs already in OUT/real (no QEMU);\n"
         "                    scenarios without real runs are an error\n"
         "  --check           exit 1 when a target of the report's check table is missed\n"
         "                    (each missed target is named on stderr, with the\n"
         "                    real runs' own figure, real vs real, its 95%%\n"
         "                    interval, scenarios resampled, and the best any\n"
         "                    prediction could score on these runs; all targets\n"
         "                    with their intervals are in OUT/checks.csv)\n"
         "  --help            this text\n");
}

/* --only: keeps the scenarios whose names match one of the patterns
 * (fnmatch); a pattern that matches none is an error, not a silent
 * no-op. */
static void cli__validate_only(const char *file, const char *patterns, cli_scenarios *list) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", patterns);
  int used[64] = {0};
  size_t npat = 0;
  char *pat[64], *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t && npat < 64; t = strtok_r(NULL, ",", &save)) pat[npat++] = t;
  if (!npat) cli_die("validate: --only needs at least one pattern");
  size_t kept = 0;
  for (size_t i = 0; i < list->count; i++) {
    int keep = 0;
    for (size_t k = 0; k < npat; k++)
      if (fnmatch(pat[k], list->items[i].name, 0) == 0) keep = used[k] = 1;
    if (keep) list->items[kept++] = list->items[i];
  }
  for (size_t k = 0; k < npat; k++)
    if (!used[k]) cli_die("validate: --only '%s' matches no scenario of %s", pat[k], file);
  list->count = kept;
}

int cli_cmd_validate(int argc, char **argv) {
  unsigned repeat = 3;
  const char *out = "out/validate", *profile = NULL, *overlay = NULL, *file = NULL, *notes = NULL,
             *qemu = NULL, *only = NULL;
  int layout = 1, check = 0, replay = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help")) {
      cli__validate_help();
      return CLI_EXIT_OK;
    } else if (!strcmp(a, "--repeat") && v) {
      uint64_t n = cli_count("--repeat", v);
      if (n < 1 || n > 64) cli_die("validate: --repeat must be 1..64");
      repeat = (unsigned)n;
      i++;
    } else if (!strcmp(a, "--out") && v) {
      out = argv[++i];
    } else if (!strcmp(a, "--profile") && v) {
      profile = argv[++i];
    } else if (!strcmp(a, "--qemu") && v) {
      qemu = argv[++i];
    } else if (!strcmp(a, "--overlay") && v) {
      overlay = argv[++i];
    } else if (!strcmp(a, "--only") && v) {
      only = argv[++i];
    } else if (!strcmp(a, "--no-layout")) {
      layout = 0;
    } else if (!strcmp(a, "--check")) {
      check = 1;
    } else if (!strcmp(a, "--no-replay")) {
      replay = 0;
    } else if (!strcmp(a, "--notes") && v) {
      notes = argv[++i];
    } else if (a[0] == '-') {
      cli_die("validate: unknown option '%s' (see --help)", a);
    } else if (!file) {
      file = a;
    } else {
      cli_die("validate: one scenario file only ('%s')", a);
    }
  }
  if (!file) cli_die("validate: give a scenario file (see --help)");
  {
    /* OUT holds the report beside its sim/ and real/ folders; a result
     * folder of another command (its manifest at the top) is not one. */
    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%s/migsim-folder.txt", out);
    if (access(manifest, F_OK) == 0)
      cli_die("validate: %s is the result folder of another migsim command; validate into another --out", out);
  }
  cli_scenarios list;
  cli_scenarios_load(file, qemu, &list);
  /* One set serves both QEMU versions: a scenario whose feature the
   * version lacks (compress on 10.0) is left out, with a line saying so. */
  if (only) cli__validate_only(file, only, &list);
  size_t kept = 0;
  for (size_t i = 0; i < list.count; i++) {
    mdl_scenario *s = &list.items[i];
    mdl_profile p;
    cli_check(mdl_profile_load(profile ? profile : s->profile, &p), s->name);
    if (mdl_profile_supports(&p, s) == SIM_EUNSUPPORTED) {
      fprintf(stderr, "validate: %s left out: %s\n", s->name, sim_error_message());
      continue;
    }
    list.items[kept++] = *s;
  }
  list.count = kept;
  if (!list.count) cli_die("validate: no scenario of %s runs on this hypervisor", file);
  if (overlay) {
    /* Every name given is a scenario that runs, checked before any run. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", overlay);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
      size_t i = 0;
      while (i < list.count && strcmp(t, list.items[i].name)) i++;
      if (i == list.count) cli_die("validate: --overlay: no scenario '%s' among those validated from %s", t, file);
    }
  }

  char real_dir[1024], sim_dir[1024];
  snprintf(real_dir, sizeof real_dir, "%s/real", out);
  snprintf(sim_dir, sizeof sim_dir, "%s/sim", out);
  res_run_set real;
  if (replay) {
    cli_real_ensure(&list, repeat, real_dir, profile, &real);
  } else {
    char summary[1100];
    snprintf(summary, sizeof summary, "%s/summary.csv", real_dir);
    cli_check(res_runs_load(real_dir, &real), "validate");
    for (size_t i = 0; i < list.count; i++) {
      const res_loaded *got[1];
      if (!res_runs_of(&real, list.items[i].name, got, 1))
        cli_die("validate: --no-replay: no real run of scenario '%s' in %s", list.items[i].name, summary);
    }
    cli_real_warn_hosts(&list, repeat, &real, NULL, profile);
  }
  if (layout) cli_scenarios_as_replayed(&list);

  /* Predictions, fresh every time (the model may have changed): the sim
   * folder belongs to validate and is replaced. */
  res_folder *sim_folder;
  cli_check(res_folder_open(sim_dir, "validate", 0, RES_FOLDER_FORCE, &sim_folder), "validate");
  mdl_result *sim = calloc(list.count, sizeof *sim);
  res_case *cases = calloc(list.count, sizeof *cases);
  const mdl_result **real_ptrs = calloc(list.count * repeat + 1, sizeof *real_ptrs);
  if (!sim || !cases || !real_ptrs) cli_die("validate: out of memory");
  size_t used = 0;
  for (size_t i = 0; i < list.count; i++) {
    mdl_scenario *s = &list.items[i];
    if (profile) snprintf(s->profile, sizeof s->profile, "%s", profile);
    mdl_result_init(&sim[i], "sim");
    if (mdl_simulate(s, &sim[i])) cli_die("validate: simulating %s: %s", s->name, sim_error_message());
    mdl_scenario resolved;
    char id[RES_RUN_ID_MAX];
    cli_check(mdl_scenario_resolve(s, &resolved, NULL, NULL), s->name);
    cli_check(res_folder_write(sim_folder, res_run_id(s->name, id), &resolved, &sim[i]), "writing predictions");
    const res_loaded *got[64];
    size_t n = res_runs_of(&real, s->name, got, 64);
    if (n > repeat) n = repeat; /* the first `repeat` runs: stable across reruns */
    cases[i].scenario = s;
    cases[i].sim = &sim[i];
    cases[i].real = &real_ptrs[used];
    cases[i].nreal = n;
    for (size_t k = 0; k < n; k++) real_ptrs[used++] = &got[k]->result;
  }
  res_validation v;
  cli_check(res_validate(cases, list.count, &v), "validate");
  char command[2048];
  size_t len = (size_t)snprintf(command, sizeof command, "migsim validate");
  for (int i = 1; i < argc && len < sizeof command; i++) {
    /* The notes are printed in their own section, not in the command. */
    int is_notes_value = i > 1 && !strcmp(argv[i - 1], "--notes");
    len += (size_t)snprintf(command + len, sizeof command - len, " %s", is_notes_value ? "\"...\"" : argv[i]);
  }
  cli_check(res_folder_close(sim_folder), "writing predictions");
  cli_check(res_validate_write(out, cases, list.count, &v, command, notes), "validate");
  /* Overlays: the named scenarios, or the first two. */
  for (size_t i = 0; i < list.count; i++) {
    int want = overlay ? 0 : i < 2;
    if (overlay) {
      char buf[1024];
      snprintf(buf, sizeof buf, "%s", overlay);
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        if (!strcmp(t, list.items[i].name)) want = 1;
    }
    if (want) cli_check(res_round_overlay(out, &cases[i]), "overlay");
  }

  printf("%-18s %10s %10s %12s %12s %6s %10s %10s\n", "metric", "median_err", "p90_err", "median_abs", "p90_abs",
         "runs", "r2r_median", "r2r_p90");
  for (int m = 0; m < RES_M_COUNT; m++) {
    const res_metric_error *e = &v.metric[m];
    if (!e->n) continue; /* no run to compare */
    char ma[32] = "", pa[32] = "";
    if (e->in_ms) {
      snprintf(ma, sizeof ma, "%.1f ms", e->median_abs);
      snprintf(pa, sizeof pa, "%.1f ms", e->p90_abs);
    }
    printf("%-18s %9.1f%% %9.1f%% %12s %12s %6zu %9.1f%% %9.1f%%\n", e->name, e->median_abs_pct, e->p90_abs_pct, ma,
           pa, e->n, e->floor_median_pct, e->floor_p90_pct);
  }
  char req[96] = "no runs", stall[96] = "no runs";
  if (v.requests_runs)
    snprintf(req, sizeof req, "%.0f%% of %zu (%.0f%%)", v.requests_ok_share * 100, v.requests_runs,
             v.requests_ok_floor * 100);
  if (v.stall_runs)
    snprintf(stall, sizeof stall, "%.0f%% of %zu (%.0f%%)", v.stall_ok_share * 100, v.stall_runs,
             v.stall_ok_floor * 100);
  printf("dirty_sync_count exact: %.0f%% of %zu runs; downtime within max(20%%, 5 ms): %.1f%% (95%% interval "
         "%.0f-%.0f%%, real vs real %.0f%%, best possible %.0f%%); "
         "requests within x1.5: %s; stall within max(25%%, 50 ms): %s; "
         "convergence right: %.0f%%\n(r2r, real vs real: each real run against the median of its scenario's other "
         "real runs; best possible: one value per scenario chosen knowing every real run)\nreport: %s/validation.md\n",
         v.syncs_exact_share * 100, v.runs, v.downtime_ok_share * 100, v.downtime_ok_lo * 100,
         v.downtime_ok_hi * 100, v.downtime_ok_floor * 100, v.downtime_ok_best * 100, req, stall,
         v.convergence_ok_share * 100, out);
  int missed = check ? res_validate_check(&v, stderr) : 0;
  for (size_t i = 0; i < list.count; i++) mdl_result_free(&sim[i]);
  free(sim);
  free(cases);
  free(real_ptrs);
  res_runs_free(&real);
  cli_scenarios_free(&list);
  return missed ? 1 : CLI_EXIT_OK;
}
