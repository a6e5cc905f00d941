/* wl_gen: synthetic workload generators behind the wl_source interface.
 *
 * This file holds the registry of generator kinds (one const descriptor per
 * name), the spec parser shared by all of them, the "steady" engine behind
 * the pattern generators (idle, uniform, hotcold, sequential, zipf, curve),
 * and the wl_source wrapper that applies the duration and builds the
 * metadata. The curve's fitted page popularity lives in wl_gen_curve.c, the
 * phased generator in wl_gen_phased.c, the Zipf sampler and the page
 * permutation in wl_gen_zipf.c.
 *
 * Timing of the pattern generators is deterministic: with a total access
 * rate R (writes plus reads), the i-th access happens at floor(i * 1e9 / R)
 * ns, and access i is a read exactly when floor((i + 1) f) > floor(i f) for
 * read fraction f. Both are closed forms of i, so the write rate is exact,
 * traces compress well, and a seek computes its event index directly. Only
 * the pages are random. */
#include "wl_gen.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_rng.h"
#include "sim_units.h"
#include "wl_gen_internal.h"

/* ------------------------------------------------------ the registry */

static int wl__steady_open(const wl__gen_type *type, const char *args,
                           const wl__gen_env *env, wl__gen **out);
static long wl__steady_fill(wl__gen *g, wl_event *buf, size_t max,
                            uint64_t end_ns);
static void wl__steady_seek(wl__gen *g, uint64_t time_ns);
static void wl__steady_close(wl__gen *g);
static uint64_t wl__draw_uniform(struct wl__steady *s, uint64_t op_index);
static uint64_t wl__draw_hotcold(struct wl__steady *s, uint64_t op_index);
static uint64_t wl__draw_sequential(struct wl__steady *s, uint64_t op_index);
static uint64_t wl__draw_zipf(struct wl__steady *s, uint64_t op_index);
static uint64_t wl__draw_curve(struct wl__steady *s, uint64_t op_index);

/* Keys every generator accepts. */
static const wl__keydoc wl__common_keys[] = {
    {"base", "0", NULL, "first page of the working set"},
    {"reads", "0", NULL,
     "fraction of all accesses that are reads (0 to <1); reads follow the "
     "same page distribution, and rate stays the write rate"},
    {"nonzero", NULL, "none",
     "initial image: a fraction of the guest (0.5 or 50% = pages "
     "[0, 0.5*pages)) or one range A-B of non-zero pages"},
    {"write_bytes", NULL, "page size",
     "bytes of a page one write changes, the same bytes each time "
     "(1..page size; XBZRLE sends about this much per page)"},
    {"compress_ratio", NULL, "1",
     "compressed / raw size of a non-zero page (0 to 1)"},
    {NULL, NULL, NULL, NULL}};

#define WL__KEY_WSS                                                          \
  {"wss", NULL, "pages-base",                                                \
   "working-set size: pages, or a size such as 128MiB (rounded up to "       \
   "whole pages)"}
#define WL__KEY_RATE(def)                                                    \
  {"rate", def, NULL,                                                        \
   "writes per second: pages/s (bare number) or a byte rate such as "        \
   "40MiB/s"}

static const wl__keydoc wl__idle_keys[] = {{NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__uniform_keys[] = {
    WL__KEY_WSS, WL__KEY_RATE("10000"), {NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__hotcold_keys[] = {
    WL__KEY_WSS,
    {"hot", "0.1", NULL, "fraction of the working set that is hot (its first pages)"},
    {"hotprob", "0.9", NULL, "probability that a write goes to the hot set"},
    WL__KEY_RATE("10000"),
    {NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__sequential_keys[] = {
    WL__KEY_WSS, WL__KEY_RATE("10000"), {NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__zipf_keys[] = {
    WL__KEY_WSS,
    {"s", "1", NULL, "Zipf exponent (> 0, at most 10): P(rank k) ~ k^-s"},
    WL__KEY_RATE("10000"),
    {NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__curve_keys[] = {
    {"points", NULL, "required",
     "T@N+T@N+...: N distinct pages dirtied within [0,T] (times rising, "
     "N non-decreasing; bare T in seconds, N in pages or a size)"},
    {"rate", NULL, "fit",
     "writes per second (pages/s or a byte rate); by default what the fit "
     "needs, else checked against the curve"},
    WL__KEY_WSS,
    {NULL, NULL, NULL, NULL}};
static const wl__keydoc wl__phased_keys[] = {{NULL, NULL, NULL, NULL}};

static const wl__gen_type wl__gen_idle = {
    "idle", "no page accesses at all", wl__idle_keys, "idle:nonzero=50%",
    wl__steady_open, wl__steady_fill, wl__steady_seek, wl__steady_close, NULL};
static const wl__gen_type wl__gen_uniform = {
    "uniform", "writes spread uniformly over the working set",
    wl__uniform_keys, "uniform:wss=128MiB,rate=20000", wl__steady_open,
    wl__steady_fill, wl__steady_seek, wl__steady_close, wl__draw_uniform};
static const wl__gen_type wl__gen_hotcold = {
    "hotcold",
    "a hot set [base, base+hot*wss) takes hotprob of the writes, the rest "
    "of the working set the others (uniform within each)",
    wl__hotcold_keys, "hotcold:wss=65536,hot=0.05,hotprob=0.95,rate=30000",
    wl__steady_open, wl__steady_fill, wl__steady_seek, wl__steady_close,
    wl__draw_hotcold};
static const wl__gen_type wl__gen_sequential = {
    "sequential",
    "a cyclic sweep base, base+1, ..., base+wss-1, base, ... (reads sweep "
    "with their own cursor)",
    wl__sequential_keys, "sequential:wss=1GiB,rate=100MiB/s", wl__steady_open,
    wl__steady_fill, wl__steady_seek, wl__steady_close, wl__draw_sequential};
static const wl__gen_type wl__gen_zipf = {
    "zipf",
    "writes to rank k with probability ~ k^-s; ranks are scattered over the "
    "working set by a fixed seeded permutation",
    wl__zipf_keys, "zipf:wss=262144,s=1.1,rate=50000", wl__steady_open,
    wl__steady_fill, wl__steady_seek, wl__steady_close, wl__draw_zipf};
static const wl__gen_type wl__gen_curve = {
    "curve",
    "a stationary workload whose expected distinct pages written in any "
    "window of length T follow a dirty curve (as QEMU's calc-dirty-rate "
    "measures it): pages written independently with popularities fitted "
    "to the points",
    wl__curve_keys, "curve:points=1s@5000+5s@15000+20s@30000,rate=20000",
    wl__steady_open, wl__steady_fill, wl__steady_seek, wl__steady_close, wl__draw_curve};
static const wl__gen_type wl__gen_phased = {
    "phased",
    "phased:SPEC@DURATION+SPEC@DURATION+... runs each generator for its "
    "duration in turn and repeats the cycle; each phase restarts its "
    "pattern (timing, sweep position) and draws fresh pages every cycle; "
    "base and reads go inside each SPEC, the initial image is the union of "
    "the phases' nonzero keys; phases cannot be phased themselves",
    wl__phased_keys, "phased:idle@5s+uniform:wss=32768,rate=20000@10s",
    wl__phased_open, wl__phased_fill, wl__phased_seek, wl__phased_close, NULL};

static const wl__gen_type *const wl__gen_types[] = {
    &wl__gen_idle,  &wl__gen_uniform, &wl__gen_hotcold, &wl__gen_sequential,
    &wl__gen_zipf,  &wl__gen_phased,  &wl__gen_curve};
#define WL__GEN_TYPE_COUNT (sizeof wl__gen_types / sizeof wl__gen_types[0])

const wl__gen_type *wl__gen_find(const char *text, size_t len) {
  for (size_t i = 0; i < WL__GEN_TYPE_COUNT; i++)
    if (strlen(wl__gen_types[i]->name) == len &&
        memcmp(wl__gen_types[i]->name, text, len) == 0)
      return wl__gen_types[i];
  return NULL;
}

int wl_gen_is_spec(const char *spec) {
  if (!spec) return 0;
  size_t len = strcspn(spec, ":");
  /* "name" or "name:...": a path such as ./idle or /tmp/uniform:x has a
   * slash before its colon, so it never matches a bare name. */
  return wl__gen_find(spec, len) != NULL;
}

const char *wl_gen_suggest(const char *spec) {
  if (!spec) return NULL;
  size_t len = strcspn(spec, ":");
  if (memchr(spec, '/', len)) return NULL;
  const char *names[WL__GEN_TYPE_COUNT];
  for (size_t i = 0; i < WL__GEN_TYPE_COUNT; i++) names[i] = wl__gen_types[i]->name;
  return sim_suggest(spec, len, names, WL__GEN_TYPE_COUNT);
}

int wl__gen_open_spec(const char *spec, const wl__gen_env *env,
                      wl__gen **out) {
  size_t len = strcspn(spec, ":");
  const wl__gen_type *type = wl__gen_find(spec, len);
  if (!type) {
    char known[160] = "";
    for (size_t i = 0; i < WL__GEN_TYPE_COUNT; i++) {
      strcat(known, i ? ", " : "");
      strcat(known, wl__gen_types[i]->name);
    }
    return sim_errorf(SIM_EINVAL, "unknown generator '%.*s' (known: %s)",
                      (int)(len > 60 ? 60 : len), spec, known);
  }
  const char *args = spec[len] == ':' ? spec + len + 1 : "";
  return type->open(type, args, env, out);
}

void wl__gen_close(wl__gen *g) {
  if (g) g->type->close(g);
}

int wl__gen_set_nonzero(wl__gen *g, const wl__params *p) {
  g->write_bytes = p->write_bytes;
  g->compress_ratio = p->compress_ratio;
  if (!p->has_nonzero) return 0;
  g->nonzero = malloc(sizeof *g->nonzero);
  if (!g->nonzero) return sim_errorf(SIM_ENOMEM, "out of memory");
  g->nonzero[0] = p->nonzero;
  g->nonzero_count = 1;
  return 0;
}

void wl__rng_block(gsl_rng *r, uint64_t stream_seed, uint64_t epoch,
                   uint64_t block) {
  uint64_t x = sim_splitmix64(sim_splitmix64(stream_seed ^ epoch) ^ block);
  unsigned long s = (unsigned long)((x ^ (x >> 32)) & 0xffffffffu);
  gsl_rng_set(r, s ? s : 1ul);
}

/* ------------------------------------------------------- key parsing */

/* Wraps a parser's message with the generator and key. The parser's text
 * lives in the same per-thread buffer sim_errorf writes, so copy it first. */
static int wl__key_error(int rc, const char *gen, const char *key,
                         const char *value) {
  char detail[400];
  snprintf(detail, sizeof detail, "%s", sim_error_message());
  return sim_errorf(rc, "%s: %s=%.60s: %s", gen, key, value, detail);
}

/* Pages: a bare number is a page count; with a unit it is a size, rounded
 * up to whole pages ("pages" is also a unit). */
static int wl__parse_pages(const char *text, uint32_t page_size,
                           uint64_t *pages) {
  if (*text && strspn(text, "0123456789.eE+-") == strlen(text))
    return sim_parse_count(text, pages);
  uint64_t bytes;
  int rc = sim_parse_bytes(text, page_size, &bytes);
  if (rc) return rc;
  *pages = bytes / page_size + (bytes % page_size != 0);
  return 0;
}

static int wl__parse_rate(const char *text, uint32_t page_size, double *rate) {
  sim_rate r;
  int rc = sim_parse_rate(text, SIM_RATE_PAGES, &r);
  if (rc) return rc;
  double v = sim_rate_pages_per_s(r, page_size);
  if (!(v <= WL__GEN_MAX_RATE))
    return sim_errorf(SIM_ERANGE, "rate above %.0e pages/s", WL__GEN_MAX_RATE);
  *rate = v;
  return 0;
}

/* "1s@5000+5s@15000": rising times, non-decreasing page counts. */
static int wl__parse_points(const char *gen, const char *text,
                            uint32_t page_size, wl__params *p) {
  enum { MAX_POINTS = 65536 };
  size_t n = 1;
  for (const char *c = text; *c; c++) n += *c == '+';
  if (n > MAX_POINTS)
    return sim_errorf(SIM_ERANGE, "%s: points: more than %d points", gen, MAX_POINTS);
  p->point_ns = calloc(n, sizeof *p->point_ns);
  p->point_pages = calloc(n, sizeof *p->point_pages);
  if (!p->point_ns || !p->point_pages)
    return sim_errorf(SIM_ENOMEM, "out of memory");
  p->npoints = n;
  const char *c = text;
  for (size_t i = 0; i < n; i++) {
    size_t len = strcspn(c, "+");
    char item[128];
    if (len == 0 || len >= sizeof item)
      return sim_errorf(SIM_EINVAL, "%s: points: point %zu '%.*s' is not T@N",
                        gen, i + 1, (int)(len > 60 ? 60 : len), c);
    memcpy(item, c, len);
    item[len] = '\0';
    c += len + (c[len] == '+');
    char *at = strchr(item, '@');
    if (!at)
      return sim_errorf(SIM_EINVAL,
                        "%s: points: point '%s' lacks '@' (expected TIME@PAGES, e.g. 5s@15000)",
                        gen, item);
    *at = '\0';
    int rc = sim_parse_duration(item, SIM_NS_PER_S, &p->point_ns[i]);
    if (!rc) rc = wl__parse_pages(at + 1, page_size, &p->point_pages[i]);
    if (rc) {
      *at = '@';
      return wl__key_error(rc, gen, "points", item);
    }
    *at = '@';
    if (p->point_ns[i] == 0 || (i > 0 && p->point_ns[i] <= p->point_ns[i - 1]))
      return sim_errorf(SIM_ERANGE,
                        "%s: points: time of '%s' must be after the previous point (and > 0)",
                        gen, item);
    if (i > 0 && p->point_pages[i] < p->point_pages[i - 1])
      return sim_errorf(SIM_ERANGE,
                        "%s: points: '%s' has fewer distinct pages than the previous "
                        "point (a dirty curve never falls)",
                        gen, item);
  }
  return 0;
}

static int wl__parse_nonzero(const char *text, uint64_t pages, wl__params *p) {
  if (strchr(text, '-')) {
    wl_range *r = NULL;
    size_t n = 0;
    int rc = wl_ranges_parse(text, pages, &r, &n);
    if (rc) return rc;
    if (n != 1) {
      free(r);
      return sim_errorf(SIM_EINVAL, "expected one range A-B");
    }
    p->nonzero = r[0];
    p->has_nonzero = 1;
    free(r);
    return 0;
  }
  double f;
  int rc = sim_parse_fraction(text, &f);
  if (rc) return rc;
  uint64_t count = (uint64_t)llround(f * (double)pages);
  if (count > pages) count = pages;
  p->has_nonzero = count > 0;
  p->nonzero.first = 0;
  p->nonzero.last = count ? count - 1 : 0;
  return 0;
}

/* Parses one key=value into p; errors name the generator and the key. */
static int wl__apply_key(const char *gen, const char *key, const char *value,
                         const wl__gen_env *env, wl__params *p) {
  int rc;
  if (*value == '\0')
    return sim_errorf(SIM_EINVAL, "%s: %s= has no value", gen, key);
  if (strcmp(key, "wss") == 0) {
    rc = wl__parse_pages(value, env->page_size, &p->wss);
    if (!rc && p->wss == 0) rc = sim_errorf(SIM_ERANGE, "must be at least 1 page");
  } else if (strcmp(key, "base") == 0) {
    rc = wl__parse_pages(value, env->page_size, &p->base);
  } else if (strcmp(key, "rate") == 0) {
    rc = wl__parse_rate(value, env->page_size, &p->rate);
  } else if (strcmp(key, "reads") == 0) {
    rc = sim_parse_fraction(value, &p->reads);
    if (!rc && p->reads >= 1.0)
      rc = sim_errorf(SIM_ERANGE, "must be below 1 (rate is the write rate)");
  } else if (strcmp(key, "hot") == 0) {
    rc = sim_parse_fraction(value, &p->hot);
    if (!rc && p->hot <= 0.0) rc = sim_errorf(SIM_ERANGE, "must be above 0");
  } else if (strcmp(key, "hotprob") == 0) {
    rc = sim_parse_fraction(value, &p->hotprob);
  } else if (strcmp(key, "s") == 0) {
    rc = sim_parse_double(value, &p->s);
    if (!rc && !(p->s > 0.0 && p->s <= 10.0))
      rc = sim_errorf(SIM_ERANGE, "exponent must be in (0, 10]");
  } else if (strcmp(key, "nonzero") == 0) {
    rc = wl__parse_nonzero(value, env->pages, p);
  } else if (strcmp(key, "write_bytes") == 0) {
    rc = sim_parse_count(value, &p->write_bytes);
    if (!rc && (p->write_bytes < 1 || p->write_bytes > env->page_size))
      rc = sim_errorf(SIM_ERANGE, "must be 1..%u (the page size)", env->page_size);
  } else if (strcmp(key, "compress_ratio") == 0) {
    rc = sim_parse_fraction(value, &p->compress_ratio);
    if (!rc && p->compress_ratio <= 0) rc = sim_errorf(SIM_ERANGE, "must be above 0");
  } else if (strcmp(key, "points") == 0) {
    free(p->point_ns);
    free(p->point_pages);
    p->point_ns = p->point_pages = NULL;
    p->npoints = 0;
    return wl__parse_points(gen, value, env->page_size, p);
  } else {
    rc = sim_errorf(SIM_EINVAL, "no such key");
  }
  return rc ? wl__key_error(rc, gen, key, value) : 0;
}

static const wl__keydoc *wl__find_key(const wl__keydoc *keys, const char *key) {
  for (; keys->name; keys++)
    if (strcmp(keys->name, key) == 0) return keys;
  return NULL;
}

static int wl__unknown_key(const wl__gen_type *type, const char *key) {
  char known[200] = "";
  size_t len = 0;
  const wl__keydoc *lists[2] = {type->keys, wl__common_keys};
  for (size_t l = 0; l < 2; l++)
    for (const wl__keydoc *k = lists[l]; k->name; k++)
      len += (size_t)snprintf(known + len, sizeof known - len, "%s%s",
                              len ? ", " : "", k->name);
  return sim_errorf(SIM_EINVAL, "%s: unknown key '%.40s' (keys: %s)",
                    type->name, key, known);
}

void wl__params_free(wl__params *p) {
  free(p->point_ns);
  free(p->point_pages);
  p->point_ns = p->point_pages = NULL;
  p->npoints = 0;
}

int wl__params_parse(const wl__gen_type *type, const char *args,
                     const wl__gen_env *env, wl__params *p) {
  enum { MAX_ITEM = 8192 };
  int rc = 0;
  memset(p, 0, sizeof *p);
  /* Defaults are parsed from the same text help shows, so the two cannot
   * disagree. */
  const wl__keydoc *lists[2] = {wl__common_keys, type->keys};
  for (size_t l = 0; l < 2; l++)
    for (const wl__keydoc *k = lists[l]; k->name; k++)
      if (k->def && (rc = wl__apply_key(type->name, k->name, k->def, env, p)))
        goto fail;

  /* Keys given so far, to reject repeats; every key is in one of the two
   * lists, so 32 slots are more than enough. */
  const char *seen[32];
  size_t nseen = 0;
  char *item = malloc(MAX_ITEM);
  if (!item) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  int wss_given = 0;
  for (const char *c = args; *c;) {
    size_t len = strcspn(c, ",");
    if (len >= MAX_ITEM) {
      rc = sim_errorf(SIM_EINVAL, "%s: a key=value is longer than %d characters",
                      type->name, MAX_ITEM);
      break;
    }
    memcpy(item, c, len);
    item[len] = '\0';
    c += len;
    if (*c == ',' && *++c == '\0') {
      rc = sim_errorf(SIM_EINVAL, "%s: trailing ',' in '%.80s'", type->name, args);
      break;
    }
    char *eq = strchr(item, '=');
    if (!eq || eq == item) {
      rc = sim_errorf(SIM_EINVAL, "%s: '%.60s' is not key=value", type->name, item);
      break;
    }
    *eq = '\0';
    const wl__keydoc *key = wl__find_key(type->keys, item);
    if (!key) key = wl__find_key(wl__common_keys, item);
    if (!key) {
      rc = wl__unknown_key(type, item);
      break;
    }
    for (size_t i = 0; i < nseen && !rc; i++)
      if (seen[i] == key->name)
        rc = sim_errorf(SIM_EINVAL, "%s: key %s given twice", type->name, item);
    if (rc) break;
    if (nseen < sizeof seen / sizeof seen[0]) seen[nseen++] = key->name;
    if ((rc = wl__apply_key(type->name, item, eq + 1, env, p))) break;
    wss_given |= strcmp(item, "wss") == 0;
  }
  free(item);
  if (rc) goto fail;

  /* Checks against the guest, now that every key is known. */
  if (p->base >= env->pages) {
    rc = sim_errorf(SIM_ERANGE, "%s: base=%" PRIu64 " is outside the guest (pages=%" PRIu64 ")",
                    type->name, p->base, env->pages);
    goto fail;
  }
  if (!wss_given) {
    p->wss = env->pages - p->base;
  } else if (p->wss > env->pages - p->base) {
    rc = sim_errorf(SIM_ERANGE,
                    "%s: wss=%" PRIu64 " pages does not fit in the guest: base %" PRIu64
                    " + wss > pages=%" PRIu64,
                    type->name, p->wss, p->base, env->pages);
    goto fail;
  }
  return 0;
fail:
  wl__params_free(p);
  return rc;
}

/* --------------------------------------------- the steady engine */

typedef struct wl__steady {
  wl__gen g; /* first: the instance head */
  uint64_t base, wss;
  double access_rate; /* writes + reads per second; 0 = no events */
  double reads;       /* read fraction f */
  uint64_t hot_pages; /* hotcold */
  double hotprob;
  wl__zipf zipf; /* zipf */
  wl__perm perm; /* zipf: rank -> page; curve: page index -> page */
  wl__curve_model *curve;
  gsl_rng *rng;
  uint64_t stream_seed;
  uint64_t next;         /* index of the next access */
  uint64_t reads_before; /* reads among accesses [0, next): floor(next f) */
} wl__steady;

static uint64_t wl__draw_uniform(wl__steady *s, uint64_t op_index) {
  (void)op_index;
  return s->base + wl__rand_below(s->rng, s->wss);
}

static uint64_t wl__draw_hotcold(wl__steady *s, uint64_t op_index) {
  (void)op_index;
  uint64_t cold = s->wss - s->hot_pages;
  /* hot=1 leaves no cold set: every write is hot, no coin needed. */
  int to_hot = cold == 0 || gsl_rng_uniform(s->rng) < s->hotprob;
  if (to_hot) return s->base + wl__rand_below(s->rng, s->hot_pages);
  return s->base + s->hot_pages + wl__rand_below(s->rng, cold);
}

static uint64_t wl__draw_sequential(wl__steady *s, uint64_t op_index) {
  return s->base + op_index % s->wss;
}

static uint64_t wl__draw_zipf(wl__steady *s, uint64_t op_index) {
  (void)op_index;
  uint64_t rank = wl__zipf_draw(&s->zipf, s->rng);
  return s->base + wl__perm_apply(&s->perm, rank - 1);
}

static uint64_t wl__draw_curve(wl__steady *s, uint64_t op_index) {
  (void)op_index;
  return s->base + wl__perm_apply(&s->perm, wl__curve_model_draw(s->curve, s->rng));
}

/* Both quantities are non-negative, so the conversion's truncation is the
 * floor (the same value as floor(), without a libm call per access). */
static uint64_t wl__steady_time(const wl__steady *s, uint64_t i) {
  double t = (double)i * 1e9 / s->access_rate;
  return t < 0x1p64 ? (uint64_t)t : UINT64_MAX;
}

static uint64_t wl__steady_reads_upto(const wl__steady *s, uint64_t i) {
  return s->reads > 0 ? (uint64_t)((double)i * s->reads) : 0;
}

/* Produces the access at s->next (into *ev when non-NULL) and advances.
 * Reseeds at block starts so the draws of access i depend only on i.
 * O(1): a floor or two and the pattern's draw (2-3 MT outputs; Zipf ~5
 * transcendental calls). */
static void wl__steady_step(wl__steady *s, uint64_t time_ns, wl_event *ev) {
  uint64_t i = s->next;
  if (i % WL__GEN_BLOCK == 0 && s->rng)
    wl__rng_block(s->rng, s->stream_seed, s->g.epoch, i / WL__GEN_BLOCK);
  uint64_t reads_after = wl__steady_reads_upto(s, i + 1);
  int is_read = reads_after > s->reads_before;
  uint64_t op_index = is_read ? s->reads_before : i - s->reads_before;
  uint64_t pfn = s->g.type->draw(s, op_index);
  if (ev) {
    ev->time_ns = time_ns;
    ev->pfn = pfn;
    ev->op = (uint8_t)(is_read ? WL_OP_READ : WL_OP_WRITE);
  }
  s->reads_before = reads_after;
  s->next = i + 1;
}

static long wl__steady_fill(wl__gen *g, wl_event *buf, size_t max,
                            uint64_t end_ns) {
  wl__steady *s = (wl__steady *)g;
  if (s->access_rate <= 0) return 0;
  size_t n = 0;
  while (n < max) {
    uint64_t t = wl__steady_time(s, s->next);
    if (t >= end_ns) break;
    wl__steady_step(s, t, &buf[n++]);
  }
  return (long)n;
}

/* O(WL__GEN_BLOCK) at worst: one reseed and the replay of the block's
 * earlier draws; independent of how far into the stream time_ns is. */
static void wl__steady_seek(wl__gen *g, uint64_t time_ns) {
  wl__steady *s = (wl__steady *)g;
  if (s->access_rate <= 0) return;
  /* The first index with time >= time_ns: estimate, then correct the
   * estimate's rounding by stepping (a step or two at most). */
  double est = floor((double)time_ns * s->access_rate / 1e9);
  uint64_t i = est < 0x1p63 ? (uint64_t)est : (1ull << 63);
  while (i > 0 && wl__steady_time(s, i - 1) >= time_ns) i--;
  while (wl__steady_time(s, i) < time_ns) i++;
  /* Replay the block's draws up to i: at most WL__GEN_BLOCK - 1. */
  s->next = i - i % WL__GEN_BLOCK;
  s->reads_before = wl__steady_reads_upto(s, s->next);
  while (s->next < i) wl__steady_step(s, 0, NULL);
}

static void wl__steady_close(wl__gen *g) {
  wl__steady *s = (wl__steady *)g;
  if (s->rng) gsl_rng_free(s->rng);
  wl__curve_model_free(s->curve);
  free(g->nonzero);
  free(s);
}

static int wl__steady_open(const wl__gen_type *type, const char *args,
                           const wl__gen_env *env, wl__gen **out) {
  wl__params p;
  int rc = wl__params_parse(type, args, env, &p);
  if (rc) return rc;
  wl__steady *s = calloc(1, sizeof *s);
  if (!s) {
    wl__params_free(&p);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  s->g.type = type;
  if ((rc = wl__gen_set_nonzero(&s->g, &p))) goto fail;
  s->base = p.base;
  s->wss = p.wss;
  s->reads = p.reads;
  if (type->draw == wl__draw_curve) {
    if ((rc = wl__curve_model_new(type->name, &p, &s->curve))) goto fail;
    p.rate = wl__curve_model_rate(s->curve);
    /* Scatter the model's pages (hottest first) over the working set. */
    wl__perm_init(&s->perm, p.wss, sim_splitmix64(sim_rng_derive(env->seed, env->stream) ^
                                                  0x63757276ull));
  }
  /* rate is the write rate; reads come on top so that writes keep it. */
  s->access_rate = type->draw ? p.rate / (1.0 - p.reads) : 0.0;
  s->g.has_reads = s->access_rate > 0 && p.reads > 0;
  if (s->access_rate > WL__GEN_MAX_RATE) {
    rc = sim_errorf(SIM_ERANGE, "%s: rate with reads exceeds %.0e accesses/s",
                    type->name, WL__GEN_MAX_RATE);
    goto fail;
  }
  s->stream_seed = sim_rng_derive(env->seed, env->stream);
  if (type->draw == wl__draw_hotcold) {
    double hot = floor(p.hot * (double)p.wss + 0.5);
    s->hot_pages = hot < 1.0 ? 1 : (uint64_t)hot;
    if (s->hot_pages > p.wss) s->hot_pages = p.wss;
    s->hotprob = p.hotprob;
  } else if (type->draw == wl__draw_zipf) {
    wl__zipf_init(&s->zipf, p.wss, p.s);
    /* Keyed by the stream, not the epoch: a Zipf phase keeps its hot pages
     * from cycle to cycle. */
    wl__perm_init(&s->perm, p.wss, sim_splitmix64(s->stream_seed ^ 0x7065726dull));
  }
  if (s->access_rate > 0 && type->draw != wl__draw_sequential) {
    s->rng = sim_rng_stream(env->seed, env->stream);
    if (!s->rng) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto fail;
    }
  }
  wl__params_free(&p);
  *out = &s->g;
  return 0;
fail:
  wl__params_free(&p);
  wl__steady_close(&s->g);
  return rc;
}

/* ------------------------------------------------- the public source */

typedef struct {
  wl__gen *root;
  uint64_t end_ns; /* duration, or UINT64_MAX when endless */
} wl__gen_source;

static long wl__source_read(void *state, wl_event *buf, size_t max) {
  wl__gen_source *src = state;
  if (max > (size_t)LONG_MAX) max = (size_t)LONG_MAX;
  return src->root->type->fill(src->root, buf, max, src->end_ns);
}

static int wl__source_seek(void *state, uint64_t time_ns) {
  wl__gen_source *src = state;
  src->root->type->seek(src->root, time_ns);
  return 0;
}

static int wl__source_rewind(void *state) { return wl__source_seek(state, 0); }

static void wl__source_close(void *state) {
  wl__gen_source *src = state;
  if (!src) return;
  wl__gen_close(src->root);
  free(src);
}

static const wl_source_ops wl__gen_source_ops = {
    "generator", wl__source_read, wl__source_rewind, wl__source_seek,
    wl__source_close};

static int wl__build_meta(const char *spec, const wl_open_opts *opts,
                          uint32_t page_size, const wl__gen *root, wl_meta *m) {
  char num[32];
  int rc;
  snprintf(num, sizeof num, "%" PRIu64, opts->pages);
  if ((rc = wl_meta_set(m, "pages", num))) return rc;
  if (page_size != WL_DEFAULT_PAGE_SIZE) {
    snprintf(num, sizeof num, "%" PRIu32, page_size);
    if ((rc = wl_meta_set(m, "page_size", num))) return rc;
  }
  if (root->nonzero_count &&
      (rc = wl_meta_set_nonzero(m, root->nonzero, root->nonzero_count)))
    return rc;
  if ((rc = wl_meta_set(m, "generator", spec))) return rc;
  if (root->write_bytes) {
    snprintf(num, sizeof num, "%" PRIu64, root->write_bytes);
    if ((rc = wl_meta_set(m, "write_bytes", num))) return rc;
  }
  if (root->compress_ratio > 0) {
    snprintf(num, sizeof num, "%.6g", root->compress_ratio);
    if ((rc = wl_meta_set(m, "compress_ratio", num))) return rc;
  }
  snprintf(num, sizeof num, "%" PRIu64, opts->seed);
  if ((rc = wl_meta_set(m, "seed", num))) return rc;
  if (opts->duration_ns > 0) {
    snprintf(num, sizeof num, "%" PRIu64, opts->duration_ns);
    if ((rc = wl_meta_set(m, "duration_ns", num))) return rc;
  }
  return wl_meta_validate(m);
}

int wl_gen_open(const char *spec, const wl_open_opts *opts, wl_source **out) {
  if (!opts || opts->pages == 0)
    return sim_errorf(SIM_EINVAL, "generator '%.60s' needs the guest size in pages", spec);
  if (opts->pages > WL_MAX_PAGES)
    return sim_errorf(SIM_ERANGE, "pages=%" PRIu64 " exceeds the maximum %llu",
                      opts->pages, (unsigned long long)WL_MAX_PAGES);
  uint32_t page_size = opts->page_size ? opts->page_size : WL_DEFAULT_PAGE_SIZE;
  if (page_size < 512 || page_size > WL_MAX_PAGE_SIZE || (page_size & (page_size - 1)))
    return sim_errorf(SIM_ERANGE, "page size %" PRIu32 " is not a power of two in 512..%u",
                      page_size, WL_MAX_PAGE_SIZE);
  size_t len = strcspn(spec, ":");
  char stream[32];
  snprintf(stream, sizeof stream, "%.*s", (int)(len < 31 ? len : 31), spec);
  wl__gen_env env = {opts->pages, page_size, opts->seed, stream};

  wl__gen *root = NULL;
  int rc = wl__gen_open_spec(spec, &env, &root);
  if (rc) return rc;
  wl_meta meta;
  wl_meta_init(&meta);
  if ((rc = wl__build_meta(spec, opts, page_size, root, &meta))) {
    wl_meta_free(&meta);
    wl__gen_close(root);
    return rc;
  }
  wl__gen_source *src = malloc(sizeof *src);
  if (!src) {
    wl_meta_free(&meta);
    wl__gen_close(root);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  /* Writers need to know up front whether an op column is needed. */
  meta.has_op_column = root->has_reads;
  src->root = root;
  src->end_ns = opts->duration_ns ? opts->duration_ns : UINT64_MAX;
  root->type->seek(root, 0);
  return wl__source_new(&wl__gen_source_ops, src, &meta, 0, out);
}

/* -------------------------------------------------------------- help */

/* Prints text wrapped at ~76 columns with the given indent. */
static void wl__wrap(FILE *out, const char *text, int indent, int first_col) {
  int col = first_col;
  const char *c = text;
  while (*c) {
    size_t word = strcspn(c, " ");
    if (col > indent && col + 1 + (int)word > 76) {
      fprintf(out, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', out);
      col++;
    } else if (col < indent) {
      fprintf(out, "%*s", indent - col, "");
      col = indent;
    }
    fwrite(c, 1, word, out);
    col += (int)word;
    c += word;
    while (*c == ' ') c++;
  }
  fputc('\n', out);
}

static void wl__help_keys(FILE *out, const wl__keydoc *keys) {
  for (const wl__keydoc *k = keys; k->name; k++) {
    char head[64];
    int n = snprintf(head, sizeof head, "    %s=%s", k->name, k->def ? k->def : k->shown);
    fputs(head, out);
    wl__wrap(out, k->help, 26, n);
  }
}

void wl_gen_help(FILE *out) {
  fputs("Workload generators\n\n"
        "  A spec is NAME or NAME:KEY=VALUE,KEY=VALUE,... (phased has its own\n"
        "  form). Page counts are bare numbers or sizes (128MiB, 1GiB, 20pages);\n"
        "  rates are pages/s when bare or byte rates (40MiB/s); durations are\n"
        "  seconds when bare (5s, 500ms, 2min); fractions are 0.25 or 25%.\n"
        "  Accesses are evenly spaced in time (the i-th at i/rate), so rates\n"
        "  are exact; pages are drawn from RNG streams seeded by --seed.\n\n"
        "  Keys every generator takes (defaults after '='):\n",
        out);
  wl__help_keys(out, wl__common_keys);
  for (size_t i = 0; i < WL__GEN_TYPE_COUNT; i++) {
    const wl__gen_type *t = wl__gen_types[i];
    fprintf(out, "\n  %-11s", t->name);
    wl__wrap(out, t->summary, 13, 13);
    wl__help_keys(out, t->keys);
    fprintf(out, "    example: %s\n", t->example);
  }
}
