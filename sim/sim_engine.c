/* sim_engine: binary min-heap of events keyed by (time, priority, seq). */
#include "sim_engine.h"

#include <stdlib.h>

#include "sim_err.h"
#include "sim_vec.h"

typedef struct {
  uint64_t time;
  int priority;
  uint64_t seq; /* insertion order; also the event id */
  sim_handler fn;
  void *ctx;
  uint64_t arg;
} sim__event;

/* Cancelled ids live in a small open-addressing set; cancellations are
 * rare (a sleeping thread woken early), so a linear probe table suffices. */
struct sim_engine {
  sim__event *heap;
  size_t len, cap;
  uint64_t now;
  uint64_t next_seq;
  int stopped;
  uint64_t *cancelled;
  size_t cancelled_len, cancelled_cap;
};

int sim_engine_new(sim_engine **out) {
  sim_engine *e = calloc(1, sizeof *e);
  if (!e) return sim_errorf(SIM_ENOMEM, "out of memory creating the event engine");
  e->next_seq = 1;
  *out = e;
  return 0;
}

void sim_engine_free(sim_engine *e) {
  if (!e) return;
  free(e->heap);
  free(e->cancelled);
  free(e);
}

uint64_t sim_now(const sim_engine *e) { return e->now; }

static int sim__before(const sim__event *a, const sim__event *b) {
  if (a->time != b->time) return a->time < b->time;
  if (a->priority != b->priority) return a->priority < b->priority;
  return a->seq < b->seq;
}

uint64_t sim_schedule(sim_engine *e, uint64_t time_ns, int priority,
                      sim_handler fn, void *ctx, uint64_t arg) {
  sim__event *h = sim_grow(e->heap, &e->cap, e->len + 1, sizeof *h);
  if (!h) {
    sim_errorf(SIM_ENOMEM, "out of memory growing the event queue");
    return 0;
  }
  e->heap = h;
  sim__event ev = {time_ns < e->now ? e->now : time_ns, priority, e->next_seq++,
                   fn, ctx, arg};
  size_t i = e->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!sim__before(&ev, &e->heap[parent])) break;
    e->heap[i] = e->heap[parent];
    i = parent;
  }
  e->heap[i] = ev;
  return ev.seq;
}

static void sim__pop(sim_engine *e) {
  sim__event last = e->heap[--e->len];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= e->len) break;
    if (child + 1 < e->len && sim__before(&e->heap[child + 1], &e->heap[child])) child++;
    if (!sim__before(&e->heap[child], &last)) break;
    e->heap[i] = e->heap[child];
    i = child;
  }
  if (e->len) e->heap[i] = last;
}

static int sim__take_cancelled(sim_engine *e, uint64_t id) {
  for (size_t i = 0; i < e->cancelled_len; i++) {
    if (e->cancelled[i] == id) {
      e->cancelled[i] = e->cancelled[--e->cancelled_len];
      return 1;
    }
  }
  return 0;
}

void sim_cancel(sim_engine *e, uint64_t id) {
  if (id == 0 || id >= e->next_seq) return;
  /* Only ids still queued matter; a linear scan of the heap keeps the
   * cancelled set free of ids that already ran. O(n) but rare. */
  int queued = 0;
  for (size_t i = 0; i < e->len; i++)
    if (e->heap[i].seq == id) {
      queued = 1;
      break;
    }
  if (!queued) return;
  uint64_t *c = sim_grow(e->cancelled, &e->cancelled_cap, e->cancelled_len + 1, sizeof *c);
  if (!c) return; /* defensive: the event then simply runs */
  e->cancelled = c;
  e->cancelled[e->cancelled_len++] = id;
}

/* Drops cancelled events sitting at the head. */
static void sim__skip_cancelled(sim_engine *e) {
  while (e->len && e->cancelled_len && sim__take_cancelled(e, e->heap[0].seq)) sim__pop(e);
}

uint64_t sim_next_time(sim_engine *e) {
  sim__skip_cancelled(e);
  return e->len ? e->heap[0].time : SIM_TIME_NEVER;
}

uint64_t sim_run(sim_engine *e) {
  uint64_t handled = 0;
  e->stopped = 0;
  while (!e->stopped) {
    sim__skip_cancelled(e);
    if (!e->len) break;
    sim__event ev = e->heap[0];
    sim__pop(e);
    e->now = ev.time;
    ev.fn(e, ev.ctx, ev.arg);
    handled++;
  }
  return handled;
}

void sim_stop(sim_engine *e) { e->stopped = 1; }

size_t sim_pending(const sim_engine *e) { return e->len - e->cancelled_len; }
