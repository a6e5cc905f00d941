/* mdl_sim: the migration simulator.
 *
 * Runs one scenario on the discrete-event kernel: the source's migration
 * thread (driven by the profile: QEMU's rate-limit windows or Xen's rounds)
 * and the guest, whose workload clock replays the trace and stops while the
 * guest is stopped or blocked on a post-copy fault. See docs/simulator.md
 * for the mechanics and which QEMU behaviour each one reproduces. */
#ifndef MDL_SIM_H
#define MDL_SIM_H

#include "mdl_scenario.h"

/* Simulates `s`. `r` must be initialised (mdl_result_init(r, "sim")); it
 * receives the metrics, one round per dirty sync and, when s->timeline,
 * one sample per estimation window. Returns 0 when the run produced a
 * result (completed or not_converged) or a negative code when the scenario
 * could not be run (unreadable trace, unknown profile, ...), with a
 * message. Deterministic: same scenario, same result. */
int mdl_simulate(const mdl_scenario *s, mdl_result *r);

/* As mdl_simulate with an already loaded profile (sweeps load it once). */
int mdl_simulate_with(const mdl_scenario *s, const mdl_profile *profile, mdl_result *r);

#endif
