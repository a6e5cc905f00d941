/* cli_pool: run N independent jobs on a few threads (sweeps, benchmarks).
 * Each job is fn(ctx, index) for index in [0, count); jobs are handed out in
 * index order. The first non-zero return stops handing out new jobs (jobs
 * already running finish) and is returned; so does *stop becoming non-zero
 * (e.g. set from a SIGINT handler), in which case the result is 0. The flag
 * is a lock-free atomic: the handler runs on one thread while the workers
 * read it on others, which a volatile sig_atomic_t does not make safe. */
#ifndef CLI_POOL_H
#define CLI_POOL_H

#include <stdatomic.h>
#include <stdint.h>

typedef int (*cli_pool_fn)(void *ctx, uint64_t index);

int cli_pool_run(uint64_t count, long jobs, cli_pool_fn fn, void *ctx, atomic_int *stop);

/* Number of online cores (at least 1). */
long cli_cores(void);

#endif
