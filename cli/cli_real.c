/* cli_real: scenario lists and the reusable store of real runs. */
#include "cli_real.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_progress.h"
#include "kvr.h"
#include "res_jsonl.h"
#include "res_output.h"
#include "res_regress.h"
#include "cli_scenario.h"
#include "sim_err.h"
#include "sim_hash.h"
#include "sim_vec.h"

static int cli__collect(void *ctx, const mdl_scenario *given) {
  cli_scenarios *list = ctx;
  mdl_scenario s = *given;
  cli_scenario_overrides(&s);
  cli_scenario_name(&s);
  for (size_t i = 0; i < list->count; i++)
    if (!strcmp(list->items[i].name, s.name))
      return sim_errorf(SIM_EINVAL, "scenario name [%s] appears twice (run ids must be unique)", s.name);
  mdl_scenario *g = sim_grow(list->items, &list->cap, list->count + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory");
  list->items = g;
  list->items[list->count++] = s;
  return 0;
}

uint64_t cli_scenarios_collect(const char *path, const mdl_scenario *base, cli_scenarios *list) {
  memset(list, 0, sizeof *list);
  if (path) {
    cli_check(mdl_scenario_file_each(path, base, cli__collect, list), "");
  } else {
    cli_check(mdl_scenario_validate(base), "");
    cli_check(cli__collect(list, base), "");
  }
  if (!list->count) cli_die("%s: no scenarios", path);
  uint64_t grid = SIM_HASH_INIT;
  for (size_t i = 0; i < list->count; i++) {
    mdl_scenario used;
    if (mdl_scenario_resolve(&list->items[i], &used, NULL, NULL))
      cli_die("%s%sscenario %s: %s", path ? path : "", path ? ": " : "", list->items[i].name, sim_error_message());
    if (used.max_bandwidth > used.link_bandwidth && used.link_bandwidth > 0) {
      fprintf(stderr,
              "migsim: warning: scenario %s: max-bandwidth %.1f MiB/s is above the link's %.1f MiB/s; the link "
              "limits it\n",
              list->items[i].name, used.max_bandwidth / 1048576.0, used.link_bandwidth / 1048576.0);
    }
    uint64_t d = mdl_scenario_digest(&list->items[i], NULL, 0);
    grid = sim_hash(grid, &d, sizeof d);
  }
  return grid;
}

void cli_scenarios_each(const char *command, const char *path, const mdl_scenario *base, const char *out,
                        res_folder_mode mode, int quiet, uint64_t repeat, uint64_t trace_step_ns, int jsonl,
                        cli_scenario_fn fn, void *ctx) {
  /* Every scenario is built and checked before the folder is touched. */
  cli_scenarios list;
  uint64_t grid = cli_scenarios_collect(path, base, &list);
  if (repeat > 1) {
    /* A single run keeps the digest it always had: its folders resume. */
    grid = sim_hash(grid, &repeat, sizeof repeat);
    grid = sim_hash(grid, &trace_step_ns, sizeof trace_step_ns);
  }
  for (size_t i = 0; repeat > 1 && i < list.count; i++) {
    mdl_scenario last;
    cli_scenario_repeat(&list.items[i], repeat - 1, trace_step_ns, &last);
    if (mdl_scenario_validate(&last)) cli_die("%s: scenario %s, repeat %llu: %s", command, last.name,
                                              (unsigned long long)repeat, sim_error_message());
  }
  res_folder *folder;
  cli_check(res_folder_open(out, command, grid, mode, &folder), command);
  cli_progress prog;
  uint64_t done = 0, skipped = 0;
  /* On a terminal the table on stdout shows the progress already. */
  cli_progress_init(&prog, command, "runs", list.count * repeat, quiet || isatty(STDOUT_FILENO));
  for (size_t i = 0; i < list.count; i++) {
    for (uint64_t k = 0; k < repeat; k++) {
      mdl_scenario s;
      cli_scenario_repeat(&list.items[i], k, trace_step_ns, &s);
      char id[RES_RUN_ID_MAX];
      if (repeat > 1) cli_repeat_id(s.name, k, id);
      else res_run_id(s.name, id);
      if (res_folder_has_run(folder, id)) {
        /* The same command again resumes; with --append the same name is
         * another scenario, which needs a name of its own. */
        if (!res_folder_resuming(folder))
          cli_die("%s: run '%s' is already in %s/summary.csv (give this scenario another --name)", command, id,
                  out);
        if (!quiet) fprintf(stderr, "%s %s: already in %s/summary.csv, skipped\n", command, id, out);
        cli_progress_update(&prog, ++done, ++skipped);
        continue;
      }
      mdl_scenario used;
      cli_check(mdl_scenario_resolve(&s, &used, NULL, NULL), s.name);
      fn(ctx, folder, id, &s, &used);
      cli_progress_update(&prog, ++done, skipped);
    }
  }
  cli_progress_done(&prog, done, skipped);
  cli_check(res_folder_close(folder), "writing results");
  cli_scenarios_free(&list);
  if (repeat > 1) cli_write_aggregate(command, out, grid);
  cli_write_jsonl(command, out, grid, jsonl);
}

void cli_write_jsonl(const char *command, const char *out, uint64_t grid, int asked) {
  /* Once asked for, it follows summary.csv: a resume without --jsonl
   * refreshes it rather than leaving it behind. */
  char path[4096];
  snprintf(path, sizeof path, "%s/summary.jsonl", out);
  if (!asked && access(path, F_OK) != 0) return;
  res_folder *folder;
  cli_check(res_folder_open(out, command, grid, RES_FOLDER_APPEND, &folder), command);
  cli_check(res_jsonl_write(out), "summary.jsonl");
  cli_check(res_folder_close(folder), "writing results");
}

void cli_write_aggregate(const char *command, const char *out, uint64_t grid) {
  /* aggregate.csv from every committed run of each name (those of an
   * earlier, resumed command too), written under the folder's lock: the
   * summary rows are read back once they are all committed. */
  res_folder *folder;
  cli_check(res_folder_open(out, command, grid, RES_FOLDER_APPEND, &folder), command);
  res_regress_opts ro;
  res_regress_opts_init(&ro);
  memset(ro.enabled, 0, sizeof ro.enabled);
  res_samples *samples;
  char agg[4096];
  snprintf(agg, sizeof agg, "%s/aggregate.csv", out);
  cli_check(res_samples_new(&samples), command);
  cli_check(res_samples_load(samples, out, &ro), "aggregate");
  cli_check(res_samples_write_aggregate(samples, 0.95, agg), "aggregate");
  res_samples_free(samples);
  cli_check(res_folder_close(folder), "writing results");
}

void cli_scenarios_load(const char *path, const char *qemu, cli_scenarios *list) {
  mdl_scenario base;
  mdl_scenario_defaults(&base);
  if (qemu && mdl_scenario_set(&base, "qemu", qemu)) cli_die("--qemu: %s", sim_error_message());
  cli_scenarios_collect(path, &base, list);
}

void cli_scenarios_free(cli_scenarios *list) {
  free(list->items);
  memset(list, 0, sizeof *list);
}

/* The machines the runs compared with the profiles come from: this one
 * when runs are to be made, and each stored run's (docs/hosts.md). */
typedef struct {
  char name[8][MDL_HOST_CPU_MAX];
  size_t n;
} cli__hosts;

static void cli__hosts_add(cli__hosts *h, const char *model) {
  if (!model[0] || h->n == sizeof h->name / sizeof h->name[0]) return;
  for (size_t i = 0; i < h->n; i++)
    if (!strcmp(h->name[i], model)) return;
  snprintf(h->name[h->n++], MDL_HOST_CPU_MAX, "%s", model);
}

/* Warns when profile `name` was calibrated on another machine than one of
 * `hosts`: a TCG profile's constants belong to its host. */
static void cli__warn_host_of(const char *name, const cli__hosts *hosts, const char *here) {
  mdl_profile p;
  if (mdl_profile_load(name, &p)) return;
  for (size_t i = 0; i < hosts->n; i++)
    if (!mdl_profile_host_matches(&p, hosts->name[i]))
      fprintf(stderr,
              "migsim: warning: profile %s was calibrated on '%s', real runs compared with it %s '%s': its "
              "machine constants may not hold there (docs/hosts.md; migsim calibrate fits a profile for a "
              "machine)\n",
              name, p.host, strcmp(hosts->name[i], here) ? "were made on" : "are made on this machine,",
              hosts->name[i]);
}

void cli_real_warn_hosts(const cli_scenarios *list, unsigned repeat, const res_run_set *runs, const char *here,
                         const char *profile) {
  cli__hosts hosts = {0};
  for (size_t i = 0; i < list->count; i++) {
    const res_loaded *got[64];
    size_t n = res_runs_of(runs, list->items[i].name, got, 64);
    for (size_t k = 0; k < n && k < repeat; k++) cli__hosts_add(&hosts, got[k]->result.host_cpu);
  }
  if (here) cli__hosts_add(&hosts, here);
  if (!here) here = "";
  if (profile) {
    cli__warn_host_of(profile, &hosts, here);
    return;
  }
  for (size_t i = 0; i < list->count; i++) {
    size_t j = 0;
    while (j < i && strcmp(list->items[j].profile, list->items[i].profile)) j++;
    if (j == i) cli__warn_host_of(list->items[i].profile, &hosts, here);
  }
}

void cli_real_ensure(const cli_scenarios *list, unsigned repeat, const char *dir, const char *profile,
                     res_run_set *runs) {
  /* The store of real runs only grows: any scenario set may add to it. */
  res_folder *folder;
  cli_check(res_folder_open(dir, "real-runs", 0, RES_FOLDER_APPEND, &folder), "real runs");
  res_run_set have;
  cli_check(res_runs_load(dir, &have), "loading real runs");
  char here[MDL_HOST_CPU_MAX] = "";
  if (kvr_host_cpu_model(here, sizeof here)) here[0] = 0; /* unknown: nothing to check against */
  size_t todo = 0;
  for (size_t i = 0; i < list->count; i++) {
    const res_loaded *got[64];
    size_t n = res_runs_of(&have, list->items[i].name, got, 64);
    if (n < repeat) todo += repeat - n;
    const char *want = kvr_qemu_expected_version(list->items[i].qemu);
    for (size_t k = 0; k < n; k++) {
      const mdl_result *r = &got[k]->result;
      if (want && r->qemu_version[0] && strncmp(r->qemu_version, want, strlen(want)) != 0)
        cli_die("real runs of %s in %s were made on QEMU %s, the scenario asks for %s: use another folder "
                "for each QEMU version",
                list->items[i].name, dir, r->qemu_version, list->items[i].qemu);
      /* One store, one machine: runs from two would be averaged as one
       * scenario's spread. */
      if (n < repeat && here[0] && !mdl_host_is(r->host_cpu, here))
        cli_die("real runs of %s in %s were made on '%s', this machine is '%s': use another folder for each "
                "machine (docs/hosts.md)",
                list->items[i].name, dir, r->host_cpu, here);
    }
  }
  if (todo) fprintf(stderr, "real runs: %zu to do on QEMU (kept in %s)\n", todo, dir);
  cli_real_warn_hosts(list, repeat, &have, todo && here[0] ? here : NULL, profile);
  size_t done = 0;
  for (size_t i = 0; i < list->count; i++) {
    const mdl_scenario *s = &list->items[i];
    const res_loaded *got[64];
    size_t n = res_runs_of(&have, s->name, got, 64);
    for (size_t k = n; k < repeat; k++) {
      kvr_options o;
      kvr_options_init(&o);
      mdl_result r;
      fprintf(stderr, "[%zu/%zu] %s (run %zu) ... ", ++done, todo, s->name, k + 1);
      fflush(stderr);
      int rc = kvr_run(s, &o, &r, NULL);
      if (rc == SIM_EINTERRUPTED) {
        mdl_result_free(&r);
        res_folder_close(folder);
        cli_die("interrupted; the %zu real runs finished so far are kept in %s", done - 1, dir);
      }
      if (rc) {
        mdl_result_free(&r);
        cli_die("real run of %s: %s", s->name, sim_error_message());
      }
      fprintf(stderr, "%s, %.0f ms, %llu syncs, integrity %s\n", mdl_status_name(r.status), r.total_time_ms,
              (unsigned long long)r.dirty_sync_count, r.integrity[0] ? r.integrity : "-");
      char key[MDL_TEXT_MAX + 32], id[RES_RUN_ID_MAX];
      snprintf(key, sizeof key, "%s#%zu", s->name, k + 1);
      mdl_scenario used;
      if (!rc) rc = mdl_scenario_resolve(s, &used, NULL, NULL);
      if (!rc) rc = res_folder_write(folder, res_run_id(key, id), &used, &r);
      mdl_result_free(&r);
      cli_check(rc, "writing real runs");
    }
  }
  res_runs_free(&have);
  cli_check(res_folder_close(folder), "writing real runs");
  cli_check(res_runs_load(dir, runs), "loading real runs");
}

void cli_scenarios_as_replayed(cli_scenarios *list) {
  for (size_t i = 0; i < list->count; i++) {
    mdl_scenario sim;
    if (kvr_sim_layout(&list->items[i], &sim))
      cli_die("layout of %s: %s", list->items[i].name, sim_error_message());
    list->items[i] = sim;
  }
}
