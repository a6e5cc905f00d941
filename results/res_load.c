/* res_load: summary.csv, rounds.csv and timeline.csv back into scenarios
 * and results, column by column from the schema (mdl_schema.h). */
#include "res_load.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_schema.h"
#include "res_csv_read.h"
#include "sim_err.h"
#include "sim_vec.h"

/* One schema entry of a row: the cell as `v` of the column's type, stored
 * by the entry's `set`. An empty cell (or a missing column: a file from an
 * older migsim) is a value that does not exist: text and integers keep
 * their defaults, numbers become -1 (mdl_result's "none"). Columns are
 * looked up by name, so files whose columns come in another order load
 * too. A cell that is not a number where the column holds one is an error
 * naming the file, line and column, not a silent 0. */
#define RES__CELL(col) res__cell(h, c, n, #col)
#define RES__BAD(col, t) return res__bad(x->path, line, #col, t)
#define RES__LOAD_TEXT(col, set)         \
  {                                      \
    const char *v = RES__CELL(col);      \
    if (v[0]) set;                       \
  }
#define RES__LOAD_U64(col, set)                         \
  {                                                     \
    const char *t_ = RES__CELL(col);                    \
    uint64_t v = 0;                                     \
    if (t_[0] && !res__u64(t_, &v)) RES__BAD(col, t_);  \
    (void)v;                                            \
    if (t_[0]) set;                                     \
  }
#define RES__LOAD_DOUBLE(col, set)                      \
  {                                                     \
    const char *t_ = RES__CELL(col);                    \
    double v = -1;                                      \
    if (t_[0] && !res__double(t_, &v)) RES__BAD(col, t_); \
    (void)v;                                            \
    set;                                                \
  }
#define RES__LOAD(col, type, present, get, set, ...) RES__LOAD_##type(col, set)

static const char *res__cell(const char *const *h, const char *const *c, size_t n, const char *col) {
  int i = res_csv_col(h, n, col);
  return i < 0 ? "" : c[i];
}

/* The whole cell a decimal integer. */
static int res__u64(const char *t, uint64_t *v) {
  for (const char *p = t; *p; p++)
    if (!isdigit((unsigned char)*p)) return 0;
  errno = 0;
  *v = strtoull(t, NULL, 10);
  return errno == 0;
}

/* The whole cell a number (the writer's nan and inf included), not one
 * out of double's range. */
static int res__double(const char *t, double *v) {
  char *end;
  errno = 0;
  *v = strtod(t, &end);
  return end != t && !*end && !(errno == ERANGE && isinf(*v));
}

static int res__bad(const char *path, unsigned long line, const char *col, const char *cell) {
  return sim_errorf(SIM_EFORMAT, "%s:%lu: %s '%.40s' is not a number", path, line, col, cell);
}

typedef struct {
  res_run_set *set;
  const char *path;
} res__summary_ctx;

static int res__summary_row(void *ctx, unsigned long line, const char *const *h, size_t nh,
                            const char *const *c, size_t n) {
  (void)nh;
  res__summary_ctx *x = ctx;
  res_run_set *set = x->set;
  if (set->count == 0 && res_csv_col(h, n, "run_id") < 0)
    return sim_errorf(SIM_EFORMAT, "%s: no run_id column: not a migsim summary.csv", x->path);
  res_loaded *g = sim_grow(set->runs, &set->cap, set->count + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory loading results");
  set->runs = g;
  res_loaded *L = &set->runs[set->count++];
  memset(L, 0, sizeof *L);
  mdl_scenario *s = &L->scenario;
  mdl_result *r = &L->result;
  mdl_scenario_defaults(s);
  mdl_result_init(r, "");
  r->status = MDL_STATUS_FAILED; /* a row without a status */
  char run_id[sizeof L->run_id] = "";
  MDL_SUMMARY_COLUMNS(RES__LOAD)
  if (!run_id[0]) return sim_errorf(SIM_EFORMAT, "%s:%lu: empty run_id", x->path, line);
  memcpy(L->run_id, run_id, sizeof run_id);
  return 0;
}

/* Rounds and timeline rows are matched to runs through `order`: the
 * runs' indices sorted by (run id, index), so that a lookup is O(log n)
 * (a linear search made loading 100,000 runs take minutes). */
typedef struct {
  res_run_set *set;
  size_t *order;
  const char *path;
} res__load_ctx;

static _Thread_local const res_run_set *res__sort_set; /* qsort has no context argument */
static int res__by_id(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(res__sort_set->runs[i].run_id, res__sort_set->runs[j].run_id);
  return c ? c : (i > j) - (i < j);
}

/* Rounds and samples precede their summary row in the files; they belong
 * to the last run with their id (a rerun id replaces an older one). */
static mdl_result *res__last_run(res__load_ctx *x, const char *run_id) {
  size_t lo = 0, hi = x->set->count; /* first position whose id > run_id */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(x->set->runs[x->order[mid]].run_id, run_id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0 || strcmp(x->set->runs[x->order[lo - 1]].run_id, run_id)) return NULL;
  return &x->set->runs[x->order[lo - 1]].result;
}

static int res__round_row(void *ctx, unsigned long line, const char *const *h, size_t nh,
                          const char *const *c, size_t n) {
  (void)nh;
  res__load_ctx *x = ctx;
  res_run_set *set = x->set;
  /* The key columns repeat the summary's: loaded into scratch copies. */
  mdl_scenario key_s;
  mdl_result key_r;
  mdl_scenario *s = &key_s;
  mdl_result *r = &key_r;
  mdl_scenario_defaults(s);
  mdl_result_init(r, "");
  char run_id[sizeof set->runs[0].run_id] = "";
  mdl_round round = {0}, *d = &round;
  MDL_ROUND_COLUMNS(RES__LOAD)
  mdl_result *to = res__last_run(x, run_id);
  if (!to) return 0;
  /* A round number that restarts means an earlier attempt's rows: keep
   * only the last complete sequence. */
  if (d->round == 1) to->round_count = 0;
  return mdl_result_add_round(to, d);
}

static int res__timeline_row(void *ctx, unsigned long line, const char *const *h, size_t nh,
                             const char *const *c, size_t n) {
  (void)nh;
  res__load_ctx *x = ctx;
  res_run_set *set = x->set;
  mdl_scenario key_s;
  mdl_result key_r;
  mdl_scenario *s = &key_s;
  mdl_result *r = &key_r;
  mdl_scenario_defaults(s);
  mdl_result_init(r, "");
  char run_id[sizeof set->runs[0].run_id] = "";
  mdl_sample sample = {0}, *m = &sample;
  MDL_TIMELINE_COLUMNS(RES__LOAD)
  mdl_result *to = res__last_run(x, run_id);
  if (!to) return 0;
  /* As for rounds: a restarted sequence replaces an earlier attempt's. */
  if (to->sample_count && m->t_ms < to->samples[to->sample_count - 1].t_ms) to->sample_count = 0;
  return mdl_result_add_sample(to, m);
}

int res_runs_load(const char *dir, res_run_set *set) {
  memset(set, 0, sizeof *set);
  char path[1024];
  size_t len = strlen(dir);
  int file = len >= 4 && !strcmp(dir + len - 4, ".csv"); /* a summary alone */
  snprintf(path, sizeof path, file ? "%s" : "%s/summary.csv", dir);
  res__summary_ctx sx = {set, path};
  int rc = res_csv_each_at(path, 1, res__summary_row, &sx);
  if (rc < 0) {
    res_runs_free(set); /* a failed load holds nothing */
    return rc;
  }
  if (file) return 0;
  char rpath[1024];
  res__load_ctx x = {set, malloc((set->count ? set->count : 1) * sizeof(size_t)), rpath};
  if (!x.order) {
    res_runs_free(set);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < set->count; i++) x.order[i] = i;
  res__sort_set = set;
  qsort(x.order, set->count, sizeof *x.order, res__by_id);
  res__sort_set = NULL;
  snprintf(rpath, sizeof rpath, "%s/rounds.csv", dir);
  rc = res_csv_each_at(rpath, 1, res__round_row, &x);
  if (rc >= 0) {
    snprintf(rpath, sizeof rpath, "%s/timeline.csv", dir);
    rc = res_csv_each_at(rpath, 1, res__timeline_row, &x);
  }
  free(x.order);
  if (rc < 0) res_runs_free(set);
  return rc < 0 ? rc : 0;
}

void res_runs_free(res_run_set *set) {
  for (size_t i = 0; i < set->count; i++) mdl_result_free(&set->runs[i].result);
  free(set->runs);
  memset(set, 0, sizeof *set);
}

size_t res_runs_of(const res_run_set *set, const char *name, const res_loaded **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < set->count && n < max; i++)
    if (!strcmp(set->runs[i].scenario.name, name)) out[n++] = &set->runs[i];
  return n;
}
