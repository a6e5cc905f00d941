/* kvr_abi: what the replay guest and the harness agree on.
 *
 * Shared by the freestanding guest (-m32) and the host harness (x86_64), so
 * it holds only constants: every multi-byte field of the module and of the
 * status block is little-endian at a fixed byte offset, read and written
 * field by field (never as a C struct, whose layout differs between i386
 * and x86_64 for 64-bit members).
 *
 * Guest-physical memory (identity-mapped, paging off):
 *   0x00100000            guest kernel (text, data, bss, stack)
 *   after the kernel      multiboot info, then the module (placed by QEMU)
 *   base_page * 4096      trace page 0; trace page p is guest page base + p
 *   after the trace       a small margin the BIOS may use for its tables
 *
 * Module ("KVRM" v1): a header, the initial image as inclusive page ranges,
 * then two event streams. The "head" plays once from guest time 0; the
 * "body" is one trace pass that starts at body_start_ns and, when the LOOP
 * flag is set, repeats every period_ns. Each event is two LEB128 varints:
 *   A = (dt_ns << 1) | is_read   dt_ns: time since the previous event of the
 *                                stream (the first: since the stream start)
 *   B = zigzag(pfn - prev_pfn)   prev_pfn starts at 0 in each stream pass
 * so a pass of sequential writes at a steady rate costs ~3-4 bytes/event.
 *
 * Every replayed write stores a 16-byte stamp at offset 0 of its page
 * (kvr_stamp_words): seq (u64, the number of writes before this one) and
 * KVR_STAMP_MAGIC, scrambled by seq so that two writes' stamps differ in
 * every byte (but by chance, 1 in 256 a byte), and the first word's
 * complement. The stamp is never zero, so a written page is never a zero
 * page, and the integrity check can tell a page the guest wrote after
 * switchover (seq >= the source's writes_done) from a lost write. */
#ifndef KVR_ABI_H
#define KVR_ABI_H

#include <stdint.h> /* freestanding too */

#define KVR_PAGE_SIZE 4096u
#define KVR_PAGE_SHIFT 12u

/* Module header: byte offsets. */
#define KVR_MODULE_MAGIC 0x4d52564bu /* "KVRM" */
#define KVR_MODULE_VERSION 1u
#define KVR_MOD_MAGIC 0u          /* u32 */
#define KVR_MOD_VERSION 4u        /* u32 */
#define KVR_MOD_HEADER_BYTES 8u   /* u32: KVR_MODULE_HEADER_SIZE */
#define KVR_MOD_FLAGS 12u         /* u32: KVR_MODFLAG_* */
#define KVR_MOD_PAGES 16u         /* u32: trace pages */
#define KVR_MOD_BASE_PAGE 20u     /* u32: guest page of trace page 0 */
#define KVR_MOD_RANGE_COUNT 24u   /* u32: initial-image ranges */
#define KVR_MOD_RANGES_OFF 28u    /* u32: offset of (first u32, last u32)[] */
#define KVR_MOD_HEAD_OFF 32u      /* u32 */
#define KVR_MOD_HEAD_BYTES 36u    /* u32 */
#define KVR_MOD_BODY_OFF 40u      /* u32 */
#define KVR_MOD_BODY_BYTES 44u    /* u32 */
#define KVR_MOD_HEAD_EVENTS 48u   /* u64 */
#define KVR_MOD_BODY_EVENTS 56u   /* u64 */
#define KVR_MOD_BODY_START 64u    /* u64 ns: guest time of body pass 0 */
#define KVR_MOD_PERIOD 72u        /* u64 ns: body pass length (loop) */
#define KVR_MOD_REPORT_NS 80u     /* u64 ns: progress report interval */
#define KVR_MOD_LATE_NS 88u       /* u64 ns: a write later than this is late */
#define KVR_MOD_TOTAL_BYTES 96u   /* u32: whole module */
#define KVR_MOD_CHECKSUM 100u     /* u32: FNV-1a of bytes [header, total) */
#define KVR_MOD_SLEEP_MIN 104u    /* u64 ns: halt (hlt + APIC timer) while
                                     the next event is further away than
                                     this; 0 = always spin */
#define KVR_MOD_WAKE_EARLY 112u   /* u64 ns: wake this long before it */
#define KVR_MOD_WRITE_BYTES 120u  /* u32: bytes of a page one write changes,
                                     the stamp's 16 included; 0 or <= 16:
                                     the stamp only (docs/features.md) */
#define KVR_MOD_RANDOM_BYTES 124u /* u32: a non-zero page of the initial
                                     image starts with this many pseudo-
                                     random bytes (a multiple of 4), the
                                     rest its fill word, so that it
                                     compresses to the workload's
                                     compress_ratio (multifd zlib/zstd,
                                     compress); 0: the fill word only */
#define KVR_MODULE_HEADER_SIZE 128u

#define KVR_MODFLAG_LOOP 1u /* repeat the body every period_ns */
/* The workload is CPU-bound: its clock runs only while the vCPU does. A
 * gap in the replay loop's own execution longer than KVR_GAP_NS (beyond an
 * intended halt) is time the vCPU did not run (QEMU's CPU throttle for
 * auto-converge, or the host), taken off the workload clock like a stall.
 * Set for auto-converge scenarios (docs/features.md). */
#define KVR_MODFLAG_CPU_BOUND 2u
#define KVR_GAP_NS 2000000u

/* FNV-1a (32-bit) parameters for the module checksum. */
#define KVR_FNV_OFFSET 2166136261u
#define KVR_FNV_PRIME 16777619u

/* Page stamp written by each replayed write: four words at offset 0. */
#define KVR_STAMP_MAGIC 0x57524b56u /* "VKRW" */
#define KVR_STAMP_BYTES 16u

/* murmur3's 32-bit finaliser, a bijection in which every output byte
 * depends on every input bit, and its inverse (the multipliers' inverses
 * mod 2^32: 0x7ed1b41d, 0xa5cb9243). */
static inline uint32_t kvr_mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  return x ^ (x >> 16);
}
static inline uint32_t kvr_unmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7ed1b41du;
  x ^= (x >> 13) ^ (x >> 26);
  x *= 0xa5cb9243u;
  return x ^ (x >> 16);
}

/* The stamp of write `seq`. The model's workload key write_bytes says a
 * write changes that many bytes of its page, in one run (docs/workloads.md,
 * "Page content"): with seq and the magic stored as plain words, two
 * writes' stamps kept 10 of their 16 bytes (seq's high bytes, the magic),
 * and QEMU's XBZRLE sent three short runs instead of one (about 6 bytes
 * a page less than the model, and no overflow for a whole-page writer).
 * Scrambled by seq, every byte changes. */
static inline void kvr_stamp_words(uint64_t seq, uint32_t w[4]) {
  uint32_t lo = (uint32_t)seq;
  w[0] = kvr_mix32(lo);
  w[1] = (uint32_t)(seq >> 32) ^ kvr_mix32(lo ^ 0x9e3779b9u);
  w[2] = KVR_STAMP_MAGIC ^ kvr_mix32(lo ^ 0x7f4a7c15u);
  w[3] = ~w[0]; /* w[0] and w[3] are never both zero */
}

/* The seq a page's first four words stamp, or -1 when they are no stamp. */
static inline int kvr_stamp_decode(const uint32_t w[4], uint64_t *seq) {
  if (w[3] != ~w[0]) return -1;
  uint32_t lo = kvr_unmix32(w[0]);
  if ((w[2] ^ kvr_mix32(lo ^ 0x7f4a7c15u)) != KVR_STAMP_MAGIC) return -1;
  *seq = (uint64_t)lo | (uint64_t)(w[1] ^ kvr_mix32(lo ^ 0x9e3779b9u)) << 32;
  return 0;
}

/* With write_bytes W > 16, a write also fills bytes [16, W) with words
 * derived from its stamp's first word `key`, so every byte up to W
 * changes on every write (XBZRLE then sends one run of W bytes) and the
 * integrity check can tell a page written after a post-copy switch. */
#define KVR_FILL_WORD(key, offset) ((uint32_t)(key) * 2654435761u + (uint32_t)(offset) * 0x01010101u)

/* The contents of non-zero page `pfn` (trace page) of the initial image
 * with KVR_MOD_RANDOM_BYTES = random_bytes: xorshift32 words seeded by the
 * pfn, then `word`. Shared by the guest and the host's choice of
 * random_bytes (kvr__random_bytes_for), so both see the same bytes. */
static inline void kvr_page_content(volatile uint32_t *w, uint32_t pfn, uint32_t random_bytes, uint32_t word) {
  uint32_t x = (pfn + 1u) * 0x85ebca6bu ^ 0x2545f491u, n = random_bytes / 4u, i = 0;
  if (x == 0) x = 1;
  for (; i < n && i < KVR_PAGE_SIZE / 4u; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w[i] = i == 3u && x == ~w[0] ? x ^ 1u : x; /* never a stamp (kvr_stamp_decode) */
  }
  for (; i < KVR_PAGE_SIZE / 4u; i++) w[i] = word;
}

/* Status block in guest memory (address announced in the READY line). */
#define KVR_STATUS_MAGIC 0x5352564bu /* "KVRS" */
#define KVR_ST_MAGIC 0u        /* u32 */
#define KVR_ST_STATE 4u        /* u32: KVR_STATE_* */
#define KVR_ST_EVENTS 8u       /* u64 events done */
#define KVR_ST_WRITES 16u      /* u64 writes done (= next write's seq) */
#define KVR_ST_READS 24u       /* u64 */
#define KVR_ST_LATE 32u        /* u64 writes later than late_ns */
#define KVR_ST_MAX_LAG 40u     /* u64 ns */
#define KVR_ST_STALL 48u       /* u64 ns spent inside slow accesses */
#define KVR_ST_LOOPS 56u       /* u64 completed body passes */
#define KVR_ST_NOW 64u         /* u64 ns: guest trace clock at last update */
#define KVR_ST_LAG_SUM 72u     /* u64 ns: sum of write lags */
#define KVR_ST_TSC_HZ 80u      /* u64 */
#define KVR_ST_LOST 88u        /* u64 ns: execution gaps taken off the
                                  workload clock (KVR_MODFLAG_CPU_BOUND) */
#define KVR_ST_HIST 128u       /* u32[SIM_HIST_BUCKETS]: delayed accesses by
                                  delay (sim/sim_hist.h buckets) */
#define KVR_STATUS_SIZE 384u   /* KVR_ST_HIST + 64 * 4 */

#define KVR_STATE_BOOT 0u
#define KVR_STATE_READY 1u
#define KVR_STATE_RUNNING 2u
#define KVR_STATE_DONE 3u /* a non-looping trace has ended */

/* An access slower than this counts as a stall (post-copy fault, ...).
 * Only those of at least SIM_HIST_MIN_NS (1 ms) count as delayed in the
 * histogram (sim/sim_hist.h). */
#define KVR_STALL_NS 20000u

/* Serial protocol on COM1. Guest lines start with "KVR "; the harness
 * sends KVR_GO_BYTE to start the replay. */
#define KVR_GO_BYTE 'g'

/* The ACPI PM timer on QEMU's pc machine (PIIX4 PM base 0x600, set up by
 * SeaBIOS): 24-bit counter at 3.579545 MHz. */
#define KVR_PM_TIMER_PORT 0x608u
#define KVR_PM_TIMER_HZ 3579545u

#endif
