/* res_regress: baseline vs candidate statistics and their reports (see
 * res_regress.h). */
#include "res_regress.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "res_csv.h"
#include "res_csv_read.h"
#include "res_plot.h"
#include "res_stats.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_hash.h"
#include "sim_units.h"
#include "sim_vec.h"

/* ------------------------------------------------------------ metrics */

static const struct {
  const char *name;
  res_unit unit;
  double rel, abs;
  int on;
} res__metrics[RES_METRIC_COUNT] = {
#define RES__METRIC_ROW(id, name, unit, rel, abs, on) {name, unit, rel, abs, on},
    RES_REGRESS_METRICS(RES__METRIC_ROW)
#undef RES__METRIC_ROW
};

const char *res_metric_name(int metric) {
  return metric >= 0 && metric < RES_METRIC_COUNT ? res__metrics[metric].name : "?";
}

int res_metric_find(const char *name) {
  for (int i = 0; i < RES_METRIC_COUNT; i++)
    if (!strcmp(res__metrics[i].name, name)) return i;
  return -1;
}

static const char *res__unit_suffix(res_unit u) { return u == RES_UNIT_MS ? " ms" : u == RES_UNIT_BYTES ? " B" : ""; }

void res_regress_opts_init(res_regress_opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 0; i < RES_METRIC_COUNT; i++) {
    o->enabled[i] = res__metrics[i].on;
    o->rel[i] = res__metrics[i].rel;
    o->abs[i] = res__metrics[i].abs;
  }
  o->alpha = 0.01;
  o->resamples = 10000;
}

static int res__parse_abs(int m, const char *text, double *v) {
  int rc;
  switch (res__metrics[m].unit) {
  case RES_UNIT_MS: {
    uint64_t ns;
    rc = sim_parse_duration(text, SIM_NS_PER_MS, &ns);
    *v = (double)ns / (double)SIM_NS_PER_MS;
    break;
  }
  case RES_UNIT_BYTES: {
    uint64_t b;
    rc = sim_parse_bytes(text, 0, &b);
    *v = (double)b;
    break;
  }
  default:
    rc = sim_parse_double(text, v);
    if (!rc && *v < 0) rc = sim_errorf(SIM_ERANGE, "%s is negative", text);
  }
  return rc;
}

int res_regress_threshold(res_regress_opts *o, const char *text) {
  const char *eq = strchr(text, '=');
  if (!eq) return sim_errorf(SIM_EINVAL, "threshold '%s' is not METRIC=REL,ABS (e.g. total_time_ms=2%%,1ms)", text);
  char name[64];
  size_t len = (size_t)(eq - text);
  if (len >= sizeof name) return sim_errorf(SIM_ENOTFOUND, "threshold '%s': unknown metric", text);
  memcpy(name, text, len);
  name[len] = '\0';
  int m = res_metric_find(name);
  if (m < 0) return sim_errorf(SIM_ENOTFOUND, "threshold '%s': unknown metric '%s' (see --help)", text, name);
  char rel[64] = "", abs[64] = "";
  const char *comma = strchr(eq + 1, ',');
  size_t rlen = comma ? (size_t)(comma - (eq + 1)) : strlen(eq + 1);
  if (rlen >= sizeof rel || (comma && strlen(comma + 1) >= sizeof abs))
    return sim_errorf(SIM_EINVAL, "threshold '%s' is too long", text);
  memcpy(rel, eq + 1, rlen);
  rel[rlen] = '\0';
  if (comma) snprintf(abs, sizeof abs, "%s", comma + 1);
  if (!rel[0] && !abs[0]) return sim_errorf(SIM_EINVAL, "threshold '%s' gives no value", text);
  double r = o->rel[m], a = o->abs[m];
  if (rel[0]) {
    if (sim_parse_double(rel, &r) == 0 && !strchr(rel, '%')) {
      if (r < 0 || r > 1) return sim_errorf(SIM_ERANGE, "threshold '%s': relative %s is not in 0..1 (or 0..100%%)", text, rel);
    } else if (sim_parse_fraction(rel, &r)) {
      return sim_errorf(SIM_EINVAL, "threshold '%s': relative %s: %s", text, rel, sim_error_message());
    }
  }
  if (abs[0] && res__parse_abs(m, abs, &a))
    return sim_errorf(SIM_EINVAL, "threshold '%s': absolute %s: %s", text, abs, sim_error_message());
  o->rel[m] = r;
  o->abs[m] = a;
  o->enabled[m] = 1;
  return 0;
}

int res_regress_metrics(res_regress_opts *o, const char *list) {
  int on[RES_METRIC_COUNT] = {0}, any = 0;
  const char *p = list;
  while (*p) {
    size_t len = strcspn(p, ",");
    char name[64];
    if (len >= sizeof name) return sim_errorf(SIM_ENOTFOUND, "--metrics: unknown metric '%.*s'", (int)len, p);
    memcpy(name, p, len);
    name[len] = '\0';
    if (len) {
      int m = res_metric_find(name);
      if (m < 0) return sim_errorf(SIM_ENOTFOUND, "--metrics: unknown metric '%s' (see --help)", name);
      on[m] = any = 1;
    }
    p += len;
    if (*p == ',') p++;
  }
  if (!any) return sim_errorf(SIM_EINVAL, "--metrics: no metric given");
  memcpy(o->enabled, on, sizeof on);
  return 0;
}

void res_regress_metrics_help(FILE *out) {
  for (int i = 0; i < RES_METRIC_COUNT; i++) {
    char abs[32];
    if (res__metrics[i].unit == RES_UNIT_BYTES)
      snprintf(abs, sizeof abs, "%gMiB", res__metrics[i].abs / 1048576.0);
    else
      snprintf(abs, sizeof abs, "%g%s", res__metrics[i].abs, res__metrics[i].unit == RES_UNIT_MS ? "ms" : "");
    char thr[64];
    snprintf(thr, sizeof thr, "%g%%,%s", res__metrics[i].rel * 100, abs);
    fprintf(out, "  %-20s %-12s%s\n", res__metrics[i].name, thr, res__metrics[i].on ? "" : " (off by default)");
  }
}

/* ------------------------------------------------------------ samples */

typedef struct {
  char *name;
  size_t runs;
  double *v[RES_METRIC_COUNT];
  size_t n[RES_METRIC_COUNT], cap[RES_METRIC_COUNT];
} res__scenario;

struct res_samples {
  res__scenario *scen;
  size_t count, cap;
};

int res_samples_new(res_samples **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : sim_errorf(SIM_ENOMEM, "out of memory");
}

void res_samples_free(res_samples *s) {
  if (!s) return;
  for (size_t i = 0; i < s->count; i++) {
    free(s->scen[i].name);
    for (int m = 0; m < RES_METRIC_COUNT; m++) free(s->scen[i].v[m]);
  }
  free(s->scen);
  free(s);
}

static res__scenario *res__find(const res_samples *s, const char *name) {
  for (size_t i = 0; i < s->count; i++) /* O(scenarios): suites are small */
    if (!strcmp(s->scen[i].name, name)) return &s->scen[i];
  return NULL;
}

static res__scenario *res__get(res_samples *s, const char *name) {
  res__scenario *sc = res__find(s, name);
  if (sc) return sc;
  res__scenario *g = sim_grow(s->scen, &s->cap, s->count + 1, sizeof *g);
  if (!g) return NULL;
  s->scen = g;
  sc = &s->scen[s->count];
  memset(sc, 0, sizeof *sc);
  if (!(sc->name = strdup(name))) return NULL;
  s->count++;
  return sc;
}

static int res__push(res__scenario *sc, int m, double v) {
  double *g = sim_grow(sc->v[m], &sc->cap[m], sc->n[m] + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory");
  sc->v[m] = g;
  g[sc->n[m]++] = v;
  return 0;
}

int res_samples_add(res_samples *s, const char *name, const mdl_result *r) {
  res__scenario *sc = res__get(s, name);
  if (!sc) return sim_errorf(SIM_ENOMEM, "out of memory");
  double v[RES_METRIC_COUNT] = {
      [RES_METRIC_TOTAL_TIME] = r->total_time_ms,
      /* A run that never switched over has no downtime (docs/results.md). */
      [RES_METRIC_DOWNTIME] = r->status == MDL_STATUS_COMPLETED ? r->downtime_ms : NAN,
      [RES_METRIC_TRANSFERRED] = (double)r->transferred_bytes,
      [RES_METRIC_DIRTY_SYNCS] = (double)r->dirty_sync_count,
      [RES_METRIC_POSTCOPY_REQUESTS] = (double)r->postcopy_requests,
      [RES_METRIC_GUEST_STALL] = r->guest_stall_ms,
      [RES_METRIC_SETUP_TIME] = r->setup_time_ms,
      [RES_METRIC_DELAY_P99] = r->delay_p99_ms >= 0 ? r->delay_p99_ms : NAN,
  };
  sc->runs++;
  for (int m = 0; m < RES_METRIC_COUNT; m++) {
    if (isnan(v[m])) continue;
    int rc = res__push(sc, m, v[m]);
    if (rc) return rc;
  }
  return 0;
}

typedef struct {
  res_samples *s;
  const res_regress_opts *o;
  const char *path;
  unsigned long line;
  int col_name, col[RES_METRIC_COUNT];
} res__load_ctx;

static int res__load_row(void *ctx, const char *const *h, const char *const *c, size_t n) {
  res__load_ctx *L = ctx;
  L->line++; /* the header is line 1; a quoted newline would shift this */
  if (L->line == 2) {
    if ((L->col_name = res_csv_col(h, n, "name")) < 0 || res_csv_col(h, n, "status") < 0)
      return sim_errorf(SIM_EFORMAT, "%s: not a migsim summary.csv (no 'name' or 'status' column)", L->path);
    for (int m = 0; m < RES_METRIC_COUNT; m++) {
      L->col[m] = res_csv_col(h, n, res__metrics[m].name);
      if (L->col[m] < 0 && L->o->enabled[m])
        return sim_errorf(SIM_EFORMAT, "%s: no '%s' column", L->path, res__metrics[m].name);
    }
  }
  if (!c[L->col_name][0]) return sim_errorf(SIM_EFORMAT, "%s:%lu: empty 'name'", L->path, L->line);
  res__scenario *sc = res__get(L->s, c[L->col_name]);
  if (!sc) return sim_errorf(SIM_ENOMEM, "out of memory");
  sc->runs++;
  for (int m = 0; m < RES_METRIC_COUNT; m++) {
    if (L->col[m] < 0) continue;
    const char *cell = c[L->col[m]];
    if (!cell[0]) continue; /* a missing value */
    char *end;
    errno = 0;
    double v = strtod(cell, &end);
    if (end == cell || *end || errno || !isfinite(v))
      return sim_errorf(SIM_EFORMAT, "%s:%lu: %s '%.40s' is not a number", L->path, L->line, res__metrics[m].name,
                        cell);
    int rc = res__push(sc, m, v);
    if (rc) return rc;
  }
  return 0;
}

int res_samples_load(res_samples *s, const char *path, const res_regress_opts *o) {
  char file[4096];
  size_t len = strlen(path);
  int is_csv = len >= 4 && !strcmp(path + len - 4, ".csv");
  if (snprintf(file, sizeof file, is_csv ? "%s" : "%s/summary.csv", path) >= (int)sizeof file)
    return sim_errorf(SIM_EINVAL, "%s: path too long", path);
  res__load_ctx L = {s, o, file, 1, -1, {0}};
  size_t before = s->count;
  int rc = res_csv_each(file, 0, res__load_row, &L);
  if (rc < 0) return rc;
  if (L.line < 2 || s->count == before) return sim_errorf(SIM_EFORMAT, "%s holds no runs", file);
  return 0;
}

size_t res_samples_count(const res_samples *s) { return s->count; }
const char *res_samples_name(const res_samples *s, size_t i) { return i < s->count ? s->scen[i].name : NULL; }

const double *res_samples_values(const res_samples *s, const char *name, int metric, size_t *n) {
  const res__scenario *sc = res__find(s, name);
  *n = sc && metric >= 0 && metric < RES_METRIC_COUNT ? sc->n[metric] : 0;
  return *n ? sc->v[metric] : NULL;
}

size_t res_samples_runs(const res_samples *s, const char *name) {
  const res__scenario *sc = res__find(s, name);
  return sc ? sc->runs : 0;
}

static const char *const res__agg_cols[] = {"scenario", "metric", "n",      "mean",    "median", "stddev",
                                            "ci_low",   "ci_high", "ci_level", "min",    "max"};

int res_samples_write_aggregate(const res_samples *s, double level, const char *path) {
  res_csv *c;
  int rc = res_csv_create(path, res__agg_cols, sizeof res__agg_cols / sizeof res__agg_cols[0], &c);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < s->count; i++)
    for (int m = 0; !rc && m < RES_METRIC_COUNT; m++) {
      const res__scenario *sc = &s->scen[i];
      if (!sc->n[m]) continue;
      res_describe d;
      rc = res_describe_sample(sc->v[m], sc->n[m], level, &d);
      if (!rc) rc = res_csv_str(c, sc->name);
      if (!rc) rc = res_csv_str(c, res__metrics[m].name);
      if (!rc) rc = res_csv_u64(c, d.n);
      const double cells[] = {d.mean, d.median, d.sd, d.ci_lo, d.ci_hi, level, d.min, d.max};
      for (size_t k = 0; !rc && k < sizeof cells / sizeof cells[0]; k++) rc = res_csv_double(c, cells[k]);
      if (!rc) rc = res_csv_end_row(c);
    }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

/* --------------------------------------------------------- comparison */

const char *res_verdict_name(res_verdict v) {
  switch (v) {
  case RES_VERDICT_REGRESSION: return "regression";
  case RES_VERDICT_IMPROVEMENT: return "improvement";
  case RES_VERDICT_NO_DATA: return "no_data";
  default: return "no_change";
  }
}

static double res__median_of(const double *v, size_t n) {
  double *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return NAN;
  memcpy(tmp, v, n * sizeof *tmp);
  double med = res_median(tmp, n);
  free(tmp);
  return med;
}

static int res__compare_one(const double *x, size_t n, const double *y, size_t m, int metric, const char *scenario,
                            const res_regress_opts *o, res_regress_row *row) {
  memset(row, 0, sizeof *row);
  snprintf(row->scenario, sizeof row->scenario, "%s", scenario);
  row->metric = metric;
  row->n_base = n;
  row->n_cand = m;
  row->rel_threshold = o->rel[metric];
  row->abs_threshold = o->abs[metric];
  row->median_base = n ? res__median_of(x, n) : NAN;
  row->median_cand = m ? res__median_of(y, m) : NAN;
  row->diff = row->median_cand - row->median_base;
  row->rel_diff = row->median_base != 0 ? row->diff / fabs(row->median_base) : NAN;
  row->ci_lo = row->ci_hi = row->u = row->p = NAN;
  if (!n || !m) {
    row->verdict = RES_VERDICT_NO_DATA;
    return 0;
  }
  res_mann_whitney mw;
  int rc = res_mann_whitney_test(x, n, y, m, &mw);
  if (rc) return rc;
  row->u = mw.u;
  row->p = mw.p;
  /* One fixed stream per scenario and metric: reruns give the same bytes. */
  uint64_t seed = sim_hash_str(sim_hash_str(SIM_HASH_INIT, scenario), res__metrics[metric].name);
  rc = res_median_diff_ci(x, n, y, m, 1 - o->alpha, o->resamples, seed, &row->ci_lo, &row->ci_hi);
  if (rc) return rc;
  double size = fabs(row->diff);
  int beyond = size > 0 && size >= o->abs[metric] && size >= o->rel[metric] * fabs(row->median_base);
  if (mw.p < o->alpha && beyond)
    row->verdict = row->diff > 0 ? RES_VERDICT_REGRESSION : RES_VERDICT_IMPROVEMENT;
  else
    row->verdict = RES_VERDICT_SAME;
  return 0;
}

int res_regress_compare(const res_samples *base, const res_samples *cand, const char *const *names, size_t nnames,
                        const res_regress_opts *o, res_regress_table *t) {
  memset(t, 0, sizeof *t);
  t->opts = *o;
  if (!(o->alpha > 0 && o->alpha < 1)) return sim_errorf(SIM_EINVAL, "alpha %g is not in (0, 1)", o->alpha);
  for (size_t i = 0; i < nnames; i++) {
    if (!res__find(base, names[i])) return sim_errorf(SIM_EINVAL, "scenario '%s' has no runs in the baseline", names[i]);
    if (!res__find(cand, names[i])) return sim_errorf(SIM_EINVAL, "scenario '%s' has no runs in the candidate", names[i]);
  }
  for (size_t i = 0; i < nnames; i++)
    for (int m = 0; m < RES_METRIC_COUNT; m++) {
      if (!o->enabled[m]) continue;
      res_regress_row *g = sim_grow(t->rows, &t->cap, t->count + 1, sizeof *g);
      if (!g) {
        res_regress_table_free(t);
        return sim_errorf(SIM_ENOMEM, "out of memory");
      }
      t->rows = g;
      size_t n, k;
      const double *x = res_samples_values(base, names[i], m, &n);
      const double *y = res_samples_values(cand, names[i], m, &k);
      int rc = res__compare_one(x, n, y, k, m, names[i], o, &t->rows[t->count]);
      if (rc) {
        res_regress_table_free(t);
        return rc;
      }
      res_verdict v = t->rows[t->count++].verdict;
      t->regressions += v == RES_VERDICT_REGRESSION;
      t->improvements += v == RES_VERDICT_IMPROVEMENT;
    }
  return 0;
}

void res_regress_table_free(res_regress_table *t) {
  free(t->rows);
  memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------ outputs */

static const char *const res__csv_cols[] = {
    "scenario", "metric",   "n_baseline", "n_candidate",   "median_baseline", "median_candidate", "diff",
    "rel_diff", "ci_low",   "ci_high",    "ci_level",      "u",               "p_value",          "threshold_rel",
    "threshold_abs", "verdict"};

int res_regress_write_csv(const res_regress_table *t, const char *path) {
  res_csv *c;
  int rc = res_csv_create(path, res__csv_cols, sizeof res__csv_cols / sizeof res__csv_cols[0], &c);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < t->count; i++) {
    const res_regress_row *r = &t->rows[i];
    rc = res_csv_str(c, r->scenario);
    if (!rc) rc = res_csv_str(c, res_metric_name(r->metric));
    if (!rc) rc = res_csv_u64(c, r->n_base);
    if (!rc) rc = res_csv_u64(c, r->n_cand);
    const double cells[] = {r->median_base, r->median_cand, r->diff, r->rel_diff, r->ci_lo,
                            r->ci_hi,       1 - t->opts.alpha, r->u, r->p,        r->rel_threshold,
                            r->abs_threshold};
    for (size_t k = 0; !rc && k < sizeof cells / sizeof cells[0]; k++) rc = res_csv_double(c, cells[k]);
    if (!rc) rc = res_csv_str(c, res_verdict_name(r->verdict));
    if (!rc) rc = res_csv_end_row(c);
  }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

static void res__xml_text(FILE *o, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", o); break;
    case '<': fputs("&lt;", o); break;
    case '>': fputs("&gt;", o); break;
    case '"': fputs("&quot;", o); break;
    case '\'': fputs("&apos;", o); break;
    default:
      /* XML 1.0 allows no control characters but tab, LF and CR. */
      if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') fputc('?', o);
      else fputc(*s, o);
    }
  }
}

/* The relative difference as "+3.10%", or "n/a" when the baseline's
 * median is 0. */
static const char *res__rel_text(double rel, char buf[32]) {
  if (isnan(rel)) return "n/a";
  snprintf(buf, 32, "%+.2f%%", rel * 100);
  return buf;
}

/* "12.3 ms (+3.1%)"-style description of a row, for messages. */
static void res__describe(const res_regress_row *r, double level, char *buf, size_t len) {
  const char *u = res__unit_suffix(res__metrics[r->metric].unit);
  char rel[32];
  snprintf(buf, len, "median %.6g%s -> %.6g%s (%+.6g%s, %s), %.0f%% CI of the difference [%.6g, %.6g], "
           "Mann-Whitney p = %.3g; thresholds %.4g%% and %.6g%s",
           r->median_base, u, r->median_cand, u, r->diff, u, res__rel_text(r->rel_diff, rel), level * 100, r->ci_lo,
           r->ci_hi, r->p, r->rel_threshold * 100, r->abs_threshold, u);
}

int res_regress_write_junit(const res_regress_table *t, const char *title, const char *path) {
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  FILE *o = sim_file_stream(f);
  size_t skipped = 0;
  for (size_t i = 0; i < t->count; i++) skipped += t->rows[i].verdict == RES_VERDICT_NO_DATA;
  fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"migsim regress: ");
  res__xml_text(o, title);
  fprintf(o, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\">\n", t->count, t->regressions,
          skipped);
  /* One test suite per scenario, one test case per metric. */
  for (size_t i = 0; i < t->count;) {
    size_t j = i, fails = 0, skips = 0;
    for (; j < t->count && !strcmp(t->rows[j].scenario, t->rows[i].scenario); j++) {
      fails += t->rows[j].verdict == RES_VERDICT_REGRESSION;
      skips += t->rows[j].verdict == RES_VERDICT_NO_DATA;
    }
    fprintf(o, "  <testsuite name=\"");
    res__xml_text(o, t->rows[i].scenario);
    fprintf(o, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\">\n", j - i, fails, skips);
    for (size_t k = i; k < j; k++) {
      const res_regress_row *r = &t->rows[k];
      char text[512];
      res__describe(r, 1 - t->opts.alpha, text, sizeof text);
      fprintf(o, "    <testcase classname=\"regress.");
      res__xml_text(o, r->scenario);
      fprintf(o, "\" name=\"%s\" time=\"0\"", res_metric_name(r->metric));
      if (r->verdict == RES_VERDICT_REGRESSION) {
        fprintf(o, ">\n      <failure type=\"regression\" message=\"%s regressed: ", res_metric_name(r->metric));
        res__xml_text(o, text);
        fprintf(o, "\">");
        res__xml_text(o, text);
        fprintf(o, "</failure>\n    </testcase>\n");
      } else if (r->verdict == RES_VERDICT_NO_DATA) {
        fprintf(o, ">\n      <skipped message=\"no values on %s\"/>\n    </testcase>\n",
                r->n_base ? "the candidate's side" : "the baseline's side");
      } else {
        fprintf(o, ">\n      <system-out>%s: ", res_verdict_name(r->verdict));
        res__xml_text(o, text);
        fprintf(o, "</system-out>\n    </testcase>\n");
      }
    }
    fprintf(o, "  </testsuite>\n");
    i = j;
  }
  fprintf(o, "</testsuites>\n");
  return sim_file_commit(f);
}

static void res__md_cell(FILE *o, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", o);
    else if (*s == '\n') fputc(' ', o);
    else fputc(*s, o);
  }
}

static void res__md_row(FILE *o, const res_regress_row *r) {
  char rel[32];
  fputs("| ", o);
  res__md_cell(o, r->scenario);
  fprintf(o, " | %s | %.6g | %.6g | %+.6g | %s | [%.6g, %.6g] | %.3g | %s |\n", res_metric_name(r->metric),
          r->median_base, r->median_cand, r->diff, res__rel_text(r->rel_diff, rel), r->ci_lo, r->ci_hi, r->p,
          r->verdict == RES_VERDICT_REGRESSION ? "**regression**" : res_verdict_name(r->verdict));
}

int res_regress_write_report(const res_regress_table *t, const char *title, const char *figure, const char *path) {
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  FILE *o = sim_file_stream(f);
  fprintf(o, "# Regression check: ");
  res__md_cell(o, title);
  fprintf(o, "\n\n**%s**: %zu regression%s, %zu improvement%s in %zu comparisons (scenario x metric).\n\n",
          t->regressions ? "REGRESSION" : "no regression", t->regressions, t->regressions == 1 ? "" : "s",
          t->improvements, t->improvements == 1 ? "" : "s", t->count);
  fprintf(o, "A regression is a difference that is significant (two-sided Mann-Whitney U test, normal\n"
             "approximation with tie correction, p < %g) and worse by at least both of the metric's\n"
             "thresholds. Medians over the repeats; diff = candidate - baseline; the interval is a\n"
             "%g%% percentile-bootstrap interval of the difference of medians (%u resamples).\n\n",
          t->opts.alpha, 100 * (1 - t->opts.alpha), t->opts.resamples);
  fputs("| metric | relative | absolute |\n|---|---:|---:|\n", o);
  for (int m = 0; m < RES_METRIC_COUNT; m++)
    if (t->opts.enabled[m])
      fprintf(o, "| %s | %g%% | %g%s |\n", res__metrics[m].name, t->opts.rel[m] * 100, t->opts.abs[m],
              res__unit_suffix(res__metrics[m].unit));
  static const char head[] = "| scenario | metric | baseline | candidate | diff | rel | CI | p | verdict |\n"
                             "|---|---|---:|---:|---:|---:|---|---:|---|\n";
  if (t->regressions) {
    fprintf(o, "\n## Regressions\n\n%s", head);
    for (size_t i = 0; i < t->count; i++)
      if (t->rows[i].verdict == RES_VERDICT_REGRESSION) res__md_row(o, &t->rows[i]);
  }
  if (figure)
    fprintf(o, "\n![candidate against baseline: difference of the medians in %% of the baseline's, per scenario and "
               "metric, with the bootstrap interval of the difference](%s)\n",
            figure);
  fprintf(o, "\n## Every comparison\n\n%s", head);
  for (size_t i = 0; i < t->count; i++) res__md_row(o, &t->rows[i]);
  return sim_file_commit(f);
}

void res_regress_print(const res_regress_table *t, FILE *out) {
  fprintf(out, "%-28s %-18s %14s %14s %9s %9s  %s\n", "scenario", "metric", "baseline", "candidate", "rel", "p",
          "verdict");
  for (size_t i = 0; i < t->count; i++) {
    const res_regress_row *r = &t->rows[i];
    char rel[32];
    fprintf(out, "%-28.28s %-18s %14.6g %14.6g %9s %9.3g  %s\n", r->scenario, res_metric_name(r->metric),
            r->median_base, r->median_cand, res__rel_text(r->rel_diff, rel), r->p,
            r->verdict == RES_VERDICT_REGRESSION ? "REGRESSION" : res_verdict_name(r->verdict));
  }
}

int res_regress_plot(const res_regress_table *t, const char *path) {
  /* Scenarios in table order, metrics in the order of the list. */
  const char *scen[256];
  size_t ns = 0;
  int used[RES_METRIC_COUNT] = {0};
  size_t regress_of[RES_METRIC_COUNT] = {0};
  for (size_t i = 0; i < t->count; i++) {
    const res_regress_row *r = &t->rows[i];
    size_t k = 0;
    while (k < ns && strcmp(scen[k], r->scenario)) k++;
    if (k == ns && ns < sizeof scen / sizeof scen[0]) scen[ns++] = r->scenario;
    if (isfinite(r->rel_diff)) used[r->metric] = 1;
    regress_of[r->metric] += r->verdict == RES_VERDICT_REGRESSION;
  }
  size_t nm = 0;
  for (int m = 0; m < RES_METRIC_COUNT; m++) nm += (size_t)used[m];
  if (!nm || !ns) return sim_errorf(SIM_EINVAL, "%s: no comparison with a value to draw", path);
  double *buf = malloc(3 * nm * ns * sizeof *buf);
  char(*names)[96] = malloc(nm * sizeof *names);
  res_plot_bar_series *bars = malloc(nm * sizeof *bars);
  if (!buf || !names || !bars) {
    free(buf);
    free(names);
    free(bars);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t b = 0;
  for (int m = 0; m < RES_METRIC_COUNT; m++) {
    if (!used[m]) continue;
    double *y = buf + 3 * b * ns, *lo = y + ns, *hi = lo + ns;
    for (size_t k = 0; k < ns; k++) y[k] = lo[k] = hi[k] = NAN;
    for (size_t i = 0; i < t->count; i++) {
      const res_regress_row *r = &t->rows[i];
      if (r->metric != m || !isfinite(r->rel_diff)) continue;
      size_t k = 0;
      while (k < ns && strcmp(scen[k], r->scenario)) k++;
      if (k == ns) continue;
      double scale = 100.0 / fabs(r->median_base); /* rel_diff = diff / |median_base| */
      y[k] = 100.0 * r->rel_diff;
      lo[k] = r->ci_lo * scale;
      hi[k] = r->ci_hi * scale;
    }
    if (regress_of[m])
      snprintf(names[b], sizeof names[b], "%s (%zu regression%s)", res_metric_name(m), regress_of[m],
               regress_of[m] == 1 ? "" : "s");
    else
      snprintf(names[b], sizeof names[b], "%s", res_metric_name(m));
    bars[b] = (res_plot_bar_series){.name = names[b], .values = y, .err_lo = lo, .err_hi = hi};
    b++;
  }
  res_plot_opts po = {0};
  po.title = "Candidate against baseline: difference of medians";
  po.y_label = "difference (% of baseline)";
  int rc = res_plot_bars(path, &po, scen, ns, bars, nm);
  free(buf);
  free(names);
  free(bars);
  return rc;
}
