/* mdl_sim: the migration simulator.
 *
 * Runs one scenario on the discrete-event kernel: the source's migration
 * thread (driven by the profile: QEMU's rate-limit windows or Xen's rounds)
 * and the guest, whose workload clock replays the trace and stops while the
 * guest is stopped or blocked on a post-copy fault. See docs/simulator.md
 * for the mechanics and which QEMU behaviour each one reproduces. */
#ifndef MDL_SIM_H
#define MDL_SIM_H

#include <stdint.h>

#include "mdl_scenario.h"
#include "sim_engine.h"

/* Simulates `s`. `r` must be initialised (mdl_result_init(r, "sim")); it
 * receives the metrics, one round per dirty sync and, when s->timeline,
 * one sample per estimation window. Returns 0 when the run produced a
 * result (completed or not_converged) or a negative code when the scenario
 * could not be run (unreadable trace, unknown profile, ...), with a
 * message. Deterministic: same scenario, same result. */
int mdl_simulate(const mdl_scenario *s, mdl_result *r);

/* As mdl_simulate with an already loaded profile (sweeps load it once). */
int mdl_simulate_with(const mdl_scenario *s, const mdl_profile *profile, mdl_result *r);

/* 0 when the hypervisor of `profile` has every feature, parameter and
 * algorithm scenario `s` uses; SIM_EUNSUPPORTED naming the first missing. */
int mdl_profile_supports(const mdl_profile *profile, const mdl_scenario *s);

/* ---- one migration on a shared engine (mdl_fleet runs many) ---- */

typedef struct mdl_sim mdl_sim;

/* What a migration tells its owner: it ended (completed or timed out; its
 * result is final), or the rate it asks of the link changed (rate limit
 * lifted for stop-and-copy, post-copy's own limit). Called from inside the
 * migration's own event handler, at the migration's time, which may be
 * ahead of the engine's clock (a stop-and-copy runs inline): the owner
 * must not close `sim` from the call, only later from an event. */
typedef enum { MDL_SIM_DONE, MDL_SIM_DEMAND } mdl_sim_note;
typedef void (*mdl_sim_notify_fn)(void *ctx, mdl_sim *sim, mdl_sim_note note);

/* Prepares scenario `s` (checked as mdl_simulate_with does) to migrate on
 * engine `e` from engine time `start_ns`: opens the workload, allocates
 * the guest, queues the migration thread at start_ns and the timeout at
 * start_ns + timeout. Results in `r` (initialised by the caller) use the
 * migration's own time (0 = start_ns), exactly as a run alone. `s`,
 * `profile`, `r` and `e` must outlive the migration. `notify` may be NULL.
 * 0 and *out, or a negative code with a message. Cost: the guest's bitmaps
 * (about 3 bits per page). */
int mdl_sim_open(sim_engine *e, const mdl_scenario *s, const mdl_profile *profile, mdl_result *r,
                 uint64_t start_ns, mdl_sim_notify_fn notify, void *ctx, mdl_sim **out);

/* Sets the link rate in bytes/s this migration's later writes cross the
 * link at (writes already in flight keep theirs); <= 0 restores the
 * scenario's own link. O(1). */
void mdl_sim_set_link_rate(mdl_sim *sim, double bytes_per_s);

/* How far the migration's thread may run ahead of the engine's clock in
 * one handler. 0 (the default): up to the engine's next event, whoever
 * queued it, as a run alone does. Otherwise up to its own next control
 * event (timeout, timed switch) or `quantum_ns` of its own time,
 * whichever comes first (UINT64_MAX: no quantum): on a shared engine the
 * other migrations' events then do not cut its iteration steps, and a
 * rate change reaches it at most a quantum late. */
void mdl_sim_set_quantum(mdl_sim *sim, uint64_t quantum_ns);

/* The rate the migration asks for now: its own link, capped by the rate
 * limit that applies in its phase (max-bandwidth in pre-copy,
 * postcopy-bandwidth after a switch, none in stop-and-copy). */
double mdl_sim_demand(const mdl_sim *sim);

/* 0, or the error that stopped the migration (out of memory, an unreadable
 * trace), with its message. */
int mdl_sim_error(const mdl_sim *sim);

/* Cancels the migration's queued events and frees it. NULL is a no-op. */
void mdl_sim_close(mdl_sim *sim);

#endif
