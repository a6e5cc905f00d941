/* mdl_drv_xen: Xen's pre-copy (Clark et al., NSDI 2005): rounds in
 * address order, each paced at the previous round's dirty rate plus an
 * increment, pages re-dirtied during a round skipped, and the stop rules
 * (few pages left, round cap, bytes sent, rate above the maximum). */
#include <stdio.h>

#include "mdl_sim_internal.h"

/* Sends one page paced at `rate` (Xen paces each round at its own rate,
 * never faster than the link allows). */
static void mdl__xen_put_rate(mdl__sim *S, uint64_t page, double rate) {
  double before = S->t;
  uint64_t bytes = mdl_is_nonzero(&S->mem, page) ? S->normal_bytes : S->zero_bytes;
  mdl__send_page(S, page);
  double paced = before + (double)bytes / rate * 1e9;
  if (S->t < paced) S->t = paced;
}

/* Xen's rounds run start to end in one handler: pre-copy only, so no
 * control event (switch) can intervene, and the timeout is checked here. */
static void mdl__xen_thread(sim_engine *e, void *ctx, uint64_t arg) {
  (void)e;
  (void)arg;
  mdl__sim *S = ctx;
  if (S->phase == PH_DONE) return;
  const mdl_profile *p = S->p;
  double mem_bytes = (double)S->mem.pages * S->s->page_size;
  double max_rate = S->max_bw < S->link_bw ? S->max_bw : S->link_bw;
  double rate = p->xen_min_rate > 0 ? p->xen_min_rate : max_rate;
  if (rate > max_rate) rate = max_rate;
  S->t += (double)p->setup_ns;
  mdl_mem_mark_all_dirty(&S->mem);
  S->phase = PH_PRECOPY;
  mdl__open_round(S);
  S->r->setup_time_ms = S->t / 1e6;
  for (;;) {
    double round_start = S->t;
    S->bw_est = rate;
    S->round.bandwidth_est = rate;
    /* One pass in address order over the pages dirty at the round start;
     * pages written again during the round are skipped (sent next round). */
    for (uint64_t page = 0; page < S->mem.pages;) {
      uint64_t w = page >> 6;
      uint64_t bits = S->mem.dirty[w] & (~0ull << (page & 63));
      if (!bits) {
        page = (w + 1) << 6;
        continue;
      }
      page = (w << 6) + (uint64_t)__builtin_ctzll(bits);
      mdl__guest_advance(S, S->t);
      if (!mdl_is_logged(&S->mem, page)) mdl__xen_put_rate(S, page, rate);
      page++;
      if (S->t >= (double)S->s->timeout_ns) break;
    }
    if (S->t >= (double)S->s->timeout_ns) {
      S->r->status = MDL_STATUS_NOT_CONVERGED;
      snprintf(S->r->failure, sizeof S->r->failure, "timeout after %.3f s", (double)S->s->timeout_ns / 1e9);
      mdl__finish(S, (double)S->s->timeout_ns);
      return;
    }
    mdl__guest_advance(S, S->t);
    uint64_t redirtied = mdl_mem_count_log(&S->mem);
    double duration = S->t - round_start;
    double dirty_rate = duration > 0 ? (double)redirtied * S->s->page_size / duration * 1e9 : 0;
    uint64_t remaining = mdl_mem_count_dirty_or_log(&S->mem);
    double next_rate = dirty_rate + p->xen_rate_increment;
    if (next_rate < p->xen_min_rate) next_rate = p->xen_min_rate;
    int stop = (double)remaining * S->s->page_size < (double)p->xen_stop_bytes ||
               S->r->dirty_sync_count >= p->xen_max_rounds ||
               (double)S->r->transferred_bytes >= p->xen_max_sent_factor * mem_bytes ||
               next_rate > max_rate;
    if (stop) break;
    rate = next_rate;
    mdl_mem_sync(&S->mem, 0, S->mem.words, 1);
    mdl__open_round(S);
  }
  /* Stop-and-copy at the maximum rate. */
  S->downtime_start = S->t;
  S->stopped = 1;
  S->t += (double)p->stop_ns;
  mdl_mem_sync(&S->mem, 0, S->mem.words, 1);
  mdl__open_round(S);
  S->round.bandwidth_est = max_rate;
  for (uint64_t page = mdl_mem_next_dirty(&S->mem, 0); page != UINT64_MAX;
       page = mdl_mem_next_dirty(&S->mem, page))
    mdl__xen_put_rate(S, page, max_rate);
  mdl__put(S, p->device_state_bytes, 0, 0);
  S->r->downtime_ms = (S->t - S->downtime_start) / 1e6;
  S->r->status = MDL_STATUS_COMPLETED;
  mdl__finish(S, S->t);
}

const mdl__driver mdl__driver_xen = {MDL_DRIVER_XEN, "xen", 0, mdl__xen_thread, NULL, NULL, NULL, NULL, NULL, NULL};
