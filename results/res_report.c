/* res_report: Markdown + self-contained HTML report of a result folder,
 * with its plots (see res_report.h). */
#include "res_report.h"

#include "mdl_feature.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mdl_feature.h"
#include "mdl_scenario.h"
#include "res_load.h"
#include "res_plot.h"
#include "res_stats.h"
#include "sim_err.h"
#include "sim_file.h"

enum {
  REP_MAX_AXES = 8,      /* swept parameters handled */
  REP_MAX_GROUPS = 5,    /* DIR itself + the subfolders below */
  REP_MAX_LINES = 16,    /* lines (or bar series) in one plot */
  REP_MAX_COMBOS = 4,    /* other parameters' combinations drawn as lines */
  REP_MAX_HEATMAPS = 4,  /* series with a heatmap per metric */
  REP_MAX_DETAIL = 6,    /* runs in a timeline or rounds plot */
  REP_MAX_ROUNDS = 40,   /* rounds in a rounds plot */
  REP_MAX_TABLE = 200,   /* rows of the points table */
  REP_LABEL = 160
};

#define REP_KEPT_BEGIN "<!-- migsim report: kept from the folder's earlier report.md -->"
#define REP_KEPT_END "<!-- migsim report: end of kept text -->"
#define REP_TITLE_MARK "# migsim report"

/* The result folders other commands keep inside theirs. */
static const char *const rep__subfolders[] = {"baseline", "candidate", "sim", "real"};

/* ------------------------------------------------------------ metrics */

/* The main metrics, each drawn against every swept parameter. */
static const struct {
  const char *column; /* summary.csv column (mdl_schema.h) */
  const char *label;  /* axis title */
  const char *unit;
} rep__metrics[] = {
    {"total_time_ms", "total time", "s"},
    {"downtime_ms", "downtime", "ms"},
    {"transferred_bytes", "bytes transferred", "MiB"},
    {"dirty_sync_count", "dirty syncs", "syncs"},
    {"postcopy_requests", "post-copy requests", "pages"},
    {"guest_stall_ms", "guest stall", "ms"},
};
#define REP_NMETRICS (sizeof rep__metrics / sizeof rep__metrics[0])

/* Metric m of a run in its axis unit; NaN when the value does not exist
 * (the downtime of a run that did not complete, anything of a failed one). */
static double rep__metric(const mdl_result *r, size_t m) {
  if (r->status == MDL_STATUS_FAILED) return NAN;
  switch (m) {
  case 0: return r->total_time_ms >= 0 ? r->total_time_ms / 1e3 : NAN;
  case 1: return r->status == MDL_STATUS_COMPLETED && r->downtime_ms >= 0 ? r->downtime_ms : NAN;
  case 2: return (double)r->transferred_bytes / 1048576.0;
  case 3: return (double)r->dirty_sync_count;
  case 4: return (double)r->postcopy_requests;
  default: return r->guest_stall_ms >= 0 ? r->guest_stall_ms : NAN;
  }
}

/* --------------------------------------------------------- parameters */

static double rep__get_memory(const mdl_scenario *s) { return (double)s->pages * s->page_size / 1048576.0; }
static double rep__get_max_bw(const mdl_scenario *s) { return s->max_bandwidth / 1048576.0; }
static double rep__get_link(const mdl_scenario *s) { return s->link_bandwidth / 1048576.0; }
static double rep__get_pc_bw(const mdl_scenario *s) { return s->postcopy_bandwidth / 1048576.0; }
static double rep__get_downtime(const mdl_scenario *s) { return (double)s->downtime_limit_ns / 1e6; }
static double rep__get_latency(const mdl_scenario *s) { return (double)s->latency_ns / 1e6; }
static double rep__get_switch_after(const mdl_scenario *s) { return s->switch_after ? (double)s->switch_after : NAN; }
static double rep__get_switch_time(const mdl_scenario *s) {
  return s->switch_time_ns ? (double)s->switch_time_ns / 1e9 : NAN;
}
static double rep__get_timeout(const mdl_scenario *s) { return (double)s->timeout_ns / 1e9; }

/* Scenario parameters a report can put on an axis: their key (the flag,
 * INI key and sweep axis name), unit and value as the run used it. A
 * parameter not listed (workload, profile, ...) is an axis of text values. */
typedef struct {
  const char *key;
  const char *unit;
  double (*get)(const mdl_scenario *s); /* NaN: does not apply to the run */
} rep_param;

static const rep_param rep__params[] = {
    {"memory", "MiB", rep__get_memory},
    {"pages", "MiB", rep__get_memory},
    {"max-bandwidth", "MiB/s", rep__get_max_bw},
    {"bandwidth", "MiB/s", rep__get_link},
    {"link", "MiB/s", rep__get_link},
    {"postcopy-bandwidth", "MiB/s", rep__get_pc_bw},
    {"downtime-limit", "ms", rep__get_downtime},
    {"latency", "ms", rep__get_latency},
    {"switch-after", "syncs", rep__get_switch_after},
    {"switch-time", "s", rep__get_switch_time},
    {"timeout", "s", rep__get_timeout},
};
#define REP_NPARAMS (sizeof rep__params / sizeof rep__params[0])

static const rep_param *rep__param(const char *key) {
  for (size_t i = 0; i < REP_NPARAMS; i++)
    if (!strcmp(rep__params[i].key, key)) return &rep__params[i];
  return NULL;
}

/* Keys that are never an axis: the series (algo, profile) and the repeats
 * (seed, trace-offset), which make the error bars. */
static int rep__not_axis(const char *key) {
  return !strcmp(key, "algo") || !strcmp(key, "profile") || !strcmp(key, "seed") || !strcmp(key, "trace-offset") ||
         !strcmp(key, "name") || mdl_feature_find(key) != NULL; /* a feature's flag: part of the series */
}

/* ------------------------------------------------------------- model */

typedef struct {
  char key[64];
  char label[REP_LABEL]; /* axis title with unit */
  const rep_param *param; /* NULL: text values */
  char **texts;           /* distinct values, sorted */
  double *xs;             /* their numbers (NaN for text) */
  size_t count;
} rep_axis;

typedef struct {
  const res_loaded *run;
  size_t group;
  size_t series;
  size_t value[REP_MAX_AXES];
  char *text[REP_MAX_AXES]; /* the run's value of each axis (owned) */
  double x[REP_MAX_AXES];
  size_t point; /* its point, and its place among the point's runs */
  size_t repeat;
} rep_run;

typedef struct {
  size_t series;
  size_t value[REP_MAX_AXES];
  size_t first, nruns; /* rep_run indexes [first, first + nruns) after sorting */
  size_t completed;
  double y[REP_NMETRICS], lo[REP_NMETRICS], hi[REP_NMETRICS];
  unsigned char failed; /* not every run completed */
} rep_point;

typedef struct {
  const char *dir;
  unsigned formats;
  res_run_set groups[REP_MAX_GROUPS];
  const char *group_names[REP_MAX_GROUPS];
  size_t ngroups;
  rep_run *runs;
  size_t nruns;
  char (*series)[REP_LABEL];
  size_t nseries;
  rep_axis axes[REP_MAX_AXES];
  size_t naxes;
  int sweep;            /* axes from a sweep's run ids */
  size_t irregular;     /* >0: that many parameters vary, not as a grid */
  rep_point *points;
  size_t npoints;
  /* output */
  FILE *md, *html;
  size_t plots;
  char **made; /* plot files written (base names), to keep */
  size_t nmade;
} rep_ctx;

static char *rep__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* Splits a sweep run name "k=v;k=v[#n]" into pairs (in place in buf).
 * Returns the count, 0 when it is not one. */
static size_t rep__split_key(char *buf, char **keys, char **values, size_t max) {
  char *hash = strrchr(buf, '#');
  if (hash && hash[1] && strspn(hash + 1, "0123456789") == strlen(hash + 1)) *hash = '\0';
  size_t n = 0;
  for (char *p = buf; p && *p;) {
    char *semi = strchr(p, ';');
    if (semi) *semi = '\0';
    char *eq = strchr(p, '=');
    if (!eq || eq == p || n == max) return 0;
    *eq = '\0';
    keys[n] = p;
    values[n] = eq + 1;
    n++;
    p = semi ? semi + 1 : NULL;
  }
  return n;
}

/* Whether `key` can be a sweep's key: a scenario parameter, the linked
 * `bandwidth` or `scenario` (sweep --scenario with several). */
static int rep__is_param(const char *key) {
  if (rep__param(key) || !strcmp(key, "scenario")) return 1;
  mdl_scenario probe;
  mdl_scenario_defaults(&probe);
  return mdl_scenario_set(&probe, key, "0") != SIM_ENOTFOUND;
}

static int rep__add_axis(rep_ctx *c, const char *key) {
  if (c->naxes == REP_MAX_AXES)
    return sim_errorf(SIM_EINVAL, "%s: more than %d parameters vary; a report handles %d", c->dir, REP_MAX_AXES,
                      REP_MAX_AXES);
  rep_axis *a = &c->axes[c->naxes++];
  memset(a, 0, sizeof *a);
  snprintf(a->key, sizeof a->key, "%s", key);
  a->param = rep__param(key);
  if (a->param)
    snprintf(a->label, sizeof a->label, "%s (%s)", key, a->param->unit);
  else
    snprintf(a->label, sizeof a->label, "%s", key);
  return 0;
}

/* The run's value of parameter `key` as text and number, from the loaded
 * scenario (what the run used). */
static int rep__value_of(const rep_run *r, const rep_axis *a, char **text, double *x) {
  char buf[MDL_TEXT_MAX + 32];
  *x = NAN;
  if (a->param) {
    *x = a->param->get(&r->run->scenario);
    if (isfinite(*x)) snprintf(buf, sizeof buf, "%.6g", *x);
    else snprintf(buf, sizeof buf, "n/a");
  } else if (!strcmp(a->key, "workload")) {
    snprintf(buf, sizeof buf, "%s", r->run->scenario.workload);
  } else {
    snprintf(buf, sizeof buf, "%s", "?");
  }
  *text = rep__strdup(buf);
  return *text ? 0 : sim_errorf(SIM_ENOMEM, "out of memory");
}

/* Sweep folders: every run's name is "k=v;..." of scenario parameters.
 * Fills each run's text per key in c->axes (those whose values differ). */
static int rep__sweep_axes(rep_ctx *c) {
  char (*keys)[64] = NULL;
  size_t nkeys = 0;
  int rc = 0;
  char *buf = malloc(MDL_TEXT_MAX);
  keys = calloc(64, sizeof *keys);
  if (!buf || !keys) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto done;
  }
  c->sweep = c->nruns > 0;
  for (size_t i = 0; i < c->nruns && c->sweep; i++) {
    char *k[64], *v[64];
    snprintf(buf, MDL_TEXT_MAX, "%s", c->runs[i].run->scenario.name);
    size_t n = rep__split_key(buf, k, v, 64);
    if (!n) c->sweep = 0;
    for (size_t j = 0; j < n && c->sweep; j++) {
      if (!rep__is_param(k[j])) {
        c->sweep = 0;
        break;
      }
      size_t f = 0;
      while (f < nkeys && strcmp(keys[f], k[j])) f++;
      if (f == nkeys && nkeys < 64) snprintf(keys[nkeys++], sizeof keys[0], "%s", k[j]);
    }
  }
  if (!c->sweep) goto done;
  for (size_t f = 0; f < nkeys && !rc; f++) {
    if (rep__not_axis(keys[f])) continue;
    /* Each run's value (empty when its key lacks it: --append of grids). */
    char *first = NULL;
    int differs = 0;
    size_t axis = c->naxes;
    for (size_t i = 0; i < c->nruns && !rc; i++) {
      char *k[64], *v[64];
      snprintf(buf, MDL_TEXT_MAX, "%s", c->runs[i].run->scenario.name);
      size_t n = rep__split_key(buf, k, v, 64);
      const char *val = "";
      for (size_t j = 0; j < n; j++)
        if (!strcmp(k[j], keys[f])) val = v[j];
      if (!first) first = rep__strdup(val);
      else if (strcmp(first, val)) differs = 1;
    }
    free(first);
    if (!differs) continue;
    if ((rc = rep__add_axis(c, keys[f]))) break;
    rep_axis *a = &c->axes[axis];
    for (size_t i = 0; i < c->nruns && !rc; i++) {
      rep_run *r = &c->runs[i];
      char *k[64], *v[64];
      snprintf(buf, MDL_TEXT_MAX, "%s", r->run->scenario.name);
      size_t n = rep__split_key(buf, k, v, 64);
      const char *val = "";
      for (size_t j = 0; j < n; j++)
        if (!strcmp(k[j], keys[f])) val = v[j];
      r->x[axis] = NAN;
      if (a->param && val[0]) {
        /* The number the run used: the value parsed as the sweep did. */
        mdl_scenario probe = r->run->scenario;
        /* bandwidth is read back as the link it set */
        const char *set = !strcmp(a->key, "bandwidth") ? "link" : a->key;
        if (mdl_scenario_set(&probe, set, val) == 0) r->x[axis] = a->param->get(&probe);
      }
      if (!(r->text[axis] = rep__strdup(val))) rc = sim_errorf(SIM_ENOMEM, "out of memory");
    }
  }
done:
  free(buf);
  free(keys);
  return rc;
}

/* Whether axis i's value determines axis j's over the runs and back: the
 * first run of each value of one must agree with every later run of it.
 * O(runs x distinct values). */
static int rep__bijective(const rep_ctx *c, size_t i, size_t j) {
  for (int dir = 0; dir < 2; dir++) {
    size_t a = dir ? j : i, b = dir ? i : j;
    size_t *firsts = malloc(c->nruns * sizeof *firsts), nf = 0;
    if (!firsts) return 0;
    int ok = 1;
    for (size_t p = 0; p < c->nruns && ok; p++) {
      size_t f = 0;
      while (f < nf && strcmp(c->runs[firsts[f]].text[a], c->runs[p].text[a])) f++;
      if (f == nf) firsts[nf++] = p;
      else if (strcmp(c->runs[firsts[f]].text[b], c->runs[p].text[b])) ok = 0;
    }
    free(firsts);
    if (!ok) return 0;
  }
  return 1;
}

/* Axes that vary together (zipped sweep axes; compare's link and rate
 * limit) are one: j is merged into i when i's value determines j's and
 * back. */
static int rep__merge_covarying(rep_ctx *c) {
  /* Merge axes that vary together: j into i when i's value determines
   * j's and j's determines i's. */
  for (size_t i = 0; i < c->naxes; i++) {
    for (size_t j = i + 1; j < c->naxes;) {
      int same = rep__bijective(c, i, j);
      if (!same) {
        j++;
        continue;
      }
      /* "a (unit)" becomes "a = b (unit)": the axis is both. */
      rep_axis *a = &c->axes[i];
      char label[REP_LABEL];
      char *unit = strstr(a->label, " (");
      size_t stem = unit ? (size_t)(unit - a->label) : strlen(a->label);
      snprintf(label, sizeof label, "%.*s = %s%s", (int)stem, a->label, c->axes[j].key, unit ? unit : "");
      snprintf(a->label, sizeof a->label, "%s", label);
      for (size_t p = 0; p < c->nruns; p++) {
        free(c->runs[p].text[j]);
        memmove(&c->runs[p].text[j], &c->runs[p].text[j + 1], (c->naxes - j - 1) * sizeof(char *));
        memmove(&c->runs[p].x[j], &c->runs[p].x[j + 1], (c->naxes - j - 1) * sizeof(double));
        c->runs[p].text[c->naxes - 1] = NULL; /* moved down */
      }
      memmove(&c->axes[j], &c->axes[j + 1], (c->naxes - j - 1) * sizeof c->axes[0]);
      c->naxes--;
    }
  }
  return 0;
}

/* Other folders: the parameters whose values differ between runs; those
 * that vary together (one determines the other and back) are one axis. */
static int rep__varying_axes(rep_ctx *c) {
  static const char *const keys[] = {"memory", "max-bandwidth", "link", "postcopy-bandwidth", "downtime-limit",
                                     "latency", "switch-after", "switch-time", "timeout", "workload"};
  int rc = 0;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !rc; k++) {
    size_t axis = c->naxes;
    if ((rc = rep__add_axis(c, keys[k]))) break;
    int differs = 0;
    for (size_t i = 0; i < c->nruns && !rc; i++) {
      rc = rep__value_of(&c->runs[i], &c->axes[axis], &c->runs[i].text[axis], &c->runs[i].x[axis]);
      if (!rc && i && strcmp(c->runs[i].text[axis], c->runs[0].text[axis])) differs = 1;
    }
    /* Values that apply to some runs only (a hybrid's switch-after) vary
     * with the algorithm, not as a parameter of the experiment. */
    for (size_t i = 0; i < c->nruns && !rc && differs; i++)
      if (!strcmp(c->runs[i].text[axis], "n/a")) differs = 0;
    if (rc || differs) continue;
    for (size_t i = 0; i < c->nruns; i++) {
      free(c->runs[i].text[axis]);
      c->runs[i].text[axis] = NULL;
    }
    c->naxes--;
  }
  if (rc) return rc;
  return rep__merge_covarying(c);
}

/* Sorts each axis's distinct values (numbers ascending, text in order of
 * first appearance) and gives every run its value's index. */
static int rep__index_values(rep_ctx *c) {
  for (size_t k = 0; k < c->naxes; k++) {
    rep_axis *a = &c->axes[k];
    a->texts = calloc(c->nruns, sizeof *a->texts);
    a->xs = calloc(c->nruns, sizeof *a->xs);
    if (!a->texts || !a->xs) return sim_errorf(SIM_ENOMEM, "out of memory");
    int numeric = a->param != NULL;
    for (size_t i = 0; i < c->nruns; i++) {
      rep_run *r = &c->runs[i];
      size_t f = 0;
      while (f < a->count && strcmp(a->texts[f], r->text[k])) f++;
      if (f == a->count) {
        a->texts[a->count] = r->text[k];
        a->xs[a->count] = r->x[k];
        a->count++;
      }
      if (!isfinite(r->x[k])) numeric = 0;
    }
    if (!numeric) {
      a->param = NULL; /* a value that is no number: categories */
      for (size_t f = 0; f < a->count; f++) a->xs[f] = NAN;
    } else {
      /* Insertion sort by number: a handful of values. */
      for (size_t f = 1; f < a->count; f++)
        for (size_t g = f; g > 0 && a->xs[g - 1] > a->xs[g]; g--) {
          double tx = a->xs[g];
          a->xs[g] = a->xs[g - 1];
          a->xs[g - 1] = tx;
          char *tt = a->texts[g];
          a->texts[g] = a->texts[g - 1];
          a->texts[g - 1] = tt;
        }
    }
    for (size_t i = 0; i < c->nruns; i++) {
      rep_run *r = &c->runs[i];
      size_t f = 0;
      while (strcmp(a->texts[f], r->text[k])) f++;
      r->value[k] = f;
    }
  }
  return 0;
}

static int rep__cmp_runs(const void *pa, const void *pb) {
  const rep_run *a = pa, *b = pb;
  if (a->series != b->series) return a->series < b->series ? -1 : 1;
  for (size_t k = 0; k < REP_MAX_AXES; k++)
    if (a->value[k] != b->value[k]) return a->value[k] < b->value[k] ? -1 : 1;
  return 0;
}

/* Groups runs into points and computes each point's statistics. */
static int rep__points(rep_ctx *c) {
  /* A stable merge sort by (series, values): repeats stay in file order. */
  rep_run *sorted = malloc((c->nruns ? c->nruns : 1) * sizeof *sorted);
  if (!sorted) return sim_errorf(SIM_ENOMEM, "out of memory");
  memcpy(sorted, c->runs, c->nruns * sizeof *sorted);
  for (size_t width = 1; width < c->nruns; width *= 2) {
    for (size_t lo = 0; lo < c->nruns; lo += 2 * width) {
      size_t mid = lo + width < c->nruns ? lo + width : c->nruns;
      size_t hi = lo + 2 * width < c->nruns ? lo + 2 * width : c->nruns;
      size_t a = lo, b = mid, o = lo;
      while (a < mid && b < hi) c->runs[o++] = rep__cmp_runs(&sorted[a], &sorted[b]) <= 0 ? sorted[a++] : sorted[b++];
      while (a < mid) c->runs[o++] = sorted[a++];
      while (b < hi) c->runs[o++] = sorted[b++];
    }
    memcpy(sorted, c->runs, c->nruns * sizeof *sorted);
  }
  free(sorted);

  c->points = calloc(c->nruns ? c->nruns : 1, sizeof *c->points);
  if (!c->points) return sim_errorf(SIM_ENOMEM, "out of memory");
  double *vals = malloc((c->nruns ? c->nruns : 1) * sizeof *vals);
  if (!vals) return sim_errorf(SIM_ENOMEM, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < c->nruns && !rc;) {
    size_t j = i + 1;
    while (j < c->nruns && c->runs[j].series == c->runs[i].series &&
           !memcmp(c->runs[j].value, c->runs[i].value, sizeof c->runs[i].value))
      j++;
    rep_point *p = &c->points[c->npoints++];
    p->series = c->runs[i].series;
    memcpy(p->value, c->runs[i].value, sizeof p->value);
    p->first = i;
    p->nruns = j - i;
    for (size_t k = i; k < j; k++) {
      c->runs[k].point = c->npoints - 1;
      c->runs[k].repeat = k - i;
    }
    for (size_t k = i; k < j; k++) p->completed += c->runs[k].run->result.status == MDL_STATUS_COMPLETED;
    p->failed = p->completed < p->nruns;
    for (size_t m = 0; m < REP_NMETRICS && !rc; m++) {
      /* Completed runs make the value; a point none of whose runs
       * completed shows what they reached (drawn hollow). */
      size_t n = 0;
      for (size_t k = i; k < j; k++) {
        const mdl_result *r = &c->runs[k].run->result;
        double v = rep__metric(r, m);
        if (isfinite(v) && (r->status == MDL_STATUS_COMPLETED || p->completed == 0)) vals[n++] = v;
      }
      p->y[m] = p->lo[m] = p->hi[m] = NAN;
      if (n == 0) continue;
      res_describe d;
      if ((rc = res_describe_sample(vals, n, 0.95, &d))) break;
      p->y[m] = d.mean;
      if (n >= 2 && isfinite(d.ci_lo)) {
        p->lo[m] = d.ci_lo;
        p->hi[m] = d.ci_hi;
      }
    }
    i = j;
  }
  free(vals);
  return rc;
}

/* ------------------------------------------------------------ writing */

static void rep__html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* Inline text: `code` spans become <code> in HTML. */
static void rep__html_inline(FILE *f, const char *s) {
  int code = 0;
  for (; *s; s++) {
    if (*s == '`') {
      fputs(code ? "</code>" : "<code>", f);
      code = !code;
      continue;
    }
    char one[2] = {*s, 0};
    rep__html_text(f, one);
  }
  if (code) fputs("</code>", f);
}

static void rep__md_cell(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputc('\\', f);
    if (*s == '\n') {
      fputc(' ', f);
      continue;
    }
    fputc(*s, f);
  }
}

static void rep__heading(rep_ctx *c, int level, const char *text) {
  fprintf(c->md, "\n%.*s %s\n\n", level, "######", text);
  fprintf(c->html, "<h%d>", level);
  rep__html_inline(c->html, text);
  fprintf(c->html, "</h%d>\n", level);
}

static void rep__para(rep_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rep__para(rep_ctx *c, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(c->md, "%s\n\n", buf);
  fputs("<p>", c->html);
  rep__html_inline(c->html, buf);
  fputs("</p>\n", c->html);
}

static void rep__table_row(rep_ctx *c, const char *const *cells, size_t n, int header) {
  fputs("|", c->md);
  fputs("<tr>", c->html);
  for (size_t i = 0; i < n; i++) {
    fputc(' ', c->md);
    rep__md_cell(c->md, cells[i]);
    fputs(" |", c->md);
    fputs(header ? "<th>" : "<td>", c->html);
    rep__html_text(c->html, cells[i]);
    fputs(header ? "</th>" : "</td>", c->html);
  }
  fputs("\n", c->md);
  fputs("</tr>\n", c->html);
  if (header) {
    fputs("|", c->md);
    for (size_t i = 0; i < n; i++) fputs(i == 0 ? "---|" : "---:|", c->md);
    fputs("\n", c->md);
  }
}

size_t res_base64(const unsigned char *data, size_t n, char *out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < n) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < n) v |= data[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
  }
  out[o] = '\0';
  return o;
}

/* DIR/NAME (a PNG) embedded in the HTML as a figure. */
static int rep__embed(rep_ctx *c, const char *name, const char *caption) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", c->dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  unsigned char *data = size > 0 ? malloc((size_t)size) : NULL;
  char *b64 = size > 0 ? malloc(4 * (((size_t)size + 2) / 3) + 1) : NULL;
  int rc = 0;
  if (!data || !b64 || fread(data, 1, (size_t)size, f) != (size_t)size)
    rc = sim_errorf(SIM_EIO, "cannot read %s", path);
  fclose(f);
  if (!rc) {
    res_base64(data, (size_t)size, b64);
    fputs("<figure><img src=\"data:image/png;base64,", c->html);
    fputs(b64, c->html);
    fputs("\" alt=\"", c->html);
    rep__html_text(c->html, caption);
    fputs("\"><figcaption>", c->html);
    rep__html_text(c->html, caption);
    fputs("</figcaption></figure>\n", c->html);
  }
  free(data);
  free(b64);
  return rc;
}

/* The figure: a Markdown image (and links to the other formats), and the
 * PNG embedded in the HTML. */
static int rep__figure(rep_ctx *c, const char *base, const char *caption) {
  char name[512];
  snprintf(name, sizeof name, "%s.png", base);
  int rc = rep__embed(c, name, caption);
  if (rc) return rc;
  fprintf(c->md, "![%s](%s.png)\n", caption, base);
  if (c->formats & (RES_REPORT_SVG | RES_REPORT_PDF)) {
    fputs("\n", c->md);
    if (c->formats & RES_REPORT_SVG) fprintf(c->md, "[SVG](%s.svg) ", base);
    if (c->formats & RES_REPORT_PDF) fprintf(c->md, "[PDF](%s.pdf)", base);
    fputs("\n", c->md);
  }
  fputs("\n", c->md);
  char **m = realloc(c->made, (c->nmade + 1) * sizeof *m);
  if (!m || !(m[c->nmade] = rep__strdup(base))) rc = sim_errorf(SIM_ENOMEM, "out of memory");
  if (m) c->made = m;
  if (!rc) c->nmade++;
  c->plots++;
  return rc;
}

/* The PNGs of DIR that the kept report.md shows (![caption](NAME.png), a
 * plain file name), embedded in the HTML after its text; the Markdown has
 * them already. A name that is not a regular file of DIR is left out. */
static int rep__kept_figures(rep_ctx *c, const char *kept) {
  int rc = 0;
  for (const char *p = kept; !rc && (p = strstr(p, "![")); p += 2) {
    const char *cap = p + 2, *mid = strstr(cap, "]("), *nl = strchr(cap, '\n');
    if (!mid || (nl && nl < mid)) continue;
    const char *name = mid + 2, *end = strchr(name, ')');
    if (!end || (nl && nl < end)) continue;
    size_t len = (size_t)(end - name), clen = (size_t)(mid - cap);
    if (len < 5 || len > 255 || strncmp(end - 4, ".png", 4) || memchr(name, '/', len)) continue;
    char file[256], caption[1024], path[4096];
    snprintf(file, sizeof file, "%.*s", (int)len, name);
    snprintf(caption, sizeof caption, "%.*s", (int)(clen < 1000 ? clen : 1000), cap);
    snprintf(path, sizeof path, "%s/%s", c->dir, file);
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
    rc = rep__embed(c, file, caption);
  }
  return rc;
}

/* A file-name-safe form of `text`: [a-z0-9-], others as '-'. */
static void rep__slug(const char *text, char *out, size_t len) {
  size_t o = 0;
  for (; *text && o + 1 < len; text++) {
    char ch = *text;
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) ch = '-';
    if (ch == '-' && (o == 0 || out[o - 1] == '-')) continue;
    out[o++] = ch;
  }
  while (o > 0 && out[o - 1] == '-') o--;
  out[o] = '\0';
}

typedef enum { REP_LINES, REP_BARS, REP_HEAT } rep_kind;

typedef struct {
  rep_kind kind;
  const res_plot_opts *opts;
  const res_plot_series *lines;
  size_t nlines;
  const char *const *categories;
  size_t ncategories;
  const res_plot_bar_series *bars;
  size_t nbars;
  const char *const *ys;
  size_t ny;
  const double *z;
  const unsigned char *failed;
  const char *z_label;
  int log_z;
} rep_chart;

/* Draws the chart in every format asked for, then adds the figure. */
static int rep__chart(rep_ctx *c, const char *base, const rep_chart *ch, const char *caption) {
  static const struct {
    unsigned bit;
    const char *ext;
  } formats[] = {{RES_REPORT_PNG, "png"}, {RES_REPORT_SVG, "svg"}, {RES_REPORT_PDF, "pdf"}};
  int rc = 0;
  for (size_t i = 0; i < 3 && !rc; i++) {
    if (!(c->formats & formats[i].bit)) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", c->dir, base, formats[i].ext);
    if (ch->kind == REP_LINES) rc = res_plot_lines(path, ch->opts, ch->lines, ch->nlines);
    else if (ch->kind == REP_BARS)
      rc = res_plot_bars(path, ch->opts, ch->categories, ch->ncategories, ch->bars, ch->nbars);
    else
      rc = res_plot_heatmap(path, ch->opts, ch->categories, ch->ncategories, ch->ys, ch->ny, ch->z, ch->failed,
                            ch->z_label, ch->log_z);
  }
  return rc ? rc : rep__figure(c, base, caption);
}

/* A line chart (rep__chart's REP_LINES) with its axes. */
static int rep__line_chart(rep_ctx *c, const char *base, const char *title, const char *x_label,
                           const char *y_label, int log_x, const res_plot_series *lines, size_t nlines,
                           const char *caption) {
  res_plot_opts po = {0};
  po.title = title;
  po.x_label = x_label;
  po.y_label = y_label;
  po.log_x = log_x;
  rep_chart ch = {0};
  ch.kind = REP_LINES;
  ch.opts = &po;
  ch.lines = lines;
  ch.nlines = nlines;
  return rep__chart(c, base, &ch, caption);
}

/* ----------------------------------------------------- metric vs axis */

/* The points of series s whose other axes take the values of combo
 * point `like` (every axis but `axis`). */
static int rep__same_others(const rep_ctx *c, const rep_point *p, const rep_point *like, size_t axis) {
  for (size_t k = 0; k < c->naxes; k++)
    if (k != axis && p->value[k] != like->value[k]) return 0;
  return 1;
}

/* A parameter's axis is logarithmic over more than two decades
 * (res_plot_wants_log), and also over one or more when its sorted values
 * grow geometrically (each at least 1.5 times the one before: 256 Mbit/s,
 * 1 Gbit/s, 10 Gbit/s), as such sweeps are meant to be read. */
static int rep__log_axis(const double *xs, size_t n) {
  if (res_plot_wants_log(xs, n)) return 1;
  if (n < 3 || !(xs[0] > 0) || xs[n - 1] < 10.0 * xs[0]) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(xs[i] >= 1.5 * xs[i - 1])) return 0;
  return 1;
}

/* One plot of metric m against axis `axis`. */
static int rep__metric_vs_axis(rep_ctx *c, size_t m, size_t axis) {
  rep_axis *a = &c->axes[axis];
  /* Lines: series x combinations of the other axes' values (the first
   * combination only when there are too many). */
  const rep_point *combos[REP_MAX_COMBOS];
  size_t ncombos = 0;
  int too_many = 0;
  for (size_t i = 0; i < c->npoints; i++) {
    size_t f = 0;
    while (f < ncombos && !rep__same_others(c, &c->points[i], combos[f], axis)) f++;
    if (f < ncombos) continue;
    if (ncombos == REP_MAX_COMBOS) {
      too_many = 1;
      continue;
    }
    combos[ncombos++] = &c->points[i];
  }
  if (too_many) {
    /* The combination of every other axis's first value. */
    const rep_point *best = NULL;
    for (size_t i = 0; i < c->npoints; i++) {
      int lowest = 1;
      for (size_t k = 0; k < c->naxes; k++)
        if (k != axis && c->points[i].value[k] != 0) lowest = 0;
      if (lowest) {
        best = &c->points[i];
        break;
      }
    }
    if (!best) return 0;
    combos[0] = best;
    ncombos = 1;
  }
  size_t nlines = 0;
  char labels[REP_MAX_LINES][REP_LABEL];
  double *buf = calloc(5 * REP_MAX_LINES * (a->count ? a->count : 1), sizeof *buf);
  unsigned char *failed = calloc(REP_MAX_LINES * (a->count ? a->count : 1), 1);
  res_plot_series lines[REP_MAX_LINES];
  res_plot_bar_series bars[REP_MAX_LINES];
  memset(lines, 0, sizeof lines);
  memset(bars, 0, sizeof bars);
  if (!buf || !failed) {
    free(buf);
    free(failed);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t nv = a->count;
  double all_y[4096];
  size_t nall = 0;
  for (size_t s = 0; s < c->nseries; s++) {
    for (size_t k = 0; k < ncombos && nlines < REP_MAX_LINES; k++) {
      double *x = buf + (5 * nlines) * nv, *y = x + nv, *lo = y + nv, *hi = lo + nv;
      unsigned char *fl = failed + nlines * nv;
      size_t any = 0;
      for (size_t v = 0; v < nv; v++) {
        x[v] = a->param ? a->xs[v] : (double)v;
        y[v] = lo[v] = hi[v] = NAN;
      }
      for (size_t i = 0; i < c->npoints; i++) {
        const rep_point *p = &c->points[i];
        if (p->series != s || !rep__same_others(c, p, combos[k], axis)) continue;
        size_t v = p->value[axis];
        y[v] = p->y[m];
        lo[v] = p->lo[m];
        hi[v] = p->hi[m];
        fl[v] = p->failed;
        any++;
        if (!p->failed && isfinite(p->y[m]) && nall < sizeof all_y / sizeof all_y[0]) all_y[nall++] = p->y[m];
      }
      if (!any) continue;
      int n = snprintf(labels[nlines], REP_LABEL, "%s", c->series[s]);
      for (size_t o = 0; o < c->naxes && ncombos > 1; o++) {
        if (o == axis) continue;
        n += snprintf(labels[nlines] + n, (size_t)n < REP_LABEL ? REP_LABEL - (size_t)n : 0, ", %s=%.24s",
                      c->axes[o].key, c->axes[o].texts[combos[k]->value[o]]);
        if (n >= REP_LABEL) n = REP_LABEL - 1;
      }
      lines[nlines] = (res_plot_series){.name = labels[nlines], .x = x, .y = y, .n = nv,
                                        .err_lo = lo, .err_hi = hi, .failed = fl};
      bars[nlines] = (res_plot_bar_series){.name = labels[nlines], .values = y, .err_lo = lo, .err_hi = hi,
                                           .failed = fl};
      nlines++;
    }
  }
  int rc = 0;
  if (nlines) {
    char title[512], ylabel[128], base[256], keyslug[96], caption[1024], xlabel[REP_LABEL];
    snprintf(title, sizeof title, "%s against %s", rep__metrics[m].label, a->key);
    snprintf(ylabel, sizeof ylabel, "%s (%s)", rep__metrics[m].label, rep__metrics[m].unit);
    rep__slug(a->key, keyslug, sizeof keyslug);
    snprintf(base, sizeof base, "report-%s-vs-%s", rep__metrics[m].column, keyslug);
    res_plot_opts po = {0};
    po.title = title;
    po.x_label = a->label;
    po.y_label = ylabel;
    po.markers = 1;
    po.log_y = res_plot_wants_log(all_y, nall);
    rep_chart ch = {0};
    ch.opts = &po;
    const char *cats[256];
    if (a->param) {
      po.log_x = rep__log_axis(a->xs, a->count);
      /* A log axis over a decade or two has few labelled ticks: label the
       * swept values themselves (at most 12 of them). */
      if (po.log_x && a->count <= 12) {
        po.x_ticks = a->xs;
        po.n_x_ticks = a->count;
        if (c->sweep) {
          /* The values as the sweep gave them, units included. */
          po.x_tick_labels = (const char *const *)a->texts;
          snprintf(xlabel, sizeof xlabel, "%s", a->key);
          po.x_label = xlabel;
        }
      }
      ch.kind = REP_LINES;
      ch.lines = lines;
      ch.nlines = nlines;
    } else {
      size_t ncat = nv < 256 ? nv : 256;
      for (size_t v = 0; v < ncat; v++) cats[v] = a->texts[v];
      ch.kind = REP_BARS;
      ch.categories = cats;
      ch.ncategories = ncat;
      ch.bars = bars;
      ch.nbars = nlines;
    }
    int n = snprintf(caption, sizeof caption, "%s against %s%s", rep__metrics[m].label, a->key,
                     po.log_y && po.log_x ? " (log scales)" : po.log_y ? " (log y scale)" : po.log_x ? " (log x scale)" : "");
    if (too_many) {
      n += snprintf(caption + n, sizeof caption - (size_t)n, "; other parameters at their first value:");
      for (size_t o = 0; o < c->naxes && (size_t)n < sizeof caption; o++)
        if (o != axis)
          n += snprintf(caption + n, sizeof caption - (size_t)n, " %s=%.40s", c->axes[o].key, c->axes[o].texts[0]);
    }
    rc = rep__chart(c, base, &ch, caption);
  }
  free(buf);
  free(failed);
  return rc;
}

/* ------------------------------------------------------------ heatmap */

static int rep__heatmaps(rep_ctx *c) {
  rep_axis *ax = &c->axes[0], *ay = &c->axes[1];
  size_t nx = ax->count, ny = ay->count;
  double *z = malloc(nx * ny * sizeof *z);
  unsigned char *fl = malloc(nx * ny);
  if (!z || !fl) {
    free(z);
    free(fl);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  int rc = 0;
  for (size_t m = 0; m < REP_NMETRICS && !rc; m++) {
    for (size_t s = 0; s < c->nseries && s < REP_MAX_HEATMAPS && !rc; s++) {
      size_t any = 0;
      for (size_t k = 0; k < nx * ny; k++) z[k] = NAN, fl[k] = 0;
      for (size_t i = 0; i < c->npoints; i++) {
        const rep_point *p = &c->points[i];
        if (p->series != s) continue;
        size_t k = p->value[1] * nx + p->value[0];
        z[k] = p->failed ? NAN : p->y[m];
        fl[k] = p->failed;
        any += p->failed || isfinite(p->y[m]);
      }
      if (!any) continue;
      char title[512], zlabel[128], base[256], sslug[96], caption[600];
      snprintf(title, sizeof title, "%s, %s", rep__metrics[m].label, c->series[s]);
      snprintf(zlabel, sizeof zlabel, "%s (%s)", rep__metrics[m].label, rep__metrics[m].unit);
      rep__slug(c->series[s], sslug, sizeof sslug);
      snprintf(base, sizeof base, "report-heat-%s-%s", rep__metrics[m].column, sslug);
      res_plot_opts po = {0};
      po.title = title;
      po.x_label = ax->label;
      po.y_label = ay->label;
      rep_chart ch = {0};
      ch.kind = REP_HEAT;
      ch.opts = &po;
      ch.categories = (const char *const *)ax->texts;
      ch.ncategories = nx;
      ch.ys = (const char *const *)ay->texts;
      ch.ny = ny;
      ch.z = z;
      ch.failed = fl;
      ch.z_label = zlabel;
      ch.log_z = res_plot_wants_log(z, nx * ny);
      snprintf(caption, sizeof caption, "%s of %s over %s and %s%s", rep__metrics[m].label, c->series[s], ax->key,
               ay->key, ch.log_z ? " (log colour scale)" : "");
      rc = rep__chart(c, base, &ch, caption);
    }
  }
  free(z);
  free(fl);
  return rc;
}

/* ---------------------------------------------------------------- CDF */

static int rep__cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? -1 : a > b;
}

static int rep__cdfs(rep_ctx *c) {
  size_t ns = c->nseries < REP_MAX_LINES ? c->nseries : REP_MAX_LINES;
  double *vals = malloc(c->nruns * sizeof *vals);
  double *xy = malloc((ns ? ns : 1) * 4 * (c->nruns + 1) * sizeof *xy);
  if (!vals || !xy) {
    free(vals);
    free(xy);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  int rc = 0;
  for (size_t m = 0; m < REP_NMETRICS && !rc; m++) {
    res_plot_series lines[REP_MAX_LINES];
    memset(lines, 0, sizeof lines);
    size_t nlines = 0, nall = 0, incomplete = 0;
    double *all = malloc(c->nruns * sizeof *all);
    if (!all) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      break;
    }
    for (size_t i = 0; i < c->nruns; i++) {
      const mdl_result *r = &c->runs[i].run->result;
      double v = rep__metric(r, m);
      if (c->runs[i].series < ns && r->status == MDL_STATUS_COMPLETED && isfinite(v)) all[nall++] = v;
    }
    int log_x = res_plot_wants_log(all, nall);
    for (size_t s = 0; s < ns; s++) {
      size_t n = 0, total = 0;
      for (size_t i = 0; i < c->nruns; i++) {
        if (c->runs[i].series != s) continue;
        total++;
        const mdl_result *r = &c->runs[i].run->result;
        double v = rep__metric(r, m);
        if (r->status == MDL_STATUS_COMPLETED && isfinite(v)) vals[n++] = v;
        else incomplete++;
      }
      if (n == 0) continue;
      qsort(vals, n, sizeof *vals, rep__cmp_double);
      double *x = xy + (4 * s) * (c->nruns + 1), *y = x + 2 * (c->nruns + 1);
      /* A staircase from (0, 0) (from the first value on a log axis): up by
       * 1/total at each value; runs that did not complete never arrive, so
       * the top is the share that completed. */
      size_t o = 0;
      if (!log_x && vals[0] > 0) x[o] = 0, y[o++] = 0;
      for (size_t i = 0; i < n; i++) {
        x[o] = vals[i];
        y[o++] = (double)i / (double)total;
        x[o] = vals[i];
        y[o++] = (double)(i + 1) / (double)total;
      }
      lines[nlines++] = (res_plot_series){.name = c->series[s], .x = x, .y = y, .n = o};
    }
    if (nlines && nall >= 2) {
      char title[256], xlabel[128], base[128], caption[512];
      snprintf(title, sizeof title, "%s across runs", rep__metrics[m].label);
      snprintf(xlabel, sizeof xlabel, "%s (%s)", rep__metrics[m].label, rep__metrics[m].unit);
      snprintf(base, sizeof base, "report-cdf-%s", rep__metrics[m].column);
      snprintf(caption, sizeof caption, "CDF of %s over the runs of each series%s%s", rep__metrics[m].label,
               log_x ? " (log scale)" : "",
               incomplete ? "; runs that did not complete have no value, so their line ends below 1" : "");
      rc = rep__line_chart(c, base, title, xlabel, "share of runs (CDF)", log_x, lines, nlines, caption);
    }
    free(all);
  }
  free(vals);
  free(xy);
  return rc;
}

/* ------------------------------------------ scenarios across groups */

/* Each metric per scenario, a bar per group (baseline/candidate,
 * sim/real): the mean of the group's completed runs of the scenario and
 * the Student-t 95 % interval; hollow when a run did not complete. */
static int rep__group_bars(rep_ctx *c) {
  const char **names = malloc(c->nruns * sizeof *names);
  size_t ncat = 0, ng = c->ngroups;
  if (!names) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->nruns; i++) {
    const char *n = c->runs[i].run->scenario.name;
    size_t k = 0;
    while (k < ncat && strcmp(names[k], n)) k++;
    if (k == ncat && ncat < 256) names[ncat++] = n;
  }
  double *buf = malloc(3 * ng * ncat * sizeof *buf), *vals = malloc(c->nruns * sizeof *vals);
  unsigned char *fl = calloc(ng * ncat, 1);
  int rc = !buf || !vals || !fl ? sim_errorf(SIM_ENOMEM, "out of memory") : 0;
  for (size_t m = 0; m < REP_NMETRICS && !rc; m++) {
    res_plot_bar_series bars[REP_MAX_GROUPS];
    double all[REP_MAX_GROUPS * 256];
    size_t nall = 0;
    for (size_t g = 0; g < ng && !rc; g++) {
      double *y = buf + 3 * g * ncat, *lo = y + ncat, *hi = lo + ncat;
      for (size_t k = 0; k < ncat && !rc; k++) {
        size_t n = 0, runs = 0, done = 0;
        for (size_t i = 0; i < c->nruns; i++) {
          const rep_run *r = &c->runs[i];
          if (r->group != g || strcmp(r->run->scenario.name, names[k])) continue;
          runs++;
          double v = rep__metric(&r->run->result, m);
          if (r->run->result.status == MDL_STATUS_COMPLETED) done++;
          if (isfinite(v) && r->run->result.status == MDL_STATUS_COMPLETED) vals[n++] = v;
        }
        /* None completed: what they reached (drawn hollow). */
        for (size_t i = 0; runs && !done && i < c->nruns; i++) {
          const rep_run *r = &c->runs[i];
          double v = rep__metric(&r->run->result, m);
          if (r->group == g && !strcmp(r->run->scenario.name, names[k]) && isfinite(v)) vals[n++] = v;
        }
        y[k] = lo[k] = hi[k] = NAN;
        fl[g * ncat + k] = done < runs;
        if (!n) continue;
        res_describe d;
        if ((rc = res_describe_sample(vals, n, 0.95, &d))) break;
        y[k] = d.mean;
        if (n >= 2 && isfinite(d.ci_lo)) lo[k] = d.ci_lo, hi[k] = d.ci_hi;
        if (done == runs) all[nall++] = d.mean;
      }
      bars[g] = (res_plot_bar_series){.name = c->group_names[g], .values = y, .err_lo = lo, .err_hi = hi,
                                      .failed = fl + g * ncat};
    }
    if (rc || !nall) continue;
    char title[256], ylabel[128], base[128], caption[512];
    snprintf(title, sizeof title, "%s per scenario", rep__metrics[m].label);
    snprintf(ylabel, sizeof ylabel, "%s (%s)", rep__metrics[m].label, rep__metrics[m].unit);
    snprintf(base, sizeof base, "report-scenarios-%s", rep__metrics[m].column);
    res_plot_opts po = {0};
    po.title = title;
    po.y_label = ylabel;
    po.log_y = res_plot_wants_log(all, nall);
    rep_chart ch = {0};
    ch.kind = REP_BARS;
    ch.opts = &po;
    ch.categories = names;
    ch.ncategories = ncat;
    ch.bars = bars;
    ch.nbars = ng;
    snprintf(caption, sizeof caption, "%s per scenario, a bar per folder: the mean of its runs and the 95 %% "
                                      "interval of the mean%s",
             rep__metrics[m].label, po.log_y ? " (log y scale)" : "");
    rc = rep__chart(c, base, &ch, caption);
  }
  free(names);
  free(buf);
  free(vals);
  free(fl);
  return rc;
}

/* ------------------------------------------- timelines and rounds */

/* Up to REP_MAX_DETAIL runs with data (timeline or rounds): the first
 * such run of points spread evenly over the folder. */
static size_t rep__pick(const rep_ctx *c, int timeline, size_t *out) {
  size_t have = 0;
  for (size_t p = 0; p < c->npoints; p++)
    for (size_t i = c->points[p].first; i < c->points[p].first + c->points[p].nruns; i++) {
      const mdl_result *r = &c->runs[i].run->result;
      if (timeline ? r->sample_count > 1 : r->round_count > 0) {
        have++;
        break;
      }
    }
  size_t want = have < REP_MAX_DETAIL ? have : REP_MAX_DETAIL, n = 0, seen = 0;
  for (size_t p = 0; p < c->npoints && n < want; p++)
    for (size_t i = c->points[p].first; i < c->points[p].first + c->points[p].nruns; i++) {
      const mdl_result *r = &c->runs[i].run->result;
      if (!(timeline ? r->sample_count > 1 : r->round_count > 0)) continue;
      if (seen++ == n * have / want) out[n++] = i;
      break;
    }
  return n;
}

/* A run in a legend: its series and swept values (or its scenario's name
 * when nothing was swept), and which repeat it is. */
static void rep__run_label(const rep_ctx *c, size_t i, char *out, size_t len) {
  const rep_run *r = &c->runs[i];
  size_t n = (size_t)snprintf(out, len, "%s", c->series[r->series]);
  char variant[REP_LABEL];
  if (c->naxes == 0 && strcmp(r->run->scenario.name, mdl_variant_name(&r->run->scenario, variant, sizeof variant)) &&
      n < len)
    n += (size_t)snprintf(out + n, len - n, ", %.40s", r->run->scenario.name);
  for (size_t k = 0; k < c->naxes && n < len; k++)
    n += (size_t)snprintf(out + n, len - n, ", %s=%.24s", c->axes[k].key, c->axes[k].texts[r->value[k]]);
  if (c->points[r->point].nruns > 1 && n < len) snprintf(out + n, len - n, " #%zu", r->repeat + 1);
}

enum { REP_MAX_RACE = 3 }; /* runs with a dirty rate vs send rate plot */

/* A line chart over time since the migration started (the timeline
 * plots). */
static int rep__time_chart(rep_ctx *c, const char *base, const char *title, const char *y_label,
                           const res_plot_series *lines, size_t nlines, const char *caption) {
  return rep__line_chart(c, base, title, "time since migration start (s)", y_label, 0, lines, nlines, caption);
}

/* Dirty rate against send rate, a plot per run (the first REP_MAX_RACE
 * picked): pre-copy converges only while it sends faster than the guest
 * dirties. bufs[k] holds run k's times and send rates (rep__timelines). */
static int rep__race(rep_ctx *c, const size_t *pick, size_t n, double *const *bufs) {
  int rc = 0;
  for (size_t k = 0, made = 0; k < n && made < REP_MAX_RACE && !rc; k++) {
    const mdl_result *r = &c->runs[pick[k]].run->result;
    const mdl_scenario *s = &c->runs[pick[k]].run->scenario;
    size_t ns = r->sample_count, known = 0;
    double *dr = malloc(ns * sizeof *dr);
    if (!dr) return sim_errorf(SIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ns; i++) {
      /* -1: not measured yet (no sync period has ended), or a
       * timeline.csv without the column (an older migsim). */
      double v = r->samples[i].dirty_pages_rate;
      dr[i] = v >= 0 ? v * (s->page_size ? s->page_size : 4096) / 1048576.0 : NAN;
      known += v >= 0;
    }
    if (known) {
      const double *t = bufs[k], *rt = bufs[k] + 2 * ns;
      res_plot_series lines[2] = {
          {.name = "sent (bytes per estimation window)", .x = t, .y = rt, .n = ns},
          {.name = "dirtied (QEMU dirty-pages-rate)", .x = t, .y = dr, .n = ns},
      };
      char title[REP_LABEL + 32], base[64], caption[REP_LABEL + 160];
      rep__run_label(c, pick[k], title, REP_LABEL);
      snprintf(caption, sizeof caption,
               "%s: send rate and dirty rate (dirty-pages-rate x page size over the last sync period: none "
               "until one has ended), from timeline.csv",
               title);
      snprintf(base, sizeof base, "report-timeline-race-%zu", ++made);
      rc = rep__time_chart(c, base, title, "rate (MiB/s)", lines, 2, caption);
    }
    free(dr);
  }
  return rc;
}

/* The auto-converge CPU throttle over time, of the picked runs that have
 * it (none: no plot). */
static int rep__throttle(rep_ctx *c, const size_t *pick, size_t n, double *const *bufs,
                         char (*labels)[REP_LABEL]) {
  res_plot_series lines[REP_MAX_DETAIL];
  double *ys[REP_MAX_DETAIL] = {0};
  size_t nl = 0;
  int rc = 0;
  for (size_t k = 0; k < n && !rc; k++) {
    const mdl_result *r = &c->runs[pick[k]].run->result;
    if (!c->runs[pick[k]].run->scenario.auto_converge) continue;
    size_t ns = r->sample_count;
    double *y = ys[nl] = malloc(ns * sizeof *y);
    if (!y) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      break;
    }
    for (size_t i = 0; i < ns; i++) y[i] = r->samples[i].throttle_pct;
    lines[nl++] = (res_plot_series){.name = labels[k], .x = bufs[k], .y = y, .n = ns};
  }
  if (!rc && nl)
    rc = rep__time_chart(c, "report-timeline-throttle", "CPU throttle (auto-converge)", "vCPU throttle (%)", lines,
                         nl, "auto-converge's CPU throttle (cpu-throttle-percentage), from timeline.csv");
  for (size_t k = 0; k < nl; k++) free(ys[k]);
  return rc;
}

static int rep__timelines(rep_ctx *c) {
  size_t pick[REP_MAX_DETAIL];
  size_t n = rep__pick(c, 1, pick);
  if (!n) return 0;
  char labels[REP_MAX_DETAIL][REP_LABEL];
  res_plot_series dirty[REP_MAX_DETAIL], rate[REP_MAX_DETAIL];
  double *bufs[REP_MAX_DETAIL] = {0};
  int rc = 0;
  for (size_t k = 0; k < n && !rc; k++) {
    const mdl_result *r = &c->runs[pick[k]].run->result;
    const mdl_scenario *s = &c->runs[pick[k]].run->scenario;
    size_t ns = r->sample_count;
    double *b = bufs[k] = malloc(4 * ns * sizeof *b);
    if (!b) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      break;
    }
    double *t = b, *d = b + ns, *rt = b + 2 * ns, *t2 = b + 3 * ns;
    for (size_t i = 0; i < ns; i++) {
      t[i] = r->samples[i].t_ms / 1e3;
      d[i] = (double)r->samples[i].dirty_pages * (s->page_size ? s->page_size : 4096) / 1048576.0;
      /* Send rate over the window that ends at this sample. */
      t2[i] = t[i];
      double dt = i ? (r->samples[i].t_ms - r->samples[i - 1].t_ms) / 1e3 : 0;
      rt[i] = i && dt > 0
                  ? (double)(r->samples[i].transferred_bytes - r->samples[i - 1].transferred_bytes) / dt / 1048576.0
                  : NAN;
    }
    rep__run_label(c, pick[k], labels[k], REP_LABEL);
    dirty[k] = (res_plot_series){.name = labels[k], .x = t, .y = d, .n = ns};
    rate[k] = (res_plot_series){.name = labels[k], .x = t2, .y = rt, .n = ns};
  }
  if (!rc)
    rc = rep__time_chart(c, "report-timeline-dirty", "Dirty memory remaining", "dirty memory (MiB)", dirty, n,
                         "dirty memory still to send, from timeline.csv");
  if (!rc)
    rc = rep__time_chart(c, "report-timeline-rate", "Send rate", "bytes sent per second (MiB/s)", rate, n,
                         "bytes sent per estimation window, as a rate, from timeline.csv");
  if (!rc) rc = rep__race(c, pick, n, bufs);
  if (!rc) rc = rep__throttle(c, pick, n, bufs, labels);
  for (size_t k = 0; k < n; k++) free(bufs[k]);
  return rc;
}

static int rep__rounds(rep_ctx *c) {
  size_t pick[REP_MAX_DETAIL];
  size_t n = rep__pick(c, 0, pick);
  if (!n) return 0;
  size_t rounds = 0;
  for (size_t k = 0; k < n; k++) {
    const mdl_result *r = &c->runs[pick[k]].run->result;
    for (size_t i = 0; i < r->round_count; i++)
      if (r->rounds[i].round > rounds) rounds = r->rounds[i].round;
  }
  int cut = rounds > REP_MAX_ROUNDS;
  if (cut) rounds = REP_MAX_ROUNDS;
  if (!rounds) return 0;
  char labels[REP_MAX_DETAIL][REP_LABEL], cat_buf[REP_MAX_ROUNDS][24];
  const char *cats[REP_MAX_ROUNDS];
  double values[REP_MAX_DETAIL][REP_MAX_ROUNDS];
  res_plot_bar_series bars[REP_MAX_DETAIL];
  memset(bars, 0, sizeof bars);
  for (size_t j = 0; j < rounds; j++) {
    snprintf(cat_buf[j], sizeof cat_buf[j], "%zu", j + 1);
    cats[j] = cat_buf[j];
  }
  for (size_t k = 0; k < n; k++) {
    const mdl_result *r = &c->runs[pick[k]].run->result;
    for (size_t j = 0; j < rounds; j++) values[k][j] = NAN;
    for (size_t i = 0; i < r->round_count; i++)
      if (r->rounds[i].round >= 1 && r->rounds[i].round <= rounds)
        values[k][r->rounds[i].round - 1] = (double)r->rounds[i].bytes_sent / 1048576.0;
    rep__run_label(c, pick[k], labels[k], REP_LABEL);
    bars[k].name = labels[k];
    bars[k].values = values[k];
  }
  res_plot_opts po = {0};
  po.title = "Bytes sent per round";
  po.x_label = "round (dirty sync; 1 = setup)";
  po.y_label = "bytes sent (MiB)";
  rep_chart ch = {0};
  double all[REP_MAX_DETAIL * REP_MAX_ROUNDS];
  for (size_t k = 0; k < n; k++) memcpy(all + k * rounds, values[k], rounds * sizeof(double));
  po.log_y = res_plot_wants_log(all, n * rounds);
  ch.kind = REP_BARS;
  ch.opts = &po;
  ch.categories = cats;
  ch.ncategories = rounds;
  ch.bars = bars;
  ch.nbars = n;
  char caption[256];
  snprintf(caption, sizeof caption, "bytes sent in each round, from rounds.csv%s%s",
           po.log_y ? " (log scale)" : "", cut ? " (first 40 rounds)" : "");
  return rep__chart(c, "report-rounds", &ch, caption);
}

/* ------------------------------------------------------------- tables */

static void rep__cell(char *out, size_t len, const rep_point *p, size_t m) {
  if (!isfinite(p->y[m])) {
    snprintf(out, len, "-");
    return;
  }
  int n = snprintf(out, len, "%.4g", p->y[m]);
  if (isfinite(p->lo[m]) && n > 0 && (size_t)n < len)
    snprintf(out + n, len - (size_t)n, " ± %.2g", (p->hi[m] - p->lo[m]) / 2);
  if (p->failed && p->completed == 0 && (size_t)n < len) {
    n = (int)strlen(out);
    snprintf(out + n, len - (size_t)n, " (n/c)");
  }
}

static void rep__points_table(rep_ctx *c) {
  const char *cells[4 + REP_MAX_AXES + REP_NMETRICS];
  char head[REP_NMETRICS][96], val[REP_NMETRICS][64], runs[32], done[32];
  size_t nc = 0;
  cells[nc++] = "series";
  for (size_t k = 0; k < c->naxes; k++) cells[nc++] = c->axes[k].label;
  cells[nc++] = "runs";
  cells[nc++] = "completed";
  for (size_t m = 0; m < REP_NMETRICS; m++) {
    snprintf(head[m], sizeof head[m], "%s (%s)", rep__metrics[m].label, rep__metrics[m].unit);
    cells[nc++] = head[m];
  }
  fputs("<table>\n", c->html);
  rep__table_row(c, cells, nc, 1);
  for (size_t i = 0; i < c->npoints && i < REP_MAX_TABLE; i++) {
    const rep_point *p = &c->points[i];
    nc = 0;
    cells[nc++] = c->series[p->series];
    for (size_t k = 0; k < c->naxes; k++) cells[nc++] = c->axes[k].texts[p->value[k]];
    snprintf(runs, sizeof runs, "%zu", p->nruns);
    snprintf(done, sizeof done, "%zu", p->completed);
    cells[nc++] = runs;
    cells[nc++] = done;
    for (size_t m = 0; m < REP_NMETRICS; m++) {
      rep__cell(val[m], sizeof val[m], p, m);
      cells[nc++] = val[m];
    }
    rep__table_row(c, cells, nc, 0);
  }
  fputs("</table>\n", c->html);
  if (c->npoints > REP_MAX_TABLE)
    rep__para(c, "(first %d of %zu points; every run is in `summary.csv`)", REP_MAX_TABLE, c->npoints);
  else
    fputs("\n", c->md);
}

/* --------------------------------------------------------------- main */

int res_report_formats(const char *list, unsigned *formats) {
  *formats = RES_REPORT_PNG;
  char buf[256];
  if (strlen(list) >= sizeof buf) return sim_errorf(SIM_EINVAL, "--format: list too long");
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (!strcmp(t, "png")) *formats |= RES_REPORT_PNG;
    else if (!strcmp(t, "svg")) *formats |= RES_REPORT_SVG;
    else if (!strcmp(t, "pdf")) *formats |= RES_REPORT_PDF;
    else return sim_errorf(SIM_EINVAL, "--format: unknown format '%s' (png, svg, pdf)", t);
  }
  return 0;
}

/* The text a report keeps from the folder's report.md: another command's
 * whole report, or what an earlier `migsim report` kept. NULL: nothing. */
static char *rep__kept_text(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/report.md", dir);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
  if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(text);
    return NULL;
  }
  fclose(f);
  text[n] = '\0';
  if (strncmp(text, REP_TITLE_MARK, strlen(REP_TITLE_MARK)) == 0) {
    char *b = strstr(text, REP_KEPT_BEGIN), *e = b ? strstr(b, REP_KEPT_END) : NULL;
    if (!b || !e) {
      free(text);
      return NULL;
    }
    b += strlen(REP_KEPT_BEGIN);
    while (*b == '\n') b++;
    *e = '\0';
    memmove(text, b, strlen(b) + 1);
  }
  /* Without its trailing newlines, which the writer adds back: a report
   * made again is the same bytes. */
  size_t len = strlen(text);
  while (len && text[len - 1] == '\n') text[--len] = '\0';
  return text;
}

/* Commands that wrote the folder, from migsim-folder.txt's writer lines. */
static void rep__writers(const char *dir, char *out, size_t len) {
  char path[4096], line[512];
  out[0] = '\0';
  snprintf(path, sizeof path, "%s/migsim-folder.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) return;
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    char cmd[64];
    if (sscanf(line, "writer %63s", cmd) != 1) continue;
    if (strstr(out, cmd)) continue;
    n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s`%s`", n ? ", " : "", cmd);
    if (n >= len) break;
  }
  fclose(f);
}

/* Removes report-*.png/svg/pdf of an earlier report that this one did not
 * make again (regular files only). */
static void rep__remove_stale(rep_ctx *c) {
  DIR *d = opendir(c->dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    const char *name = e->d_name;
    size_t n = strlen(name);
    if (strncmp(name, "report-", 7) != 0 || n < 11) continue;
    const char *ext = name + n - 4;
    if (strcmp(ext, ".png") && strcmp(ext, ".svg") && strcmp(ext, ".pdf")) continue;
    int keep = 0;
    for (size_t i = 0; i < c->nmade && !keep; i++)
      keep = strlen(c->made[i]) == n - 4 && !strncmp(c->made[i], name, n - 4) &&
             (!strcmp(ext, ".png") || (!strcmp(ext, ".svg") && (c->formats & RES_REPORT_SVG)) ||
              (!strcmp(ext, ".pdf") && (c->formats & RES_REPORT_PDF)));
    struct stat sb;
    if (!keep && fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
      unlinkat(dirfd(d), name, 0);
  }
  closedir(d);
}

static int rep__load(rep_ctx *c, const res_report_opts *opts) {
  int rc = res_runs_load(c->dir, &c->groups[0]);
  if (rc) return rc;
  c->group_names[0] = "";
  c->ngroups = 1;
  size_t nextra = opts ? opts->ngroup_dirs : 0;
  if (nextra > REP_MAX_GROUPS - 1) return sim_errorf(SIM_EINVAL, "report: at most %d other folders", REP_MAX_GROUPS - 1);
  for (size_t i = 0; i < sizeof rep__subfolders / sizeof rep__subfolders[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->dir, rep__subfolders[i]);
    /* A folder given for this group replaces the subfolder. */
    for (size_t e = 0; e < nextra; e++)
      if (!strcmp(opts->group_names[e], rep__subfolders[i])) snprintf(path, sizeof path, "%s", opts->group_dirs[e]);
    struct stat sb;
    if (stat(path, &sb) != 0 || !(S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode))) continue; /* a summary.csv too */
    res_run_set *g = &c->groups[c->ngroups];
    if ((rc = res_runs_load(path, g))) return rc;
    if (g->count == 0) continue;
    c->group_names[c->ngroups++] = rep__subfolders[i];
  }
  /* Drop an empty top level (regress and validate keep runs below). */
  if (c->groups[0].count == 0 && c->ngroups > 1) {
    res_runs_free(&c->groups[0]);
    memmove(&c->groups[0], &c->groups[1], (c->ngroups - 1) * sizeof c->groups[0]);
    memmove(&c->group_names[0], &c->group_names[1], (c->ngroups - 1) * sizeof c->group_names[0]);
    c->ngroups--;
    memset(&c->groups[c->ngroups], 0, sizeof c->groups[0]);
  }
  size_t total = 0;
  for (size_t g = 0; g < c->ngroups; g++) total += c->groups[g].count;
  if (total == 0) return sim_errorf(SIM_EINVAL, "%s holds no runs (no summary.csv with rows)", c->dir);
  c->runs = calloc(total, sizeof *c->runs);
  c->series = calloc(total, sizeof *c->series);
  if (!c->runs || !c->series) return sim_errorf(SIM_ENOMEM, "out of memory");
  /* Series: algorithm, with the profile when profiles differ and the
   * subfolder when there are several. */
  int profiles_differ = 0;
  const char *first_profile = NULL;
  for (size_t g = 0; g < c->ngroups; g++)
    for (size_t i = 0; i < c->groups[g].count; i++) {
      const char *p = c->groups[g].runs[i].scenario.profile;
      if (!first_profile) first_profile = p;
      else if (strcmp(first_profile, p)) profiles_differ = 1;
    }
  for (size_t g = 0; g < c->ngroups; g++)
    for (size_t i = 0; i < c->groups[g].count; i++) {
      rep_run *r = &c->runs[c->nruns++];
      r->run = &c->groups[g].runs[i];
      r->group = g;
      char label[REP_LABEL];
      int n = 0;
      if (c->ngroups > 1) n += snprintf(label + n, sizeof label - (size_t)n, "%s: ", c->group_names[g]);
      if (profiles_differ)
        n += snprintf(label + n, sizeof label - (size_t)n, "%.60s, ", r->run->scenario.profile);
      /* The variant: precopy+xbzrle is its own series, not a repeat. */
      mdl_variant_name(&r->run->scenario, label + n, sizeof label - (size_t)n);
      size_t s = 0;
      while (s < c->nseries && strcmp(c->series[s], label)) s++;
      if (s == c->nseries) snprintf(c->series[c->nseries++], REP_LABEL, "%s", label);
      r->series = s;
    }
  return 0;
}

static void rep__free(rep_ctx *c) {
  for (size_t i = 0; i < c->nruns; i++)
    for (size_t k = 0; k < REP_MAX_AXES; k++) free(c->runs[i].text[k]);
  for (size_t k = 0; k < c->naxes; k++) {
    free(c->axes[k].texts); /* the strings are the runs' */
    free(c->axes[k].xs);
  }
  for (size_t g = 0; g < c->ngroups; g++) res_runs_free(&c->groups[g]);
  for (size_t i = 0; i < c->nmade; i++) free(c->made[i]);
  free(c->made);
  free(c->runs);
  free(c->series);
  free(c->points);
}

static const char rep__css[] =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}img{max-width:100%}"
    "figcaption{color:#555;font-size:90%}pre{background:#f6f6f6;padding:1em;overflow:auto}";

int res_report_write(const char *dir, const res_report_opts *opts, res_report_stats *stats) {
  rep_ctx c;
  memset(&c, 0, sizeof c);
  c.dir = dir;
  c.formats = (opts && opts->formats ? opts->formats : 0) | RES_REPORT_PNG;
  char *kept = NULL;
  sim_file *fmd = NULL, *fhtml = NULL;
  struct stat st;
  if (stat(dir, &st) != 0) return sim_errorf(SIM_EIO, "%s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sim_errorf(SIM_EINVAL, "%s is not a folder (give a result folder)", dir);
  int rc = rep__load(&c, opts);
  if (!rc) rc = rep__sweep_axes(&c);
  if (!rc && !c.sweep) rc = rep__varying_axes(&c);
  else if (!rc) rc = rep__merge_covarying(&c);
  if (!rc && !c.sweep && c.naxes > 2) {
    /* Scenarios that differ in many ways are a set, not a grid. */
    c.irregular = c.naxes;
    for (size_t i = 0; i < c.nruns; i++)
      for (size_t k = 0; k < REP_MAX_AXES; k++) {
        free(c.runs[i].text[k]);
        c.runs[i].text[k] = NULL;
      }
    /* Each scenario is a point of its own (its repeats are its runs). */
    c.naxes = 0;
    rc = rep__add_axis(&c, "scenario");
    for (size_t i = 0; i < c.nruns && !rc; i++) {
      c.runs[i].x[0] = NAN;
      if (!(c.runs[i].text[0] = rep__strdup(c.runs[i].run->scenario.name)))
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
    }
  }
  if (!rc) rc = rep__index_values(&c);
  if (!rc) rc = rep__points(&c);
  if (rc) goto done;

  kept = rep__kept_text(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/report.md", dir);
  if ((rc = sim_file_open(path, &fmd))) goto done;
  snprintf(path, sizeof path, "%s/report.html", dir);
  if ((rc = sim_file_open(path, &fhtml))) goto done;
  c.md = sim_file_stream(fmd);
  c.html = sim_file_stream(fhtml);

  char title[4200];
  snprintf(title, sizeof title, "migsim report: %s", opts && opts->title ? opts->title : dir);
  /* The first line marks the file as this command's (rep__kept_text). */
  fprintf(c.md, "# %s\n", title);
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", c.html);
  rep__html_text(c.html, title);
  fprintf(c.html, "</title><style>%s</style></head><body>\n<h1>", rep__css);
  rep__html_text(c.html, title);
  fputs("</h1>\n", c.html);
  if (kept) {
    fprintf(c.md, "\n%s\n\n%s\n%s\n", REP_KEPT_BEGIN, kept, REP_KEPT_END);
    fputs("<h2>The folder's own report</h2>\n<pre>", c.html);
    rep__html_text(c.html, kept);
    fputs("</pre>\n", c.html);
  }
  if (kept && (rc = rep__kept_figures(&c, kept))) goto done;

  char writers[512];
  rep__writers(dir, writers, sizeof writers);
  size_t completed = 0;
  for (size_t i = 0; i < c.nruns; i++) completed += c.runs[i].run->result.status == MDL_STATUS_COMPLETED;
  rep__heading(&c, 2, "Overview");
  char groups[256] = "";
  for (size_t g = 0, n = 0; g < c.ngroups && c.ngroups > 1; g++)
    n += (size_t)snprintf(groups + n, n < sizeof groups ? sizeof groups - n : 0, "%s`%s/`", g ? ", " : "",
                          c.group_names[g]);
  rep__para(&c, "%zu runs%s%s%s%s, %zu completed; %zu series, %zu points (runs of one series at the same "
                "parameters are repeats: their mean, and the Student-t 95 %% interval of the mean as error bars).",
            c.nruns, writers[0] ? " written by " : "", writers, c.ngroups > 1 ? " in " : "", groups, completed,
            c.nseries, c.npoints);
  if (c.naxes && !c.irregular) {
    char text[2048];
    size_t n = 0;
    for (size_t k = 0; k < c.naxes; k++) {
      n += (size_t)snprintf(text + n, n < sizeof text ? sizeof text - n : 0, "%s`%s` (%zu values)", k ? ", " : "",
                            c.axes[k].label, c.axes[k].count);
      if (n >= sizeof text) break;
    }
    rep__para(&c, "Swept parameters%s: %s.", c.sweep ? " (from the sweep's run ids)" : "", text);
  } else if (c.irregular) {
    rep__para(&c, "The scenarios differ in %zu parameters, not as a grid: each scenario is a point, there are no "
                  "plots against a parameter, and the distributions across runs are below.",
              c.irregular);
  } else {
    rep__para(&c, "No parameter varies between the runs.");
  }
  rep__para(&c, "A hollow marker is a point whose runs did not all complete (`not_converged` or `failed`): it is "
                "drawn at what they reached (the time-out for the total time) or, without a value, on the bottom "
                "of the plot, never as zero; the table marks those with no completed run (n/c).");
  rep__points_table(&c);

  for (size_t k = 0; k < c.naxes && !rc && !c.irregular; k++) {
    char h[256];
    snprintf(h, sizeof h, "Metrics against %s", c.axes[k].key);
    rep__heading(&c, 2, h);
    for (size_t m = 0; m < REP_NMETRICS && !rc; m++) rc = rep__metric_vs_axis(&c, m, k);
  }
  if (!rc && c.naxes == 2 && !c.irregular) {
    rep__heading(&c, 2, "Heatmaps");
    rc = rep__heatmaps(&c);
  }
  if (!rc && c.ngroups > 1 && (c.irregular || c.naxes == 0)) {
    char h[256];
    size_t n = (size_t)snprintf(h, sizeof h, "Scenarios:");
    for (size_t g = 0; g < c.ngroups && n < sizeof h; g++)
      n += (size_t)snprintf(h + n, sizeof h - n, "%s %s", g ? " vs" : "", c.group_names[g]);
    rep__heading(&c, 2, h);
    rc = rep__group_bars(&c);
  }
  if (!rc && c.nruns >= 2) {
    rep__heading(&c, 2, "Distributions across runs");
    rc = rep__cdfs(&c);
  }
  if (!rc) {
    int any = 0;
    for (size_t i = 0; i < c.nruns; i++) any |= c.runs[i].run->result.sample_count > 1;
    if (any) {
      rep__heading(&c, 2, "Timelines");
      rc = rep__timelines(&c);
    }
  }
  if (!rc) {
    int any = 0;
    for (size_t i = 0; i < c.nruns; i++) any |= c.runs[i].run->result.round_count > 0;
    if (any) {
      rep__heading(&c, 2, "Rounds");
      rc = rep__rounds(&c);
    }
  }
  if (rc) goto done;
  fprintf(c.md, "\nPer-run rows: `summary.csv`; per-sync rows: `rounds.csv`.\n");
  /* After loading, the page notes how many of its images decoded, so that
   * a headless browser's DOM dump can check them (tests/test_report.c). */
  fputs("<p>Per-run rows: <code>summary.csv</code>; per-sync rows: <code>rounds.csv</code>.</p>\n"
        "<script>addEventListener('load',function(){var i=document.images,n=0;"
        "for(var k=0;k<i.length;k++)if(i[k].complete&&i[k].naturalWidth>0)n++;"
        "document.body.setAttribute('data-images',i.length);"
        "document.body.setAttribute('data-loaded',n);});</script>\n</body></html>\n",
        c.html);
  if ((rc = sim_file_commit(fmd))) goto done;
  fmd = NULL;
  if ((rc = sim_file_commit(fhtml))) goto done;
  fhtml = NULL;
  rep__remove_stale(&c);
  if (stats) {
    stats->runs = c.nruns;
    stats->points = c.npoints;
    stats->axes = c.irregular ? 0 : c.naxes;
    stats->plots = c.plots;
  }
done:
  sim_file_abort(fmd);
  sim_file_abort(fhtml);
  free(kept);
  rep__free(&c);
  return rc;
}
