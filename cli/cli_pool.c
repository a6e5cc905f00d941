/* cli_pool: a minimal work-sharing thread pool over an index range. */
#include "cli_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim_err.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag is set from a signal handler");

typedef struct {
  uint64_t count, next;
  cli_pool_fn fn;
  void *ctx;
  atomic_int *stop;
  int rc;
  pthread_mutex_t lock;
} cli__pool;

static void *cli__pool_worker(void *arg) {
  cli__pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    if (p->rc || (p->stop && atomic_load_explicit(p->stop, memory_order_relaxed)) || p->next >= p->count) {
      pthread_mutex_unlock(&p->lock);
      return NULL;
    }
    uint64_t index = p->next++;
    pthread_mutex_unlock(&p->lock);
    int rc = p->fn(p->ctx, index);
    if (rc) {
      pthread_mutex_lock(&p->lock);
      if (!p->rc) p->rc = rc;
      pthread_mutex_unlock(&p->lock);
    }
  }
}

int cli_pool_run(uint64_t count, long jobs, cli_pool_fn fn, void *ctx, atomic_int *stop) {
  cli__pool p = {count, 0, fn, ctx, stop, 0, PTHREAD_MUTEX_INITIALIZER};
  if (jobs < 1) jobs = 1;
  if ((uint64_t)jobs > count) jobs = count ? (long)count : 1;
  pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
  if (!threads) return sim_errorf(SIM_ENOMEM, "out of memory starting threads");
  long started = 0;
  for (; started < jobs; started++)
    if (pthread_create(&threads[started], NULL, cli__pool_worker, &p)) break;
  if (started == 0) {
    cli__pool_worker(&p); /* defensive: no thread could start, run inline */
  }
  for (long i = 0; i < started; i++) pthread_join(threads[i], NULL);
  free(threads);
  pthread_mutex_destroy(&p.lock);
  return p.rc;
}

long cli_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}
