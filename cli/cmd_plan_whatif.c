/* migsim plan --what-if: the plan over a grid of alternatives (docs/planning.md,
 * "What-if grids").
 *
 * Each --what-if KEY=V1,V2,... names one plan option and its values; the
 * grid is their product, in the order given, the last key varying fastest
 * (as `migsim sweep` orders its grid). Every point is planned from scratch
 * (load, schedule, page-exact runs) with the other options as given, and
 * summarised in one row of OUT/what-if.csv and OUT/what-if.md; the full
 * report is written only for the plan without alternatives. */
#include "cmd_plan_whatif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_units.h"

enum { CLI__WI_MAX_KEYS = 6, CLI__WI_MAX_VALUES = 32, CLI__WI_MAX_POINTS = 4096 };

typedef struct {
  const char *key;
  const char *help;
} cli__wi_key;

static const cli__wi_key cli__wi_keys[] = {
    {"policy", "serial | parallel | shortest-first | dirty-last | optimise"},
    {"max-parallel", "migrations at once"},
    {"max-per-host", "migrations at once per host"},
    {"nic", "every host's NIC speed, e.g. 10Gbit/s"},
    {"downtime-limit", "per-VM downtime limit"},
    {"deadline", "the plan's deadline"},
};
enum { CLI__WI_NKEYS = sizeof cli__wi_keys / sizeof cli__wi_keys[0] };

struct cli_whatif {
  size_t nkeys;
  int key[CLI__WI_MAX_KEYS];
  size_t nvalues[CLI__WI_MAX_KEYS];
  char *values[CLI__WI_MAX_KEYS][CLI__WI_MAX_VALUES];
  char *text[CLI__WI_MAX_KEYS]; /* owns the value strings */
};

/* Applies value `v` of key index `k` to `o`; dies with a one-line error
 * naming the key on a bad value. */
static void cli__wi_apply(int k, const char *v, res_plan_opts *o) {
  char opt[64];
  snprintf(opt, sizeof opt, "--what-if %s", cli__wi_keys[k].key);
  switch (k) {
  case 0: cli_check(res_policy_parse(v, &o->policy), opt); break;
  case 1: o->max_parallel = (uint32_t)cli_count(opt, v); break;
  case 2: o->max_per_host = (uint32_t)cli_count(opt, v); break;
  case 3: o->nic_bytes_per_s = cli_bytes_per_s(opt, v, 4096); break;
  case 4: o->downtime_limit_ns = cli_duration(opt, v, SIM_NS_PER_MS); break;
  default: o->deadline_ns = cli_duration(opt, v, SIM_NS_PER_S); break;
  }
  if (k == 3 && !(o->nic_bytes_per_s > 0)) cli_die("plan: --what-if nic: expected a speed > 0, got '%s'", v);
  if ((k == 1 || k == 2) && (o->max_parallel > 100000 || o->max_per_host > 100000))
    cli_die("plan: %s: at most 100000", opt);
  if (k == 4 && (o->downtime_limit_ns < SIM_NS_PER_MS || o->downtime_limit_ns > 3600 * SIM_NS_PER_S))
    cli_die("plan: %s: expected 1ms to 1h, got '%s'", opt, v);
}

cli_whatif *cli_whatif_new(void) {
  cli_whatif *w = calloc(1, sizeof *w);
  if (!w) cli_die("plan: out of memory");
  return w;
}

void cli_whatif_add(cli_whatif *w, const char *arg, const res_plan_opts *check) {
  const char *eq = strchr(arg, '=');
  int k = -1;
  for (int i = 0; eq && i < CLI__WI_NKEYS; i++)
    if (strlen(cli__wi_keys[i].key) == (size_t)(eq - arg) && !strncmp(cli__wi_keys[i].key, arg, (size_t)(eq - arg)))
      k = i;
  if (k < 0) {
    char names[256] = "";
    for (int i = 0; i < CLI__WI_NKEYS; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", cli__wi_keys[i].key);
    cli_die("plan: --what-if '%s': expected KEY=V1,V2,... with KEY one of %s", arg, names);
  }
  for (size_t i = 0; i < w->nkeys; i++)
    if (w->key[i] == k) cli_die("plan: --what-if %s given twice", cli__wi_keys[k].key);
  if (w->nkeys == CLI__WI_MAX_KEYS) cli_die("plan: at most %d --what-if keys", CLI__WI_MAX_KEYS);
  size_t n = w->nkeys;
  w->key[n] = k;
  if (!(w->text[n] = strdup(eq + 1))) cli_die("plan: out of memory");
  for (char *save = NULL, *v = strtok_r(w->text[n], ",", &save); v; v = strtok_r(NULL, ",", &save)) {
    if (w->nvalues[n] == CLI__WI_MAX_VALUES) cli_die("plan: --what-if %s: at most %d values", cli__wi_keys[k].key, CLI__WI_MAX_VALUES);
    res_plan_opts probe = *check; /* every value checked before anything runs */
    cli__wi_apply(k, v, &probe);
    w->values[n][w->nvalues[n]++] = v;
  }
  if (!w->nvalues[n]) cli_die("plan: --what-if %s: no values", cli__wi_keys[k].key);
  w->nkeys++;
  size_t points = 1;
  for (size_t i = 0; i < w->nkeys; i++) points *= w->nvalues[i];
  if (points > CLI__WI_MAX_POINTS) cli_die("plan: --what-if: %zu plans in the grid, at most %d", points, CLI__WI_MAX_POINTS);
}

size_t cli_whatif_keys(const cli_whatif *w) { return w->nkeys; }

void cli_whatif_free(cli_whatif *w) {
  if (!w) return;
  for (size_t i = 0; i < w->nkeys; i++) free(w->text[i]);
  free(w);
}

/* The value index of every key at grid point p (the last key fastest). */
static void cli__wi_index(const cli_whatif *w, size_t p, size_t *idx) {
  for (size_t i = w->nkeys; i-- > 0;) {
    idx[i] = p % w->nvalues[i];
    p /= w->nvalues[i];
  }
}

typedef struct {
  res_plan_summary s;
  int deadline_met; /* -1: no deadline */
} cli__wi_row;

static int cli__wi_write(const cli_whatif *w, const char *dir, size_t points, const cli__wi_row *rows, int md) {
  char path[1100];
  snprintf(path, sizeof path, "%s/what-if.%s", dir, md ? "md" : "csv");
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  FILE *o = sim_file_stream(f);
  static const char *cols[] = {"makespan_s", "deadline_met", "completed", "not_converged", "over_downtime",
                               "late", "fallbacks", "schedule"};
  if (md) fprintf(o, "# What-if grid\n\n|");
  for (size_t i = 0; i < w->nkeys; i++) fprintf(o, md ? " %s |" : "%s,", cli__wi_keys[w->key[i]].key);
  for (size_t c = 0; c < 8; c++) fprintf(o, md ? " %s |" : (c < 7 ? "%s," : "%s"), cols[c]);
  fprintf(o, "\n");
  if (md) {
    fprintf(o, "|");
    for (size_t i = 0; i < w->nkeys + 8; i++) fprintf(o, i >= w->nkeys && i < w->nkeys + 7 ? "---:|" : "---|");
    fprintf(o, "\n");
  }
  for (size_t p = 0; p < points; p++) {
    size_t idx[CLI__WI_MAX_KEYS];
    cli__wi_index(w, p, idx);
    if (md) fprintf(o, "|");
    for (size_t i = 0; i < w->nkeys; i++) fprintf(o, md ? " %s |" : "%s,", w->values[i][idx[i]]);
    const cli__wi_row *r = &rows[p];
    const char *met = r->deadline_met < 0 ? "" : r->deadline_met ? "yes" : "no";
    if (md)
      fprintf(o, " %.1f | %s | %zu | %zu | %zu | %zu | %zu | %s |\n", r->s.makespan_s, met, r->s.completed,
              r->s.not_converged, r->s.over_downtime, r->s.late, r->s.fallbacks, r->s.schedule);
    else
      fprintf(o, "%.3f,%s,%zu,%zu,%zu,%zu,%zu,\"%s\"\n", r->s.makespan_s, met, r->s.completed, r->s.not_converged,
              r->s.over_downtime, r->s.late, r->s.fallbacks, r->s.schedule);
  }
  if (md)
    fprintf(o, "\nOne plan per row (`migsim plan --what-if`), each scheduled and simulated page-exact "
               "from scratch; makespan in seconds; deadline_met empty without a deadline.\n");
  return sim_file_commit(f);
}

int cli_whatif_run(const cli_whatif *w, const char *inventory, const char *topology, const res_plan_opts *base,
                   const char *dir, int quiet) {
  size_t points = 1;
  for (size_t i = 0; i < w->nkeys; i++) points *= w->nvalues[i];
  cli__wi_row *rows = calloc(points, sizeof *rows);
  if (!rows) cli_die("plan: out of memory");
  size_t clean = 0;
  for (size_t p = 0; p < points; p++) {
    res_plan_opts o = *base;
    size_t idx[CLI__WI_MAX_KEYS];
    cli__wi_index(w, p, idx);
    char label[512] = "";
    for (size_t i = 0, at = 0; i < w->nkeys && at < sizeof label; i++) {
      cli__wi_apply(w->key[i], w->values[i][idx[i]], &o);
      int n = snprintf(label + at, sizeof label - at, "%s%s=%s", i ? " " : "", cli__wi_keys[w->key[i]].key,
                       w->values[i][idx[i]]);
      if (n > 0) at += (size_t)n;
    }
    if (!quiet) fprintf(stderr, "plan: what-if %zu/%zu: %s\n", p + 1, points, label);
    o.progress = NULL;
    res_plan *plan;
    cli_check(res_plan_load(inventory, topology, &o, &plan), "plan");
    int rc = res_plan_run(plan);
    if (rc) {
      res_plan_free(plan);
      cli_check(rc, label);
    }
    res_plan_summarise(plan, &rows[p].s);
    res_plan_free(plan);
    rows[p].deadline_met = o.deadline_ns ? rows[p].s.makespan_s * 1e9 <= (double)o.deadline_ns : -1;
    const res_plan_summary *s = &rows[p].s;
    if (!s->not_converged && !s->over_downtime && !s->late && rows[p].deadline_met != 0) clean++;
    printf("%-48s makespan %8.1f s  completed %zu  not converged %zu  over downtime %zu  late %zu\n", label,
           s->makespan_s, s->completed, s->not_converged, s->over_downtime, s->late);
  }
  cli_check(sim_mkdir_p(dir), "plan");
  cli_check(cli__wi_write(w, dir, points, rows, 0), "plan: writing what-if.csv");
  cli_check(cli__wi_write(w, dir, points, rows, 1), "plan: writing what-if.md");
  printf("what-if: %zu of %zu plans meet every limit; %s/what-if.csv, %s/what-if.md\n", clean, points, dir, dir);
  free(rows);
  return clean ? CLI_EXIT_OK : CLI_EXIT_CHECK;
}
