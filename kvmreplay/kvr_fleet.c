/* kvr_fleet: several real migrations at once (kvr.h, kvr_fleet_run).
 *
 * One thread per migration runs an ordinary kvr_run (its own QEMU pair,
 * run directory and QMP connections; QEMUs are forked by kvr_proc's one
 * spawner thread, so none dies with the thread that asked for it). The
 * runs meet at a gate once their guests are booted and the migration is
 * configured: booting takes seconds and varies, and the point is to
 * compare *when* migrations overlap, so the common start is taken only
 * when every run is ready (a run that failed before counts as arrived).
 * Each then waits for its own start time from there. The signal guard is
 * held for the whole fleet, so SIGINT/SIGTERM/SIGHUP kill every QEMU
 * group and every run ends as interrupted. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvr_internal.h"
#include "sim_err.h"

typedef struct kvr_fleet kvr_fleet;

typedef struct {
  kvr_fleet *f;
  size_t index;
  kvr_options o;
  int arrived;   /* reached the gate */
  char err[512]; /* kvr_run's message when rc != 0 (messages are per thread) */
} kvr_fleet_slot;

struct kvr_fleet {
  const kvr_fleet_job *jobs;
  kvr_fleet_outcome *out;
  kvr_fleet_slot *slots;
  size_t n;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  size_t arrived, gone; /* at the gate; ended without reaching it */
  int released, interrupted;
  uint64_t t0;          /* the common start (monotonic ns) */
};

/* Sleeps up to 100 ms or until `when`; 1 when a signal arrived. */
static int kvr_fleet_nap(uint64_t when) {
  uint64_t now = kvr__now_ns();
  if (now >= when) return kvr__guard_signal() != 0;
  uint64_t d = when - now < 100000000ull ? when - now : 100000000ull;
  struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !kvr__guard_signal()) {
  }
  return kvr__guard_signal() != 0;
}

/* The gate (kvr_options.gate): waits for the others, then for its start. */
static int kvr_fleet_gate(void *ctx) {
  kvr_fleet_slot *slot = ctx;
  kvr_fleet *f = slot->f;
  pthread_mutex_lock(&f->lock);
  slot->arrived = 1;
  f->arrived++;
  pthread_cond_broadcast(&f->cond);
  while (!f->released) {
    if (f->arrived + f->gone == f->n) {
      f->released = 1;
      f->t0 = kvr__now_ns();
      pthread_cond_broadcast(&f->cond);
      break;
    }
    if (kvr__guard_signal()) {
      f->interrupted = f->released = 1;
      pthread_cond_broadcast(&f->cond);
      break;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&f->cond, &f->lock, &until);
  }
  uint64_t start = f->t0 + f->jobs[slot->index].start_ns;
  int interrupted = f->interrupted;
  pthread_mutex_unlock(&f->lock);
  if (interrupted) return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
  while (kvr__now_ns() < start)
    if (kvr_fleet_nap(start))
      return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
  return 0;
}

static void *kvr_fleet_thread(void *arg) {
  kvr_fleet_slot *slot = arg;
  kvr_fleet *f = slot->f;
  kvr_fleet_outcome *out = &f->out[slot->index];
  out->rc = kvr_run(f->jobs[slot->index].s, &slot->o, &out->r, &out->info);
  if (out->rc) snprintf(slot->err, sizeof slot->err, "%s", sim_error_message());
  pthread_mutex_lock(&f->lock);
  if (!slot->arrived) f->gone++;
  pthread_cond_broadcast(&f->cond);
  pthread_mutex_unlock(&f->lock);
  return NULL;
}

int kvr_fleet_run(const kvr_fleet_job *jobs, size_t n, const kvr_options *o, kvr_fleet_outcome *out,
                  double *makespan_s) {
  if (makespan_s) *makespan_s = 0;
  if (n == 0) return 0;
  if (n > 16) return sim_errorf(SIM_ERANGE, "%zu migrations at once: at most 16", n);
  kvr_options defaults;
  if (!o) {
    kvr_options_init(&defaults);
    o = &defaults;
  }
  kvr_fleet f;
  memset(&f, 0, sizeof f);
  f.jobs = jobs;
  f.out = out;
  f.n = n;
  f.slots = calloc(n, sizeof *f.slots);
  pthread_t *threads = calloc(n, sizeof *threads);
  if (!f.slots || !threads) {
    free(f.slots);
    free(threads);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&f.lock, NULL);
  pthread_cond_init(&f.cond, NULL);
  memset(out, 0, n * sizeof *out);
  for (size_t i = 0; i < n; i++) {
    /* What a run that never starts reports (kvr_run overwrites it). */
    mdl_result_init(&out[i].r, "kvmreplay");
    out[i].r.status = MDL_STATUS_FAILED;
    snprintf(out[i].r.failure, sizeof out[i].r.failure, "not started");
    out[i].start_s = out[i].end_s = -1;
  }
  kvr__guard_install(); /* held across all runs: a signal ends them all */
  size_t started = 0;
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    kvr_fleet_slot *slot = &f.slots[i];
    slot->f = &f;
    slot->index = i;
    slot->o = *o;
    slot->o.gate = kvr_fleet_gate;
    slot->o.gate_ctx = slot;
    if (pthread_create(&threads[i], NULL, kvr_fleet_thread, slot) != 0) {
      rc = sim_errorf(SIM_ENOMEM, "cannot start a thread for migration %zu", i + 1);
      /* The ones started must not wait at the gate for it. */
      pthread_mutex_lock(&f.lock);
      f.gone += n - i;
      pthread_cond_broadcast(&f.cond);
      pthread_mutex_unlock(&f.lock);
      break;
    }
    started++;
  }
  for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  double makespan = 0;
  for (size_t i = 0; i < started; i++) {
    kvr_fleet_outcome *x = &out[i];
    if (!rc && x->rc && x->rc != SIM_EINTERRUPTED) rc = sim_errorf(x->rc, "%s", f.slots[i].err);
    if (x->info.migrate_ns && f.t0 && x->info.migrate_ns >= f.t0) {
      x->start_s = (double)(x->info.migrate_ns - f.t0) / 1e9;
      x->end_s = x->start_s + x->r.total_time_ms / 1e3;
      if (x->end_s > makespan) makespan = x->end_s;
    }
  }
  if (!rc && kvr__guard_signal())
    rc = sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
  kvr__guard_restore();
  pthread_cond_destroy(&f.cond);
  pthread_mutex_destroy(&f.lock);
  free(f.slots);
  free(threads);
  if (makespan_s) *makespan_s = makespan;
  return rc;
}
