/* wl_gen_phased: a cycle of generators, each run for its own duration.
 *
 * Spec: phased:SPEC@DURATION+SPEC@DURATION+...  The sub-specs are ordinary
 * generator specs; curve points also contain '+' and '@', so the text is
 * split only at a '+' that is followed by a generator name and ':' or '@',
 * and each phase's duration is the text after its last '@'.
 *
 * Every phase starts at local time 0 each time it is entered (timing and
 * sweep position restart) with the cycle number as its RNG epoch, so each
 * cycle draws new pages on the same timing. Entering a phase costs one
 * child seek (an RNG reseed); events cost only the time shift. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_units.h"
#include "wl_gen_internal.h"

typedef struct {
  wl__gen g; /* first: the instance head */
  size_t count;
  wl__gen **child;
  uint64_t *start; /* phase offset within the cycle */
  uint64_t *dur;   /* phase length, > 0 */
  uint64_t period; /* sum of the durations */
  uint64_t cycle;  /* position: cycle number and phase */
  size_t phase;
  /* Phase runs in a row that produced no event. Timing does not depend on
   * the epoch, so count + 1 of them (a whole cycle plus the partial phase
   * a seek may start in) mean no event will ever come: stop instead of
   * spinning through empty cycles. */
  size_t quiet;
} wl__phased;

static void wl__phased_enter(wl__phased *ph, uint64_t cycle, size_t phase,
                             uint64_t offset_ns) {
  ph->cycle = cycle;
  ph->phase = phase;
  wl__gen *c = ph->child[phase];
  c->epoch = cycle;
  c->type->seek(c, offset_ns);
}

void wl__phased_seek(wl__gen *g, uint64_t time_ns) {
  wl__phased *ph = (wl__phased *)g;
  uint64_t rem = time_ns % ph->period;
  size_t j = ph->count - 1;
  while (ph->start[j] > rem) j--;
  ph->quiet = 0;
  wl__phased_enter(ph, time_ns / ph->period, j, rem - ph->start[j]);
}

long wl__phased_fill(wl__gen *g, wl_event *buf, size_t max, uint64_t end_ns) {
  wl__phased *ph = (wl__phased *)g;
  size_t n = 0;
  while (n < max && ph->quiet <= ph->count) {
    uint64_t start = ph->start[ph->phase];
    if (ph->cycle > (UINT64_MAX - start) / ph->period) break; /* past 2^64 ns */
    uint64_t phase_ns = ph->cycle * ph->period + start;
    if (phase_ns >= end_ns) break;
    uint64_t limit = ph->dur[ph->phase];
    if (end_ns - phase_ns < limit) limit = end_ns - phase_ns;
    wl__gen *c = ph->child[ph->phase];
    long got = c->type->fill(c, buf + n, max - n, limit);
    for (long i = 0; i < got; i++) buf[n + (size_t)i].time_ns += phase_ns;
    n += (size_t)got;
    if (got > 0) ph->quiet = 0;
    if (n == max) break;                   /* the phase may have more */
    if (limit < ph->dur[ph->phase]) break; /* end_ns falls inside it */
    if (got == 0) ph->quiet++;
    if (ph->phase + 1 < ph->count)
      wl__phased_enter(ph, ph->cycle, ph->phase + 1, 0);
    else
      wl__phased_enter(ph, ph->cycle + 1, 0, 0);
  }
  return (long)n;
}

void wl__phased_close(wl__gen *g) {
  wl__phased *ph = (wl__phased *)g;
  if (!ph) return;
  for (size_t i = 0; ph->child && i < ph->count; i++) wl__gen_close(ph->child[i]);
  free(ph->child);
  free(ph->start);
  free(ph->dur);
  free(g->nonzero);
  free(ph);
}

/* True when a phase boundary '+' is at args[i]. */
static int wl__phased_split_at(const char *args, size_t i) {
  if (args[i] != '+') return 0;
  const char *next = args + i + 1;
  size_t len = strcspn(next, ":@");
  return (next[len] == ':' || next[len] == '@') && wl__gen_find(next, len);
}

/* The initial image is the union of the phases' requests. O(r log r). */
static int wl__phased_nonzero(wl__phased *ph) {
  size_t total = 0;
  for (size_t i = 0; i < ph->count; i++) total += ph->child[i]->nonzero_count;
  if (total == 0) return 0;
  wl_range *r = malloc(total * sizeof *r);
  if (!r) return sim_errorf(SIM_ENOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < ph->count; i++)
    for (size_t k = 0; k < ph->child[i]->nonzero_count; k++) r[n++] = ph->child[i]->nonzero[k];
  ph->g.nonzero = r;
  ph->g.nonzero_count = wl_ranges_normalize(r, n);
  return 0;
}

int wl__phased_open(const wl__gen_type *type, const char *args,
                    const wl__gen_env *env, wl__gen **out) {
  if (!*args)
    return sim_errorf(SIM_EINVAL,
                      "%s: needs phases SPEC@DURATION+..., e.g. "
                      "phased:idle@5s+uniform:rate=20000@10s",
                      type->name);
  size_t count = 1, len = strlen(args);
  for (size_t i = 0; i < len; i++) count += (size_t)wl__phased_split_at(args, i);

  int rc = 0;
  char *piece = NULL;
  wl__phased *ph = calloc(1, sizeof *ph);
  if (!ph) return sim_errorf(SIM_ENOMEM, "out of memory");
  ph->g.type = type;
  ph->count = count;
  ph->child = calloc(count, sizeof *ph->child);
  ph->start = calloc(count, sizeof *ph->start);
  ph->dur = calloc(count, sizeof *ph->dur);
  piece = malloc(len + 1);
  if (!ph->child || !ph->start || !ph->dur || !piece) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  size_t from = 0;
  for (size_t j = 0; j < count; j++) {
    size_t to = from;
    while (to < len && !wl__phased_split_at(args, to)) to++;
    memcpy(piece, args + from, to - from);
    piece[to - from] = '\0';
    from = to + 1;
    char *at = strrchr(piece, '@');
    if (!at) {
      rc = sim_errorf(SIM_EINVAL, "%s: phase %zu '%.60s' lacks @DURATION (e.g. %s@10s)",
                      type->name, j + 1, piece, piece);
      goto fail;
    }
    *at = '\0';
    size_t name_len = strcspn(piece, ":");
    if (wl__gen_find(piece, name_len) == type) {
      rc = sim_errorf(SIM_EINVAL, "%s: phase %zu: phases cannot be phased themselves",
                      type->name, j + 1);
      goto fail;
    }
    if ((rc = sim_parse_duration(at + 1, SIM_NS_PER_S, &ph->dur[j]))) {
      char detail[300];
      snprintf(detail, sizeof detail, "%s", sim_error_message());
      rc = sim_errorf(rc, "%s: phase %zu '%.60s': %s", type->name, j + 1, piece, detail);
      goto fail;
    }
    if (ph->dur[j] == 0) {
      rc = sim_errorf(SIM_ERANGE, "%s: phase %zu '%.60s' has zero duration", type->name,
                      j + 1, piece);
      goto fail;
    }
    if (ph->period > UINT64_MAX - ph->dur[j]) {
      rc = sim_errorf(SIM_ERANGE, "%s: the phases last longer than 2^64 ns", type->name);
      goto fail;
    }
    ph->start[j] = ph->period;
    ph->period += ph->dur[j];
    /* Each phase gets its own RNG stream, so editing one phase never
     * changes the pages another draws. */
    char stream[96];
    snprintf(stream, sizeof stream, "%s.%zu.%.*s", env->stream, j,
             (int)(name_len < 40 ? name_len : 40), piece);
    wl__gen_env child_env = *env;
    child_env.stream = stream;
    if ((rc = wl__gen_open_spec(piece, &child_env, &ph->child[j]))) {
      char detail[300];
      snprintf(detail, sizeof detail, "%s", sim_error_message());
      rc = sim_errorf(rc, "%s: phase %zu: %s", type->name, j + 1, detail);
      goto fail;
    }
  }
  free(piece);
  piece = NULL;
  for (size_t j = 0; j < count; j++) ph->g.has_reads |= ph->child[j]->has_reads;
  if ((rc = wl__phased_nonzero(ph))) goto fail;
  wl__phased_seek(&ph->g, 0);
  *out = &ph->g;
  return 0;
fail:
  free(piece);
  wl__phased_close(&ph->g);
  return rc;
}
