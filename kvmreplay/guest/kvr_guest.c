/* kvr_guest: the freestanding replay guest (multiboot v1, 32-bit, no libc).
 *
 * Boots with paging off, so every address is guest-physical and trace page
 * p is exactly guest page base_page + p (see kvr_abi.h). It calibrates the
 * TSC against the ACPI PM timer, fills the initial image, says READY on
 * COM1, waits for the harness's go byte and then replays the module's
 * events at their trace times: writes stamp a word in their page, reads
 * load one. Progress goes to COM1 every report interval and, exactly, into
 * a status block in guest memory that the harness reads after the run.
 *
 * Nothing here uses interrupts: the serial port and both clocks are
 * polled. Outgoing text goes through a ring that is drained only when the
 * UART can take a byte, so reporting never holds up the replay. 64-bit
 * division is done by a shift-and-subtract helper (no libgcc on -m32). */
#include <stddef.h>
#include <stdint.h>

#include "kvr_abi.h"
#include "sim_hist.h"

#define COM1 0x3f8u
#define MB_BOOT_MAGIC 0x2badb002u

void kvr_guest_main(uint32_t magic, uint32_t info);
_Noreturn void kvr_guest_fault(void);

/* kvr_boot.S */
extern char kvr_isr_timer[], kvr_isr_ignore[], kvr_isr_fault[];

/* Provided by the linker script. */
extern char kvr_image_end[];
extern char kvr_bss_start[], kvr_bss_end[];

/* ----------------------------------------------------------- hardware */

static inline void outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static inline uint32_t inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* Drops the TLB entries of the guest's own writable pages (stack, status
 * block, serial ring). QEMU 7.2 under TCG can miss dirty-logging writes made
 * through a TLB entry cached before a dirty sync (see the reference notes);
 * refilling the entries every loop iteration keeps the guest's bookkeeping
 * intact across migration. Trace pages are deliberately not flushed: lost
 * writes there are what the integrity check measures. */
static void flush_own_tlb(void) {
  for (uintptr_t a = (uintptr_t)kvr_bss_start & ~(uintptr_t)(KVR_PAGE_SIZE - 1);
       a < (uintptr_t)kvr_bss_end; a += KVR_PAGE_SIZE)
    __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory");
}

static _Noreturn void halt_forever(void) {
  for (;;) __asm__ volatile("cli; hlt");
}

/* gcc may emit calls to these for struct copies and loops. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

/* ---------------------------------------------------------- arithmetic */

/* n / d by shift-and-subtract; O(64). Only used off the hot path. */
static uint64_t udiv64(uint64_t n, uint64_t d, uint64_t *rem) {
  uint64_t q = 0, r = 0;
  if (d == 0) {
    if (rem) *rem = 0;
    return 0;
  }
  for (int i = 63; i >= 0; i--) {
    r = (r << 1) | ((n >> i) & 1u);
    if (r >= d) {
      r -= d;
      q |= 1ull << i;
    }
  }
  if (rem) *rem = r;
  return q;
}

/* (a * m) >> 32 without a 128-bit type; exact unless the result overflows
 * 64 bits (which would need centuries of TSC ticks). */
static uint64_t mul_shr32(uint64_t a, uint64_t m) {
  uint64_t al = a & 0xffffffffu, ah = a >> 32;
  uint64_t ml = m & 0xffffffffu, mh = m >> 32;
  return ((ah * mh) << 32) + ah * ml + al * mh + ((al * ml) >> 32);
}

/* ------------------------------------------------------------- serial */

#define TX_RING 8192u
static char tx_ring[TX_RING];
static uint32_t tx_head, tx_tail; /* free-running; index mod TX_RING */

static void serial_init(void) {
  outb(COM1 + 1, 0x00); /* no interrupts */
  outb(COM1 + 3, 0x80); /* DLAB */
  outb(COM1 + 0, 0x01); /* 115200 baud (QEMU ignores the rate) */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xc7); /* FIFOs on, cleared */
  outb(COM1 + 4, 0x03); /* DTR, RTS */
}

/* Sends queued bytes while the transmitter has room; never waits. */
static void serial_pump(void) {
  while (tx_head != tx_tail && (inb(COM1 + 5) & 0x20)) {
    outb(COM1, (uint8_t)tx_ring[tx_tail % TX_RING]);
    tx_tail++;
  }
}

/* Drains the ring completely (boot and error paths only). */
static void serial_flush(void) {
  while (tx_head != tx_tail) serial_pump();
}

/* Queues text; when the ring is full the text is dropped (a report is
 * worth less than on-time replay). */
static void out_str(const char *s) {
  for (; *s; s++) {
    if (tx_head - tx_tail >= TX_RING) return;
    tx_ring[tx_head % TX_RING] = *s;
    tx_head++;
  }
}

static void out_u64(uint64_t v) {
  char buf[24];
  int n = 0;
  do {
    uint64_t r;
    v = udiv64(v, 10, &r);
    buf[n++] = (char)('0' + (int)r);
  } while (v && n < 23);
  char rev[24];
  for (int i = 0; i < n; i++) rev[i] = buf[n - 1 - i];
  rev[n] = '\0';
  out_str(rev);
}

static void out_hex(uint32_t v) {
  char buf[11] = "0x";
  for (int i = 0; i < 8; i++) {
    uint32_t d = (v >> (28 - 4 * i)) & 0xfu;
    buf[2 + i] = (char)(d < 10 ? '0' + (int)d : 'a' + (int)d - 10);
  }
  buf[10] = '\0';
  out_str(buf);
}

static void out_kv(const char *key, uint64_t v) {
  out_str(" ");
  out_str(key);
  out_str("=");
  out_u64(v);
}

static _Noreturn void fail(const char *what, uint64_t value) {
  out_str("KVR ERR ");
  out_str(what);
  out_kv("value", value);
  out_str("\n");
  serial_flush();
  halt_forever();
}

/* ------------------------------------------------------------- status */

/* Read by the harness from guest memory after the run (both QEMUs stop
 * before it looks), so plain stores suffice; volatile keeps every update
 * in memory, which the integrity rule (writes_done) depends on. */
static volatile uint32_t kvr_status[KVR_STATUS_SIZE / 4] __attribute__((aligned(64)));

static void st_put32(uint32_t off, uint32_t v) { kvr_status[off / 4] = v; }
static void st_put64(uint32_t off, uint64_t v) {
  kvr_status[off / 4] = (uint32_t)v;
  kvr_status[off / 4 + 1] = (uint32_t)(v >> 32);
}

/* -------------------------------------------------------------- clock */

static uint64_t tsc_hz;
static uint64_t ns_per_tick_q32; /* ns per TSC tick, 32.32 fixed point */

static uint32_t pm_now(void) { return inl(KVR_PM_TIMER_PORT) & 0xffffffu; }

/* Measures the TSC over 100 ms of the PM timer. The 24-bit counter wraps
 * every 4.7 s, so the difference is taken modulo 2^24. */
static void clock_calibrate(void) {
  uint32_t p0 = pm_now();
  uint64_t guard = rdtsc();
  while (pm_now() == p0)
    if (rdtsc() - guard > (1ull << 36)) fail("acpi_pm_timer_not_running", p0);
  p0 = pm_now();
  uint64_t t0 = rdtsc();
  uint32_t target = KVR_PM_TIMER_HZ / 10, elapsed;
  do elapsed = (pm_now() - p0) & 0xffffffu;
  while (elapsed < target);
  uint64_t t1 = rdtsc();
  uint64_t ns = udiv64((uint64_t)elapsed * 1000000000ull, KVR_PM_TIMER_HZ, NULL);
  uint64_t ticks = t1 - t0;
  if (ticks == 0) fail("tsc_not_running", 0);
  ns_per_tick_q32 = udiv64(ns << 32, ticks, NULL);
  tsc_hz = udiv64(ticks * 1000000000ull, ns, NULL);
}

static uint64_t ticks_to_ns(uint64_t ticks) { return mul_shr32(ticks, ns_per_tick_q32); }

/* ------------------------------------------------- idle (hlt + APIC) */

/* The local APIC at its reset base; paging is off, so this is physical. */
#define LAPIC(off) (*(volatile uint32_t *)(uintptr_t)(0xfee00000u + (off)))
#define LAPIC_EOI 0xb0u
#define LAPIC_SVR 0xf0u
#define LAPIC_LVT_TIMER 0x320u
#define LAPIC_TIMER_INIT 0x380u
#define LAPIC_TIMER_CUR 0x390u
#define LAPIC_TIMER_DIV 0x3e0u
#define TIMER_VECTOR 0x40u

static uint64_t kvr_idt[256] __attribute__((aligned(8)));
static uint64_t apic_per_ns_q32; /* APIC timer counts per ns, 32.32 */

static uint64_t idt_gate(const char *handler) {
  uint32_t off = (uint32_t)(uintptr_t)handler;
  /* present, DPL 0, 32-bit interrupt gate (IF cleared on entry), CS 0x08 */
  return (uint64_t)(off & 0xffffu) | (uint64_t)0x08u << 16 | (uint64_t)0x8eu << 40 |
         (uint64_t)(off >> 16) << 48;
}

static void idt_load(void) {
  for (int v = 0; v < 256; v++)
    kvr_idt[v] = idt_gate(v < 32 ? kvr_isr_fault : v == (int)TIMER_VECTOR ? kvr_isr_timer : kvr_isr_ignore);
  struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
  } desc = {(uint16_t)(sizeof kvr_idt - 1), (uint32_t)(uintptr_t)kvr_idt};
  __asm__ volatile("lidt %0" : : "m"(desc));
}

/* Masks the legacy PICs, enables the local APIC with a one-shot timer on
 * TIMER_VECTOR (divide by 1) and measures its rate against the TSC. */
static void idle_init(void) {
  idt_load();
  outb(0x21, 0xff);
  outb(0xa1, 0xff);
  LAPIC(LAPIC_SVR) = 0x1ffu; /* enabled, spurious vector 0xff */
  LAPIC(LAPIC_TIMER_DIV) = 0xbu;
  LAPIC(LAPIC_LVT_TIMER) = TIMER_VECTOR | 0x10000u; /* masked while measuring */
  LAPIC(LAPIC_TIMER_INIT) = 0xffffffffu;
  uint64_t t0 = rdtsc();
  uint64_t wait = udiv64(tsc_hz, 100, NULL); /* 10 ms */
  while (rdtsc() - t0 < wait) {
  }
  uint32_t left = LAPIC(LAPIC_TIMER_CUR);
  uint64_t ns = ticks_to_ns(rdtsc() - t0);
  LAPIC(LAPIC_TIMER_INIT) = 0;
  uint64_t counts = 0xffffffffu - (uint64_t)left;
  if (ns == 0 || counts == 0) fail("apic_timer_not_running", left);
  apic_per_ns_q32 = udiv64(counts << 32, ns, NULL);
  LAPIC(LAPIC_LVT_TIMER) = TIMER_VECTOR; /* one-shot, unmasked */
}

/* Halts for about ns nanoseconds (an APIC timer interrupt ends it). */
static void idle_for(uint64_t ns) {
  uint64_t count = mul_shr32(ns, apic_per_ns_q32);
  if (count == 0) return;
  if (count > 0xffffffffu) count = 0xffffffffu;
  LAPIC(LAPIC_TIMER_INIT) = (uint32_t)count;
  __asm__ volatile("sti; hlt; cli" : : : "memory");
}

/* ------------------------------------------------------------- module */

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

typedef struct {
  const uint8_t *data;
  uint32_t bytes;
  uint32_t pages, base_page, flags;
  uint32_t range_count;
  const uint8_t *ranges;
  const uint8_t *head, *body;
  uint32_t head_bytes, body_bytes;
  uint64_t head_events, body_events;
  uint64_t body_start_ns, period_ns, report_ns, late_ns;
  uint64_t sleep_min_ns, wake_early_ns;
  uint32_t write_bytes;
  uint32_t random_bytes;
} module;

static void module_load(module *m, uint32_t start, uint32_t end) {
  const uint8_t *d = (const uint8_t *)(uintptr_t)start;
  uint32_t len = end - start;
  if (len < KVR_MODULE_HEADER_SIZE) fail("module_too_short", len);
  if (rd32(d + KVR_MOD_MAGIC) != KVR_MODULE_MAGIC) fail("module_bad_magic", rd32(d));
  if (rd32(d + KVR_MOD_VERSION) != KVR_MODULE_VERSION)
    fail("module_bad_version", rd32(d + KVR_MOD_VERSION));
  uint32_t total = rd32(d + KVR_MOD_TOTAL_BYTES);
  if (total > len || total < KVR_MODULE_HEADER_SIZE) fail("module_bad_size", total);
  uint32_t h = KVR_FNV_OFFSET;
  for (uint32_t i = KVR_MODULE_HEADER_SIZE; i < total; i++) h = (h ^ d[i]) * KVR_FNV_PRIME;
  if (h != rd32(d + KVR_MOD_CHECKSUM)) fail("module_bad_checksum", h);
  m->data = d;
  m->bytes = total;
  m->flags = rd32(d + KVR_MOD_FLAGS);
  m->pages = rd32(d + KVR_MOD_PAGES);
  m->base_page = rd32(d + KVR_MOD_BASE_PAGE);
  m->range_count = rd32(d + KVR_MOD_RANGE_COUNT);
  uint32_t roff = rd32(d + KVR_MOD_RANGES_OFF);
  uint32_t hoff = rd32(d + KVR_MOD_HEAD_OFF), boff = rd32(d + KVR_MOD_BODY_OFF);
  m->head_bytes = rd32(d + KVR_MOD_HEAD_BYTES);
  m->body_bytes = rd32(d + KVR_MOD_BODY_BYTES);
  if (roff > total || m->range_count > (total - roff) / 8) fail("module_bad_ranges", roff);
  if (hoff > total || m->head_bytes > total - hoff) fail("module_bad_head", hoff);
  if (boff > total || m->body_bytes > total - boff) fail("module_bad_body", boff);
  m->ranges = d + roff;
  m->head = d + hoff;
  m->body = d + boff;
  m->head_events = rd64(d + KVR_MOD_HEAD_EVENTS);
  m->body_events = rd64(d + KVR_MOD_BODY_EVENTS);
  m->body_start_ns = rd64(d + KVR_MOD_BODY_START);
  m->period_ns = rd64(d + KVR_MOD_PERIOD);
  m->report_ns = rd64(d + KVR_MOD_REPORT_NS);
  m->late_ns = rd64(d + KVR_MOD_LATE_NS);
  m->sleep_min_ns = rd64(d + KVR_MOD_SLEEP_MIN);
  m->wake_early_ns = rd64(d + KVR_MOD_WAKE_EARLY);
  m->write_bytes = rd32(d + KVR_MOD_WRITE_BYTES);
  if (m->write_bytes > KVR_PAGE_SIZE) fail("module_bad_write_bytes", m->write_bytes);
  m->random_bytes = rd32(d + KVR_MOD_RANDOM_BYTES);
  if (m->random_bytes > KVR_PAGE_SIZE || m->random_bytes % 4u) fail("module_bad_random_bytes", m->random_bytes);
  if (m->sleep_min_ns && m->sleep_min_ns <= m->wake_early_ns) fail("module_bad_sleep", m->sleep_min_ns);
  if (m->pages == 0) fail("module_no_pages", 0);
  if (m->report_ns == 0) m->report_ns = 100000000u;
  if ((m->flags & KVR_MODFLAG_LOOP) && m->body_events && m->period_ns == 0)
    fail("module_zero_period", 0);
}

/* ------------------------------------------------------- memory checks */

/* True when [lo, hi) lies inside one RAM entry of the multiboot map. */
static int mmap_covers(uint32_t info, uint64_t lo, uint64_t hi) {
  const uint8_t *mbi = (const uint8_t *)(uintptr_t)info;
  uint32_t flags = rd32(mbi);
  if (flags & (1u << 6)) {
    uint32_t len = rd32(mbi + 44), addr = rd32(mbi + 48);
    uint32_t off = 0;
    while (off + 24 <= len) {
      const uint8_t *e = (const uint8_t *)(uintptr_t)(addr + off);
      uint32_t size = rd32(e);
      uint64_t base = rd64(e + 4), length = rd64(e + 12);
      uint32_t type = rd32(e + 20);
      if (type == 1 && base <= lo && hi <= base + length) return 1;
      off += size + 4;
    }
    return 0;
  }
  if (flags & 1u) { /* mem_upper: KiB above 1 MiB */
    uint64_t top = 0x100000ull + (uint64_t)rd32(mbi + 8) * 1024u;
    return lo >= 0x100000ull && hi <= top;
  }
  return 0;
}

/* ------------------------------------------------------ initial image */

static uint32_t fill_word(uint32_t pfn) {
  uint32_t w = ((pfn + 1u) * 0x9e3779b1u) ^ 0xa5a5a5a5u;
  if (w == 0) w = 1;
  if (w == KVR_STAMP_MAGIC) w ^= 1u;
  return w;
}

static void fill_page(uint32_t addr, uint32_t word) {
  uint32_t count = KVR_PAGE_SIZE / 4, dst = addr;
  __asm__ volatile("rep stosl" : "+D"(dst), "+c"(count) : "a"(word) : "memory");
}

static void fill_image(const module *m) {
  for (uint32_t r = 0; r < m->range_count; r++) {
    uint32_t first = rd32(m->ranges + 8 * r), last = rd32(m->ranges + 8 * r + 4);
    if (first > last || last >= m->pages) fail("module_bad_range", first);
    for (uint32_t p = first;; p++) {
      uint32_t addr = (m->base_page + p) << KVR_PAGE_SHIFT;
      if (m->random_bytes)
        kvr_page_content((volatile uint32_t *)(uintptr_t)addr, p, m->random_bytes, fill_word(p));
      else
        fill_page(addr, fill_word(p));
      if (p == last) break;
    }
  }
}

/* Stores every trace page's first word back into it. The content stays
 * the same (zero pages stay zero pages for QEMU), but the host now backs
 * every page: otherwise the first write to a never-touched page costs a
 * host page fault (with transparent huge pages, zeroing 2 MiB), which
 * showed up as up to 100 ms of replay lag right after "go". */
static void touch_image(const module *m) {
  for (uint32_t p = 0; p < m->pages; p++) {
    volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)((m->base_page + p) << KVR_PAGE_SHIFT);
    *w = *w;
  }
}

/* -------------------------------------------------------------- replay */

typedef struct {
  const uint8_t *p, *end;
  uint64_t left;     /* events left in this pass */
  uint64_t time_ns;  /* of the current event */
  uint64_t pfn;
  int is_read;
} stream;

static uint64_t get_varint(stream *s) {
  uint64_t v = 0;
  for (uint32_t shift = 0; shift < 64; shift += 7) {
    if (s->p >= s->end) fail("module_truncated_event", s->left);
    uint8_t b = *s->p++;
    v |= (uint64_t)(b & 0x7fu) << shift;
    if (!(b & 0x80u)) return v;
  }
  fail("module_bad_varint", s->left);
}

static void stream_start(stream *s, const uint8_t *data, uint32_t bytes, uint64_t events,
                         uint64_t start_ns) {
  s->p = data;
  s->end = data + bytes;
  s->left = events;
  s->time_ns = start_ns;
  s->pfn = 0;
}

/* Decodes the next event of the pass into s (requires s->left > 0). */
static void stream_next(stream *s, uint32_t pages) {
  uint64_t a = get_varint(s), b = get_varint(s);
  s->time_ns += a >> 1;
  s->is_read = (int)(a & 1u);
  uint64_t delta = (b >> 1) ^ (0 - (b & 1u)); /* zigzag, two's complement */
  s->pfn += delta;
  if (s->pfn >= pages) fail("module_pfn_out_of_range", s->pfn);
  s->left--;
}

typedef struct {
  uint64_t events, writes, reads, late, max_lag, stall, loops, lag_sum, lost;
} counters;

static void report(const char *tag, uint64_t now_ns, const counters *c) {
  out_str("KVR ");
  out_str(tag);
  out_kv("t_ms", udiv64(now_ns, 1000000u, NULL));
  out_kv("done", c->events);
  out_kv("writes", c->writes);
  out_kv("reads", c->reads);
  out_kv("late", c->late);
  out_kv("maxlag_us", udiv64(c->max_lag, 1000u, NULL));
  out_kv("stall_us", udiv64(c->stall, 1000u, NULL));
  out_kv("loops", c->loops);
  out_str("\n");
}

static void wait_for_go(void) {
  for (;;) {
    serial_pump();
    if ((inb(COM1 + 5) & 0x01) && inb(COM1) == KVR_GO_BYTE) return;
  }
}

static _Noreturn void replay(const module *m) {
  counters c = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  int cpu_bound = (m->flags & KVR_MODFLAG_CPU_BOUND) != 0;
  uint64_t gap_ticks = udiv64(tsc_hz * (KVR_GAP_NS / 1000u), 1000000u, NULL);
  /* The CPU-bound clock measures every moment of the loop: t_mark is the
   * last reading already accounted for (an iteration's start, or the end of
   * an access, whose own time the stall check takes), halt_ticks the halt
   * asked for since. A mark taken after the report and the serial output
   * hid the vCPU stops that fell there (on TCG about a tenth of the
   * throttle's sleeps; docs/features.md, "The gap the guest did not see"). */
  uint64_t t_mark = 0, halt_ticks = 0;
  stream s;
  int in_body = 0, have = 0, done = 0;
  uint64_t pass_start = 0;

  if (m->head_events) {
    stream_start(&s, m->head, m->head_bytes, m->head_events, 0);
  } else {
    in_body = 1;
    pass_start = m->body_start_ns;
    stream_start(&s, m->body, m->body_bytes, m->body_events, pass_start);
  }

  uint64_t tsc_go = rdtsc();
  uint64_t next_report = m->report_ns;
  st_put32(KVR_ST_STATE, KVR_STATE_RUNNING);
  out_str("KVR GO\n");

  for (;;) {
    flush_own_tlb();
    /* Position on the next event, crossing into the body and its loops. */
    while (!have && !done) {
      if (s.left) {
        stream_next(&s, m->pages);
        have = 1;
      } else if (!in_body) {
        in_body = 1;
        pass_start = m->body_start_ns;
        stream_start(&s, m->body, m->body_bytes, m->body_events, pass_start);
        if (!m->body_events) done = 1;
      } else if ((m->flags & KVR_MODFLAG_LOOP) && m->body_events) {
        c.loops++;
        st_put64(KVR_ST_LOOPS, c.loops);
        pass_start += m->period_ns;
        stream_start(&s, m->body, m->body_bytes, m->body_events, pass_start);
      } else {
        done = 1;
        st_put32(KVR_ST_STATE, KVR_STATE_DONE);
      }
    }

    uint64_t t_a = rdtsc();
    if (cpu_bound && t_mark) {
      /* Time since the last iteration ended, beyond its halt: the vCPU
       * did not run, and neither does a CPU-bound workload. */
      uint64_t gap = t_a - t_mark;
      if (gap > halt_ticks + gap_ticks) {
        tsc_go += gap - halt_ticks;
        c.lost += ticks_to_ns(gap - halt_ticks);
        st_put64(KVR_ST_LOST, c.lost);
      }
    }
    halt_ticks = 0;
    t_mark = t_a;
    uint64_t now = ticks_to_ns(t_a - tsc_go);
    if (have && s.time_ns <= now) {
      uint64_t lag = now - s.time_ns;
      uint32_t addr = (uint32_t)((m->base_page + s.pfn) << KVR_PAGE_SHIFT);
      volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)addr;
      if (s.is_read) {
        (void)w[0];
      } else {
        uint32_t st[4];
        kvr_stamp_words(c.writes, st);
        for (uint32_t i = 0; i < 4; i++) w[i] = st[i];
        for (uint32_t o = KVR_STAMP_BYTES; o + 4 <= m->write_bytes; o += 4) w[o / 4] = KVR_FILL_WORD(st[0], o);
      }
      uint64_t t_b = rdtsc();
      uint64_t dur = ticks_to_ns(t_b - t_a);
      if (dur > KVR_STALL_NS) {
        /* A stalled access delays the workload: its clock stops while the
         * vCPU waits, so later accesses are not replayed in a burst to
         * catch up (docs/design.md: the workload clock lags by the stall). */
        tsc_go += t_b - t_a;
        c.stall += dur;
        st_put64(KVR_ST_STALL, c.stall);
        if (dur >= SIM_HIST_MIN_NS) {
          uint32_t b = KVR_ST_HIST + 4u * sim_hist_bucket(dur);
          st_put32(b, kvr_status[b / 4] + 1u);
        }
      }
      c.events++;
      if (s.is_read) {
        c.reads++;
        st_put64(KVR_ST_READS, c.reads);
      } else {
        c.writes++;
        c.lag_sum += lag;
        if (lag > m->late_ns) {
          c.late++;
          st_put64(KVR_ST_LATE, c.late);
        }
        if (lag > c.max_lag) {
          c.max_lag = lag;
          st_put64(KVR_ST_MAX_LAG, c.max_lag);
        }
        /* After the stamp: a page with seq >= writes_done was written
         * later than this status says. */
        st_put64(KVR_ST_WRITES, c.writes);
        st_put64(KVR_ST_LAG_SUM, c.lag_sum);
      }
      st_put64(KVR_ST_EVENTS, c.events);
      have = 0;
      t_mark = t_b;
      /* Stay in the catch-up loop, but keep reports flowing. */
      if ((c.events & 255u) != 0) continue;
    }

    st_put64(KVR_ST_NOW, now);
    if (now >= next_report) {
      report("P", now, &c);
      next_report += m->report_ns;
      if (next_report <= now) next_report = now + m->report_ns;
    }
    if (tx_head != tx_tail) serial_pump();
    if (m->sleep_min_ns && (have || done)) {
      /* Nothing due: halt until shortly before the next event or report,
       * so the vCPU thread leaves its host CPU to the migration. */
      uint64_t wake = next_report;
      if (have && s.time_ns < wake) wake = s.time_ns;
      uint64_t t = ticks_to_ns(rdtsc() - tsc_go);
      if (wake > t && wake - t > m->sleep_min_ns && tx_head == tx_tail) {
        uint64_t halt = wake - t - m->wake_early_ns;
        halt_ticks = udiv64(tsc_hz * udiv64(halt, 1000u, NULL), 1000000u, NULL);
        idle_for(halt);
      }
    }
  }
}

/* --------------------------------------------------------------- entry */

/* A CPU exception: nothing to recover; say so and stop. */
void kvr_guest_fault(void) { fail("cpu_exception", 0); }

void kvr_guest_main(uint32_t magic, uint32_t info) {
  serial_init();
  st_put32(KVR_ST_MAGIC, KVR_STATUS_MAGIC);
  st_put32(KVR_ST_STATE, KVR_STATE_BOOT);
  out_str("KVR BOOT v1\n");
  serial_flush();
  if (magic != MB_BOOT_MAGIC) fail("not_multiboot", magic);

  const uint8_t *mbi = (const uint8_t *)(uintptr_t)info;
  if (!(rd32(mbi) & (1u << 3)) || rd32(mbi + 20) < 1) fail("no_module", rd32(mbi));
  const uint8_t *mod = (const uint8_t *)(uintptr_t)rd32(mbi + 24);
  uint32_t mod_start = rd32(mod), mod_end = rd32(mod + 4);

  module m;
  module_load(&m, mod_start, mod_end);
  uint64_t base = (uint64_t)m.base_page << KVR_PAGE_SHIFT;
  uint64_t top = base + ((uint64_t)m.pages << KVR_PAGE_SHIFT);
  if ((uint64_t)mod_end > base || (uint64_t)(uintptr_t)kvr_image_end > base)
    fail("module_overlaps_trace_region", mod_end);
  if (top > 0x100000000ull) fail("trace_region_above_4GiB", top);
  if (!mmap_covers(info, base, top)) fail("trace_region_not_in_ram", top);

  clock_calibrate();
  st_put64(KVR_ST_TSC_HZ, tsc_hz);
  if (m.sleep_min_ns) idle_init();
  uint64_t f0 = rdtsc();
  fill_image(&m);
  touch_image(&m);
  uint64_t fill_ns = ticks_to_ns(rdtsc() - f0);

  st_put32(KVR_ST_STATE, KVR_STATE_READY);
  out_str("KVR READY");
  out_kv("base_page", m.base_page);
  out_kv("pages", m.pages);
  out_str(" status=");
  out_hex((uint32_t)(uintptr_t)kvr_status);
  out_str(" module=");
  out_hex(mod_start);
  out_kv("module_bytes", m.bytes);
  out_kv("tsc_hz", tsc_hz);
  out_kv("fill_ms", udiv64(fill_ns, 1000000u, NULL));
  if (m.sleep_min_ns) out_kv("apic_per_us", mul_shr32(1000, apic_per_ns_q32));
  out_str("\n");
  serial_flush();

  wait_for_go();
  replay(&m);
}
