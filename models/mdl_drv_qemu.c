/* mdl_drv_qemu: QEMU's migration thread (migration_thread,
 * migration_iteration_run, ram_save_iterate): rate-limit windows, the
 * threshold rule, the wrapping cursor, the switch to post-copy.
 * docs/simulator.md describes each rule and the QEMU code it follows. */
#include <assert.h>
#include <math.h>

#include "mdl_sim_internal.h"
#include "sim_err.h"

/* One iteration step (ram_save_iterate): send from the cursor until the
 * window's budget is used, nothing is dirty, or the step is older than
 * max_step (checked every step_check_pages pages). */
static void mdl__iterate(mdl__sim *S) {
  double step_start = S->t, step_end = S->t + (double)S->p->max_step_ns;
  uint64_t i = 0;
  int remote = S->pages_remote;
  while (S->window_bytes <= S->budget || mdl__request_ready(S)) {
    if (remote) {
      mdl__guest_advance(S, S->t);
      if (mdl__request_ready(S)) {
        mdl__serve_request(S);
        i++;
        continue;
      }
    } else {
      /* Accesses up to now land before the word is sent; only those inside
       * the word's send time can interleave with it. */
      mdl__guest_advance(S, S->t);
      uint64_t n = mdl__send_word(S, step_end, 1);
      if (n) {
        i += n;
        if (S->t - step_start > (double)S->p->max_step_ns) break;
        continue;
      }
    }
    uint64_t page = mdl_mem_next_dirty(&S->mem, S->cursor);
    if (page == UINT64_MAX) break;
    mdl__send_page(S, page);
    if ((i % S->p->step_check_pages) == 0 && S->t - step_start > (double)S->p->max_step_ns) {
      i++;
      break;
    }
    i++;
    if (S->t >= S->limit) break;
  }
  mdl__put(S, S->p->eos_bytes, 0, 1);
}

static void mdl__qemu_thread(sim_engine *e, void *ctx, uint64_t arg);

static void mdl__yield(mdl__sim *S, double at) {
  /* The validated ranges keep every time finite and far below 2^63 ns. */
  assert(isfinite(at) && at >= 0 && at < 0x1p63);
  uint64_t when = (uint64_t)ceil(at);
  if (mdl__schedule(S, when, MDL__PRIO_THREAD, mdl__qemu_thread, &S->thread_event)) S->error = SIM_ENOMEM;
}

static void mdl__qemu_thread(sim_engine *e, void *ctx, uint64_t arg) {
  (void)e;
  (void)arg;
  mdl__sim *S = ctx;
  if (S->phase == PH_DONE) return;
  double now = mdl__now(S);
  if (S->t < now) S->t = now;
  S->limit = mdl__next_event(S);

  if (S->phase == PH_SETUP) {
    /* Setup: everything is dirty, logging starts, first sync. */
    S->t += (double)S->p->setup_ns;
    mdl_mem_mark_all_dirty(&S->mem);
    mdl__sync(S);
    S->r->setup_time_ms = S->t / 1e6;
    S->phase = PH_PRECOPY;
  }
  while (S->phase != PH_DONE && !S->error) {
    if (S->t >= S->limit) {
      mdl__yield(S, S->t);
      return;
    }
    mdl__update_counters(S);
    if (S->window_bytes > S->budget) {
      /* Rate limited: sleep until the window ends. A post-copy page
       * request wakes the thread, but QEMU 7.2 starts no iteration step
       * while the budget is spent (qemu_savevm_state_iterate returns at
       * once), so the request waits for the next window like the background
       * stream: docs/postcopy-faults.md. */
      mdl__yield(S, S->window_start + (double)S->p->window_ns);
      return;
    }
    /* migration_iteration_run */
    double pending = (double)S->mem.dirty_count * S->s->page_size;
    if (S->phase == PH_PRECOPY && pending < S->threshold) {
      mdl__sync(S);
      pending = (double)S->mem.dirty_count * S->s->page_size;
    }
    if (pending > 0 && pending >= S->threshold) {
      if (S->phase == PH_PRECOPY && S->start_postcopy) {
        mdl__postcopy_start(S);
        continue;
      }
      mdl__iterate(S);
    } else {
      mdl__completion(S);
    }
  }
}

const mdl__driver mdl__driver_qemu = {MDL_DRIVER_QEMU, "qemu", 1, mdl__qemu_thread};
