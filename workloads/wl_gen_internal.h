/* wl_gen_internal: pieces shared by the generator files of workloads/
 * (wl_gen.c, wl_gen_zipf.c, wl_gen_curve.c, wl_gen_phased.c) and by the
 * generator unit tests. Not part of the public API.
 *
 * A generator instance (wl__gen) produces events in its own local time
 * starting at 0. The public source wrapper in wl_gen.c owns the root
 * instance and applies the overall duration; wl_gen_phased.c owns child
 * instances and shifts their local time into each phase. */
#ifndef WL_GEN_INTERNAL_H
#define WL_GEN_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "wl_trace.h"

/* Accesses between two reseeds of a generator's RNG. Each block's RNG state
 * is a pure function of (seed, stream name, epoch, block index), so a seek
 * costs one reseed plus at most WL__GEN_BLOCK - 1 replayed draws, and no
 * replay from the start. A reseed of MT19937 costs ~624 word operations:
 * 0.15 per event at this block size. */
#define WL__GEN_BLOCK 4096u

/* Upper bound on any rate (accesses/s) a spec may ask for: 1e9 pages/s is
 * 4 TB/s of 4 KiB pages, far beyond any guest, and keeps i * 1e9 / rate
 * well inside a double's exact range for realistic indices. */
#define WL__GEN_MAX_RATE 1e9

typedef struct wl__gen wl__gen;
typedef struct wl__gen_type wl__gen_type;
struct wl__steady;

/* What an instance is opened against. `stream` names its RNG stream
 * ("uniform", "phased.1.zipf"); it is only read during open. */
typedef struct {
  uint64_t pages;
  uint32_t page_size;
  uint64_t seed;
  const char *stream;
} wl__gen_env;

/* Every key any generator accepts, after parsing and defaulting. */
typedef struct {
  uint64_t base;      /* first page of the working set */
  uint64_t wss;       /* working-set size in pages, >= 1 */
  double rate;        /* writes per second (pages/s) */
  double reads;       /* fraction of all accesses that are reads, [0, 1) */
  double hot;         /* hotcold: fraction of wss that is hot */
  double hotprob;     /* hotcold: probability a write goes to the hot set */
  double s;           /* zipf exponent, > 0 */
  int has_nonzero;    /* initial image requested */
  wl_range nonzero;   /* ... as one inclusive range */
  /* Page content (docs/workloads.md, "Page content"): bytes of a page one
   * write changes and compressed/raw size of a non-zero page; 0 when not
   * given (the metadata then leaves them out and consumers use defaults). */
  uint64_t write_bytes;
  double compress_ratio;
  uint64_t *point_ns; /* curve points: time since start (strictly rising) */
  uint64_t *point_pages; /* ... distinct pages dirtied by then (rising) */
  size_t npoints;
} wl__params;

/* A generator kind: a const descriptor chosen by name (STYLE habit 6). */
typedef struct {
  const char *name;
  const char *def;   /* default, parsed like user input; NULL: none */
  const char *shown; /* how help shows the default when def is NULL */
  const char *help;
} wl__keydoc;

struct wl__gen_type {
  const char *name;
  const char *summary;
  const wl__keydoc *keys; /* the generator's own keys; ends with {NULL} */
  const char *example;
  /* Parses `args` (the text after "name:", "" when absent) and builds an
   * instance. Errors name the generator and the key. */
  int (*open)(const wl__gen_type *type, const char *args,
              const wl__gen_env *env, wl__gen **out);
  /* Fills up to max events with local time < end_ns, in time order, and
   * returns how many; fewer than max means none is left before end_ns (the
   * instance then sits at its first event >= end_ns). Never fails. */
  long (*fill)(wl__gen *g, wl_event *buf, size_t max, uint64_t end_ns);
  /* Positions at the first event with local time >= time_ns. Never fails;
   * seek(0) restarts identically (for the instance's current epoch). */
  void (*seek)(wl__gen *g, uint64_t time_ns);
  void (*close)(wl__gen *g);
  /* Pattern generators only: the page of the op_index-th write (or read). */
  uint64_t (*draw)(struct wl__steady *s, uint64_t op_index);
};

/* The head every instance starts with. */
struct wl__gen {
  const wl__gen_type *type;
  /* Repetition number (a phased workload's cycle), mixed into RNG block
   * seeds so a repeated phase draws new pages but the same timing. */
  uint64_t epoch;
  wl_range *nonzero; /* initial image: sorted, coalesced; owned */
  size_t nonzero_count;
  int has_reads; /* can emit reads (the trace then needs an op column) */
  uint64_t write_bytes;  /* page content keys, 0: not given (wl__params) */
  double compress_ratio;
};

/* ---------------------------------------------------------- registry */

/* The generator whose name is exactly text[0, len), or NULL. */
const wl__gen_type *wl__gen_find(const char *text, size_t len);

/* Opens "name" or "name:args" against env. */
int wl__gen_open_spec(const char *spec, const wl__gen_env *env,
                      wl__gen **out);

/* Closes an instance; NULL is a no-op. */
void wl__gen_close(wl__gen *g);

/* Parses comma-separated key=value args for `type` into p (defaults first,
 * then the user's keys, then checks against the guest). On success the
 * caller frees p with wl__params_free; on failure p is already freed. */
int wl__params_parse(const wl__gen_type *type, const char *args,
                     const wl__gen_env *env, wl__params *p);
void wl__params_free(wl__params *p);

/* Copies p's initial-image request into g (allocates). 0 or SIM_ENOMEM. */
/* The initial image and page-content keys of p into g. */
int wl__gen_set_nonzero(wl__gen *g, const wl__params *p);

/* ------------------------------------------------------- randomness */

/* Seeds r for one block of one stream. MT19937 keeps only 32 bits of its
 * seed, so the 64-bit mix is folded; 0 is avoided because GSL maps it to
 * its default seed. */
void wl__rng_block(gsl_rng *r, uint64_t stream_seed, uint64_t epoch,
                   uint64_t block);

/* 64 random bits from two 32-bit MT19937 outputs. Always exactly two
 * draws, so callers can skip k values by discarding 2k outputs. */
static inline uint64_t wl__rand_u64(gsl_rng *r) {
  uint64_t hi = (uint64_t)gsl_rng_get(r) & 0xffffffffu;
  uint64_t lo = (uint64_t)gsl_rng_get(r) & 0xffffffffu;
  return hi << 32 | lo;
}

/* Uniform in [0, n), n >= 1. The modulo bias is at most n / 2^64
 * (< 2^-24 even at WL_MAX_PAGES), far below any statistical effect. */
static inline uint64_t wl__rand_below(gsl_rng *r, uint64_t n) {
  return wl__rand_u64(r) % n;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double wl__rand_unit(gsl_rng *r) {
  return (double)(wl__rand_u64(r) >> 11) * 0x1p-53;
}

/* ------------------------------------------------------ permutation */

/* A keyed bijection of [0, n) without a table, used to scatter ranks (Zipf)
 * and the curve model's pages (hottest first) over the working set. Rounds of
 * add-key / xorshift / odd multiply, each invertible on [0, 2^bits), with
 * cycle walking to stay inside [0, n): 2^bits < 2n, so fewer than two
 * rounds are needed on average. O(1) expected, no allocation. */
typedef struct {
  uint64_t n;
  uint64_t mask;
  unsigned shift;
  uint64_t key[3];
} wl__perm;

void wl__perm_init(wl__perm *p, uint64_t n, uint64_t key_seed);
uint64_t wl__perm_apply(const wl__perm *p, uint64_t x);

/* ------------------------------------------------------------- zipf */

/* Zipf over ranks 1..n with P(k) proportional to k^-s, sampled by
 * rejection-inversion (see wl_gen_zipf.c): O(1) per draw, no table. */
typedef struct {
  uint64_t n;
  double s;
  double h_lo; /* U ~ uniform[h_lo, h_hi) */
  double h_hi;
} wl__zipf;

/* n >= 1, 0 < s <= 10 (checked by the spec parser). */
void wl__zipf_init(wl__zipf *z, uint64_t n, double s);
/* A rank in [1, n]. Uses a variable number of draws (rejection). */
uint64_t wl__zipf_draw(const wl__zipf *z, gsl_rng *r);

/* ------------------------------------------------ composite generators */

/* The stationary model of a curve spec (wl_gen_curve.c): groups of pages
 * with equal write rates fitted to the points. */
typedef struct wl__curve_model wl__curve_model;

/* Fits p's points (and rate, when > 0) for generator `gen`. Errors name
 * the generator and say which point or key cannot be met. */
int wl__curve_model_new(const char *gen, const wl__params *p, wl__curve_model **out);
/* Total writes per second; 0 for a curve that never rises. */
double wl__curve_model_rate(const wl__curve_model *m);
/* Expected distinct pages written in any window of window_s seconds. */
double wl__curve_model_expected(const wl__curve_model *m, double window_s);
/* A page index in [0, pages used), drawn with the model's popularity:
 * exactly two 64-bit draws, O(1). Needs rate > 0. */
uint64_t wl__curve_model_draw(const wl__curve_model *m, gsl_rng *r);
void wl__curve_model_free(wl__curve_model *m);

int wl__phased_open(const wl__gen_type *type, const char *args,
                    const wl__gen_env *env, wl__gen **out);
long wl__phased_fill(wl__gen *g, wl_event *buf, size_t max, uint64_t end_ns);
void wl__phased_seek(wl__gen *g, uint64_t time_ns);
void wl__phased_close(wl__gen *g);

#endif
