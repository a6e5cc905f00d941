/* cli_plan: `migsim plan --real` (cmd_plan_real.c), kept apart from the
 * planner itself: it needs root, QEMU and a shaped link. */
#ifndef CLI_PLAN_H
#define CLI_PLAN_H

#include "mdl_scenario.h"
#include "res_plan.h"

typedef struct {
  const char *net_name; /* namespace and interface prefix; NULL = "migsim" */
  const char *accel;    /* kvr_options.accel; NULL = auto */
  const char *qemu;     /* kvr_options.qemu; NULL = qemu-system-x86_64 */
  int quiet, verbose;
} cli_plan_real_opts;

/* res_plan_opts.adjust for a plan that will run for real: the simulator
 * sees the replay guest's whole memory (kvr_sim_layout). */
int cli_plan_layout(void *ctx, mdl_scenario *s);

/* Runs the plan that has run (res_plan_run) on real QEMU: every VM at its
 * simulated start time, all over one veth link shaped to the plan's path
 * speed; writes OUT/real/{vms.csv,comparison.csv,comparison.md} and prints
 * the errors. Returns CLI_EXIT_OK when every real migration completed,
 * CLI_EXIT_CHECK otherwise; dies (exit 2, one line) on an error, after
 * removing the link. */
int cli_plan_real(res_plan *plan, const char *out, const cli_plan_real_opts *o);

#endif
