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
  mdl__flush(S); /* ram_save_iterate ends with qemu_fflush() */
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
    /* migration_iteration_run. A hybrid's switch decided at this pass's
     * sync reaches QEMU as migrate-start-postcopy over QMP, after the
     * thread has begun the step that follows the sync: the flag is read
     * as it was before the sync, and the switch comes at the next pass
     * (docs/simulator.md, "Hybrid switch"). */
    int switch_now = S->start_postcopy;
    double pending = (double)S->mem.dirty_count * S->s->page_size;
    if (S->phase == PH_PRECOPY && pending < S->threshold) {
      mdl__sync(S);
      pending = (double)S->mem.dirty_count * S->s->page_size;
    }
    if (pending > 0 && pending >= S->threshold) {
      if (S->phase == PH_PRECOPY && switch_now) {
        mdl__postcopy_start(S);
        continue;
      }
      mdl__iterate(S);
    } else {
      mdl__completion(S);
    }
  }
}

/* ------------------------------------------------------ auto-converge */

/* QEMU 7.2's migration_trigger_throttle and mig_throttle_guest_down
 * (migration/ram.c), at the end of each dirty-rate period (a sync more
 * than 1 s after the last period's end): when the period dirtied more
 * bytes than throttle-trigger-threshold % of the bytes it transferred, a
 * counter goes up; the second time (not necessarily in a row: the counter
 * is only reset when it fires) the throttle starts at cpu-throttle-initial
 * or rises by cpu-throttle-increment (with tailslow, by no more than what
 * would bring the dirty rate down to the threshold), capped at
 * max-cpu-throttle. The throttled vCPU runs 1 - pct/100 of the time
 * (softmmu/cpu-throttle.c: it sleeps pct/(1-pct) x 10 ms after every
 * 10 ms it runs), so the replayed workload runs at that speed.
 * docs/features.md. */
static void mdl__auto_converge(mdl__sim *S, uint64_t dirty_bytes, uint64_t xfer_bytes) {
  const mdl_scenario *s = S->s;
  if (!s->auto_converge || S->phase != PH_PRECOPY || S->stopped) return;
  uint64_t threshold = xfer_bytes * s->throttle_trigger_threshold / 100;
  if (!(dirty_bytes > threshold && ++S->dirty_rate_high_cnt >= 2)) return;
  S->dirty_rate_high_cnt = 0;
  uint32_t pct;
  if (!S->throttle_pct) {
    pct = s->cpu_throttle_initial;
  } else {
    uint32_t inc = s->cpu_throttle_increment;
    if (s->cpu_throttle_tailslow) {
      /* QEMU computes these in uint64_t: cpu_ideal truncates. */
      uint64_t cpu_now = 100 - S->throttle_pct;
      uint64_t cpu_ideal = (uint64_t)((double)cpu_now * ((double)threshold / (double)dirty_bytes));
      if (cpu_now - cpu_ideal < inc) inc = (uint32_t)(cpu_now - cpu_ideal);
    }
    pct = S->throttle_pct + inc;
    if (pct > s->max_cpu_throttle) pct = s->max_cpu_throttle;
  }
  S->throttle_pct = pct;
  mdl__guest_set_speed(S, 1.0 - pct / 100.0);
}

/* ------------------------------------------------------------- xbzrle */

/* Bytes of QEMU's XOR + run-length encoding of a page whose `changed`
 * bytes differ from its cached copy, in one run (a write changes the same
 * bytes each time, docs/workloads.md): the unchanged run's length and the
 * changed run's length as ULEB128 (the unchanged run before it is short:
 * one byte), then the changed bytes (migration/xbzrle.c). */
static uint64_t mdl__xbzrle_encoded(uint64_t changed) {
  if (!changed) return 0;
  uint64_t uleb = 1;
  for (uint64_t v = changed; v >= 128; v >>= 7) uleb++;
  return 1 + uleb + changed;
}

/* QEMU 7.2's save_xbzrle_page (migration/ram.c) with its page cache
 * (migration/page_cache.c), from the cursor's second pass on and not in
 * post-copy: the cache is direct-mapped (slot = page mod slots), a slot's
 * age is the dirty_sync_count of its last insert or hit, and a miss
 * replaces another page only when that page is at least 2 syncs old. A
 * miss sends the page in full and caches it (not in completion, when the
 * guest is stopped); a hit encodes the delta: nothing changed, nothing
 * sent; a delta larger than the page (overflow) sends the page in full;
 * otherwise header + 1 + 2 + the delta. A zero page sent as such replaces
 * the cached copy (xbzrle_cache_zero_page). docs/features.md. */
static int mdl__xbzrle_page(mdl__sim *S, uint64_t page, int nonzero, uint64_t *bytes, double *cpu_ns) {
  if (!S->xbz_page || !S->wrapped || S->pages_remote) return MDL__PAGE_PLAIN;
  mdl_result *r = S->r;
  uint64_t slot = page & S->xbz_mask, age = r->dirty_sync_count;
  int cached = S->xbz_page[slot] == page;
  int last_stage = S->stopped;
  uint64_t *written = &S->written[page >> 6], bit = mdl_mask(page);
  if (!nonzero) {
    if (cached || S->xbz_page[slot] == UINT64_MAX || S->xbz_age[slot] + 2 <= age) {
      S->xbz_page[slot] = page;
      S->xbz_age[slot] = age;
      *written &= ~bit;
    }
    return MDL__PAGE_PLAIN;
  }
  *cpu_ns += S->p->xbzrle_page_ns;
  if (!cached) {
    r->xbzrle_cache_miss++;
    if (!last_stage && (S->xbz_page[slot] == UINT64_MAX || S->xbz_age[slot] + 2 <= age)) {
      S->xbz_page[slot] = page;
      S->xbz_age[slot] = age;
      *written &= ~bit;
    }
    return MDL__PAGE_PLAIN;
  }
  S->xbz_age[slot] = age;
  r->xbzrle_pages++;
  /* Unchanged since cached: the log bit came from a write made before the
   * page was last sent. */
  uint64_t encoded = *written & bit ? mdl__xbzrle_encoded(S->write_bytes) : 0;
  if (!last_stage) *written &= ~bit; /* the cache now holds what is sent */
  if (encoded == 0) return MDL__PAGE_SKIPPED;
  if (encoded > S->s->page_size) {
    r->xbzrle_overflow++;
    r->xbzrle_bytes += S->s->page_size;
    return MDL__PAGE_PLAIN;
  }
  r->xbzrle_bytes += 1 + 2 + encoded; /* QEMU leaves out the 8-byte header */
  *bytes = S->p->page_header_bytes + 1 + 2 + encoded;
  return MDL__PAGE_ENCODED;
}

/* --------------------------------------------------- postcopy-preempt */

/* QEMU 7.2 with postcopy-preempt (migration/ram.c,
 * postcopy_preempt_choose_channel): a page the destination asked for goes
 * on the preempt channel, a socket of its own, and the destination's
 * preempt thread places it; so it does not wait behind the pages already
 * queued on the main stream, but it is still sent by the migration thread,
 * which starts no iteration while the rate-limit budget is spent
 * (docs/postcopy-faults.md). docs/features.md. */
static int mdl__preempt_requested(mdl__sim *S, uint64_t page, double *arrival) {
  if (!S->s->postcopy_preempt) return 0;
  *arrival = mdl__send_page_aside(S, page, &S->t);
  return 1;
}

/* QEMU 8.0+ (10.0 here, profile key preempt_urgent): with postcopy-preempt
 * the return-path thread sends a requested page itself on the preempt
 * channel as the request arrives (ram_save_queue_pages ->
 * ram_save_host_page_urgent), so it waits neither for the migration thread
 * nor for the rate-limit window. A page no longer dirty (already in the
 * main stream) is left to the usual path. docs/qemu-10.0.md. */
static void mdl__preempt_urgent(mdl__sim *S) {
  if (!S->s->postcopy_preempt || !S->p->preempt_urgent || !mdl_is_dirty(&S->mem, S->fault_page)) return;
  double clock = S->req_arrival; /* the return-path thread's */
  mdl__resolve_fault(S, mdl__send_page_aside(S, S->fault_page, &clock));
}

const mdl__driver mdl__driver_qemu = {MDL_DRIVER_QEMU, "qemu", 1, mdl__qemu_thread, mdl__auto_converge,
                                      mdl__xbzrle_page, mdl__preempt_requested, mdl__preempt_urgent};
