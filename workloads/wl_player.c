/* wl_player: offset, epoch spreading and looping over a wl_source. */
#include "wl_player.h"

#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_vec.h"

enum { WL_PLAYER_BATCH = 4096 };

struct wl_player {
  wl_source *src;
  uint64_t offset_ns;
  int loop;
  uint64_t period;     /* fixed at the end of the first pass */
  uint64_t pass;       /* completed passes */
  uint64_t pass_events;/* events read in the current pass */

  wl_event raw[WL_PLAYER_BATCH]; /* source batch */
  size_t raw_len, raw_pos;
  int src_done; /* the source reported the end of the current pass */

  wl_event *run; /* events sharing one timestamp, spread before emitting */
  size_t run_len, run_cap, run_pos;
};

int wl_player_new(wl_source *src, uint64_t offset_ns, int loop, wl_player **out) {
  wl_player *p = calloc(1, sizeof *p);
  if (!p) return sim_errorf(SIM_ENOMEM, "out of memory");
  p->src = src;
  p->offset_ns = offset_ns;
  p->loop = loop;
  p->period = wl_source_meta(src)->duration_ns;
  *out = p;
  return 0;
}

void wl_player_free(wl_player *p) {
  if (!p) return;
  free(p->run);
  free(p);
}

uint64_t wl_player_period(const wl_player *p) { return p->period; }

/* Peeks the next raw event of the current pass; 1 found, 0 end, <0 error. */
static int wl__peek(wl_player *p, wl_event **ev) {
  if (p->raw_pos == p->raw_len) {
    if (p->src_done) return 0;
    long n = wl_source_read(p->src, p->raw, WL_PLAYER_BATCH);
    if (n < 0) return (int)n;
    if (n == 0) {
      p->src_done = 1;
      return 0;
    }
    p->raw_len = (size_t)n;
    p->raw_pos = 0;
  }
  *ev = &p->raw[p->raw_pos];
  return 1;
}

static int wl__run_push(wl_player *p, const wl_event *ev) {
  if (p->run_len >= WL_MAX_EVENTS_PER_INSTANT)
    return sim_errorf(SIM_ERANGE,
                      "trace has more than %u events at time %llu ns; a trace may hold at most %u events "
                      "per time instant",
                      WL_MAX_EVENTS_PER_INSTANT, (unsigned long long)ev->time_ns, WL_MAX_EVENTS_PER_INSTANT);
  wl_event *g = sim_grow(p->run, &p->run_cap, p->run_len + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory buffering a trace epoch");
  p->run = g;
  p->run[p->run_len++] = *ev;
  return 0;
}

/* Collects the next run of equal timestamps and assigns playback times.
 * Returns 1 when a run is ready, 0 at the end of the stream, <0 on error. */
static int wl__next_run(wl_player *p) {
  for (;;) {
    p->run_len = p->run_pos = 0;
    wl_event *ev = NULL;
    int rc = wl__peek(p, &ev);
    if (rc < 0) return rc;
    if (rc == 0) {
      /* End of a pass. */
      if (p->pass == 0 && p->pass_events == 0) return 0; /* empty trace */
      if (!p->loop) return 0;
      if ((rc = wl_source_rewind(p->src))) return rc;
      p->pass++;
      p->pass_events = 0;
      p->src_done = 0;
      p->raw_len = p->raw_pos = 0;
      continue;
    }
    uint64_t t = ev->time_ns;
    while (rc == 1 && ev->time_ns == t) {
      if ((rc = wl__run_push(p, ev))) return rc;
      p->raw_pos++;
      rc = wl__peek(p, &ev);
    }
    if (rc < 0) return rc;
    p->pass_events += p->run_len;
    uint64_t next_t;
    if (rc == 1) {
      next_t = ev->time_ns;
    } else {
      if (p->pass == 0) p->period = wl_meta_period(wl_source_meta(p->src), t);
      next_t = p->period > t ? p->period : t + 1;
    }
    /* Spread a run of n events over [t, next_t): event i at t + i*span/n.
     * A run of one keeps its time. */
    uint64_t span = next_t - t, n = p->run_len;
    uint64_t base = p->pass * p->period;
    size_t w = 0;
    for (size_t i = 0; i < p->run_len; i++) {
      uint64_t dt = 0;
      if (n > 1)
        dt = span <= UINT64_MAX / n ? span * i / n  /* exact integer path */
                                    : (uint64_t)((double)span * (double)i / (double)n);
      uint64_t trace_t = t + dt;
      if (p->pass == 0 && trace_t < p->offset_ns) continue;
      p->run[w] = p->run[i];
      p->run[w].time_ns = base + trace_t - p->offset_ns;
      w++;
    }
    p->run_len = w;
    if (w) return 1;
  }
}

long wl_player_read(wl_player *p, wl_event *buf, size_t max) {
  size_t out = 0;
  while (out < max) {
    if (p->run_pos == p->run_len) {
      /* Fast path: an event whose successor in the batch has a later time
       * is a run of one (nothing to spread): copy it straight through. */
      size_t i = p->raw_pos;
      uint64_t base = p->pass * p->period;
      while (out < max && i + 1 < p->raw_len && p->raw[i].time_ns != p->raw[i + 1].time_ns &&
             (p->pass > 0 || p->raw[i].time_ns >= p->offset_ns)) {
        buf[out] = p->raw[i];
        buf[out].time_ns = base + p->raw[i].time_ns - p->offset_ns;
        out++;
        i++;
      }
      p->pass_events += i - p->raw_pos;
      p->raw_pos = i;
      if (out == max) break;
      int rc = wl__next_run(p);
      if (rc < 0) return rc;
      if (rc == 0) break;
    }
    size_t take = p->run_len - p->run_pos;
    if (take > max - out) take = max - out;
    memcpy(buf + out, p->run + p->run_pos, take * sizeof *buf);
    p->run_pos += take;
    out += take;
  }
  return (long)out;
}
