/* mdl_drv_qemu: QEMU's migration thread (migration_thread,
 * migration_iteration_run, ram_save_iterate): rate-limit windows, the
 * threshold rule, the wrapping cursor, the switch to post-copy.
 * docs/simulator.md describes each rule and the QEMU code it follows. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "mdl_sim_internal.h"
#include "sim_err.h"

static void mdl__multifd_sync(mdl__sim *S);
static void mdl__multifd_release(mdl__sim *S);

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
  /* 7.2: every ram_save_iterate syncs the multifd channels before its end
   * marker, in post-copy too (10.0: per round, mdl__qemu_wrap). */
  if (S->s->multifd && !S->p->multifd_sync_per_round) mdl__multifd_sync(S);
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
    if (S->s->multifd) mdl__multifd_sync(S); /* ram_save_setup syncs the channels once */
    S->r->setup_time_ms = S->t / 1e6;
    S->phase = PH_PRECOPY;
  }
  while (S->phase != PH_DONE && !S->error) {
    if (S->t >= S->limit) {
      mdl__yield(S, S->t);
      return;
    }
    /* The rate-limit sleep that ends a window lets the channels write. */
    if (S->t >= S->window_start + (double)S->p->window_ns) mdl__multifd_release(S);
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
    /* migration_iteration_run. A hybrid's switch decided at a sync (the
     * setup sync too) reaches QEMU as migrate-start-postcopy over QMP
     * after the thread has begun the step that follows the sync, so the
     * flag is set once that step is done and the switch comes at the next
     * pass (docs/simulator.md, "Hybrid switch"). */
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
      if (S->switch_decided) S->start_postcopy = 1;
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


/* ------------------------------------------------ multifd and compress */

/* The share of its time the source's vCPU thread wants a host core, at
 * the migration thread's time: none while the guest is stopped or runs
 * on the destination; else the share the throttle leaves it
 * (clock_speed), and with profile vcpu_halt_min_ns, in a gap between
 * accesses that long or longer, only vcpu_wake_spin_ns of the gap: the
 * guest halts through the rest (docs/features.md, "How the workers share
 * the host"). */
static double mdl__vcpu_load(const mdl__sim *S) {
  if (S->stopped || S->blocked || S->pages_remote || S->phase == PH_DONE) return 0;
  double load = S->clock_speed, halt = S->p->vcpu_halt_min_ns;
  if (halt <= 0) return load;
  size_t n = S->ev_pos;
  if (n >= S->ev_len) return S->ev_end ? 0 : load; /* no access left: idle */
  /* The gap the guest is in (the first of a batch: the one after it). */
  if (n == 0 && S->ev_len > 1) n = 1;
  if (n == 0) return load;
  double gap = (double)(S->ev[n].time_ns - S->ev[n - 1].time_ns) / S->clock_speed;
  if (gap >= halt && S->p->vcpu_wake_spin_ns < gap) load *= S->p->vcpu_wake_spin_ns / gap;
  return load;
}

/* Worker i (a multifd channel or compress thread) can start at `ready`
 * and needs `cpu_ns` of CPU: when it is done. With profile worker_cpus,
 * the workers busy at `ready` (this one included) and the source's vCPU
 * (mdl__vcpu_load) share that many host cores equally, and the job
 * stretches by its share for its whole length: a step-wise processor
 * sharing, exact while the workers stay busy, as they do whenever the
 * migration thread waits for one (docs/features.md, "How the workers
 * share the host"). */
static double mdl__worker_run(mdl__sim *S, uint32_t i, double ready, double cpu_ns) {
  double wall = cpu_ns > 0 ? cpu_ns : 0;
  if (cpu_ns > 0) S->r->cpu_workers_ms += cpu_ns / 1e6;
  if (S->p->worker_cpus && cpu_ns > 0) {
    double runnable = 1 + mdl__vcpu_load(S);
    for (uint32_t k = 0; k < S->workers; k++)
      if (k != i && S->worker_cpu_end[k] > ready) runnable += 1;
    if (runnable > S->p->worker_cpus) wall *= runnable / S->p->worker_cpus;
  }
  S->worker_cpu_end[i] = ready + wall;
  return S->worker_cpu_end[i];
}

/* A multifd packet or a sync packet on channel `c`, handed over at S->t:
 * the channel's thread starts when it is free and done with the packet
 * before it, spends `cpu_ns`, then writes `bytes` on its own socket; the
 * channels share the link (wire_free) but not the main stream's socket,
 * or, on a loopback with profile multifd_link (channel_bw), each moves its
 * bytes at that speed on its own. The destination's thread for the channel
 * needs `recv_ns`. The thread is free again once the rest of its write
 * fits in the socket buffer. */
static void mdl__channel_write(mdl__sim *S, uint32_t c, uint64_t bytes, double cpu_ns, double recv_ns) {
  double ready = mdl__worker_run(S, c, S->worker_free[c] > S->t ? S->worker_free[c] : S->t, cpu_ns);
  double bw = S->channel_bw > 0 ? S->channel_bw : S->link_bw;
  double start = S->channel_bw > 0 || S->wire_free <= ready ? ready : S->wire_free;
  double wire_end = start + (double)bytes / bw * 1e9;
  double dest_start = S->worker_end[c] > start ? S->worker_end[c] : start;
  double end = dest_start + recv_ns > wire_end ? dest_start + recv_ns : wire_end;
  double free_at = end - (double)S->p->socket_buffer_bytes / bw * 1e9;
  if (S->channel_bw <= 0) S->wire_free = wire_end;
  S->worker_end[c] = end;
  S->worker_free[c] = free_at > wire_end ? free_at : wire_end;
  S->r->multifd_packets++;
}

/* QEMU's multifd_send_pages (migration/multifd.c): hands the packet being
 * filled to the next idle channel, round robin from the one after the
 * last used; when none is idle the migration thread waits for the first
 * to finish (channels_ready). 7.2 charges the rate limit, `transferred`
 * and multifd-bytes here with the raw pages plus the packet header, even
 * when the channel compresses them; 10.0 (multifd_count_sent) counts what
 * the channel writes. Each packet carries the whole header (packet_len),
 * whatever its page count. */
static void mdl__multifd_send(mdl__sim *S) {
  uint64_t normal = S->mfd_normal, zero = S->mfd_zero;
  if (!normal && !zero) return;
  double first_free = INFINITY;
  for (uint32_t i = 0; i < S->workers; i++)
    if (S->worker_free[i] < first_free) first_free = S->worker_free[i];
  if (first_free > S->t) S->t = first_free;
  uint32_t c = S->next_channel;
  while (S->worker_free[c] > S->t) c = (c + 1) % S->workers;
  S->next_channel = (c + 1) % S->workers;
  uint64_t raw = normal * S->s->page_size;
  uint64_t payload = S->comp_ns > 0 ? (uint64_t)ceil((double)raw * S->compress_ratio) : raw;
  double cpu = (double)normal * (S->p->multifd_page_ns + S->comp_ns) + (double)zero * S->p->zero_page_ns;
  double recv = (double)normal * (S->p->dest_page_ns + S->comp_dest_ns) + (double)zero * S->p->dest_zero_page_ns;
  mdl__channel_write(S, c, S->packet_len + payload, cpu, recv);
  uint64_t counted = S->packet_len + (S->p->multifd_count_sent ? payload : raw);
  if (S->p->multifd_count_sent && S->p->multifd_count_on_wait) {
    /* The thread waited for channel c: its last packet is written now. */
    S->window_bytes += S->mfd_held[c];
    S->mfd_held[c] = counted;
    mdl__count_ram_unlimited(S, counted);
  } else {
    mdl__count_ram(S, counted);
  }
  S->r->multifd_bytes += counted;
  S->mfd_normal = S->mfd_zero = 0;
}

/* Profile multifd_count_on_wait: QEMU 10.0 adds a packet to multifd-bytes,
 * which the rate limit reads, only once the channel's write has returned
 * (multifd_send_thread). On this 2-core TCG host the channels get a CPU
 * only when the migration thread waits: for an idle channel, at a sync or
 * in the rate-limit sleep. So the limit sees every channel's last packet
 * late, and a window carries the packets that cross the budget plus one
 * per channel (docs/features.md, "multifd on 10.0"). The migration thread
 * waits for every channel: what they held counts now. */
static void mdl__multifd_release(mdl__sim *S) {
  for (uint32_t c = 0; S->mfd_held && c < S->workers; c++) {
    S->window_bytes += S->mfd_held[c];
    S->mfd_held[c] = 0;
  }
}

/* QEMU's multifd_send_sync_main: the packet being filled goes out, then
 * every channel gets a sync packet (a header, packet_len bytes, counted
 * like a packet) behind whatever it is sending, and the migration thread
 * waits until each has written it. The destination reads past the end
 * marker only when every channel has delivered its sync
 * (multifd_recv_sync_main at RAM_SAVE_FLAG_EOS): the main stream waits for
 * them. 7.2 calls it in ram_save_setup, at the end of every
 * ram_save_iterate and in ram_save_complete. */
static void mdl__multifd_sync(mdl__sim *S) {
  mdl__multifd_send(S);
  double done = S->t, delivered = S->link_free;
  for (uint32_t c = 0; c < S->workers; c++) {
    mdl__channel_write(S, c, S->packet_len, 0, 0);
    mdl__count_ram(S, S->packet_len);
    S->r->multifd_bytes += S->packet_len;
    if (S->worker_free[c] > done) done = S->worker_free[c];
    if (S->worker_end[c] > delivered) delivered = S->worker_end[c];
  }
  mdl__multifd_release(S);
  S->t = done;
  S->link_free = delivered;
}

/* QEMU 7.2's ram_save_target_page with multifd (migration/ram.c): the
 * migration thread checks each page for zeros itself (save_zero_page): a
 * zero page goes on the main stream as usual; any other page is queued
 * (ram_save_multifd_page -> multifd_queue_page) and counted as a normal
 * page; a full packet (MULTIFD_PACKET_SIZE / page size = 128 pages) is
 * handed to a channel. Not once post-copy is active (a placed page must
 * arrive whole; the main stream carries it). 10.0 (multifd_zero_in_threads,
 * zero-page-detection=multifd) queues zero pages too: the channel finds
 * them (multifd_send_zero_page_detect) and sends their offsets only. */
static int mdl__multifd_page(mdl__sim *S, uint64_t page, int nonzero) {
  if (!nonzero && !S->p->multifd_zero_in_threads) return MDL__PAGE_PLAIN;
  if (!S->mfd_normal && !S->mfd_zero) S->mfd_first = page;
  S->t += S->p->multifd_queue_page_ns;
  if (nonzero) {
    S->mfd_normal++;
    S->r->normal_pages++;
  } else {
    S->mfd_zero++;
    S->r->zero_pages++;
  }
  S->pages_sent++;
  if (S->mfd_normal + S->mfd_zero == (512u << 10) / S->s->page_size) mdl__multifd_send(S);
  return MDL__PAGE_TAKEN;
}

/* Copies compress thread i's finished page into the main stream
 * (qemu_put_qemu_file) and counts it (update_compress_thread_counts): a
 * zero page as a duplicate, else compressed-size grows by what follows
 * the 8-byte header. */
static void mdl__compress_collect(mdl__sim *S, uint32_t i) {
  uint64_t bytes = S->worker_bytes[i];
  if (!bytes) return;
  double recv = S->worker_zero[i] ? S->p->dest_zero_page_ns : S->comp_dest_ns / S->s->decompress_threads;
  mdl__put_page_bytes(S, bytes, S->p->normal_page_ns, recv, S->worker_page[i]);
  if (!S->worker_zero[i]) {
    S->r->compression_pages++;
    S->r->compressed_size += bytes - S->p->page_header_bytes;
  }
  S->worker_bytes[i] = 0;
}

/* QEMU 7.2's flush_compressed_data: waits for every compress thread and
 * copies what each holds, in thread order. At a block change (the cursor
 * wraps) and in ram_save_complete. */
static void mdl__compress_flush(mdl__sim *S) {
  for (uint32_t i = 0; i < S->workers; i++)
    if (S->worker_free[i] > S->t) S->t = S->worker_free[i];
  for (uint32_t i = 0; i < S->workers; i++) mdl__compress_collect(S, i);
}

/* QEMU 7.2's save_compress_page and compress_page_with_multi_thread
 * (migration/ram.c), tried before the zero check: the first page of a
 * block goes the usual way after a flush; otherwise the first idle thread
 * in index order takes the page, after the migration thread copied that
 * thread's previous page into the stream; with none idle the migration
 * thread waits (compress-wait-thread, on by default). The thread checks
 * for zeros (a zero page: header + 1 byte) or deflates the page at
 * compress-level: header, 4-byte length, compress_ratio x page.
 * Not once post-copy is active, and with xbzrle only in the first pass. */
static int mdl__compress_page(mdl__sim *S, uint64_t page, int nonzero) {
  if (S->comp_new_block) {
    S->comp_new_block = 0;
    mdl__compress_flush(S);
    return MDL__PAGE_PLAIN;
  }
  uint32_t i = 0;
  for (;;) {
    for (i = 0; i < S->workers && S->worker_free[i] > S->t; i++) continue;
    if (i < S->workers) break;
    double first = INFINITY;
    for (uint32_t k = 0; k < S->workers; k++)
      if (S->worker_free[k] < first) first = S->worker_free[k];
    S->t = first;
  }
  mdl__compress_collect(S, i);
  S->worker_zero[i] = (uint8_t)!nonzero;
  S->worker_page[i] = page;
  S->worker_bytes[i] = nonzero ? S->p->page_header_bytes + 4 + (uint64_t)ceil(S->compress_ratio * S->s->page_size)
                               : S->zero_bytes;
  S->worker_free[i] = mdl__worker_run(S, i, S->t, S->p->zero_page_ns + (nonzero ? S->comp_ns : 0));
  S->pages_sent++;
  if (!nonzero) S->r->zero_pages++;
  return MDL__PAGE_TAKEN;
}

/* The cursor wrapped: a new block for compress (flush) and for multifd
 * (7.2: the packet being filled is sent, multifd_queue_page); 10.0 syncs
 * the channels once per pass here (multifd_ram_sync_per_round in
 * find_dirty_block) and marks it on the main stream
 * (RAM_SAVE_FLAG_MULTIFD_FLUSH, 8 bytes). */
static void mdl__qemu_wrap(mdl__sim *S) {
  if (!S->workers || S->pages_remote) return;
  if (S->s->compress) {
    S->comp_new_block = 1;
  } else if (S->p->multifd_sync_per_round) {
    mdl__multifd_sync(S);
    mdl__put(S, 8, 0, 1);
  } else {
    mdl__multifd_send(S);
  }
}

/* ram_save_complete: compress flushes its threads, multifd syncs its
 * channels (10.0: and marks the flush on the main stream). */
static void mdl__qemu_complete(mdl__sim *S) {
  if (S->s->compress) {
    mdl__compress_flush(S);
  } else if (S->s->multifd) {
    mdl__multifd_sync(S);
    if (S->p->multifd_sync_per_round) mdl__put(S, 8, 0, 1);
  }
}

/* compression-rate (migration_update_rates, once per dirty-rate period):
 * the period's raw bytes of compressed pages over their compressed bytes;
 * busy-rate stays 0, since with compress-wait-thread on the migration
 * thread waits rather than counting a busy thread. */
static void mdl__compress_rates(mdl__sim *S) {
  uint64_t size = S->r->compressed_size - S->comp_size0, pages = S->r->compression_pages - S->comp_pages0;
  if (size) S->r->compression_rate = (double)(pages * S->s->page_size) / (double)size;
  S->comp_size0 = S->r->compressed_size;
  S->comp_pages0 = S->r->compression_pages;
}

static void mdl__auto_converge(mdl__sim *S, uint64_t dirty_bytes, uint64_t xfer_bytes);

static void mdl__qemu_sync_period(mdl__sim *S, uint64_t dirty_bytes, uint64_t xfer_bytes) {
  if (S->s->compress) mdl__compress_rates(S);
  mdl__auto_converge(S, dirty_bytes, xfer_bytes);
}

static int mdl__xbzrle_page(mdl__sim *S, uint64_t page, int nonzero, uint64_t *bytes, double *cpu_ns);

/* ram_save_target_page's order: compress, then (zero check) multifd, then
 * XBZRLE inside the plain path; none of them once post-copy is active. */
static int mdl__qemu_encode_page(mdl__sim *S, uint64_t page, int nonzero, uint64_t *bytes, double *cpu_ns) {
  if (S->workers && !S->pages_remote) {
    if (S->s->compress && !(S->s->xbzrle && S->wrapped)) return mdl__compress_page(S, page, nonzero);
    if (S->s->multifd) return mdl__multifd_page(S, page, nonzero);
  }
  return mdl__xbzrle_page(S, page, nonzero, bytes, cpu_ns);
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

const mdl__driver mdl__driver_qemu = {MDL_DRIVER_QEMU,        "qemu",
                                      1,                      mdl__qemu_thread,
                                      mdl__qemu_sync_period,  mdl__qemu_encode_page,
                                      mdl__preempt_requested, mdl__preempt_urgent,
                                      mdl__qemu_wrap,         mdl__qemu_complete};
