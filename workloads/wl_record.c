/* wl_record: the process recorder (see wl_record.h and docs/recording.md).
 *
 * One scan = read /proc/PID/maps; find the in-use pages of every scanned
 * mapping (PAGEMAP_SCAN, which skips unpopulated page tables) and give pfns
 * to the 16-page blocks that hold them and had none; then walk the blocks
 * with pfns in chunks of up to WL__CHUNK_PAGES: read the chunk's pagemap
 * entries, let the backend set the dirty bits, and finally turn the per-pfn
 * bitmap into an ascending pfn list appended to the temporary event file.
 * All buffers are owned by the recorder and reused from scan to scan. */
#include "wl_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sim_err.h"
#include "wl_maps.h"
#include "wl_record_internal.h"

/* Pages per chunk: 8 MiB of data per process_vm_readv and 16 KiB of
 * pagemap per pread. Large enough that syscall overhead is noise, small
 * enough to stay in L2/L3 while hashing. A chunk of 2048 pages has at most
 * 1024 runs of pages to read (alternate pages), so its remote iovec list
 * never exceeds IOV_MAX (1024 on Linux). */
#define WL__CHUNK_PAGES 2048u
#define WL__IOV_MAX 1024u

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define WL__PM_PRESENT (1ull << 63)
#define WL__PM_SWAPPED (1ull << 62)
#define WL__PM_SOFT_DIRTY (1ull << 55)

/* pfns are given out in blocks of WL__BLOCK_PAGES virtually contiguous
 * pages (64 KiB), on the first scan that finds a page of the block in use.
 * Blocks keep untouched parts of huge sparse mappings (thread stacks,
 * allocator arenas, a sanitizer's terabytes of shadow) out of the pfn space
 * and out of every scan; the price is at most 15 zero pfns per block. */
#define WL__BLOCK_SHIFT 4u
#define WL__BLOCK_PAGES (1u << WL__BLOCK_SHIFT)

typedef struct {
  uint64_t vblock;   /* virtual page number >> WL__BLOCK_SHIFT */
  uint64_t pfn_base; /* pfn of the block's first page */
} wl__block;

/* PAGEMAP_SCAN (Linux 6.7+, wl_record_internal.h) lists the resident
 * ranges of an address range by walking only the page tables that exist,
 * instead of reading 8 bytes of pagemap per page; the uffd-wp backend also
 * uses it to find (and protect again) the written pages. */
#define WL__PM_REGIONS 512u

/* Page-content sampling for write_bytes and compress_ratio: up to
 * WL__SAMPLE_PER_SCAN dirty pages are read per scan; WL__SAMPLE_SLOTS of
 * them keep a copy, so that the next write to the same page can be
 * compared byte by byte with what it replaced. */
#define WL__SAMPLE_PER_SCAN 32u
#define WL__SAMPLE_SLOTS 256u
#define WL__COMPRESS_LEVEL 1 /* zlib level: QEMU's compress-level default */

/* A mapping of the current scan that the recorder scans. */
typedef struct {
  uint64_t start, end;
  int anon_private; /* pages not present are zero: no need to read them */
} wl__map;

/* The part of a mapping one backend call looks at: pages of consecutive
 * blocks (consecutive in address, not necessarily in pfn). */
typedef struct {
  uint64_t vaddr; /* first page */
  size_t pages;
  int anon_private;
  const uint64_t *pagemap; /* one entry per page */
  const wl__block *blocks; /* the block holding the first page, then the
                              next ones in address order */
  unsigned page_shift;
} wl__chunk;

/* pfn of page i of a chunk. O(1). */
static uint64_t wl__chunk_pfn(const wl__chunk *c, size_t i) {
  uint64_t vpage = (c->vaddr >> c->page_shift) + i;
  const wl__block *b = &c->blocks[(vpage >> WL__BLOCK_SHIFT) - c->blocks[0].vblock];
  return b->pfn_base + (vpage & (WL__BLOCK_PAGES - 1));
}

struct wl_record_backend {
  const char *name;
  int keeps_hashes; /* needs the per-pfn hash array */
  /* Optional: prepares the target after open and after an exec. Returns
   * 0, 1 when the process has gone, or a negative code. */
  int (*attach)(wl_recorder *r);
  /* Optional: finds the written pages of mapping m itself (into
   * r->written), before the mapping's blocks are noted. A backend with it
   * makes no pagemap pass after the baseline. Returns as attach. */
  int (*map_written)(wl_recorder *r, const wl__map *m);
  /* Sets dirty bits for the chunk (at the baseline: non-zero bits).
   * Returns 0, 1 when the process has gone, or a negative code. */
  int (*chunk)(wl_recorder *r, const wl__chunk *c);
  /* After a complete scan (e.g. clear the soft-dirty bits). */
  int (*scan_end)(wl_recorder *r);
};

struct wl_recorder {
  pid_t pid;
  const wl_record_backend *backend;
  wl_record_opts opts;
  size_t page_size;
  unsigned page_shift;
  int maps_fd, pagemap_fd, clear_refs_fd;
  int uffd; /* uffd-wp: userfaultfd of the target's address space, or -1 */
  wl__pm_region *written; /* uffd-wp: written ranges of this scan, ascending */
  size_t written_count, written_cap;
  uint64_t *block_vblock; /* vblock of pfn block i (pfn / 16): pfn -> address */
  size_t block_vblock_cap;

  char *maps_text; /* last /proc/PID/maps contents (maps_len bytes) */
  size_t maps_len, maps_cap;
  wl__map *maps; /* scanned mappings, ascending */
  size_t map_count, map_cap;
  wl__block *blocks; /* sorted by vblock */
  size_t block_count, block_cap;
  uint64_t *new_vblocks; /* blocks found by this scan, ascending */
  size_t new_count, new_cap;
  wl__pm_region *pm_regions; /* WL__PM_REGIONS */
  int no_pagemap_scan; /* kernel lacks PAGEMAP_SCAN: read pagemap instead */

  uint64_t pages;      /* pfns given out so far */
  uint64_t pfn_cap;    /* capacity of the per-pfn arrays */
  uint64_t *hashes;    /* per pfn, hash backend only */
  uint64_t *dirty_bits; /* per pfn, cleared while collected */
  uint64_t *dirty;     /* last scan's dirty pfns, ascending */
  size_t dirty_count, dirty_cap;

  uint64_t *pagemap_buf;   /* WL__CHUNK_PAGES entries */
  unsigned char *read_buf; /* WL__CHUNK_PAGES pages */
  uint64_t *slot_vaddr;    /* page read into slot i of read_buf */
  unsigned char *slot_ok;  /* slot i holds valid data */
  int32_t *page_slot;      /* chunk page -> slot, or -1 */
  struct iovec *remote_iov; /* WL__IOV_MAX */
  uint64_t zero_hash;

  int baseline_done, exited;
  struct timespec t0; /* wall-clock (monotonic) start of the baseline */
  uint64_t prev_time_ns;
  uint64_t scan_resident_bytes;
  FILE *events; /* temporary event store, see wl__events_append */
  wl_range *nonzero;
  size_t nonzero_count;
  wl_record_stats stats;
  int restarted; /* the last scan found an exec and restarted */

  /* Content sampling (see WL__SAMPLE_*). */
  uint64_t sample_pfn[WL__SAMPLE_SLOTS];
  unsigned char *sample_data; /* WL__SAMPLE_SLOTS pages */
  unsigned char *sample_page; /* one page being examined */
  unsigned char *zbuf;        /* zbuf_size >= compressBound(page) bytes */
  size_t zbuf_size;
  z_stream zstream;
  int zstream_ready;
  size_t sample_used, sample_next;
  uint64_t changed_bytes, compared_pages; /* write_bytes */
  uint64_t raw_bytes, compressed_bytes, compressed_pages; /* compress_ratio */
};

/* ------------------------------------------------------------ helpers */

static uint64_t wl__ns_between(const struct timespec *a, const struct timespec *b) {
  int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
  return ns > 0 ? (uint64_t)ns : 0;
}

static uint64_t wl__rotl(uint64_t x, unsigned k) { return (x << k) | (x >> (64 - k)); }

/* 64-bit hash of one page, used only to notice that a page changed. Four
 * independent lanes of x -> rotl((x ^ w) * K, 29): each step is a bijection
 * of the lane state for a fixed word, so changing any single word always
 * changes the result, and the rotation carries high-bit differences down so
 * that two flips of the same bit cannot cancel. The lanes hide the multiply
 * latency: ~12 GB/s here, a quarter of a scan's time (the copy in
 * process_vm_readv is the rest). `words` is a multiple of 4. */
static uint64_t wl__page_hash(const unsigned char *page, size_t words) {
  const uint64_t k = 0x9e3779b97f4a7c15ull;
  uint64_t a = 0x243f6a8885a308d3ull, b = 0x13198a2e03707344ull;
  uint64_t c = 0xa4093822299f31d0ull, d = 0x082efa98ec4e6c89ull;
  for (size_t i = 0; i < words; i += 4) {
    uint64_t w[4];
    memcpy(w, page + i * 8, sizeof w); /* no alignment or aliasing assumption */
    a = wl__rotl((a ^ w[0]) * k, 29);
    b = wl__rotl((b ^ w[1]) * k, 29);
    c = wl__rotl((c ^ w[2]) * k, 29);
    d = wl__rotl((d ^ w[3]) * k, 29);
  }
  /* Fold with bijective steps so that every lane still matters. */
  uint64_t h = wl__rotl(a * k, 31) ^ b;
  h = wl__rotl(h * k, 31) ^ c;
  h = wl__rotl(h * k, 31) ^ d;
  return h * k;
}

static void wl__bit_set(uint64_t *bits, uint64_t i) { bits[i >> 6] |= 1ull << (i & 63); }

/* Makes room for `need` elements of `size` bytes in the growable array
 * *array of capacity *cap (doubling, from 1024). 0 or SIM_ENOMEM; the old
 * pointer is no longer valid after a move. Amortised O(1) per element. */
static int wl__reserve(void **array, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t grown_cap = *cap ? *cap : 1024;
  while (grown_cap < need) grown_cap *= 2;
  void *grown = realloc(*array, grown_cap * size);
  if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory");
  *array = grown;
  *cap = grown_cap;
  return 0;
}

/* Unsigned LEB128 varints for the temporary event store. */
static void wl__put_varint(FILE *f, uint64_t v) {
  while (v >= 0x80) {
    putc_unlocked((int)(v & 0x7f) | 0x80, f);
    v >>= 7;
  }
  putc_unlocked((int)v, f);
}

static int wl__get_varint(FILE *f, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    int ch = getc_unlocked(f);
    if (ch == EOF) return -1;
    x |= (uint64_t)(ch & 0x7f) << shift;
    if (!(ch & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* ------------------------------------------------------------ backends */

static int wl__read_error(wl_recorder *r, int err) {
  if (err == EPERM || err == EACCES)
    return sim_errorf(SIM_EUNSUPPORTED,
                      "cannot read the memory of process %ld: %s (the hash backend "
                      "needs ptrace rights over it: run as root or as its owner "
                      "with kernel.yama.ptrace_scope=0)",
                      (long)r->pid, strerror(err));
  return sim_errorf(SIM_EIO, "cannot read the memory of process %ld: %s", (long)r->pid,
                    strerror(err));
}

/* Reads the chunk's pages that hold data into read_buf: every page of a
 * file-backed or shared mapping (their non-present pages are not zero), and
 * the resident pages of an anonymous private one. Sets page_slot[] and
 * slot_ok[]; a page that vanished under us stays !slot_ok (treated as
 * unchanged this scan). Returns 0, 1 when the process has gone, or a
 * negative code. Cost: one process_vm_readv per chunk, plus one per page
 * that faults (only when mappings change during the scan). */
static int wl__chunk_read(wl_recorder *r, const wl__chunk *c) {
  size_t slots = 0;
  for (size_t i = 0; i < c->pages; i++) {
    if (c->anon_private && !(c->pagemap[i] & (WL__PM_PRESENT | WL__PM_SWAPPED))) {
      r->page_slot[i] = -1;
      continue;
    }
    r->page_slot[i] = (int32_t)slots;
    r->slot_vaddr[slots] = c->vaddr + ((uint64_t)i << r->page_shift);
    r->slot_ok[slots] = 0;
    slots++;
  }
  size_t next = 0;
  while (next < slots) {
    size_t iov_count = 0;
    for (size_t s = next; s < slots; s++) {
      uint64_t va = r->slot_vaddr[s];
      struct iovec *last = iov_count ? &r->remote_iov[iov_count - 1] : NULL;
      if (last && (uint64_t)(uintptr_t)last->iov_base + last->iov_len == va) {
        last->iov_len += r->page_size;
      } else {
        if (iov_count == WL__IOV_MAX) break; /* defensive: cannot happen, see above */
        r->remote_iov[iov_count].iov_base = (void *)(uintptr_t)va;
        r->remote_iov[iov_count].iov_len = r->page_size;
        iov_count++;
      }
    }
    size_t want = 0;
    for (size_t k = 0; k < iov_count; k++) want += r->remote_iov[k].iov_len;
    struct iovec local = {r->read_buf + (next << r->page_shift), want};
    ssize_t got = process_vm_readv(r->pid, &local, 1, r->remote_iov, (unsigned long)iov_count, 0);
    if (got < 0) {
      if (errno == ESRCH) return 1;
      if (errno != EFAULT && errno != ENOMEM && errno != EIO) return wl__read_error(r, errno);
      got = 0;
    }
    size_t full = (size_t)got >> r->page_shift;
    for (size_t s = next; s < next + full; s++) r->slot_ok[s] = 1;
    next += full;
    /* A short read stops at a page that is gone (unmapped mid-scan): skip
     * it and read on from the one after. */
    if ((size_t)got < want) next++;
  }
  return 0;
}

static int wl__hash_chunk(wl_recorder *r, const wl__chunk *c) {
  int rc = wl__chunk_read(r, c);
  if (rc) return rc;
  size_t words = r->page_size / 8;
  for (size_t i = 0; i < c->pages; i++) {
    uint64_t h;
    int32_t slot = r->page_slot[i];
    if (slot < 0)
      h = r->zero_hash; /* anonymous and not resident: zero (perhaps freed) */
    else if (r->slot_ok[slot])
      h = wl__page_hash(r->read_buf + ((size_t)slot << r->page_shift), words);
    else
      continue; /* unreadable this scan: unchanged */
    uint64_t pfn = wl__chunk_pfn(c, i);
    if (h != r->hashes[pfn]) {
      r->hashes[pfn] = h;
      wl__bit_set(r->dirty_bits, pfn);
    }
  }
  return 0;
}

/* For backends with nothing to do after a scan. */
static int wl__scan_end_none(wl_recorder *r) {
  (void)r;
  return 0;
}

/* Compresses `page` (zlib, WL__COMPRESS_LEVEL) into the compress_ratio
 * sums. ~10-30 us per 4 KiB page. One deflate stream is reset and reused:
 * compress2() would allocate and free ~300 KiB per page, and the heap
 * trims that cost a TLB shootdown each. */
static void wl__sample_compress(wl_recorder *r, const unsigned char *page) {
  if (!r->zstream_ready) {
    memset(&r->zstream, 0, sizeof r->zstream);
    if (deflateInit(&r->zstream, WL__COMPRESS_LEVEL) != Z_OK) return;
    r->zstream_ready = 1;
  } else if (deflateReset(&r->zstream) != Z_OK) {
    return;
  }
  r->zstream.next_in = (Bytef *)(uintptr_t)page;
  r->zstream.avail_in = (uInt)r->page_size;
  r->zstream.next_out = r->zbuf;
  r->zstream.avail_out = (uInt)r->zbuf_size;
  if (deflate(&r->zstream, Z_FINISH) != Z_STREAM_END) return;
  r->raw_bytes += r->page_size;
  r->compressed_bytes += r->zstream.total_out;
  r->compressed_pages++;
}

/* The baseline of the exact backends: sets the bits of the chunk's
 * non-zero pages (they need the contents, which only the baseline reads).
 * One non-zero page in 64 (at most 2048) is also compressed for
 * compress_ratio. */
static int wl__nonzero_chunk(wl_recorder *r, const wl__chunk *c) {
  int rc = wl__chunk_read(r, c);
  if (rc) return rc;
  size_t words = r->page_size / 8;
  for (size_t i = 0; i < c->pages; i++) {
    int32_t slot = r->page_slot[i];
    if (slot < 0 || !r->slot_ok[slot]) continue;
    const unsigned char *page = r->read_buf + ((size_t)slot << r->page_shift);
    if (wl__page_hash(page, words) == r->zero_hash) continue;
    uint64_t pfn = wl__chunk_pfn(c, i);
    wl__bit_set(r->dirty_bits, pfn);
    if (pfn % 64 == 0 && r->compressed_pages < 2048) wl__sample_compress(r, page);
  }
  return 0;
}

static int wl__soft_dirty_chunk(wl_recorder *r, const wl__chunk *c) {
  if (!r->baseline_done) return wl__nonzero_chunk(r, c);
  /* A new mapping reports every page soft-dirty, also the holes: only
   * resident pages can have been written. */
  for (size_t i = 0; i < c->pages; i++) {
    uint64_t e = c->pagemap[i];
    if ((e & WL__PM_SOFT_DIRTY) && (e & (WL__PM_PRESENT | WL__PM_SWAPPED)))
      wl__bit_set(r->dirty_bits, wl__chunk_pfn(c, i));
  }
  return 0;
}

/* A write to a page between the read of its pagemap entry and this clear
 * is lost: a window of at most one scan (pagemap reads only, so short). */
static int wl__soft_dirty_scan_end(wl_recorder *r) {
  if (pwrite(r->clear_refs_fd, "4", 1, 0) == 1) return 0;
  if (errno == ESRCH || errno == ENOENT) return 1;
  return sim_errorf(SIM_EIO, "cannot clear the soft-dirty bits of process %ld: %s",
                    (long)r->pid, strerror(errno));
}

static int wl__uffd_attach_backend(wl_recorder *r) { return wl__uffd_attach(r->pid, &r->uffd); }

static int wl__written_push(wl_recorder *r, uint64_t start, uint64_t end) {
  if (r->written_count && r->written[r->written_count - 1].end == start) {
    r->written[r->written_count - 1].end = end;
    return 0;
  }
  int rc = wl__reserve((void **)&r->written, &r->written_cap, r->written_count + 1,
                       sizeof *r->written);
  if (rc) return rc;
  r->written[r->written_count++] = (wl__pm_region){start, end, 0};
  return 0;
}

/* One PAGEMAP_SCAN over mapping m: the pages written since the last scan
 * (present and not write-protected), write-protected again by the same
 * walk. A mapping not registered yet (new, or remapped) makes the scan
 * fail with EPERM (PM_SCAN_CHECK_WPASYNC): it is registered and scanned
 * again, so its resident pages count as written now (new memory was zero
 * before). Cost: a walk of the mapping's existing page tables; unwritten
 * pages cost a pte check each, no copy. */
static int wl__uffd_map_written(wl_recorder *r, const wl__map *m) {
  wl__pm_scan_arg arg;
  memset(&arg, 0, sizeof arg);
  arg.size = sizeof arg;
  arg.flags = WL__PM_SCAN_WP_MATCHING | WL__PM_SCAN_CHECK_WPASYNC;
  arg.start = m->start;
  arg.end = m->end;
  arg.vec = (uint64_t)(uintptr_t)r->pm_regions;
  arg.vec_len = WL__PM_REGIONS;
  wl__pm_scan_written(&arg);
  int registered = 0;
  while (arg.start < m->end) {
    int n = ioctl(r->pagemap_fd, WL__PAGEMAP_SCAN, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ESRCH) return 1;
      if (errno == EPERM && !registered) {
        registered = 1;
        int err = wl__uffd_register(r->uffd, arg.start, m->end);
        if (err == -ENOMEM || err == -ENOENT) return 0; /* unmapped meanwhile */
        if (err) {
          /* A kind of memory userfaultfd refuses (e.g. VM_DROPPABLE), or
           * one registered by the program itself: not recorded. */
          r->stats.unprotected_maps++;
          return 0;
        }
        continue;
      }
      if (errno == EPERM) return 0; /* changed again under us: next scan */
      return sim_errorf(SIM_EIO, "PAGEMAP_SCAN (write-protect) on /proc/%ld/pagemap: %s",
                        (long)r->pid, strerror(errno));
    }
    for (int i = 0; i < n; i++) {
      int rc = wl__written_push(r, r->pm_regions[i].start, r->pm_regions[i].end);
      if (rc) return rc;
    }
    if (arg.walk_end <= arg.start) break; /* defensive: no progress */
    arg.start = arg.walk_end;
  }
  return 0;
}

/* The pagemap pass of uffd-wp runs at the baseline only. */
static int wl__uffd_chunk(wl_recorder *r, const wl__chunk *c) { return wl__nonzero_chunk(r, c); }

const wl_record_backend wl_record_hash = {"hash", 1, NULL, NULL, wl__hash_chunk,
                                          wl__scan_end_none};
const wl_record_backend wl_record_soft_dirty = {"soft-dirty", 0, NULL, NULL,
                                                wl__soft_dirty_chunk, wl__soft_dirty_scan_end};
const wl_record_backend wl_record_uffd_wp = {"uffd-wp", 0, wl__uffd_attach_backend,
                                             wl__uffd_map_written, wl__uffd_chunk,
                                             wl__scan_end_none};

const wl_record_backend *wl_record_backend_find(const char *name) {
  if (strcmp(name, wl_record_hash.name) == 0) return &wl_record_hash;
  if (strcmp(name, wl_record_soft_dirty.name) == 0) return &wl_record_soft_dirty;
  if (strcmp(name, wl_record_uffd_wp.name) == 0) return &wl_record_uffd_wp;
  return NULL;
}

const char *wl_record_backend_name(const wl_record_backend *backend) { return backend->name; }

static int wl__pagemap_entry(int fd, const void *addr, size_t page_size, uint64_t *entry) {
  off_t off = (off_t)(((uintptr_t)addr / page_size) * sizeof *entry);
  return pread(fd, entry, sizeof *entry, off) == (ssize_t)sizeof *entry ? 0 : -1;
}

int wl_record_soft_dirty_probe(void) {
  size_t ps = (size_t)sysconf(_SC_PAGESIZE);
  int rc = 0, pm = -1, cr = -1;
  /* Two pages of our own: one written after the clear, one left alone. */
  volatile unsigned char *mem = aligned_alloc(ps, 2 * ps);
  if (!mem) return sim_errorf(SIM_ENOMEM, "out of memory");
  mem[0] = 1;
  mem[ps] = 1;
  pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (pm < 0 || cr < 0) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "soft-dirty: cannot open /proc/self/%s: %s",
                    pm < 0 ? "pagemap" : "clear_refs", strerror(errno));
    goto cleanup;
  }
  uint64_t written, idle;
  if (pwrite(cr, "4", 1, 0) != 1) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "soft-dirty: writing 4 to clear_refs failed: %s",
                    strerror(errno));
    goto cleanup;
  }
  if (wl__pagemap_entry(pm, (const void *)mem, ps, &written) ||
      wl__pagemap_entry(pm, (const void *)(mem + ps), ps, &idle)) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "soft-dirty: cannot read /proc/self/pagemap");
    goto cleanup;
  }
  if (written & WL__PM_SOFT_DIRTY) {
    rc = sim_errorf(SIM_EUNSUPPORTED,
                    "soft-dirty: bit 55 stays set after clear_refs (kernel ignores it)");
    goto cleanup;
  }
  mem[0] = 2;
  if (wl__pagemap_entry(pm, (const void *)mem, ps, &written) ||
      wl__pagemap_entry(pm, (const void *)(mem + ps), ps, &idle)) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "soft-dirty: cannot read /proc/self/pagemap");
    goto cleanup;
  }
  if (!(written & WL__PM_SOFT_DIRTY) || (idle & WL__PM_SOFT_DIRTY))
    rc = sim_errorf(SIM_EUNSUPPORTED,
                    "soft-dirty: a page written after clear_refs does not read back "
                    "dirty (kernel built without CONFIG_MEM_SOFT_DIRTY?)");
cleanup:
  if (pm >= 0) close(pm);
  if (cr >= 0) close(cr);
  free((void *)mem);
  return rc;
}

/* ------------------------------------------------------------ open/free */

static int wl__open_proc(pid_t pid, const char *name, int flags, int *fd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
  *fd = open(path, flags | O_CLOEXEC);
  if (*fd >= 0) return 0;
  if (errno == ENOENT || errno == ESRCH)
    return sim_errorf(SIM_ENOTFOUND, "process %ld does not exist", (long)pid);
  if (errno == EACCES || errno == EPERM)
    return sim_errorf(SIM_EUNSUPPORTED,
                      "cannot open %s: %s (recording needs ptrace rights over the "
                      "process: run as root or as its owner)",
                      path, strerror(errno));
  return sim_errorf(SIM_EIO, "cannot open %s: %s", path, strerror(errno));
}

static void wl__close_target(wl_recorder *r) {
  int *fds[] = {&r->maps_fd, &r->pagemap_fd, &r->clear_refs_fd, &r->uffd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

/* Opens what the recorder reads of the target's current address space
 * (an exec replaces it: the old files then read as empty). Returns 0, 1
 * when the process has gone (only when `gone_ok`), or a negative code. */
static int wl__open_target(wl_recorder *r, int gone_ok) {
  int rc;
  wl__close_target(r);
  if ((rc = wl__open_proc(r->pid, "maps", O_RDONLY, &r->maps_fd))) goto fail;
  if ((rc = wl__open_proc(r->pid, "pagemap", O_RDONLY, &r->pagemap_fd))) goto fail;
  if (r->backend == &wl_record_soft_dirty &&
      (rc = wl__open_proc(r->pid, "clear_refs", O_WRONLY, &r->clear_refs_fd)))
    goto fail;
  if (r->backend->attach && (rc = r->backend->attach(r))) {
    if (rc == 1 && !gone_ok)
      rc = sim_errorf(SIM_ENOTFOUND, "process %ld exited while the recorder attached",
                      (long)r->pid);
    goto fail;
  }
  return 0;
fail:
  if (rc == SIM_ENOTFOUND && gone_ok) rc = 1;
  wl__close_target(r);
  return rc;
}

int wl_recorder_open(pid_t pid, const wl_record_backend *backend,
                     const wl_record_opts *opts, wl_recorder **out) {
  int rc;
  if (pid <= 0) return sim_errorf(SIM_EINVAL, "process id %ld: expected a positive number", (long)pid);
  if (!opts || opts->interval_ns == 0)
    return sim_errorf(SIM_EINVAL, "recording interval must be positive");
  if (backend == &wl_record_soft_dirty && (rc = wl_record_soft_dirty_probe())) return rc;

  wl_recorder *r = calloc(1, sizeof *r);
  if (!r) return sim_errorf(SIM_ENOMEM, "out of memory");
  r->pid = pid;
  r->backend = backend;
  r->opts = *opts;
  r->maps_fd = r->pagemap_fd = r->clear_refs_fd = r->uffd = -1;
  r->page_size = (size_t)sysconf(_SC_PAGESIZE);
  while ((1ul << r->page_shift) < r->page_size) r->page_shift++;

  if ((rc = wl__open_target(r, 0))) goto fail;
  r->sample_data = malloc(WL__SAMPLE_SLOTS * r->page_size);
  r->sample_page = malloc(r->page_size);
  r->zbuf_size = compressBound((uLong)r->page_size);
  r->zbuf = malloc(r->zbuf_size);
  if (!r->sample_data || !r->sample_page || !r->zbuf) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }

  r->pagemap_buf = malloc(WL__CHUNK_PAGES * sizeof *r->pagemap_buf);
  r->read_buf = malloc(WL__CHUNK_PAGES * r->page_size);
  r->slot_vaddr = malloc(WL__CHUNK_PAGES * sizeof *r->slot_vaddr);
  r->slot_ok = malloc(WL__CHUNK_PAGES);
  r->page_slot = malloc(WL__CHUNK_PAGES * sizeof *r->page_slot);
  r->remote_iov = malloc(WL__IOV_MAX * sizeof *r->remote_iov);
  r->pm_regions = malloc(WL__PM_REGIONS * sizeof *r->pm_regions);
  r->events = tmpfile();
  if (!r->pagemap_buf || !r->read_buf || !r->slot_vaddr || !r->slot_ok || !r->page_slot ||
      !r->remote_iov || !r->pm_regions) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  if (!r->events) {
    rc = sim_errorf(SIM_EIO, "cannot create a temporary file for events: %s", strerror(errno));
    goto fail;
  }
  memset(r->read_buf, 0, r->page_size);
  r->zero_hash = wl__page_hash(r->read_buf, r->page_size / 8);
  *out = r;
  return 0;
fail:
  wl_recorder_free(r);
  return rc;
}

void wl_recorder_free(wl_recorder *r) {
  if (!r) return;
  /* Closing the userfaultfd unregisters the target's mappings and lifts
   * their write protection: the target runs on untouched. */
  wl__close_target(r);
  if (r->events) fclose(r->events);
  free(r->written);
  free(r->block_vblock);
  free(r->sample_data);
  free(r->sample_page);
  free(r->zbuf);
  if (r->zstream_ready) deflateEnd(&r->zstream);
  free(r->maps_text);
  free(r->maps);
  free(r->blocks);
  free(r->new_vblocks);
  free(r->pm_regions);
  free(r->hashes);
  free(r->dirty_bits);
  free(r->dirty);
  free(r->pagemap_buf);
  free(r->read_buf);
  free(r->slot_vaddr);
  free(r->slot_ok);
  free(r->page_slot);
  free(r->remote_iov);
  free(r->nonzero);
  free(r);
}

/* ------------------------------------------------------------ mappings */

/* Reads /proc/PID/maps whole into maps_text. Returns 0, 1 when the process
 * has gone (a zombie's maps are empty), or a negative code. */
static int wl__read_maps(wl_recorder *r) {
  if (lseek(r->maps_fd, 0, SEEK_SET) < 0) {
    if (errno == ESRCH) return 1;
    return sim_errorf(SIM_EIO, "cannot rewind /proc/%ld/maps: %s", (long)r->pid, strerror(errno));
  }
  size_t len = 0;
  for (;;) {
    if (r->maps_cap - len < 4096) {
      size_t cap = r->maps_cap ? r->maps_cap * 2 : 65536;
      char *grown = realloc(r->maps_text, cap);
      if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory reading /proc/%ld/maps", (long)r->pid);
      r->maps_text = grown;
      r->maps_cap = cap;
    }
    ssize_t n = read(r->maps_fd, r->maps_text + len, r->maps_cap - len - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ESRCH) return 1;
      return sim_errorf(SIM_EIO, "cannot read /proc/%ld/maps: %s", (long)r->pid, strerror(errno));
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  r->maps_text[len] = '\0';
  r->maps_len = len;
  return len == 0 ? 1 : 0;
}

/* Adds a mapping of the scan to r->maps if the recorder scans it. */
static int wl__map_add(void *ctx, const wl_maps_entry *e) {
  wl_recorder *r = ctx;
  int anon_private;
  if (!wl__maps_scanned(e, r->opts.exclude_shared, &anon_private)) return 0;
  if (r->map_count == r->map_cap) {
    size_t cap = r->map_cap ? r->map_cap * 2 : 256;
    wl__map *grown = realloc(r->maps, cap * sizeof *grown);
    if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory");
    r->maps = grown;
    r->map_cap = cap;
  }
  r->maps[r->map_count++] = (wl__map){e->start, e->end, anon_private};
  return 0;
}

/* Parses maps_text into the list of mappings to scan (wl__maps_scanned). */
static int wl__parse_maps(wl_recorder *r) {
  char name[48];
  snprintf(name, sizeof name, "/proc/%ld/maps", (long)r->pid);
  r->map_count = 0;
  return wl__maps_parse(r->maps_text, r->maps_len, name, wl__map_add, r);
}

/* Index of the first block with vblock >= vblock (block_count if none).
 * O(log blocks). */
static size_t wl__block_find(const wl_recorder *r, uint64_t vblock) {
  size_t lo = 0, hi = r->block_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->blocks[mid].vblock < vblock)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Makes room in the per-pfn arrays for `pages` pfns. Grows geometrically:
 * happens only when new memory comes into use, never per page. */
static int wl__grow_pfns(wl_recorder *r, uint64_t pages) {
  if (pages <= r->pfn_cap) return 0;
  if (pages > WL_MAX_PAGES)
    return sim_errorf(SIM_ERANGE, "process %ld uses more than %llu pages", (long)r->pid,
                      (unsigned long long)WL_MAX_PAGES);
  uint64_t cap = r->pfn_cap ? r->pfn_cap : 4096;
  while (cap < pages) cap *= 2;
  size_t old_words = (size_t)(r->pfn_cap / 64), words = (size_t)(cap / 64);
  uint64_t *bits = realloc(r->dirty_bits, words * sizeof *bits);
  if (!bits) return sim_errorf(SIM_ENOMEM, "out of memory for %" PRIu64 " pages", cap);
  memset(bits + old_words, 0, (words - old_words) * sizeof *bits);
  r->dirty_bits = bits;
  if (r->backend->keeps_hashes) {
    uint64_t *h = realloc(r->hashes, (size_t)cap * sizeof *h);
    if (!h) return sim_errorf(SIM_ENOMEM, "out of memory for %" PRIu64 " pages", cap);
    /* Memory never seen before counts as zero: its first non-zero contents
     * are a write (or, at the baseline, part of the initial image). */
    for (uint64_t i = r->pfn_cap; i < cap; i++) h[i] = r->zero_hash;
    r->hashes = h;
  }
  r->pfn_cap = cap;
  return 0;
}

/* Notes the blocks of the in-use pages [start, end) that have no pfns yet.
 * Called in ascending address order within a scan, so new_vblocks stays
 * sorted; a block shared by two neighbouring mappings is noted once.
 * O(blocks in the range) with one binary search. */
static int wl__note_used(wl_recorder *r, uint64_t start, uint64_t end) {
  uint64_t first = start >> (r->page_shift + WL__BLOCK_SHIFT);
  uint64_t last = (end - 1) >> (r->page_shift + WL__BLOCK_SHIFT);
  size_t b = wl__block_find(r, first);
  for (uint64_t vb = first; vb <= last; vb++) {
    while (b < r->block_count && r->blocks[b].vblock < vb) b++;
    if (b < r->block_count && r->blocks[b].vblock == vb) continue;
    if (r->new_count && r->new_vblocks[r->new_count - 1] >= vb) continue;
    int rc = wl__reserve((void **)&r->new_vblocks, &r->new_cap, r->new_count + 1,
                         sizeof *r->new_vblocks);
    if (rc) return rc;
    r->new_vblocks[r->new_count++] = vb;
  }
  return 0;
}

/* Reads pagemap entries for `pages` pages from vaddr. 0, 1 when the process
 * has gone, or a negative code. */
static int wl__read_pagemap(wl_recorder *r, uint64_t vaddr, size_t pages) {
  size_t want = pages * sizeof *r->pagemap_buf, have = 0;
  off_t off = (off_t)((vaddr >> r->page_shift) * sizeof *r->pagemap_buf);
  while (have < want) {
    ssize_t n = pread(r->pagemap_fd, (char *)r->pagemap_buf + have, want - have,
                      off + (off_t)have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ESRCH) return 1;
    if (n < 0)
      return sim_errorf(SIM_EIO, "cannot read /proc/%ld/pagemap: %s", (long)r->pid, strerror(errno));
    if (n == 0) return 1; /* the address space is gone */
    have += (size_t)n;
  }
  return 0;
}

/* Notes the resident pages of an anonymous private mapping, by pagemap
 * reads of every page: the fallback for kernels without PAGEMAP_SCAN.
 * Cost: 8 bytes of pagemap per page of the mapping. */
static int wl__note_resident_slow(wl_recorder *r, const wl__map *m) {
  for (uint64_t from = m->start; from < m->end;) {
    size_t pages = (size_t)((m->end - from) >> r->page_shift);
    if (pages > WL__CHUNK_PAGES) pages = WL__CHUNK_PAGES;
    int rc = wl__read_pagemap(r, from, pages);
    if (rc) return rc;
    for (size_t i = 0; i < pages;) {
      if (!(r->pagemap_buf[i] & (WL__PM_PRESENT | WL__PM_SWAPPED))) {
        i++;
        continue;
      }
      size_t j = i + 1;
      while (j < pages && (r->pagemap_buf[j] & (WL__PM_PRESENT | WL__PM_SWAPPED))) j++;
      if ((rc = wl__note_used(r, from + ((uint64_t)i << r->page_shift),
                              from + ((uint64_t)j << r->page_shift))))
        return rc;
      i = j;
    }
    from += (uint64_t)pages << r->page_shift;
  }
  return 0;
}

/* Notes the pages of mapping m that may hold data: the resident ones of an
 * anonymous private mapping (the rest are zero), every page of the others.
 * Returns 0, 1 when the process has gone, or a negative code. */
static int wl__note_map(wl_recorder *r, const wl__map *m) {
  if (r->no_pagemap_scan) {
    if (!m->anon_private) return wl__note_used(r, m->start, m->end);
    return wl__note_resident_slow(r, m);
  }
  /* Also for the other mappings: the walk counts their resident pages for
   * the statistics (cheap: existing page tables only). */
  if (!m->anon_private) {
    int rc = wl__note_used(r, m->start, m->end);
    if (rc) return rc;
  }
  wl__pm_scan_arg arg;
  memset(&arg, 0, sizeof arg);
  arg.size = sizeof arg;
  arg.start = m->start;
  arg.end = m->end;
  arg.vec = (uint64_t)(uintptr_t)r->pm_regions;
  arg.vec_len = WL__PM_REGIONS;
  arg.category_anyof_mask = WL__PAGE_IS_PRESENT | WL__PAGE_IS_SWAPPED;
  arg.return_mask = WL__PAGE_IS_PRESENT | WL__PAGE_IS_SWAPPED;
  while (arg.start < m->end) {
    int n = ioctl(r->pagemap_fd, WL__PAGEMAP_SCAN, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ESRCH) return 1;
      if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) {
        r->no_pagemap_scan = 1;
        return m->anon_private ? wl__note_resident_slow(r, m) : 0;
      }
      return sim_errorf(SIM_EIO, "PAGEMAP_SCAN on /proc/%ld/pagemap: %s", (long)r->pid,
                        strerror(errno));
    }
    for (int i = 0; i < n; i++) {
      r->scan_resident_bytes += r->pm_regions[i].end - r->pm_regions[i].start;
      if (!m->anon_private) continue;
      int rc = wl__note_used(r, r->pm_regions[i].start, r->pm_regions[i].end);
      if (rc) return rc;
    }
    if (arg.walk_end <= arg.start) break; /* defensive: no progress */
    arg.start = arg.walk_end;
  }
  return 0;
}

/* Gives pfns to the blocks noted by this scan, in address order, and
 * merges them into the sorted block table. O(blocks) when there are new
 * ones, nothing otherwise. */
static int wl__add_blocks(wl_recorder *r) {
  size_t add = r->new_count;
  if (!add) return 0;
  int rc = wl__grow_pfns(r, r->pages + (uint64_t)add * WL__BLOCK_PAGES);
  if (rc) return rc;
  if ((rc = wl__reserve((void **)&r->blocks, &r->block_cap, r->block_count + add,
                        sizeof *r->blocks)))
    return rc;
  if ((rc = wl__reserve((void **)&r->block_vblock, &r->block_vblock_cap,
                        (size_t)(r->pages / WL__BLOCK_PAGES) + add, sizeof *r->block_vblock)))
    return rc;
  for (size_t j = 0; j < add; j++)
    r->block_vblock[r->pages / WL__BLOCK_PAGES + j] = r->new_vblocks[j];
  uint64_t base = r->pages;
  r->pages += (uint64_t)add * WL__BLOCK_PAGES;
  /* Merge from the back, in place. */
  size_t i = r->block_count, j = add, out = r->block_count + add;
  while (j > 0) {
    if (i > 0 && r->blocks[i - 1].vblock > r->new_vblocks[j - 1]) {
      r->blocks[--out] = r->blocks[--i];
    } else {
      j--;
      r->blocks[--out] = (wl__block){r->new_vblocks[j], base + (uint64_t)j * WL__BLOCK_PAGES};
    }
  }
  r->block_count += add;
  r->new_count = 0;
  return 0;
}

/* Scans the pages of mapping m that lie in blocks with pfns, in chunks of
 * address-consecutive blocks. */
static int wl__scan_map(wl_recorder *r, const wl__map *m) {
  const unsigned shift = r->page_shift + WL__BLOCK_SHIFT;
  size_t b = wl__block_find(r, m->start >> shift);
  while (b < r->block_count && (r->blocks[b].vblock << shift) < m->end) {
    /* A run of consecutive blocks, at most WL__CHUNK_PAGES pages. */
    size_t first = b, max_blocks = WL__CHUNK_PAGES / WL__BLOCK_PAGES;
    while (b + 1 < r->block_count && b + 1 - first < max_blocks &&
           r->blocks[b + 1].vblock == r->blocks[b].vblock + 1 &&
           (r->blocks[b + 1].vblock << shift) < m->end)
      b++;
    uint64_t from = r->blocks[first].vblock << shift;
    uint64_t to = (r->blocks[b].vblock + 1) << shift;
    b++;
    if (from < m->start) from = m->start;
    if (to > m->end) to = m->end;
    size_t pages = (size_t)((to - from) >> r->page_shift);
    int rc = wl__read_pagemap(r, from, pages);
    if (rc) return rc;
    if (r->no_pagemap_scan) { /* else counted by wl__note_map */
      size_t resident = 0;
      for (size_t i = 0; i < pages; i++)
        resident += (r->pagemap_buf[i] & (WL__PM_PRESENT | WL__PM_SWAPPED)) != 0;
      r->scan_resident_bytes += (uint64_t)resident << r->page_shift;
    }
    wl__chunk c = {from, pages, m->anon_private, r->pagemap_buf, &r->blocks[first],
                   r->page_shift};
    if ((rc = r->backend->chunk(r, &c))) return rc;
  }
  return 0;
}

/* Moves the dirty bits into the ascending `dirty` list, clearing them.
 * O(pages / 64) word operations plus O(dirty). */
static int wl__collect_dirty(wl_recorder *r) {
  size_t words = (size_t)((r->pages + 63) / 64), count = 0;
  for (size_t w = 0; w < words; w++) count += (size_t)__builtin_popcountll(r->dirty_bits[w]);
  int rc = wl__reserve((void **)&r->dirty, &r->dirty_cap, count, sizeof *r->dirty);
  if (rc) return rc;
  size_t n = 0;
  for (size_t w = 0; w < words; w++) {
    uint64_t bits = r->dirty_bits[w];
    r->dirty_bits[w] = 0;
    while (bits) {
      r->dirty[n++] = ((uint64_t)w << 6) + (uint64_t)__builtin_ctzll(bits);
      bits &= bits - 1;
    }
  }
  r->dirty_count = n;
  return 0;
}

/* The baseline's non-zero pages as ranges for the `nonzero` key. */
static int wl__keep_nonzero(wl_recorder *r) {
  size_t ranges = 0;
  for (size_t i = 0; i < r->dirty_count; i++)
    if (i == 0 || r->dirty[i] != r->dirty[i - 1] + 1) ranges++;
  free(r->nonzero);
  r->nonzero = NULL;
  r->nonzero_count = 0;
  if (!ranges) return 0;
  r->nonzero = malloc(ranges * sizeof *r->nonzero);
  if (!r->nonzero) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (size_t i = 0; i < r->dirty_count; i++) {
    if (i == 0 || r->dirty[i] != r->dirty[i - 1] + 1)
      r->nonzero[r->nonzero_count++] = (wl_range){r->dirty[i], r->dirty[i]};
    else
      r->nonzero[r->nonzero_count - 1].last = r->dirty[i];
  }
  return 0;
}

/* Temporary store, one block per scan with events:
 *   varint time_ns, varint count, count varints of pfn gaps
 * where the first gap is the pfn itself and each next one is
 * pfn - previous - 1 (so runs of neighbours cost one zero byte each). */
static int wl__events_append(wl_recorder *r, uint64_t time_ns) {
  if (!r->dirty_count) return 0;
  wl__put_varint(r->events, time_ns);
  wl__put_varint(r->events, r->dirty_count);
  uint64_t prev = 0;
  for (size_t i = 0; i < r->dirty_count; i++) {
    wl__put_varint(r->events, i ? r->dirty[i] - prev - 1 : r->dirty[i]);
    prev = r->dirty[i];
  }
  if (ferror(r->events))
    return sim_errorf(SIM_EIO, "cannot write the temporary event file: %s", strerror(errno));
  r->stats.events += r->dirty_count;
  return 0;
}

/* Sets the dirty bits of the pages in r->written (uffd-wp). Written pages
 * are resident, so wl__note_map has given them pfns, unless they were
 * unmapped in between (then they are gone and not reported).
 * O(written ranges x log blocks + written pages). */
static void wl__mark_written(wl_recorder *r) {
  for (size_t w = 0; w < r->written_count; w++) {
    uint64_t first = r->written[w].start >> r->page_shift;
    uint64_t end = r->written[w].end >> r->page_shift;
    size_t b = wl__block_find(r, first >> WL__BLOCK_SHIFT);
    for (uint64_t vpage = first; vpage < end; vpage++) {
      uint64_t vb = vpage >> WL__BLOCK_SHIFT;
      while (b < r->block_count && r->blocks[b].vblock < vb) b++;
      if (b == r->block_count) break;
      if (r->blocks[b].vblock != vb) continue;
      wl__bit_set(r->dirty_bits, r->blocks[b].pfn_base + (vpage & (WL__BLOCK_PAGES - 1)));
    }
  }
}

/* Reads one page of the target at `vaddr` into sample_page. 0 on success. */
static int wl__read_page(wl_recorder *r, uint64_t vaddr) {
  struct iovec local = {r->sample_page, r->page_size};
  struct iovec remote = {(void *)(uintptr_t)vaddr, r->page_size};
  return process_vm_readv(r->pid, &local, 1, &remote, 1, 0) == (ssize_t)r->page_size ? 0 : -1;
}

/* Content attributes from a few of this scan's dirty pages, spread evenly
 * over the list: each is compared with the copy kept from an earlier
 * write to the same page, when there is one (write_bytes: bytes that
 * differ), compressed when non-zero (compress_ratio), and kept for the
 * next comparison (oldest copy evicted first). Cost: at most
 * WL__SAMPLE_PER_SCAN page reads, compares and compressions. */
static void wl__sample_dirty(wl_recorder *r) {
  if (!r->dirty_count) return;
  size_t picks = r->dirty_count < WL__SAMPLE_PER_SCAN ? r->dirty_count : WL__SAMPLE_PER_SCAN;
  for (size_t k = 0; k < picks; k++) {
    uint64_t pfn = r->dirty[k * r->dirty_count / picks];
    uint64_t vaddr = ((r->block_vblock[pfn / WL__BLOCK_PAGES] << WL__BLOCK_SHIFT) +
                      pfn % WL__BLOCK_PAGES) << r->page_shift;
    if (wl__read_page(r, vaddr) != 0) continue;
    int zero = 1;
    for (size_t i = 0; i < r->page_size && zero; i++) zero = r->sample_page[i] == 0;
    if (!zero) wl__sample_compress(r, r->sample_page);
    size_t slot = 0;
    while (slot < r->sample_used && r->sample_pfn[slot] != pfn) slot++;
    unsigned char *kept;
    if (slot < r->sample_used) {
      kept = r->sample_data + slot * r->page_size;
      uint64_t changed = 0;
      for (size_t i = 0; i < r->page_size; i++) changed += kept[i] != r->sample_page[i];
      r->changed_bytes += changed;
      r->compared_pages++;
    } else {
      slot = r->sample_used < WL__SAMPLE_SLOTS ? r->sample_used++ : r->sample_next++ % WL__SAMPLE_SLOTS;
      r->sample_pfn[slot] = pfn;
      kept = r->sample_data + slot * r->page_size;
    }
    memcpy(kept, r->sample_page, r->page_size);
  }
}

/* One scan of the current address space: 0, 1 when it has gone (exit or
 * exec), or a negative code. */
static int wl__scan_once(wl_recorder *r, uint64_t time_ns) {
  struct timespec begin, end;
  clock_gettime(CLOCK_MONOTONIC, &begin);
  r->scan_resident_bytes = 0;
  r->dirty_count = 0;
  r->written_count = 0;

  int rc = wl__read_maps(r);
  if (!rc) rc = wl__parse_maps(r);
  r->new_count = 0;
  for (size_t m = 0; !rc && m < r->map_count; m++) {
    if (r->backend->map_written) rc = r->backend->map_written(r, &r->maps[m]);
    if (!rc) rc = wl__note_map(r, &r->maps[m]);
  }
  if (!rc) rc = wl__add_blocks(r);
  if (r->backend->map_written && r->baseline_done) {
    if (!rc) wl__mark_written(r);
  } else {
    for (size_t m = 0; !rc && m < r->map_count; m++) rc = wl__scan_map(r, &r->maps[m]);
  }
  if (!rc) rc = r->backend->scan_end(r);
  if (rc == 1 && r->dirty_bits) /* gone: discard whatever this scan found */
    memset(r->dirty_bits, 0, (size_t)(r->pfn_cap / 64) * sizeof *r->dirty_bits);
  if (rc) return rc;
  if ((rc = wl__collect_dirty(r))) return rc;

  clock_gettime(CLOCK_MONOTONIC, &end);
  uint64_t scan_ns = wl__ns_between(&begin, &end);
  if (!r->baseline_done) {
    /* Time 0 is the end of the baseline: a large one takes longer than an
     * interval (it reads every page), and the schedule starts after it.
     * Writes made while it ran are in the first window. */
    r->t0 = end;
    if ((rc = wl__keep_nonzero(r))) return rc;
    r->stats.initial_nonzero = r->dirty_count;
    r->dirty_count = 0; /* the initial image is not a write */
    r->baseline_done = 1;
  } else {
    /* Written during [previous scan, this scan): the window's start. */
    if ((rc = wl__events_append(r, r->prev_time_ns))) return rc;
    r->stats.scan_ns_total += scan_ns;
    if (scan_ns > r->stats.scan_ns_max) r->stats.scan_ns_max = scan_ns;
    r->stats.resident_bytes_total += r->scan_resident_bytes;
    wl__sample_dirty(r); /* not part of the scan's cost: after `end` */
  }
  r->stats.scans++;
  r->stats.pages = r->pages;
  r->prev_time_ns = time_ns;
  r->stats.last_time_ns = time_ns;
  return 0;
}

/* True while the process lives (not a zombie): its address space having
 * gone then means an exec, not an exit. */
static int wl__process_alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char *paren = strrchr(buf, ')'); /* the name may hold ')' too */
  return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X' && paren[2] != '\0';
}

/* True when the process has an address space now (/proc/PID/maps is not
 * empty): after an exec it does, while exiting it no longer does. */
static int wl__has_memory(pid_t pid) {
  char path[64], c;
  snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, &c, 1);
  close(fd);
  return n == 1;
}

/* Forgets everything recorded (for a restart after an exec); keeps the
 * buffers. The exec count survives. */
static int wl__reset(wl_recorder *r) {
  uint64_t execs = r->stats.execs;
  r->block_count = r->new_count = 0;
  r->pages = 0;
  if (r->dirty_bits) memset(r->dirty_bits, 0, (size_t)(r->pfn_cap / 64) * sizeof *r->dirty_bits);
  for (uint64_t i = 0; r->hashes && i < r->pfn_cap; i++) r->hashes[i] = r->zero_hash;
  r->dirty_count = 0;
  r->baseline_done = 0;
  r->prev_time_ns = 0;
  free(r->nonzero);
  r->nonzero = NULL;
  r->nonzero_count = 0;
  memset(&r->stats, 0, sizeof r->stats);
  r->stats.execs = execs;
  r->sample_used = r->sample_next = 0;
  r->changed_bytes = r->compared_pages = 0;
  r->raw_bytes = r->compressed_bytes = r->compressed_pages = 0;
  if (fflush(r->events) != 0 || ftruncate(fileno(r->events), 0) != 0 ||
      fseeko(r->events, 0, SEEK_SET) != 0)
    return sim_errorf(SIM_EIO, "cannot empty the temporary event file: %s", strerror(errno));
  return 0;
}

/* How often a vanished address space is looked at again before the
 * process counts as exited: an exiting process drops its memory a moment
 * before it becomes a zombie. */
#define WL__GONE_TRIES 50

int wl_recorder_scan(wl_recorder *r, uint64_t time_ns) {
  if (r->exited) return 0;
  if (r->baseline_done && time_ns < r->prev_time_ns)
    return sim_errorf(SIM_EORDER, "scan at %" PRIu64 " ns after one at %" PRIu64 " ns", time_ns,
                      r->prev_time_ns);
  r->restarted = 0;
  int rc = wl__scan_once(r, time_ns);
  for (int attempt = 0; rc == 1; attempt++) {
    if (attempt == WL__GONE_TRIES || !wl__process_alive(r->pid)) {
      r->exited = 1;
      return 0;
    }
    if (!wl__has_memory(r->pid)) { /* exiting, not yet a zombie */
      const struct timespec pause = {0, 2 * 1000 * 1000};
      nanosleep(&pause, NULL);
      continue;
    }
    /* Alive with a new address space: it exec'd. Record the new program
     * from a new baseline. */
    if ((rc = wl__reset(r))) return rc;
    rc = wl__open_target(r, 1);
    if (!rc) rc = wl__scan_once(r, 0);
    if (!rc) {
      r->stats.execs++;
      r->restarted = 1;
    }
  }
  return rc;
}

int wl_recorder_restarted(const wl_recorder *r) { return r->restarted; }

int wl_recorder_exited(const wl_recorder *r) { return r->exited; }

const uint64_t *wl_recorder_dirty(const wl_recorder *r, size_t *count) {
  *count = r->dirty_count;
  return r->dirty;
}

const wl_range *wl_recorder_initial_image(const wl_recorder *r, size_t *count) {
  *count = r->nonzero_count;
  return r->nonzero;
}

int wl_recorder_pfn_of(const wl_recorder *r, uint64_t vaddr, uint64_t *pfn) {
  uint64_t vpage = vaddr >> r->page_shift;
  size_t b = wl__block_find(r, vpage >> WL__BLOCK_SHIFT);
  if (b == r->block_count || r->blocks[b].vblock != vpage >> WL__BLOCK_SHIFT)
    return sim_errorf(SIM_ENOTFOUND, "address 0x%" PRIx64 " was never seen in use", vaddr);
  *pfn = r->blocks[b].pfn_base + (vpage & (WL__BLOCK_PAGES - 1));
  return 0;
}

void wl_recorder_stats(const wl_recorder *r, wl_record_stats *stats) { *stats = r->stats; }

/* ------------------------------------------------------------ run loop */

/* Sleeps until `deadline` (monotonic) or until *stop is set. */
static void wl__sleep_until(const struct timespec *deadline, const volatile sig_atomic_t *stop) {
  while (!(stop && *stop)) {
    int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);
    if (err != EINTR) return;
  }
}

static struct timespec wl__add_ns(struct timespec t, uint64_t ns) {
  t.tv_sec += (time_t)(ns / 1000000000u);
  t.tv_nsec += (long)(ns % 1000000000u);
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

int wl_recorder_run(wl_recorder *r, uint64_t duration_ns,
                    const volatile sig_atomic_t *stop, wl_record_scan_cb on_scan,
                    void *arg) {
  const uint64_t interval = r->opts.interval_ns;
  int rc;
  if (!r->baseline_done) {
    if ((rc = wl_recorder_scan(r, 0))) return rc;
    /* Without a baseline there is no initial image and nothing to record
     * (a zombie, a kernel thread, or a command that ended at once). */
    if (r->exited)
      return sim_errorf(SIM_ENOTFOUND, "process %ld has no memory to record (exited, "
                        "a zombie or a kernel thread)", (long)r->pid);
    if (on_scan) on_scan(arg, &r->stats, 0, 0);
  }
  uint64_t next = r->prev_time_ns / interval + 1;
  while (!r->exited) {
    uint64_t target = next * interval;
    int last = 0;
    if (duration_ns && target >= duration_ns) {
      target = duration_ns;
      last = 1;
    }
    struct timespec deadline = wl__add_ns(r->t0, target), now;
    wl__sleep_until(&deadline, stop);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (stop && *stop) {
      /* Interrupted: one last scan now, so the writes so far are kept. */
      uint64_t elapsed = wl__ns_between(&r->t0, &now);
      target = elapsed > r->prev_time_ns ? elapsed : r->prev_time_ns;
      last = 1;
    }
    uint64_t before_ns = r->stats.scan_ns_total;
    if ((rc = wl_recorder_scan(r, target))) return rc;
    if (r->exited) break;
    if (r->restarted) { /* an exec: time 0 again, the schedule restarts */
      if (on_scan) on_scan(arg, &r->stats, 0, 0);
      if (stop && *stop) break;
      next = 1;
      continue;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t elapsed = wl__ns_between(&r->t0, &now);
    /* Overrun: this scan ended after the next deadline had passed. */
    int overran = !last && elapsed > target + interval;
    if (overran) r->stats.overruns++;
    if (on_scan) on_scan(arg, &r->stats, r->stats.scan_ns_total - before_ns, overran);
    if (last) break;
    next = target / interval + 1;
    if (elapsed >= next * interval) next = elapsed / interval + 1; /* skip missed deadlines */
  }
  return 0;
}

/* ------------------------------------------------------------ output */

static int wl__set_u64(wl_meta *m, const char *key, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  return wl_meta_set(m, key, buf);
}

static int wl__set_ms(wl_meta *m, const char *key, double ms) {
  char buf[48];
  snprintf(buf, sizeof buf, "%.3f", ms);
  return wl_meta_set(m, key, buf);
}

int wl_record_key_reserved(const char *key) {
  static const char *const reserved[] = {
      "pages",    "page_size",    "duration_ns",  "nonzero",         "backend",
      "interval_ns", "scans",     "overruns",     "scan_ms_mean",    "scan_ms_max",
      "scan_ms_per_gib", "resident_mib_mean", "mappings", "execs", "write_bytes",
      "write_bytes_samples", "compress_ratio", "compress_samples", "unprotected_maps"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(key, reserved[i]) == 0) return 1;
  return 0;
}

static int wl__build_meta(const wl_recorder *r, const wl_meta *extra, wl_meta *m) {
  const wl_record_stats *st = &r->stats;
  int rc = 0;
  uint64_t scans = st->scans > 1 ? st->scans - 1 : 0; /* without the baseline */
  double gib = (double)st->resident_bytes_total / (1024.0 * 1024.0 * 1024.0);
  if ((rc = wl__set_u64(m, "pages", r->pages ? r->pages : 1))) return rc;
  if ((rc = wl__set_u64(m, "page_size", r->page_size))) return rc;
  if ((rc = wl__set_u64(m, "duration_ns", r->prev_time_ns))) return rc;
  if ((rc = wl_meta_set_nonzero(m, r->nonzero, r->nonzero_count))) return rc;
  for (size_t i = 0; extra && i < extra->kv_count; i++) {
    if (extra->kv[i].value && wl_record_key_reserved(extra->kv[i].key))
      return sim_errorf(SIM_EINVAL, "metadata key '%s' is set by the recorder", extra->kv[i].key);
    if ((rc = wl_meta_set(m, extra->kv[i].key, extra->kv[i].value))) return rc;
  }
  if ((rc = wl_meta_set(m, "backend", r->backend->name))) return rc;
  if ((rc = wl__set_u64(m, "interval_ns", r->opts.interval_ns))) return rc;
  if ((rc = wl__set_u64(m, "scans", st->scans))) return rc;
  if ((rc = wl__set_u64(m, "overruns", st->overruns))) return rc;
  if ((rc = wl__set_ms(m, "scan_ms_mean", scans ? (double)st->scan_ns_total / 1e6 / (double)scans : 0))) return rc;
  if ((rc = wl__set_ms(m, "scan_ms_max", (double)st->scan_ns_max / 1e6))) return rc;
  if ((rc = wl__set_ms(m, "scan_ms_per_gib", gib > 0 ? (double)st->scan_ns_total / 1e6 / gib : 0))) return rc;
  rc = wl__set_ms(m, "resident_mib_mean",
                  scans ? (double)st->resident_bytes_total / (1024.0 * 1024.0) / (double)scans : 0);
  if (rc) return rc;
  /* Which kinds of writable mapping the trace covers. */
  if ((rc = wl_meta_set(m, "mappings", r->opts.exclude_shared ? "private" : "private,shared")))
    return rc;
  if (st->execs && (rc = wl__set_u64(m, "execs", st->execs))) return rc;
  if (st->unprotected_maps && (rc = wl__set_u64(m, "unprotected_maps", st->unprotected_maps)))
    return rc;
  /* Page-content attributes (DESIGN: write_bytes, compress_ratio), from
   * samples; absent when there was nothing to sample. */
  if (r->compared_pages) {
    if ((rc = wl__set_u64(m, "write_bytes",
                          (r->changed_bytes + r->compared_pages / 2) / r->compared_pages)))
      return rc;
    if ((rc = wl__set_u64(m, "write_bytes_samples", r->compared_pages))) return rc;
  }
  if (r->raw_bytes) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.4f", (double)r->compressed_bytes / (double)r->raw_bytes);
    if ((rc = wl_meta_set(m, "compress_ratio", buf))) return rc;
    if ((rc = wl__set_u64(m, "compress_samples", r->compressed_pages))) return rc;
  }
  return 0;
}

#define WL__WRITE_BATCH 4096u

int wl_recorder_write(wl_recorder *r, const char *path, wl_format format,
                      const wl_meta *extra) {
  wl_meta meta;
  wl_writer *w = NULL;
  wl_event *batch = NULL;
  wl_meta_init(&meta);
  int rc = wl__build_meta(r, extra, &meta);
  if (rc) goto cleanup;
  if (fflush(r->events) != 0 || fseeko(r->events, 0, SEEK_SET) != 0) {
    rc = sim_errorf(SIM_EIO, "cannot rewind the temporary event file: %s", strerror(errno));
    goto cleanup;
  }
  batch = malloc(WL__WRITE_BATCH * sizeof *batch);
  if (!batch) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto cleanup;
  }
  if ((rc = wl_writer_open(path, format, &meta, &w))) goto cleanup;
  size_t n = 0;
  uint64_t time_ns, count;
  while (wl__get_varint(r->events, &time_ns) == 0) {
    if (wl__get_varint(r->events, &count)) {
      rc = sim_errorf(SIM_EIO, "temporary event file is truncated");
      goto cleanup;
    }
    uint64_t pfn = 0;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t gap;
      if (wl__get_varint(r->events, &gap)) {
        rc = sim_errorf(SIM_EIO, "temporary event file is truncated");
        goto cleanup;
      }
      pfn = i ? pfn + gap + 1 : gap;
      batch[n++] = (wl_event){time_ns, pfn, WL_OP_WRITE};
      if (n == WL__WRITE_BATCH) {
        if ((rc = wl_writer_write(w, batch, n))) goto cleanup;
        n = 0;
      }
    }
  }
  if (n && (rc = wl_writer_write(w, batch, n))) goto cleanup;
  rc = wl_writer_close(w);
  w = NULL;
cleanup:
  wl_writer_abort(w);
  /* Leave the store positioned for further appends. */
  fseeko(r->events, 0, SEEK_END);
  free(batch);
  wl_meta_free(&meta);
  return rc;
}
