/* sim_engine: the discrete-event kernel.
 *
 * A clock in integer nanoseconds and a queue of pending events ordered by
 * (time, priority, insertion order), so that two runs of the same model
 * process events in exactly the same order. The kernel knows nothing about
 * migration: a model registers handlers and schedules events. */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_engine sim_engine;

/* An event handler. `arg` is the value given at scheduling time. */
typedef void (*sim_handler)(sim_engine *e, void *ctx, uint64_t arg);

#define SIM_TIME_NEVER UINT64_MAX

/* A new engine at time 0 with an empty queue. 0 or SIM_ENOMEM. */
int sim_engine_new(sim_engine **out);
/* Frees the engine and any events still queued. NULL is a no-op. */
void sim_engine_free(sim_engine *e);

/* Current simulated time (the time of the event being handled). */
uint64_t sim_now(const sim_engine *e);

/* Queues fn(ctx, arg) at `time_ns` (>= sim_now; earlier times are clamped
 * to now). Lower `priority` runs first among equal times; equal time and
 * priority run in scheduling order. Returns an id > 0 usable with
 * sim_cancel, or 0 when out of memory (the error message is set).
 * O(log n). */
uint64_t sim_schedule(sim_engine *e, uint64_t time_ns, int priority,
                      sim_handler fn, void *ctx, uint64_t arg);

/* Cancels a queued event; a no-op for ids already run or cancelled.
 * O(1) (the event is skipped when it reaches the head). */
void sim_cancel(sim_engine *e, uint64_t id);

/* Time of the earliest live queued event, or SIM_TIME_NEVER. Models that
 * advance a local clock inside one handler use it to avoid running past an
 * event that must be seen first. */
uint64_t sim_next_time(sim_engine *e);

/* Runs events until the queue is empty or sim_stop() is called.
 * Returns the number of events handled. */
uint64_t sim_run(sim_engine *e);

/* Makes sim_run() return after the current handler. */
void sim_stop(sim_engine *e);

/* Number of live events in the queue (cancelled ones excluded). */
size_t sim_pending(const sim_engine *e);

#endif
