/* mdl_sim: the migration simulator's driver-neutral core.
 *
 * Actors. The source's migration thread is an event-driven process on the
 * sim_engine, written by a driver (mdl_drv_qemu.c, mdl_drv_xen.c): it runs
 * inline while it is busy (sending pages advances its own clock `t`) and
 * schedules itself when it sleeps (rate limit) or must let an earlier
 * control event run first (hybrid switch time, timeout). The guest is
 * evaluated lazily: before the thread observes memory at time t it calls
 * mdl__guest_advance(t), which applies every trace access whose real time
 * (workload time + accumulated pause) is <= t. A post-copy fault blocks the
 * guest; its page request reaches the thread `latency` later and is served
 * ahead of the background stream, behind whatever is already queued in the
 * socket buffer.
 *
 * Time inside the thread is a double in nanoseconds (link serialisation is
 * fractional); events on the engine are integer nanoseconds. */
#include "mdl_sim.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_sim_internal.h"
#include "mdl_switch.h"
#include "sim_err.h"
#include "sim_units.h"

const char *const mdl__phase_names[] = {"setup", "precopy", "postcopy", "done"};

/* The drivers, found by the profile's `driver`. */
static const mdl__driver *const mdl__drivers[] = {&mdl__driver_qemu, &mdl__driver_xen};

static const mdl__driver *mdl__driver_of(mdl_driver id) {
  for (size_t i = 0; i < sizeof mdl__drivers / sizeof mdl__drivers[0]; i++)
    if (mdl__drivers[i]->id == id) return mdl__drivers[i];
  return NULL;
}

/* A migration's own time on a possibly shared engine (t0_ns = its 0). */
double mdl__now(const mdl__sim *S) { return (double)(sim_now(S->e) - S->t0_ns); }

double mdl__next_event(const mdl__sim *S) {
  if (!S->quantum_ns) {
    uint64_t next = sim_next_time(S->e);
    return next == SIM_TIME_NEVER ? INFINITY : (double)(next - S->t0_ns);
  }
  /* Shared engine: the other migrations' events do not cut this one's
   * steps; only its own control events and the quantum do. */
  double now = mdl__now(S), limit = (double)S->s->timeout_ns;
  if (S->switch_event && (double)S->s->switch_time_ns > now && (double)S->s->switch_time_ns < limit)
    limit = (double)S->s->switch_time_ns;
  if (S->quantum_ns != UINT64_MAX && now + (double)S->quantum_ns < limit) limit = now + (double)S->quantum_ns;
  return limit;
}

int mdl__schedule(mdl__sim *S, uint64_t at_ns, int priority, sim_handler fn, uint64_t *id) {
  *id = sim_schedule(S->e, S->t0_ns + at_ns, priority, fn, S, 0);
  return *id ? 0 : SIM_ENOMEM;
}

/* The rate this migration asks of the link changed (mdl_sim_demand). */
static void mdl__demand_changed(mdl__sim *S) {
  if (S->notify) S->notify(S->notify_ctx, S, MDL_SIM_DEMAND);
}

/* ------------------------------------------------------------ guest */

static int mdl__refill(mdl__sim *S) {
  if (S->ev_end) return 0;
  long n = wl_player_read(S->player, S->ev, MDL__EVENT_BATCH);
  if (n < 0) {
    S->error = (int)n;
    S->ev_end = 1;
    return (int)n;
  }
  S->ev_len = (size_t)n;
  S->ev_pos = 0;
  if (n == 0) S->ev_end = 1;
  if (S->offset) /* trace pages sit above guest_offset: once per event here */
    for (size_t i = 0; i < S->ev_len; i++) S->ev[i].pfn += S->offset;
  return (int)(n > 0);
}

/* The real time at which the running guest reaches workload time `w`. */
static double mdl__real_of(const mdl__sim *S, double w) {
  return S->clock_r0 + (w - S->clock_w0) / S->clock_speed;
}

/* A page request made at `when` on the return path, the main channel's
 * way back, which QEMU leaves with Nagle's algorithm on: a small segment
 * waits while an earlier one is unacknowledged. The source acknowledges a
 * request with the next stream data it sends; with none, Linux holds the
 * acknowledgement up to its delayed-ACK timeout (rp_delayed_ack_ns) while
 * the connection is in its interactive mode, which the stream's sending
 * soon after a request puts it in and the timer's firing takes it out of.
 * So after each burst of a rate-limited window, a request that follows
 * another before the timer fires waits for it; later ones in the same
 * sleep do not (docs/postcopy-faults.md, "Requests held by a delayed
 * acknowledgement"). The stream's sending is read from its own record of
 * busy periods, which covers the request's time (the migration thread
 * runs ahead of the guest). Returns when the request reaches the source. */
static double mdl__rp_send(mdl__sim *S, double when) {
  double send = when, ack = S->p->rp_delayed_ack_ns;
  if (ack > 0 && S->rp_last >= 0) {
    double sent = -1; /* the stream's last write before `when` */
    for (int k = 0; k < 2; k++)
      if (S->burst_lo[k] < when) sent = fmax(sent, fmin(S->burst_hi[k], when));
    if (sent <= S->rp_last && sent > S->rp_timer) { /* unacknowledged, timer armed */
      double fire = S->rp_last + ack;
      if (when < fire) send = fire + S->latency_ns; /* the ACK's way back */
      S->rp_timer = fire;
    }
  }
  S->rp_last = send + S->latency_ns + (double)S->p->request_bytes / S->link_bw * 1e9;
  return S->rp_last;
}

/* A post-copy access to a page still on the source: block the guest and
 * send a request. */
static void mdl__fault(mdl__sim *S, uint64_t page, double when) {
  S->blocked = 1;
  S->req_pending = 1;
  S->fault_page = page;
  S->fault_time = when;
  S->req_arrival = mdl__rp_send(S, when);
  S->r->postcopy_requests++;
  /* A driver may serve it where the request lands (QEMU 10.0's preempt). */
  if (S->drv->fault_urgent) S->drv->fault_urgent(S);
}

/* Doubles a full ring of `elem`-byte entries [*head, *tail) (indices
 * masked by *mask), moving them to the front; on failure it is unchanged.
 * The socket's flights and post-copy's pages in flight use it. */
static int mdl__ring_grow(void **ring, size_t elem, size_t *head, size_t *tail, size_t *mask) {
  size_t cap = 2 * (*mask + 1), n = 0;
  char *g = malloc(cap * elem);
  if (!g) return SIM_ENOMEM;
  for (size_t i = *head; i != *tail; i++, n++) memcpy(g + n * elem, (char *)*ring + (i & *mask) * elem, elem);
  free(*ring);
  *ring = g;
  *mask = cap - 1;
  *head = 0;
  *tail = n;
  return 0;
}

/* Post-copy: `page` was just written on the main stream and is placed at
 * `arrival` (docs/postcopy-faults.md, "Faults on pages in flight"). */
static void mdl__landing_add(mdl__sim *S, uint64_t page, double arrival) {
  if (!S->inflight) return;
  if (S->land_tail - S->land_head > S->land_mask) {
    void *ring = S->land;
    int rc = mdl__ring_grow(&ring, sizeof *S->land, &S->land_head, &S->land_tail, &S->land_mask);
    S->land = ring;
    if (rc) {
      S->error = rc;
      return;
    }
  }
  S->land[S->land_tail++ & S->land_mask] = (mdl__landing){arrival, page};
  S->inflight[page >> 6] |= mdl_mask(page);
}

/* The pages placed by real time `t` are in flight no more (arrivals grow
 * in send order: one stream). */
static void mdl__landing_drop(mdl__sim *S, double t) {
  while (S->land_head != S->land_tail && S->land[S->land_head & S->land_mask].arrival <= t) {
    uint64_t p = S->land[S->land_head++ & S->land_mask].page;
    S->inflight[p >> 6] &= ~mdl_mask(p);
  }
}

/* The arrival of an in-flight page (rare: a fault on it). */
static double mdl__landing_of(const mdl__sim *S, uint64_t page) {
  for (size_t i = S->land_head; i != S->land_tail; i++)
    if (S->land[i & S->land_mask].page == page) return S->land[i & S->land_mask].arrival;
  assert(0 && "in-flight page without a landing");
  return 0;
}

/* An access at `when` to a page sent on the main stream but not yet
 * placed: the destination requests it (QEMU counts the request), the
 * source finds it clean and sends nothing (get_queued_page in 7.2,
 * ram_save_host_page_urgent in 8.0+), and the vCPU waits for the copy in
 * flight. */
static void mdl__fault_in_flight(mdl__sim *S, uint64_t page, double when, double arrival) {
  S->r->postcopy_requests++;
  (void)mdl__rp_send(S, when); /* a request all the same, on the return path */
  S->fault_page = page;
  S->fault_time = when;
  mdl__resolve_fault(S, arrival);
}

/* Runs the guest's accesses up to real time `until`. The hot path of a
 * large guest: one cache line per write (see mdl_mem.h), prefetched a few
 * events ahead because scattered writes miss the cache. */
void mdl__guest_advance(mdl__sim *S, double until) {
again:
  if (S->stopped || S->blocked) return;
  double horizon = S->clock_w0 + (until - S->clock_r0) * S->clock_speed; /* in workload time */
  assert(!isnan(horizon));
  if (horizon < 0) return;
  uint64_t limit = horizon >= 1.8e19 ? UINT64_MAX : (uint64_t)horizon;
  enum { AHEAD = 32 };
  for (;;) {
    if (S->ev_pos == S->ev_len && mdl__refill(S) <= 0) return;
    const wl_event *ev = S->ev;
    size_t pos = S->ev_pos, len = S->ev_len;
    if (S->pages_remote) {
      for (; pos < len && ev[pos].time_ns <= limit; pos++) {
        uint64_t p = ev[pos].pfn;
        if (mdl_is_dirty(&S->mem, p)) {
          S->accesses += pos - S->ev_pos; /* this one counts once resumed */
          S->ev_pos = pos;
          mdl__fault(S, p, mdl__real_of(S, (double)ev[pos].time_ns));
          /* The access completes when the page arrives: later, or already
           * (a request served where it lands, QEMU 10.0's preempt), and
           * then the guest goes on at once, before anything the source
           * sends after the fault's time can look in flight to it. */
          if (S->blocked) return;
          goto again;
        }
        if (S->inflight && (S->inflight[p >> 6] & mdl_mask(p))) {
          double when = mdl__real_of(S, (double)ev[pos].time_ns);
          mdl__landing_drop(S, when);
          if (S->inflight[p >> 6] & mdl_mask(p)) {
            S->accesses += pos - S->ev_pos;
            S->ev_pos = pos;
            mdl__fault_in_flight(S, p, when, mdl__landing_of(S, p));
            goto again; /* the guest's clock moved: a new horizon */
          }
        }
      }
    } else if (!S->written) {
      for (; pos < len && ev[pos].time_ns <= limit; pos++) {
        if (pos + AHEAD < len) __builtin_prefetch(&S->mem.lz[ev[pos + AHEAD].pfn >> 6], 1);
        if (ev[pos].op != WL_OP_WRITE) continue;
        uint64_t p = ev[pos].pfn;
        mdl_lognz *w = &S->mem.lz[p >> 6];
        w->log |= mdl_mask(p);
        w->nonzero |= mdl_mask(p);
      }
    } else { /* xbzrle: also what changed since it was cached */
      for (; pos < len && ev[pos].time_ns <= limit; pos++) {
        if (ev[pos].op != WL_OP_WRITE) continue;
        uint64_t p = ev[pos].pfn;
        mdl_lognz *w = &S->mem.lz[p >> 6];
        w->log |= mdl_mask(p);
        w->nonzero |= mdl_mask(p);
        S->written[p >> 6] |= mdl_mask(p);
      }
    }
    S->accesses += pos - S->ev_pos;
    S->ev_pos = pos;
    if (pos < len) {
      /* Every later access is after `until`. */
      if (S->inflight) mdl__landing_drop(S, until);
      return;
    }
  }
}

void mdl__guest_set_speed(mdl__sim *S, double speed) {
  if (speed == S->clock_speed) return;
  assert(speed > 0 && speed <= 1);
  mdl__guest_advance(S, S->t);
  /* Re-anchor at S->t; a paused guest (stopped, blocked) is re-anchored
   * when it resumes, which moves clock_r0 past its pause. */
  double ran = S->t - S->clock_r0;
  if (ran > 0 && !S->stopped && !S->blocked) {
    S->throttle_lost_ns += ran * (1 - S->clock_speed);
    S->clock_w0 += ran * S->clock_speed;
    S->clock_r0 = S->t;
  }
  S->clock_speed = speed;
}

/* The guest resumes at `at` after waiting since `since`. */
static void mdl__guest_resume(mdl__sim *S, double since, double at, int is_stall) {
  double pause = at - since;
  if (pause < 0) pause = 0;
  S->clock_r0 += pause;
  if (is_stall) S->stall_ns += pause;
}

/* True when a not-yet-applied access before real time `until` touches word
 * `w`; conservative (true) when the answer is beyond the buffered batch. */
static int mdl__guest_touches_word(const mdl__sim *S, uint64_t w, double until) {
  if (S->stopped || S->ev_end) return 0;
  for (size_t i = S->ev_pos; i < S->ev_len; i++) {
    const wl_event *ev = &S->ev[i];
    if (mdl__real_of(S, (double)ev->time_ns) > until) return 0;
    if ((ev->pfn >> 6) == w) return 1;
  }
  return 1;
}

/* ------------------------------------------------------- link and send */

/* The socket and the receiving end (docs/simulator.md, "Socket and
 * receiver"). Every write is a flight: its bytes cross the link at link
 * speed and the destination then spends `recv_ns` on it (loading a page,
 * placing it in post-copy), one flight after another, so a flight ends at
 * max(start + wire time, start + recv_ns) with start = max(previous end,
 * write time). The sender may have at most socket_buffer_bytes in flights
 * that have not ended: it blocks until enough have. Cheap pages (a zero
 * page is 9 bytes) can thus pile up a long backlog of work at the
 * destination without ever blocking the sender, which is what a later
 * switch package, the device state or a requested page then waits behind.
 * Flights live in a ring: O(1) amortised per write. */

/* Earliest time >= t at which `bytes` more fit in the socket. Changes
 * nothing. */
static double mdl__room_at(const mdl__sim *S, double t, uint64_t bytes) {
  uint64_t inflight = S->fl_bytes;
  for (size_t i = S->fl_head; i != S->fl_tail; i++) {
    const mdl__flight *f = &S->fl[i & S->fl_mask];
    if (f->end > t) {
      if (inflight + bytes <= S->p->socket_buffer_bytes) break;
      t = f->end;
    }
    inflight -= f->bytes;
  }
  return t;
}

/* Where writing `bytes` after `cpu_ns` of work would leave the thread's
 * clock (returned) and the flight's end (*link_end). Changes nothing. */
static double mdl__put_end(const mdl__sim *S, uint64_t bytes, double cpu_ns, double recv_ns, double *link_end,
                           double *link_start) {
  double t = mdl__room_at(S, S->t + cpu_ns, bytes);
  double start = S->link_free > t ? S->link_free : t;
  if (link_start) *link_start = start;
  double busy = (double)bytes / S->link_bw * 1e9;
  *link_end = start + (busy > recv_ns ? busy : recv_ns);
  /* A write larger than the socket returns once the rest fits in it. */
  uint64_t cap = S->p->socket_buffer_bytes;
  if (bytes > cap) {
    double rest = start + (*link_end - start) * (double)(bytes - cap) / (double)bytes;
    if (rest > t) t = rest;
  }
  return t;
}

/* QEMU 10.0 (profile rate_at_flush) charges the rate limit and the
 * bandwidth estimate with migration_transferred_bytes(), which grows only
 * when qemu_fflush() writes the queued iovecs (migration/migration-stats.c,
 * migration/qemu-file.c); 7.2 charged each byte as it was queued
 * (qemu_put_buffer*(), qemu_put_byte(): rate_limit_used). The queue flushes
 * when it holds MAX_IOV_SIZE (64) iovec entries or its IO_BUF_SIZE (32 KiB)
 * buffer is full, and at the end of each iteration step. A normal page is a
 * buffered header and the page itself by reference, a new entry each;
 * buffered bytes right after buffered bytes extend the same entry
 * (add_to_iovec coalesces adjacent buffers): so 32 normal pages per flush,
 * and zero pages in between nearly free. A step therefore stops at the
 * first flush past the budget: up to 31 pages later than 7.2. */
enum { MDL__IOV_MAX = 64, MDL__IO_BUF_BYTES = 32768 };

void mdl__flush(mdl__sim *S) {
  S->window_bytes += S->q_bytes;
  S->q_bytes = S->q_buffered = 0;
  S->q_iov = 0;
  S->q_last_buffered = 0;
}

/* Queues `buffered` bytes copied into the buffer, then `by_reference` bytes
 * added as their own entry (a page's payload; 0: none). */
static void mdl__queue(mdl__sim *S, uint64_t buffered, uint64_t by_reference) {
  if (buffered) {
    if (!S->q_last_buffered) S->q_iov++;
    S->q_last_buffered = 1;
    S->q_bytes += buffered;
    S->q_buffered += buffered;
    if (S->q_iov >= MDL__IOV_MAX || S->q_buffered >= MDL__IO_BUF_BYTES) mdl__flush(S);
  }
  if (by_reference) {
    S->q_iov++;
    S->q_last_buffered = 0;
    S->q_bytes += by_reference;
    if (S->q_iov >= MDL__IOV_MAX) mdl__flush(S);
  }
}

/* Queues one page's bytes (rate_at_flush). */
static void mdl__queue_page(mdl__sim *S, int nonzero) {
  if (nonzero)
    mdl__queue(S, S->normal_bytes - S->s->page_size, S->s->page_size);
  else
    mdl__queue(S, S->zero_bytes, 0);
}

/* Counts bytes the thread wrote in the window and, for RAM, by phase. */
static void mdl__account(mdl__sim *S, uint64_t bytes, int ram) {
  if (!S->p->rate_at_flush) S->window_bytes += bytes;
  if (!ram) {
    /* QEMU 10.0 counts the whole stream in `transferred` (docs/qemu-10.0.md). */
    if (S->p->transferred_all) S->r->transferred_bytes += bytes;
    return;
  }
  S->r->transferred_bytes += bytes;
  if (S->phase == PH_PRECOPY && !S->stopped)
    S->r->precopy_bytes += bytes;
  else if (S->phase == PH_POSTCOPY)
    S->r->postcopy_bytes += bytes;
}

/* Writes `bytes` after `cpu_ns` of work; the destination needs `recv_ns`
 * for them. Allocates only when the ring of flights must grow. */
static void mdl__put_recv(mdl__sim *S, uint64_t bytes, double cpu_ns, double recv_ns, int ram) {
  double end, start, t = mdl__put_end(S, bytes, cpu_ns, recv_ns, &end, &start);
  if (start > S->burst_hi[0]) { /* the stream was idle: a new busy period */
    S->burst_lo[1] = S->burst_lo[0];
    S->burst_hi[1] = S->burst_hi[0];
    S->burst_lo[0] = start;
  }
  S->burst_hi[0] = end;
  while (S->fl_head != S->fl_tail && S->fl[S->fl_head & S->fl_mask].end <= t)
    S->fl_bytes -= S->fl[S->fl_head++ & S->fl_mask].bytes;
  if (S->fl_tail - S->fl_head > S->fl_mask) {
    void *ring = S->fl;
    int rc = mdl__ring_grow(&ring, sizeof *S->fl, &S->fl_head, &S->fl_tail, &S->fl_mask);
    S->fl = ring;
    if (rc) {
      S->error = rc;
      return;
    }
  }
  S->fl[S->fl_tail++ & S->fl_mask] = (mdl__flight){end, bytes};
  S->fl_bytes += bytes;
  S->t = t;
  S->link_free = end;
  mdl__account(S, bytes, ram);
}

/* A write of bytes copied into the stream's buffer (not pages by
 * reference) that the destination needs `recv_ns` to act on. */
static void mdl__put_buffered(mdl__sim *S, uint64_t bytes, double cpu_ns, double recv_ns, int ram) {
  mdl__put_recv(S, bytes, cpu_ns, recv_ns, ram);
  if (S->p->rate_at_flush) mdl__queue(S, bytes, 0);
}

/* A write the destination only reads (markers, device state, commands). */
void mdl__put(mdl__sim *S, uint64_t bytes, double cpu_ns, int ram) { mdl__put_buffered(S, bytes, cpu_ns, 0, ram); }

/* What the destination spends on `nz` normal and `zero` zero pages of one
 * dirty-bitmap word starting at `page`: loading them in pre-copy, placing
 * them (UFFDIO_COPY / UFFDIO_ZEROPAGE) in post-copy
 * (docs/postcopy-faults.md). In pre-copy the first page loaded into a huge
 * page also allocates it (docs/simulator.md, "Socket and receiver"); after
 * the switch QEMU has turned huge pages off. Changes nothing. */
static double mdl__recv_ns(const mdl__sim *S, uint64_t page, uint64_t nz, uint64_t zero) {
  const mdl_profile *p = S->p;
  if (S->pages_remote) return (double)nz * p->postcopy_place_ns + (double)zero * p->postcopy_place_zero_ns;
  double ns = (double)nz * p->dest_page_ns + (double)zero * p->dest_zero_page_ns;
  if (S->region_loaded) {
    uint64_t g = page / p->dest_region_pages;
    if (!(S->region_loaded[g >> 3] & (1u << (g & 7)))) ns += p->dest_region_ns;
  }
  return ns;
}

/* Marks the huge page holding `page` as allocated on the destination (after
 * a switch marking changes nothing: mdl__recv_ns no longer looks). */
static void mdl__region_load(mdl__sim *S, uint64_t page) {
  if (!S->region_loaded) return;
  uint64_t g = page / S->p->dest_region_pages;
  S->region_loaded[g >> 3] |= (uint8_t)(1u << (g & 7));
}

/* KVM clears the dirty log of a chunk lazily, just before the cursor first
 * sends from it after a sync. */
static void mdl__chunk_touch(mdl__sim *S, uint64_t page) {
  if (!S->chunk_needs_clear) return;
  uint64_t c = page / S->p->chunk_pages;
  if (!S->chunk_needs_clear[c]) return;
  S->chunk_needs_clear[c] = 0;
  uint64_t w0 = c * S->p->chunk_pages / 64;
  uint64_t w1 = (c + 1) * S->p->chunk_pages / 64;
  if (w1 > S->mem.words) w1 = S->mem.words;
  mdl_mem_clear_log(&S->mem, w0, w1);
}

/* Moves the cursor past `page`, wrapping at the end of memory; wrapping to
 * the start changes the RAM block, whose name is then resent. */
static void mdl__cursor_after(mdl__sim *S, uint64_t page) {
  if (page + 1 < S->mem.pages) {
    S->cursor = page + 1;
    return;
  }
  S->cursor = 0;
  S->wrapped = 1;
  if (S->p->block_name_bytes) mdl__put(S, S->p->block_name_bytes, 0, 1);
  if (S->drv->wrap) S->drv->wrap(S);
}

/* Takes dirty `page` out of the bitmap to send it; returns whether it goes
 * as a normal page (else as a zero page). */
static int mdl__take_page(mdl__sim *S, uint64_t page) {
  mdl__chunk_touch(S, page);
  S->mem.dirty[page >> 6] &= ~mdl_mask(page);
  S->mem.dirty_count--;
  int nonzero = mdl_is_nonzero(&S->mem, page) || !S->p->detect_zero_pages;
  return nonzero;
}

/* Sends one dirty page. */
void mdl__send_page(mdl__sim *S, uint64_t page) {
  int nonzero = mdl__take_page(S, page);
  uint64_t bytes = nonzero ? S->normal_bytes : S->zero_bytes;
  double cpu = nonzero ? S->p->normal_page_ns : S->p->zero_page_ns;
  /* A feature may send the page another way (xbzrle: a delta). */
  int how = S->drv->encode_page ? S->drv->encode_page(S, page, nonzero, &bytes, &cpu) : MDL__PAGE_PLAIN;
  if (how == MDL__PAGE_TAKEN) {
    mdl__cursor_after(S, page);
    return;
  }
  if (how == MDL__PAGE_PLAIN) {
    S->pages_sent++;
    if (nonzero)
      S->r->normal_pages++;
    else
      S->r->zero_pages++;
  }
  if (how != MDL__PAGE_SKIPPED) {
    mdl__put_recv(S, bytes, cpu, mdl__recv_ns(S, page, (uint64_t)nonzero, (uint64_t)!nonzero), 1);
    mdl__landing_add(S, page, S->link_free + S->latency_ns);
    if (S->p->rate_at_flush) { /* 10.0: counted when flushed (mdl__queue) */
      if (how == MDL__PAGE_PLAIN)
        mdl__queue_page(S, nonzero);
      else
        mdl__queue(S, bytes, 0); /* an encoded page is copied into the buffer */
    }
    mdl__region_load(S, page);
  } else {
    S->t += cpu;
  }
  mdl__cursor_after(S, page);
}

void mdl__count_ram(mdl__sim *S, uint64_t bytes) {
  S->window_bytes += bytes;
  mdl__count_ram_unlimited(S, bytes);
}

void mdl__count_ram_unlimited(mdl__sim *S, uint64_t bytes) {
  S->r->transferred_bytes += bytes;
  if (S->phase == PH_PRECOPY && !S->stopped)
    S->r->precopy_bytes += bytes;
  else if (S->phase == PH_POSTCOPY)
    S->r->postcopy_bytes += bytes;
}

void mdl__put_page_bytes(mdl__sim *S, uint64_t bytes, double cpu_ns, double recv_ns, uint64_t page) {
  mdl__put_recv(S, bytes, cpu_ns, recv_ns, 1);
  if (S->p->rate_at_flush) mdl__queue(S, bytes, 0);
  mdl__region_load(S, page);
}

double mdl__send_page_aside(mdl__sim *S, uint64_t page, double *clock) {
  int nonzero = mdl__take_page(S, page);
  S->pages_sent++;
  if (nonzero)
    S->r->normal_pages++;
  else
    S->r->zero_pages++;
  uint64_t bytes = nonzero ? S->normal_bytes : S->zero_bytes;
  *clock += nonzero ? S->p->normal_page_ns : S->p->zero_page_ns;
  double start = S->aside_free > *clock ? S->aside_free : *clock;
  double busy = (double)bytes / S->link_bw * 1e9, place = mdl__recv_ns(S, page, (uint64_t)nonzero, (uint64_t)!nonzero);
  S->aside_free = start + (busy > place ? busy : place);
  S->r->transferred_bytes += bytes;
  if (S->phase == PH_POSTCOPY) S->r->postcopy_bytes += bytes;
  return S->aside_free + S->latency_ns;
}

/* Sends every dirty page of the word holding the cursor at once, when no
 * access can interleave with it and the whole word fits the budget and the
 * step. Returns pages sent (0: take the page-by-page path). */
uint64_t mdl__send_word(mdl__sim *S, double step_end, int guest_can_run) {
  if (S->xbz_page && S->wrapped && !S->pages_remote) return 0; /* xbzrle: page by page */
  if (S->workers && !S->pages_remote) return 0;                 /* multifd, compress: page by page */
  uint64_t w = S->cursor >> 6;
  uint64_t bits = S->mem.dirty[w] & (~0ull << (S->cursor & 63));
  if (!bits) return 0;
  uint64_t nz_bits = S->p->detect_zero_pages ? bits & S->mem.lz[w].nonzero : bits;
  uint64_t n = (uint64_t)__builtin_popcountll(bits);
  uint64_t nz = (uint64_t)__builtin_popcountll(nz_bits);
  uint64_t bytes = nz * S->normal_bytes + (n - nz) * S->zero_bytes;
  double cpu = (double)nz * S->p->normal_page_ns + (double)(n - nz) * S->p->zero_page_ns;
  /* With rate_at_flush a flush inside the word could cross the budget,
   * where the page path stops: take the word only if even every queued
   * byte stays within it. */
  if (S->budget != UINT64_MAX && S->window_bytes + S->q_bytes + bytes > S->budget) return 0;
  double recv = mdl__recv_ns(S, w << 6, nz, n - nz);
  double link_end, t_end = mdl__put_end(S, bytes, cpu, recv, &link_end, NULL);
  if (t_end > step_end || t_end >= S->limit) return 0;
  if (guest_can_run && mdl__guest_touches_word(S, w, t_end)) return 0;
  uint64_t last = (w << 6) + 63 - (uint64_t)__builtin_clzll(bits);
  mdl__chunk_touch(S, (w << 6) + (uint64_t)__builtin_ctzll(bits));
  S->mem.dirty[w] &= ~bits;
  S->mem.dirty_count -= n;
  S->pages_sent += n;
  S->r->normal_pages += nz;
  S->r->zero_pages += n - nz;
  mdl__put_recv(S, bytes, cpu, recv, 1);
  if (S->inflight)
    for (uint64_t b = bits; b; b &= b - 1) mdl__landing_add(S, (w << 6) + (uint64_t)__builtin_ctzll(b), S->link_free + S->latency_ns);
  if (S->p->rate_at_flush)
    for (uint64_t b = bits; b; b &= b - 1) mdl__queue_page(S, (int)((nz_bits >> __builtin_ctzll(b)) & 1));
  mdl__region_load(S, w << 6);
  mdl__cursor_after(S, last);
  return n;
}

/* ---------------------------------------------------- rounds and syncs */

static void mdl__close_round(mdl__sim *S, double end) {
  if (!S->round_open) return;
  S->round.end_ms = end / 1e6;
  S->round.pages_sent = S->pages_sent - S->round_pages0;
  S->round.bytes_sent = S->r->transferred_bytes - S->round_bytes0;
  if (mdl_result_add_round(S->r, &S->round)) S->error = SIM_ENOMEM;
  S->round_open = 0;
}

static double mdl__sync_cost(const mdl__sim *S) {
  double gib = (double)S->mem.pages * (double)S->s->page_size / 1073741824.0;
  return (double)S->p->sync_base_ns + S->p->sync_ns_per_gib * gib;
}

void mdl__open_round(mdl__sim *S) {
  mdl__close_round(S, S->t);
  S->r->dirty_sync_count++;
  memset(&S->round, 0, sizeof S->round);
  S->round.round = (uint32_t)S->r->dirty_sync_count;
  S->round.start_ms = S->t / 1e6;
  S->round.dirty_pages_at_sync = S->mem.dirty_count;
  S->round.bandwidth_est = S->bw_est;
  S->round.throttle_pct = S->throttle_pct;
  S->round_pages0 = S->pages_sent;
  S->round_bytes0 = S->r->transferred_bytes;
  S->round_open = 1;
}

/* One dirty-bitmap sync (migration_bitmap_sync): takes the sync pause,
 * ORs the log into the migration bitmap and opens a round. */
void mdl__sync(mdl__sim *S) {
  S->t += mdl__sync_cost(S);
  mdl__guest_advance(S, S->t);
  int lazy = S->p->dirty_log == MDL_DIRTY_LOG_KVM && S->chunk_needs_clear;
  uint64_t added = mdl_mem_sync(&S->mem, 0, S->mem.words, !lazy);
  if (lazy) memset(S->chunk_needs_clear, 1, S->chunks);
  /* dirty-pages-rate, as QEMU computes it: at most once per second. */
  S->rate_period_pages += added;
  if (S->t > S->rate_period_start + 1e9) {
    if (S->drv->sync_period)
      S->drv->sync_period(S, S->rate_period_pages * S->s->page_size,
                          S->r->transferred_bytes - S->rate_period_bytes0);
    S->rate_period_bytes0 = S->r->transferred_bytes;
    S->dirty_pages_rate = (double)S->rate_period_pages * 1e9 / (S->t - S->rate_period_start);
    S->dirty_rate_known = 1;
    S->rate_period_pages = 0;
    S->rate_period_start = S->t;
  }
  uint64_t prev_dirty = S->round_open ? S->round.dirty_pages_at_sync : 0;
  mdl__open_round(S);
  /* The hybrid switch rule the harness applies too (mdl_switch.h); the
   * setup sync counts (switch-after = 1). */
  if ((S->phase == PH_PRECOPY || S->phase == PH_SETUP) && !S->stopped) {
    mdl_switch_view v = {S->r->dirty_sync_count, S->mem.dirty_count, prev_dirty, S->t, 1};
    if (mdl_switch_due(S->s, &v)) S->switch_decided = 1;
  }
}

/* migration_update_counters: closes the estimation window. */
void mdl__update_counters(mdl__sim *S) {
  if (S->t < S->window_start + (double)S->p->window_ns) return;
  double spent = S->t - S->window_start;
  assert(spent > 0);
  S->bw_est = (double)S->window_bytes / spent * 1e9;
  /* QEMU 8.2+: a non-zero avail-switchover-bandwidth replaces the estimate
   * in the threshold and in expected-downtime (the estimate is still
   * reported); mdl_simulate_with refuses it for a profile without it. */
  double switch_bw = S->s->avail_switchover_bandwidth > 0 ? S->s->avail_switchover_bandwidth : S->bw_est;
  S->threshold = switch_bw * (double)S->s->downtime_limit_ns / 1e9;
  /* QEMU 10.0 reports `downtime` instead once post-copy is active
   * (migrate_show_downtime()), so the expected value seen last is the
   * last pre-copy one. */
  int frozen = S->p->expected_downtime_frozen && S->phase == PH_POSTCOPY;
  if (S->dirty_pages_rate > 0 && S->window_bytes > 10000 && S->round_open && !frozen)
    S->expected_downtime_ns = (double)S->round.dirty_pages_at_sync * S->s->page_size / switch_bw * 1e9;
  if (S->s->timeline) {
    mdl_sample smp = {S->t / 1e6, S->r->transferred_bytes, S->mem.dirty_count, S->bw_est,
                      S->threshold, (uint32_t)S->r->dirty_sync_count, "",
                      S->dirty_rate_known ? S->dirty_pages_rate : -1, S->throttle_pct};
    snprintf(smp.phase, sizeof smp.phase, "%s", mdl__phase_names[S->phase]);
    if (mdl_result_add_sample(S->r, &smp)) S->error = SIM_ENOMEM;
  }
  S->window_start = S->t;
  S->window_bytes = 0;
}

/* -------------------------------------------------------- post-copy */

/* Serves a page request that has reached the source. */
void mdl__serve_request(mdl__sim *S) {
  S->req_pending = 0;
  double arrival;
  if (mdl_is_dirty(&S->mem, S->fault_page)) {
    if (!S->drv->send_requested || !S->drv->send_requested(S, S->fault_page, &arrival)) {
      mdl__send_page(S, S->fault_page);
      arrival = S->link_free + S->latency_ns;
    }
  } else {
    /* Sent since the fault by the background stream: the request is
     * dropped and the guest waits for that copy (still in flight, since
     * a blocked guest drops no landing). */
    uint64_t p = S->fault_page;
    arrival = S->inflight[p >> 6] & mdl_mask(p) ? mdl__landing_of(S, p) : S->t + S->latency_ns;
  }
  if (arrival < S->t) arrival = S->t;
  mdl__resolve_fault(S, arrival);
}

/* Whether the main stream sends a rate-limited window's burst at time
 * `x`: inside one of its last two busy periods, or past what it has
 * written so far while the migration thread, not yet past `x`, still has
 * budget left in the window (it goes on writing at link speed). */
static int mdl__in_burst(const mdl__sim *S, double x) {
  if (S->budget == UINT64_MAX) return 0;
  for (int k = 0; k < 2; k++)
    if (x >= S->burst_lo[k] && x < S->burst_hi[k]) return 1;
  uint64_t used = S->window_bytes + S->q_bytes;
  if (x < S->link_free || S->t > x || used >= S->budget) return 0;
  double end = S->link_free + (double)(S->budget - used) / S->link_bw * 1e9;
  double window_end = S->window_start + (double)S->p->window_ns;
  return x < (end < window_end ? end : window_end);
}

void mdl__resolve_fault(mdl__sim *S, double arrival) {
  S->req_pending = 0;
  /* A page that lands while a rate-limited window's burst is being sent:
   * the stream's sending and receiving threads, just woken from the
   * rate-limit sleep, hold the host's cores for their scheduler slice,
   * and one of the fault's hand-offs (the request to the source, the
   * wake of the vCPU) waits for it (docs/postcopy-faults.md, "Faults
   * during a burst"). Tested at the landing, on the stream's own record
   * of when it sent, so the migration thread's clock running ahead of the
   * guest's does not matter. */
  if (S->p->fault_burst_ns > 0 && mdl__in_burst(S, arrival)) arrival += S->p->fault_burst_ns;
  arrival += S->p->fault_resume_ns; /* the faulting vCPU runs again */
  /* On a small host the woken vCPU waits longer for a core while the main
   * stream is sending, since the source's sending thread and the
   * destination's receiving thread then hold the cores: the extra wait
   * is weighted by the share of time the stream sends, its rate limit
   * over the link (all of it without a limit). An expectation rather than
   * a per-fault test, since the fault's time and the stream's clock
   * differ (docs/postcopy-faults.md, "Placed to running"). */
  if (S->p->fault_resume_busy_ns > 0) {
    double duty = fmin(1.0, mdl_sim_demand(S) / S->link_bw);
    arrival += S->p->fault_resume_busy_ns * duty;
  }
  S->blocked = 0;
  if (arrival - S->fault_time >= SIM_HIST_MIN_NS)
    S->delay_hist[sim_hist_bucket((uint64_t)(arrival - S->fault_time))]++;
  mdl__guest_resume(S, S->fault_time, arrival, 1);
}

int mdl__request_ready(const mdl__sim *S) { return S->req_pending && S->req_arrival <= S->t; }

void mdl__postcopy_start(mdl__sim *S) {
  mdl__guest_advance(S, S->t);
  /* The guest leaves the throttled source vCPUs (QEMU stops the throttle
   * only at the end, but the destination's vCPUs never had it). */
  mdl__guest_set_speed(S, 1.0);
  S->downtime_start = S->t;
  S->stopped = 1;
  S->t += (double)S->p->stop_ns;
  mdl__sync(S);
  S->r->switch_time_ms = S->downtime_start / 1e6;
  S->phase = PH_POSTCOPY;
  /* Discard list: one 16-byte entry per run of still-dirty pages, 12 runs
   * per command, walked out of the bitmap by the source; the destination
   * discards each run (a madvise that splits the huge page holding it)
   * before it reads what follows: then the device state and the run
   * command (docs/postcopy-faults.md, "The switch's discards"). */
  uint64_t runs = mdl_mem_dirty_runs(&S->mem);
  uint64_t discard = runs * S->p->discard_run_bytes + (runs + 11) / 12 * S->p->discard_header_bytes;
  mdl__put_buffered(S, discard, (double)runs * S->p->discard_run_ns, (double)runs * S->p->dest_discard_run_ns, 0);
  /* The device state goes in the switch's package without the VM
   * description: QEMU sends that only when not in post-copy
   * (savevm.c should_send_vmdesc, up to 10.0; docs/postcopy-faults.md). */
  mdl__put(S, S->p->device_state_bytes - S->p->vmdesc_bytes, 0, 0);
  mdl__flush(S);
  S->r->downtime_ms = (S->t - S->downtime_start) / 1e6;
  double resume = S->link_free + S->latency_ns + (double)S->p->dest_load_ns;
  S->stopped = 0;
  S->pages_remote = 1;
  S->inflight = calloc(S->mem.words, sizeof *S->inflight);
  S->land_mask = 1023;
  S->land = malloc((S->land_mask + 1) * sizeof *S->land);
  if (!S->inflight || !S->land) {
    free(S->inflight);
    S->inflight = NULL;
    S->error = SIM_ENOMEM;
  }
  mdl__guest_resume(S, S->downtime_start, resume, 0);
  /* The post-copy stream has its own limit (0 = none). */
  S->budget = S->s->postcopy_bandwidth > 0
                  ? (uint64_t)(S->s->postcopy_bandwidth * (double)S->p->window_ns / 1e9)
                  : UINT64_MAX;
  mdl__demand_changed(S);
}

/* -------------------------------------------------------- completion */

void mdl__finish(mdl__sim *S, double end) {
  mdl__close_round(S, end);
  S->phase = PH_DONE;
  S->r->total_time_ms = end / 1e6;
  S->r->guest_stall_ms = S->stall_ns / 1e6;
  /* Still throttled at the end (a timeout): the loss until the guest last
   * ran (a pause in progress has not moved clock_r0 yet). */
  double ran_until = S->blocked ? S->fault_time : S->stopped ? S->downtime_start : end;
  if (S->clock_speed < 1 && ran_until > S->clock_r0)
    S->throttle_lost_ns += (ran_until - S->clock_r0) * (1 - S->clock_speed);
  S->r->guest_throttle_ms = S->throttle_lost_ns / 1e6;
  S->r->cpu_throttle_pct = S->throttle_pct;
  mdl_result_set_delays(S->r, S->accesses, S->delay_hist);
  S->r->expected_downtime_ms = S->expected_downtime_ns / 1e6;
  /* 10.0 never reports expected-downtime in a run that starts in post-copy
   * (kvmreplay records 0). */
  if (S->p->expected_downtime_frozen && mdl_algorithm_of(S->s->algo)->switch_at_start) S->r->expected_downtime_ms = 0;
  if (S->notify) S->notify(S->notify_ctx, S, MDL_SIM_DONE);
}

/* Sends every dirty page with the rate limit lifted (guest stopped, or in
 * post-copy still serving requests). */
static void mdl__drain(mdl__sim *S) {
  int lifted = S->budget != UINT64_MAX;
  S->budget = UINT64_MAX;
  if (lifted) mdl__demand_changed(S);
  while (S->mem.dirty_count) {
    if (S->pages_remote) {
      mdl__guest_advance(S, S->t);
      if (S->req_pending && S->req_arrival <= S->t) {
        mdl__serve_request(S);
        continue;
      }
    } else if (mdl__send_word(S, INFINITY, 0)) {
      continue;
    }
    mdl__send_page(S, mdl_mem_next_dirty(&S->mem, S->cursor));
  }
  if (S->pages_remote) {
    /* The guest may still be waiting for its last page. */
    mdl__guest_advance(S, S->t);
    if (S->req_pending) {
      if (S->req_arrival > S->t) S->t = S->req_arrival;
      mdl__serve_request(S);
    }
  }
}

void mdl__completion(mdl__sim *S) {
  if (S->phase == PH_PRECOPY) {
    mdl__guest_advance(S, S->t);
    mdl__guest_set_speed(S, 1.0);
    S->downtime_start = S->t;
    S->stopped = 1;
    /* With the guest stopped its vCPU's core is free and the loopback
     * stream runs faster (docs/simulator.md, "A stopped guest's stream"). */
    if (S->stopped_bw > 0 && S->link_bw == S->own_link_bw) S->link_bw = S->stopped_bw;
    S->t += (double)S->p->stop_ns;
    mdl__sync(S);
    mdl__drain(S);
    if (S->drv->complete) S->drv->complete(S);
    mdl__put(S, S->p->eos_bytes, 0, 1);
    /* Saving the devices and (10.0) the VM description: CPU time of the
     * migration thread, guest stopped (docs/qemu-10.0.md, "Downtime"). */
    S->t += (double)S->p->device_save_ns;
    mdl__put(S, S->p->device_state_bytes, 0, 0);
  } else {
    mdl__drain(S);
    if (S->drv->complete) S->drv->complete(S);
    mdl__put(S, S->p->eos_bytes, 0, 1);
  }
  mdl__flush(S);
  /* Without a return path the source is done once it has written
   * everything; with one it waits for the destination to load and answer. */
  double end = S->t;
  if (S->return_path) end = S->link_free + 2 * S->latency_ns + (double)S->p->dest_load_ns;
  if (S->r->switch_time_ms < 0) S->r->downtime_ms = (end - S->downtime_start) / 1e6;
  S->r->status = MDL_STATUS_COMPLETED;
  mdl__finish(S, end);
}

/* ---------------------------------------------------- control events */

static void mdl__on_timeout(sim_engine *e, void *ctx, uint64_t arg) {
  (void)arg;
  (void)e;
  mdl__sim *S = ctx;
  if (S->phase == PH_DONE) return;
  double now = mdl__now(S);
  S->r->status = MDL_STATUS_NOT_CONVERGED;
  snprintf(S->r->failure, sizeof S->r->failure, "timeout after %.3f s in %s", now / 1e9,
           mdl__phase_names[S->phase]);
  if (S->t < now) S->t = now;
  mdl__finish(S, now);
}

static void mdl__on_switch_time(sim_engine *e, void *ctx, uint64_t arg) {
  (void)arg;
  (void)e;
  mdl__sim *S = ctx;
  mdl_switch_view v = {S->r->dirty_sync_count, S->mem.dirty_count, 0, mdl__now(S), 0};
  if (mdl_switch_due(S->s, &v)) S->start_postcopy = 1;
}

/* ------------------------------------------------------------- setup */

static int mdl__open_workload(mdl__sim *S) {
  const mdl_scenario *s = S->s;
  wl_open_opts o = {s->pages ? s->pages : 131072, s->page_size, s->seed, s->workload_duration_ns};
  int rc = wl_source_open(s->workload, &o, &S->src);
  if (rc) return rc;
  const wl_meta *m = wl_source_meta(S->src);
  uint64_t pages = s->pages ? s->pages : m->pages;
  if (m->page_size != s->page_size)
    return sim_errorf(SIM_EINVAL, "%s: page size %u differs from the scenario's %u", s->workload,
                      m->page_size, s->page_size);
  if (m->pages > pages)
    return sim_errorf(SIM_ERANGE, "%s: trace has %llu pages but the guest only %llu", s->workload,
                      (unsigned long long)m->pages, (unsigned long long)pages);
  /* Page content: how much of a page one write changes (docs/workloads.md). */
  S->write_bytes = s->page_size;
  const char *wb = wl_meta_get(m, "write_bytes");
  if (wb) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(wb, &end, 10);
    if (errno || end == wb || *end || wb[0] == '-' || v > s->page_size)
      return sim_errorf(SIM_EFORMAT, "%s: write_bytes=%s: expected 0..%u (the page size)", s->workload, wb,
                        s->page_size);
    S->write_bytes = v;
  }
  /* ... and how far a non-zero page compresses (multifd zlib/zstd, compress). */
  S->compress_ratio = 1;
  const char *cr = wl_meta_get(m, "compress_ratio");
  if (cr) {
    char *end;
    errno = 0;
    double v = strtod(cr, &end);
    if (errno || end == cr || *end || !(v > 0 && v <= 2))
      return sim_errorf(SIM_EFORMAT, "%s: compress_ratio=%s: expected a number above 0 and at most 2", s->workload, cr);
    S->compress_ratio = v;
  }
  /* Guest memory: [offset][trace pages][extra pages][other RAM blocks:
   * non-zero, then zero] (QEMU migrates its RAM blocks largest first). */
  S->offset = s->guest_offset;
  uint64_t guest = S->offset + pages + s->guest_extra_pages;
  uint64_t total = guest + S->p->extra_nonzero_pages + S->p->extra_zero_pages;
  if ((rc = mdl_mem_init(&S->mem, total))) return rc;
  for (size_t i = 0; i < m->nonzero_count; i++)
    mdl_mem_set_nonzero(&S->mem, S->offset + m->nonzero[i].first, S->offset + m->nonzero[i].last);
  if (s->guest_nonzero[0]) {
    wl_range *r = NULL;
    size_t n = 0;
    if ((rc = wl_ranges_parse(s->guest_nonzero, guest, &r, &n)))
      return sim_errorf(rc, "guest-nonzero: %s", sim_error_message());
    for (size_t i = 0; i < n; i++) mdl_mem_set_nonzero(&S->mem, r[i].first, r[i].last);
    free(r);
  }
  if (S->p->extra_nonzero_pages) mdl_mem_set_nonzero(&S->mem, guest, guest + S->p->extra_nonzero_pages - 1);
  S->ev = malloc(MDL__EVENT_BATCH * sizeof *S->ev);
  if (!S->ev) return sim_errorf(SIM_ENOMEM, "out of memory");
  if (s->trace_offset_ns > 0) {
    /* Pages written before the offset are part of the image at migration
     * start: replay those writes into `nonzero`, then start over. */
    for (int done = 0; !done;) {
      long n = wl_source_read(S->src, S->ev, MDL__EVENT_BATCH);
      if (n < 0) return (int)n;
      done = n == 0;
      for (long i = 0; i < n; i++) {
        const wl_event *ev = &S->ev[i];
        if (ev->time_ns >= s->trace_offset_ns) {
          done = 1;
          break;
        }
        uint64_t p = ev->pfn + S->offset;
        if (ev->op == WL_OP_WRITE) S->mem.lz[p >> 6].nonzero |= mdl_mask(p);
      }
    }
    if ((rc = wl_source_rewind(S->src))) return rc;
  }
  if ((rc = wl_player_new(S->src, s->trace_offset_ns, s->loop, &S->player))) return rc;
  return 0;
}

static void mdl__free(mdl__sim *S) {
  if (!S) return;
  free(S->chunk_needs_clear);
  free(S->region_loaded);
  free(S->xbz_page);
  free(S->xbz_age);
  free(S->written);
  free(S->worker_free);
  free(S->worker_end);
  free(S->worker_bytes);
  free(S->worker_page);
  free(S->worker_zero);
  free(S->mfd_held);
  free(S->worker_cpu_end);
  free(S->fl);
  free(S->inflight);
  free(S->land);
  free(S->ev);
  wl_player_free(S->player);
  wl_source_close(S->src);
  mdl_mem_free(&S->mem);
  free(S);
}

/* Whether `profile`'s hypervisor has what scenario `s` asks for (a
 * feature, a parameter, an algorithm); SIM_EUNSUPPORTED naming what is
 * missing otherwise. */
int mdl_profile_supports(const mdl_profile *profile, const mdl_scenario *s) {
  const mdl_algorithm *algo = mdl_algorithm_of(s->algo);
  if (s->avail_switchover_bandwidth > 0 && !profile->avail_switchover_bandwidth)
    return sim_errorf(SIM_EUNSUPPORTED, "profile %s: avail-switchover-bandwidth needs QEMU 8.2 or later (profile key avail_switchover_bandwidth = 1)",
                      profile->name);
  const mdl__driver *driver = mdl__driver_of(profile->driver);
  if (!driver) return sim_errorf(SIM_EINVAL, "profile %s: unknown driver", profile->name);
  if (!driver->postcopy && mdl_algorithm_has_capability(algo, "postcopy-ram"))
    return sim_errorf(SIM_EUNSUPPORTED, "profile %s supports only precopy (got %s)", profile->name,
                      mdl_algo_name(s->algo));
  if (s->compress && !profile->legacy_compress)
    return sim_errorf(SIM_EUNSUPPORTED, "profile %s: compress (the legacy compress threads) was removed in QEMU 9.1; "
                      "use multifd with multifd-compression (profile key legacy_compress = 0)", profile->name);
  if (s->multifd && profile->multifd_no_postcopy && mdl_algorithm_has_capability(algo, "postcopy-ram"))
    return sim_errorf(SIM_EUNSUPPORTED, "profile %s: multifd with %s: this QEMU refuses multifd with post-copy "
                      "(profile key multifd_no_postcopy = 1)", profile->name, mdl_algo_name(s->algo));
  if ((s->multifd || s->compress) && !driver->encode_page)
    return sim_errorf(SIM_EUNSUPPORTED, "profile %s: multifd and compress need the qemu driver", profile->name);
  return 0;
}

int mdl_sim_open(sim_engine *e, const mdl_scenario *s, const mdl_profile *profile, mdl_result *r,
                 uint64_t start_ns, mdl_sim_notify_fn notify, void *ctx, mdl_sim **out) {
  *out = NULL;
  int rc = mdl_scenario_validate(s);
  if (rc) return rc;
  /* Profiles built in code (calibration) bypass the file loader's checks. */
  if ((rc = mdl_profile_validate(profile))) return rc;
  if ((rc = mdl_profile_supports(profile, s))) return rc;
  const mdl_algorithm *algo = mdl_algorithm_of(s->algo);
  const mdl__driver *driver = mdl__driver_of(profile->driver);
  mdl__sim *S = calloc(1, sizeof *S);
  if (!S) return sim_errorf(SIM_ENOMEM, "out of memory");
  S->s = s;
  S->p = profile;
  S->r = r;
  S->e = e;
  S->t0_ns = start_ns;
  S->notify = notify;
  S->notify_ctx = ctx;
  if ((rc = mdl__open_workload(S))) goto fail;

  assert(profile->step_check_pages > 0 && profile->chunk_pages > 0 && profile->window_ns > 0);
  S->normal_bytes = profile->page_header_bytes + s->page_size;
  S->zero_bytes = profile->detect_zero_pages ? profile->page_header_bytes + profile->zero_page_extra
                                             : S->normal_bytes;
  S->link_bw = s->link_bandwidth > 0 ? s->link_bandwidth : profile->link_bytes_per_s;
  S->own_link_bw = S->link_bw;
  /* On loopback each multifd channel is a connection of its own whose
   * speed is the CPU moving it, not a shared wire; a scenario's own link
   * is a network the channels share (docs/features.md, "multifd"). */
  S->channel_bw = s->link_bandwidth > 0 ? 0 : profile->multifd_link_bytes_per_s;
  S->stopped_bw = s->link_bandwidth > 0 ? 0 : profile->stopped_link_bytes_per_s;
  S->max_bw = s->max_bandwidth;
  S->fl_mask = 1023;
  S->fl = malloc((S->fl_mask + 1) * sizeof *S->fl);
  if (!S->fl) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  S->latency_ns = (double)s->latency_ns;
  S->rp_last = -1; /* no page request yet */
  /* QEMU starts expected-downtime at downtime-limit; the 7.2 rule keeps
   * migsim's 0 until the first estimate (its committed results). */
  if (profile->expected_downtime_frozen) S->expected_downtime_ns = (double)s->downtime_limit_ns;
  S->budget = (uint64_t)(s->max_bandwidth * (double)profile->window_ns / 1e9);
  S->return_path = mdl_algorithm_has_capability(algo, "postcopy-ram");
  S->start_postcopy = algo->switch_at_start;
  S->clock_speed = 1;
  S->drv = driver;
  if (s->xbzrle && driver->encode_page) {
    uint64_t slots = s->xbzrle_cache_size / s->page_size; /* a power of two (validated) */
    S->xbz_page = malloc(slots * sizeof *S->xbz_page);
    S->xbz_age = calloc(slots, sizeof *S->xbz_age);
    if (!S->xbz_page || !S->xbz_age) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory (xbzrle cache of %llu pages)", (unsigned long long)slots);
      goto fail;
    }
    for (uint64_t i = 0; i < slots; i++) S->xbz_page[i] = UINT64_MAX;
    S->xbz_mask = slots - 1;
    S->written = malloc(S->mem.words * sizeof *S->written);
    if (!S->written) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto fail;
    }
    memset(S->written, 0xff, S->mem.words * sizeof *S->written); /* nothing cached yet */
  }
  if (s->multifd || s->compress) {
    S->workers = s->multifd ? s->multifd_channels : s->compress_threads;
    S->r->cpu_workers_ms = 0;
    S->worker_free = calloc(S->workers, sizeof *S->worker_free);
    S->worker_end = calloc(S->workers, sizeof *S->worker_end);
    S->worker_bytes = calloc(S->workers, sizeof *S->worker_bytes);
    S->worker_page = calloc(S->workers, sizeof *S->worker_page);
    S->worker_zero = calloc(S->workers, sizeof *S->worker_zero);
    S->mfd_held = calloc(S->workers, sizeof *S->mfd_held);
    S->worker_cpu_end = calloc(S->workers, sizeof *S->worker_cpu_end);
    if (!S->worker_free || !S->worker_end || !S->worker_bytes || !S->worker_page || !S->worker_zero ||
        !S->mfd_held || !S->worker_cpu_end) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto fail;
    }
    /* multifd: MULTIFD_PACKET_SIZE (512 KiB) of pages per packet, and a
     * header of 64 bytes + the RAM block's name (256) + one 8-byte offset
     * per page it can hold, sent whole (migration/multifd.c). */
    S->packet_len = 320 + 8 * ((512u << 10) / s->page_size);
    const char *alg = s->multifd ? s->multifd_compression : "zlib";
    uint32_t level = s->multifd ? (!strcmp(alg, "zstd") ? s->multifd_zstd_level : s->multifd_zlib_level) : s->compress_level;
    if (!strcmp(alg, "zlib")) {
      /* multifd keeps one deflate stream per channel; 7.2's compress
       * threads start a stream for every page (qemu_compress_data:
       * deflateReset), twice the cost (docs/features.md, "compress"). */
      S->comp_ns = s->multifd ? profile->zlib_page_ns[level < 10 ? level : 9]
                              : profile->compress_page_ns[level < 10 ? level : 9];
      S->comp_dest_ns = profile->zlib_dest_page_ns;
    } else if (!strcmp(alg, "zstd")) {
      S->comp_ns = profile->zstd_page_ns[level < 21 ? level : 20];
      S->comp_dest_ns = profile->zstd_dest_page_ns;
    }
    S->comp_new_block = 1;
  }
  if (profile->dirty_log == MDL_DIRTY_LOG_KVM && profile->chunk_pages >= 64) {
    S->chunks = (S->mem.pages + profile->chunk_pages - 1) / profile->chunk_pages;
    S->chunk_needs_clear = calloc(S->chunks, 1);
    if (!S->chunk_needs_clear) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto fail;
    }
  }
  if (profile->dest_region_ns > 0) {
    uint64_t regions = (S->mem.pages + profile->dest_region_pages - 1) / profile->dest_region_pages;
    S->region_loaded = calloc(regions / 8 + 1, 1);
    if (!S->region_loaded) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto fail;
    }
  }
  r->status = MDL_STATUS_FAILED;

  if (mdl__schedule(S, 0, MDL__PRIO_THREAD, driver->thread, &S->thread_event) ||
      mdl__schedule(S, s->timeout_ns, MDL__PRIO_CONTROL, mdl__on_timeout, &S->timeout_event) ||
      (algo->switch_by_policy && s->switch_policy == MDL_SWITCH_TIME &&
       mdl__schedule(S, s->switch_time_ns, MDL__PRIO_CONTROL, mdl__on_switch_time, &S->switch_event))) {
    rc = SIM_ENOMEM;
    goto fail;
  }
  *out = S;
  return 0;
fail:
  mdl_sim_close(S);
  return rc;
}

void mdl_sim_close(mdl_sim *S) {
  if (!S) return;
  if (S->e) {
    sim_cancel(S->e, S->thread_event);
    sim_cancel(S->e, S->timeout_event);
    sim_cancel(S->e, S->switch_event);
  }
  mdl__free(S);
}

void mdl_sim_set_link_rate(mdl_sim *S, double bytes_per_s) {
  S->link_bw = bytes_per_s > 0 ? bytes_per_s : S->own_link_bw;
  if (bytes_per_s > 0) S->channel_bw = 0; /* a share of a real NIC */
}

void mdl_sim_set_quantum(mdl_sim *S, uint64_t quantum_ns) { S->quantum_ns = quantum_ns; }

double mdl_sim_demand(const mdl_sim *S) {
  if (S->budget == UINT64_MAX || S->phase == PH_DONE) return S->own_link_bw;
  double limit = (double)S->budget * 1e9 / (double)S->p->window_ns;
  return limit < S->own_link_bw ? limit : S->own_link_bw;
}

int mdl_sim_error(const mdl_sim *S) { return S->error; }

/* A run alone: its own engine, stopped when the migration ends. */
static void mdl__stop_alone(void *ctx, mdl_sim *S, mdl_sim_note note) {
  (void)ctx;
  if (note == MDL_SIM_DONE) sim_stop(S->e);
}

int mdl_simulate_with(const mdl_scenario *s, const mdl_profile *profile, mdl_result *r) {
  sim_engine *e = NULL;
  mdl_sim *S = NULL;
  int rc = sim_engine_new(&e);
  if (rc) return rc;
  if ((rc = mdl_sim_open(e, s, profile, r, 0, mdl__stop_alone, NULL, &S))) goto out;
  sim_run(e);
  if (S->error) {
    rc = S->error;
    if (rc == SIM_ENOMEM) sim_errorf(rc, "out of memory during the simulation");
  }
out:
  mdl_sim_close(S);
  sim_engine_free(e);
  return rc;
}

int mdl_simulate(const mdl_scenario *s, mdl_result *r) {
  mdl_profile profile;
  int rc = mdl_profile_load(s->profile, &profile);
  if (rc) return rc;
  return mdl_simulate_with(s, &profile, r);
}
