/* mdl_fleet: many page-exact migrations on one engine, links shared
 * max-min fairly (mdl_fleet.h). */
#include "mdl_fleet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_sim.h"
#include "sim_engine.h"
#include "sim_err.h"

void mdl_fleet_maxmin(size_t nflows, const double *demand, const uint32_t (*path)[MDL_FLEET_MAX_PATH],
                      const uint32_t *plen, size_t nlinks, const double *cap, double *rate,
                      double *work) {
  double *rem = work, *count = work + nlinks, *frozen = work + 2 * nlinks;
  for (size_t l = 0; l < nlinks; l++) {
    rem[l] = cap[l];
    count[l] = 0;
  }
  size_t active = 0;
  for (size_t f = 0; f < nflows; f++) {
    rate[f] = 0;
    frozen[f] = demand[f] <= 0;
    if (frozen[f] != 0) continue;
    if (plen[f] == 0) { /* crosses no shared link: only its own cap */
      rate[f] = demand[f];
      frozen[f] = 1;
      continue;
    }
    active++;
    for (uint32_t k = 0; k < plen[f]; k++) count[path[f][k]]++;
  }
  /* Progressive filling: every unfrozen flow grows by the same step until
   * a link fills or a flow reaches its demand; those freeze. At least one
   * flow freezes per step, so at most nflows steps. */
  while (active > 0) {
    double inc = INFINITY;
    for (size_t l = 0; l < nlinks; l++)
      if (count[l] > 0 && rem[l] / count[l] < inc) inc = rem[l] / count[l];
    for (size_t f = 0; f < nflows; f++)
      if (frozen[f] == 0 && demand[f] - rate[f] < inc) inc = demand[f] - rate[f];
    if (inc < 0) inc = 0;
    for (size_t f = 0; f < nflows; f++) {
      if (frozen[f] != 0) continue;
      rate[f] += inc;
      for (uint32_t k = 0; k < plen[f]; k++) rem[path[f][k]] -= inc;
    }
    for (size_t f = 0; f < nflows; f++) {
      if (frozen[f] != 0) continue;
      int full = demand[f] - rate[f] <= 1e-9 * rate[f];
      for (uint32_t k = 0; k < plen[f] && !full; k++) {
        uint32_t l = path[f][k];
        full = rem[l] <= 1e-9 * cap[l];
      }
      if (!full) continue;
      frozen[f] = 1;
      active--;
      for (uint32_t k = 0; k < plen[f]; k++) count[path[f][k]]--;
    }
  }
}

/* ------------------------------------------------------------ the run */

typedef struct mdl__fleet mdl__fleet;

/* A running migration. Slots are allocated one by one, so the scenario and
 * result addresses the simulator keeps stay valid. */
typedef struct {
  mdl__fleet *fleet;
  size_t index; /* in fleet->slots */
  int used, done;
  size_t job;
  uint64_t start_ns;
  mdl_scenario s;
  mdl_result r;
  const mdl_profile *profile;
  mdl_sim *sim;
} mdl__slot;

struct mdl__fleet {
  const mdl_fleet_job *jobs;
  const size_t *order;
  size_t norder;
  const double *cap;
  size_t nlinks;
  mdl_fleet_limits lim;
  const mdl_fleet_callbacks *cb;
  sim_engine *e;
  mdl__slot **slots;
  size_t nslots;
  uint32_t *host_count;
  uint32_t nhosts;
  uint8_t *started;
  size_t first_pending, running;
  /* max-min workspace, nslots flows */
  double *demand, *rate, *work, *load;
  uint32_t (*path)[MDL_FLEET_MAX_PATH];
  uint32_t *plen;
  size_t *flow_slot;
  int error;
  uint64_t makespan;
};

static void mdl__fleet_fail(mdl__fleet *F, int rc) {
  if (!F->error) F->error = rc;
  sim_stop(F->e);
}

/* Recomputes every running migration's rate (mdl_fleet.h). O(flows^2). */
static void mdl__fleet_share(mdl__fleet *F) {
  size_t n = 0;
  for (size_t i = 0; i < F->nslots; i++) {
    mdl__slot *sl = F->slots[i];
    if (!sl->used) continue;
    const mdl_fleet_job *j = &F->jobs[sl->job];
    F->demand[n] = mdl_sim_demand(sl->sim);
    F->plen[n] = j->nlinks;
    memcpy(F->path[n], j->links, sizeof F->path[n]);
    F->flow_slot[n] = i;
    n++;
  }
  mdl_fleet_maxmin(n, F->demand, (const uint32_t(*)[MDL_FLEET_MAX_PATH])F->path, F->plen, F->nlinks,
                   F->cap, F->rate, F->work);
  for (size_t l = 0; l < F->nlinks; l++) F->load[l] = 0;
  for (size_t f = 0; f < n; f++) {
    /* Alone, a migration runs exactly as mdl_simulate runs it (nothing can
     * change its rate before it ends); with others, in quanta. */
    mdl_sim_set_quantum(F->slots[F->flow_slot[f]]->sim, n == 1 ? UINT64_MAX : MDL_FLEET_QUANTUM_NS);
    /* A flow held back by its own rate limit needs no cap on the link:
     * the migration's rate limit already paces it (its bursts within a
     * window go at link speed, as on QEMU). A flow held back by a link
     * crosses it at its share. */
    int own = F->rate[f] >= F->demand[f] * (1 - 1e-9);
    mdl_sim_set_link_rate(F->slots[F->flow_slot[f]]->sim, own ? 0 : F->rate[f]);
    for (uint32_t k = 0; k < F->plen[f]; k++) F->load[F->path[f][k]] += F->rate[f];
  }
  if (F->cb->rates) F->cb->rates(F->cb->ctx, sim_now(F->e), F->load, F->nlinks);
}

static void mdl__fleet_reap(sim_engine *e, void *ctx, uint64_t arg);

static void mdl__fleet_note(void *ctx, mdl_sim *sim, mdl_sim_note note) {
  (void)sim;
  mdl__slot *sl = ctx;
  mdl__fleet *F = sl->fleet;
  if (note == MDL_SIM_DEMAND) {
    mdl__fleet_share(F);
    return;
  }
  /* Ended at its own time, maybe ahead of the engine (a stop-and-copy
   * runs inline): it holds its share until then. */
  sl->done = 1;
  uint64_t end = sl->start_ns + (uint64_t)ceil(sl->r.total_time_ms * 1e6);
  if (!sim_schedule(F->e, end, 0, mdl__fleet_reap, F, sl->index)) mdl__fleet_fail(F, SIM_ENOMEM);
}

static int mdl__fleet_fits(const mdl__fleet *F, const mdl_fleet_job *j) {
  if (F->lim.max_total && F->running >= F->lim.max_total) return 0;
  if (F->lim.max_per_host &&
      (F->host_count[j->src_host] >= F->lim.max_per_host || F->host_count[j->dst_host] >= F->lim.max_per_host))
    return 0;
  return 1;
}

static mdl__slot *mdl__fleet_slot(mdl__fleet *F) {
  for (size_t i = 0; i < F->nslots; i++)
    if (!F->slots[i]->used) return F->slots[i];
  size_t n = F->nslots + 1;
  mdl__slot **slots = realloc(F->slots, n * sizeof *slots);
  if (!slots) return NULL;
  F->slots = slots;
  mdl__slot *sl = calloc(1, sizeof *sl);
  if (!sl) return NULL;
  sl->fleet = F;
  sl->index = F->nslots;
  slots[F->nslots] = sl;
  /* The flow arrays follow the slot count. */
  double *d = realloc(F->demand, n * sizeof *d);
  if (d) F->demand = d;
  double *r = realloc(F->rate, n * sizeof *r);
  if (r) F->rate = r;
  double *w = realloc(F->work, (2 * F->nlinks + n) * sizeof *w);
  if (w) F->work = w;
  uint32_t(*p)[MDL_FLEET_MAX_PATH] = realloc(F->path, n * sizeof *p);
  if (p) F->path = p;
  uint32_t *pl = realloc(F->plen, n * sizeof *pl);
  if (pl) F->plen = pl;
  size_t *fs = realloc(F->flow_slot, n * sizeof *fs);
  if (fs) F->flow_slot = fs;
  F->nslots = n;
  if (!d || !r || !w || !p || !pl || !fs) return NULL;
  return sl;
}

static int mdl__fleet_start(mdl__fleet *F, size_t job, uint64_t now) {
  mdl__slot *sl = mdl__fleet_slot(F);
  if (!sl) return sim_errorf(SIM_ENOMEM, "out of memory");
  mdl_scenario_defaults(&sl->s);
  sl->profile = NULL;
  int rc = F->cb->prepare(F->cb->ctx, job, &sl->s, &sl->profile);
  if (rc) return rc;
  mdl_result_init(&sl->r, "sim");
  if ((rc = mdl_sim_open(F->e, &sl->s, sl->profile, &sl->r, now, mdl__fleet_note, sl, &sl->sim))) {
    mdl_result_free(&sl->r);
    return rc;
  }
  sl->used = 1;
  sl->done = 0;
  sl->job = job;
  sl->start_ns = now;
  const mdl_fleet_job *j = &F->jobs[job];
  F->host_count[j->src_host]++;
  if (j->dst_host != j->src_host) F->host_count[j->dst_host]++;
  F->running++;
  return 0;
}

/* Starts every pending job that fits, in order. */
static int mdl__fleet_dispatch(mdl__fleet *F, uint64_t now) {
  while (F->first_pending < F->norder && F->started[F->first_pending]) F->first_pending++;
  for (size_t i = F->first_pending; i < F->norder; i++) {
    if (F->lim.max_total && F->running >= F->lim.max_total) break;
    if (F->started[i] || !mdl__fleet_fits(F, &F->jobs[F->order[i]])) continue;
    int rc = mdl__fleet_start(F, F->order[i], now);
    if (rc) return rc;
    F->started[i] = 1;
  }
  return 0;
}

static void mdl__fleet_reap(sim_engine *e, void *ctx, uint64_t arg) {
  mdl__fleet *F = ctx;
  mdl__slot *sl = F->slots[arg];
  uint64_t now = sim_now(e);
  int rc = mdl_sim_error(sl->sim);
  if (rc) {
    mdl__fleet_fail(F, rc);
    return;
  }
  if (now > F->makespan) F->makespan = now;
  F->cb->finished(F->cb->ctx, sl->job, sl->start_ns, &sl->r);
  mdl_sim_close(sl->sim);
  sl->sim = NULL;
  mdl_result_free(&sl->r);
  sl->used = 0;
  const mdl_fleet_job *j = &F->jobs[sl->job];
  F->host_count[j->src_host]--;
  if (j->dst_host != j->src_host) F->host_count[j->dst_host]--;
  F->running--;
  if ((rc = mdl__fleet_dispatch(F, now))) {
    mdl__fleet_fail(F, rc);
    return;
  }
  mdl__fleet_share(F);
}

static void mdl__fleet_begin(sim_engine *e, void *ctx, uint64_t arg) {
  (void)arg;
  mdl__fleet *F = ctx;
  int rc = mdl__fleet_dispatch(F, sim_now(e));
  if (rc) {
    mdl__fleet_fail(F, rc);
    return;
  }
  mdl__fleet_share(F);
}

int mdl_fleet_run(const mdl_fleet_job *jobs, const size_t *order, size_t norder, const double *cap,
                  size_t nlinks, const mdl_fleet_limits *limits, const mdl_fleet_callbacks *cb,
                  uint64_t *makespan_ns) {
  mdl__fleet F;
  memset(&F, 0, sizeof F);
  F.jobs = jobs;
  F.order = order;
  F.norder = norder;
  F.cap = cap;
  F.nlinks = nlinks;
  F.lim = *limits;
  F.cb = cb;
  int rc = 0;
  for (size_t i = 0; i < norder; i++) {
    const mdl_fleet_job *j = &jobs[order[i]];
    if (j->src_host + 1 > F.nhosts) F.nhosts = j->src_host + 1;
    if (j->dst_host + 1 > F.nhosts) F.nhosts = j->dst_host + 1;
    for (uint32_t k = 0; k < j->nlinks; k++)
      if (j->nlinks > MDL_FLEET_MAX_PATH || j->links[k] >= nlinks)
        return sim_errorf(SIM_EINVAL, "fleet job %zu: link %u out of range", order[i], j->links[k]);
  }
  F.host_count = calloc(F.nhosts + 1, sizeof *F.host_count);
  F.started = calloc(norder + 1, 1);
  F.load = calloc(nlinks + 1, sizeof *F.load);
  F.work = calloc(2 * nlinks + 1, sizeof *F.work);
  if (!F.host_count || !F.started || !F.load || !F.work) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = sim_engine_new(&F.e))) goto out;
  if (!sim_schedule(F.e, 0, 0, mdl__fleet_begin, &F, 0)) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto out;
  }
  sim_run(F.e);
  rc = F.error;
  if (rc == SIM_ENOMEM) sim_errorf(rc, "out of memory during the plan");
  if (makespan_ns) *makespan_ns = F.makespan;
out:
  for (size_t i = 0; i < F.nslots; i++) {
    if (F.slots[i]->used) {
      mdl_sim_close(F.slots[i]->sim);
      mdl_result_free(&F.slots[i]->r);
    }
    free(F.slots[i]);
  }
  sim_engine_free(F.e);
  free(F.slots);
  free(F.host_count);
  free(F.started);
  free(F.load);
  free(F.work);
  free(F.demand);
  free(F.rate);
  free(F.path);
  free(F.plen);
  free(F.flow_slot);
  return rc;
}
