/* migsim plan --real: the simulated plan run again on real QEMU, its
 * migrations competing for one shaped link (kvr_net, kvr_fleet_run), and
 * compared VM by VM (res_plan_write_real). docs/planning.md, "Checked on a
 * real network". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_plan.h"
#include "kvr.h"
#include "mdl_sim.h"
#include "res_plan.h"
#include "sim_err.h"

static volatile sig_atomic_t cli__plan_signal;

static void cli__plan_on_signal(int sig) { cli__plan_signal = sig; }

int cli_plan_layout(void *ctx, mdl_scenario *s) {
  (void)ctx;
  mdl_scenario sim;
  int rc = kvr_sim_layout(s, &sim);
  if (!rc) *s = sim;
  return rc;
}

int cli_plan_real(res_plan *plan, const char *out, const cli_plan_real_opts *ro) {
  size_t n = res_plan_vm_count(plan);
  double rate;
  uint64_t latency_ns;
  cli_check(res_plan_one_link(plan, &rate, &latency_ns), "plan --real");
  if (n > 16) cli_die("plan --real: %zu VMs; a real run takes at most 16 at once", n);

  kvr_fleet_job *jobs = calloc(n, sizeof *jobs);
  mdl_scenario *scen = calloc(n, sizeof *scen);
  kvr_fleet_outcome *res = calloc(n, sizeof *res);
  res_plan_real_vm *real = calloc(n, sizeof *real);
  if (!jobs || !scen || !res || !real) cli_die("plan --real: out of memory");
  for (size_t i = 0; i < n; i++) {
    res_plan_vm_outcome vo;
    cli_check(res_plan_vm(plan, i, &vo), "plan --real");
    cli_check(res_plan_vm_scenario(plan, i, &scen[i]), "plan --real");
    jobs[i].s = &scen[i];
    jobs[i].start_ns = (uint64_t)(vo.start_s * 1e9 + 0.5);
  }

  /* Until the fleet holds its own guard: a signal is remembered, and the
   * link is removed before exiting. */
  struct sigaction sa, old[3];
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli__plan_on_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int k = 0; k < 3; k++) sigaction(sigs[k], &sa, &old[k]);

  kvr_net net;
  kvr_net_opts no = {ro->net_name, rate, latency_ns, ro->verbose ? stderr : NULL};
  if (!ro->quiet)
    fprintf(stderr, "plan: real run: %zu migrations over one link shaped to %.1f Mbit/s of payload%s\n", n,
            rate * 8 / 1e6, latency_ns ? " (with latency)" : "");
  int rc = kvr_net_up(&no, &net);
  if (rc) cli_check(rc, "plan --real");
  kvr_options o;
  kvr_options_init(&o);
  o.accel = ro->accel;
  o.qemu = ro->qemu;
  o.dest_netns = net.netns;
  o.dest_addr = net.dst_addr;
  o.log = ro->verbose ? stderr : NULL;
  double makespan = 0;
  int ran = !cli__plan_signal;
  if (ran) rc = kvr_fleet_run(jobs, n, &o, res, &makespan);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", rc ? sim_error_message() : "");
  kvr_net_down(&net);
  for (int k = 0; k < 3; k++) sigaction(sigs[k], &old[k], NULL);
  if (!ran) cli_die("plan --real: interrupted by signal %d before the migrations started", (int)cli__plan_signal);

  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const mdl_result *r = &res[i].r;
    res_plan_real_vm *x = &real[i];
    x->start_s = res[i].start_s;
    x->end_s = res[i].end_s;
    x->status = (int)r->status;
    x->downtime_ms = r->status == MDL_STATUS_COMPLETED ? r->downtime_ms : -1;
    x->transferred_bytes = r->transferred_bytes;
    snprintf(x->integrity, sizeof x->integrity, "%s", r->integrity);
    snprintf(x->failure, sizeof x->failure, "%s", r->failure);
    bad |= r->status != MDL_STATUS_COMPLETED;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/real", out);
  res_plan_real_summary s;
  int wrc = rc == 0 || rc == SIM_EINTERRUPTED ? res_plan_write_real(plan, real, makespan, dir, &s) : 0;
  for (size_t i = 0; i < n; i++) mdl_result_free(&res[i].r);
  free(jobs);
  free(scen);
  free(res);
  free(real);
  if (rc) cli_die("plan --real: %s", msg);
  cli_check(wrc, "plan --real: writing the comparison");
  printf("real: makespan %.2f s (simulated %.2f s, error %.1f %%); %zu VMs completed both ways\n",
         s.makespan_real_s, s.makespan_sim_s, s.makespan_pct, s.compared);
  printf("error median / p90: total time %.1f / %.1f %%, bytes %.1f / %.1f %%, downtime %.0f / %.0f ms\n",
         s.total_median_pct, s.total_p90_pct, s.bytes_median_pct, s.bytes_p90_pct, s.downtime_median_ms,
         s.downtime_p90_ms);
  printf("comparison: %s/comparison.md, %s/comparison.csv; real rows: %s/vms.csv\n", dir, dir, dir);
  return bad ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}
