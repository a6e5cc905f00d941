/* kvr_module: the replay guest's module, built from a scenario's workload.
 *
 * The workload is played through wl_player, exactly as the simulator plays
 * it (offset, spreading of coarse epochs, period), and encoded in the
 * compact form of kvr_abi.h:
 *   - a finite trace becomes one "body" pass (trace offset 0, spread),
 *     which the guest repeats every period when the scenario loops; with a
 *     trace offset the first, partial pass is a separate "head" played from
 *     time 0 and the body starts at period - offset, which is where the
 *     looping player puts pass 1;
 *   - an endless source (a generator without duration) or one longer than
 *     the horizon becomes a head cut at the horizon, played once.
 * The module is built in memory (≈3-6 bytes per event), then written. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kvr_abi.h"
#include "kvr_internal.h"
#include "sim_err.h"
#include "wl_player.h"

#define KVR_MAX_MODULE_BYTES (1024u << 20) /* keeps offsets in u32, RAM sane */
#define KVR_MIN_BASE (4u << 20)           /* the trace starts at 4 MiB or above */
#define KVR_BASE_ALIGN (2u << 20)
/* Base + trace + the BIOS margin must stay below QEMU's 3.5 GiB PCI hole. */
#define KVR_MAX_TRACE_PAGES ((0xe0000000ull - (8u << 20)) / KVR_PAGE_SIZE)

typedef struct {
  unsigned char *data;
  size_t len, cap;
} kvr_buf;

static int kvr_buf_reserve(kvr_buf *b, size_t more) {
  if (b->cap - b->len >= more) return 0;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap - b->len < more) cap *= 2;
  if (cap > KVR_MAX_MODULE_BYTES)
    return sim_errorf(SIM_ERANGE, "the guest module would exceed %u MiB: shorten the trace or the timeout",
                      KVR_MAX_MODULE_BYTES >> 20);
  unsigned char *g = realloc(b->data, cap);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory building the guest module");
  b->data = g;
  b->cap = cap;
  return 0;
}

static void kvr_put_varint(kvr_buf *b, uint64_t v) {
  while (v >= 0x80u) {
    b->data[b->len++] = (unsigned char)(v | 0x80u);
    v >>= 7;
  }
  b->data[b->len++] = (unsigned char)v;
}

static void kvr_put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void kvr_put64(unsigned char *p, uint64_t v) {
  kvr_put32(p, (uint32_t)v);
  kvr_put32(p + 4, (uint32_t)(v >> 32));
}

/* One encoded stream (head or body). */
typedef struct {
  kvr_buf buf;
  uint64_t events;
  uint64_t last_time, last_pfn;
} kvr_stream;

static int kvr_stream_add(kvr_stream *st, const wl_event *ev) {
  int rc = kvr_buf_reserve(&st->buf, 20);
  if (rc) return rc;
  uint64_t dt = ev->time_ns - st->last_time; /* the player's times never decrease */
  if (dt > (UINT64_MAX >> 1)) return sim_errorf(SIM_ERANGE, "event time gap too large for the guest module");
  kvr_put_varint(&st->buf, dt << 1 | (ev->op == WL_OP_READ ? 1u : 0u));
  int64_t delta = (int64_t)(ev->pfn - st->last_pfn);
  uint64_t zz = delta < 0 ? ((uint64_t)(-(delta + 1)) << 1) | 1u : (uint64_t)delta << 1;
  kvr_put_varint(&st->buf, zz);
  st->last_time = ev->time_ns;
  st->last_pfn = ev->pfn;
  st->events++;
  return 0;
}

/* Plays src from its start through a fresh player into st, stopping at the
 * end of the first pass or at the first event at or past stop_ns.
 * *ended tells which. Events must lie in [0, pages). */
static int kvr_play(wl_source *src, uint64_t offset_ns, uint64_t stop_ns, uint64_t pages,
                    kvr_stream *st, int *ended, uint64_t *period) {
  wl_player *p = NULL;
  int rc = wl_source_rewind(src);
  if (rc) return rc;
  if ((rc = wl_player_new(src, offset_ns, 0, &p))) return rc;
  enum { BATCH = 4096 };
  wl_event *ev = malloc(BATCH * sizeof *ev);
  if (!ev) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto out;
  }
  *ended = 0;
  for (;;) {
    long n = wl_player_read(p, ev, BATCH);
    if (n < 0) {
      rc = (int)n;
      goto out;
    }
    if (n == 0) {
      *ended = 1;
      break;
    }
    for (long i = 0; i < n; i++) {
      if (ev[i].time_ns >= stop_ns) goto out;
      if (ev[i].pfn >= pages) {
        rc = sim_errorf(SIM_ERANGE, "workload event at %llu ns touches page %llu of %llu",
                        (unsigned long long)ev[i].time_ns, (unsigned long long)ev[i].pfn,
                        (unsigned long long)pages);
        goto out;
      }
      if ((rc = kvr_stream_add(st, &ev[i]))) goto out;
    }
  }
out:
  if (period) *period = wl_player_period(p);
  free(ev);
  wl_player_free(p);
  return rc;
}

static uint64_t kvr_align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* zlib level 1 (compress-level's and multifd-zlib-level's default, and
 * the recorder's, docs/recording.md) size of page `pfn` with a
 * random_bytes prefix; 0 when zlib fails. */
static uint64_t kvr__page_zlib_bytes(uint32_t pfn, uint32_t random_bytes) {
  uint32_t page[KVR_PAGE_SIZE / 4];
  unsigned char out[2 * KVR_PAGE_SIZE];
  kvr_page_content(page, pfn, random_bytes, 0xa5a5a5a5u);
  uLongf len = sizeof out;
  if (compress2(out, &len, (const Bytef *)page, KVR_PAGE_SIZE, 1) != Z_OK) return 0;
  return len;
}

double kvr__page_ratio(uint32_t random_bytes) {
  uint64_t sum = 0;
  for (uint32_t pfn = 0; pfn < 4; pfn++) sum += kvr__page_zlib_bytes(pfn * 7919u, random_bytes);
  return (double)sum / (4.0 * KVR_PAGE_SIZE);
}

uint32_t kvr__random_bytes_for(double ratio) {
  /* The compressed size grows with the prefix: bisect over multiples of 4
   * for the one closest to the target. O(12 x 4) deflates of a page. */
  uint32_t lo = 0, hi = KVR_PAGE_SIZE / 4;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (kvr__page_ratio(mid * 4) < ratio) lo = mid + 1;
    else hi = mid;
  }
  uint32_t best = lo;
  if (lo > 0 && fabs(kvr__page_ratio((lo - 1) * 4) - ratio) <= fabs(kvr__page_ratio(lo * 4) - ratio)) best = lo - 1;
  return best * 4;
}

/* The initial image as a page bitmap: the trace's `nonzero` ranges plus,
 * with a trace offset, every page written before the offset (raw source
 * times, as the simulator does: those writes made the pages non-zero
 * before migration started). O(pages / 64 + events before the offset). */
static int kvr_image(wl_source *src, uint64_t pages, uint64_t offset_ns, uint64_t **bits_out) {
  const wl_meta *m = wl_source_meta(src);
  uint64_t *bits = calloc((size_t)((pages + 63) / 64), sizeof *bits);
  wl_event *ev = NULL;
  int rc = 0;
  if (!bits) return sim_errorf(SIM_ENOMEM, "out of memory for the initial image");
  for (size_t i = 0; i < m->nonzero_count; i++)
    for (uint64_t p = m->nonzero[i].first; p <= m->nonzero[i].last; p++) bits[p / 64] |= 1ull << (p % 64);
  if (offset_ns > 0) {
    enum { BATCH = 4096 };
    if (!(ev = malloc(BATCH * sizeof *ev))) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      goto out;
    }
    if ((rc = wl_source_rewind(src))) goto out;
    for (int done = 0; !done;) {
      long n = wl_source_read(src, ev, BATCH);
      if (n < 0) {
        rc = (int)n;
        goto out;
      }
      done = n == 0;
      for (long i = 0; i < n && !done; i++) {
        if (ev[i].time_ns >= offset_ns) done = 1;
        else if (ev[i].op == WL_OP_WRITE && ev[i].pfn < pages)
          bits[ev[i].pfn / 64] |= 1ull << (ev[i].pfn % 64);
      }
    }
  }
out:
  free(ev);
  if (rc) {
    free(bits);
    bits = NULL;
  }
  *bits_out = bits;
  return rc;
}

static int kvr_bit(const uint64_t *bits, uint64_t p) { return (int)(bits[p / 64] >> (p % 64) & 1u); }

int kvr__module_build(const mdl_scenario *s, const char *path, uint64_t kernel_end,
                      const kvr_guest_params *gp, uint64_t horizon_ns, kvr_module_info *info) {
  wl_source *src = NULL;
  kvr_stream head, body;
  kvr_buf out = {NULL, 0, 0};
  FILE *f = NULL;
  uint64_t *image = NULL;
  memset(&head, 0, sizeof head);
  memset(&body, 0, sizeof body);
  memset(info, 0, sizeof *info);

  wl_open_opts o = {s->pages ? s->pages : 131072, s->page_size, s->seed, s->workload_duration_ns};
  int rc = wl_source_open(s->workload, &o, &src);
  if (rc) goto out;
  const wl_meta *m = wl_source_meta(src);
  uint64_t pages = s->pages ? s->pages : m->pages;
  if (m->page_size != KVR_PAGE_SIZE || s->page_size != KVR_PAGE_SIZE) {
    rc = sim_errorf(SIM_EUNSUPPORTED,
                    "%s: kvmreplay needs 4096-byte pages (trace %u, scenario %u): one trace page "
                    "is one guest-physical page",
                    s->workload, m->page_size, s->page_size);
    goto out;
  }
  if (m->pages > pages) {
    rc = sim_errorf(SIM_ERANGE, "%s: trace has %llu pages but the guest only %llu", s->workload,
                    (unsigned long long)m->pages, (unsigned long long)pages);
    goto out;
  }

  uint64_t write_bytes = KVR_PAGE_SIZE;
  const char *wb = wl_meta_get(m, "write_bytes");
  if (wb) {
    char *end;
    unsigned long long v = strtoull(wb, &end, 10);
    if (end == wb || *end || wb[0] == '-' || v > KVR_PAGE_SIZE) {
      rc = sim_errorf(SIM_EFORMAT, "%s: write_bytes=%s: expected 0..4096", s->workload, wb);
      goto out;
    }
    write_bytes = v;
  }
  uint32_t random_bytes = 0;
  if ((s->multifd && strcmp(s->multifd_compression, "none") != 0) || s->compress) {
    double ratio = 1;
    const char *cr = wl_meta_get(m, "compress_ratio");
    if (cr) {
      char *end;
      ratio = strtod(cr, &end);
      if (end == cr || *end || !(ratio > 0 && ratio <= 2)) {
        rc = sim_errorf(SIM_EFORMAT, "%s: compress_ratio=%s: expected a number above 0 and at most 2", s->workload, cr);
        goto out;
      }
    }
    random_bytes = kvr__random_bytes_for(ratio);
  }
  if (pages > KVR_MAX_TRACE_PAGES) {
    rc = sim_errorf(SIM_ERANGE,
                    "%llu pages do not fit the replay guest (at most about 3.4 GiB of trace "
                    "pages, below QEMU's PCI hole)",
                    (unsigned long long)pages);
    goto out;
  }
  if ((rc = kvr_image(src, pages, s->trace_offset_ns, &image))) goto out;
  size_t range_count = 0;
  uint64_t nonzero_pages = 0;
  for (uint64_t p = 0; p < pages; p++)
    if (kvr_bit(image, p)) {
      nonzero_pages++;
      if (p == 0 || !kvr_bit(image, p - 1)) range_count++;
    }

  /* Body: one pass from trace time 0, unless the source outlasts the
   * horizon (then it is played once, as a head, from the offset). */
  int ended = 0;
  uint64_t period = 0;
  if ((rc = kvr_play(src, 0, horizon_ns + s->trace_offset_ns, pages, &body, &ended, &period)))
    goto out;
  uint64_t body_start = 0;
  int loop = 0;
  if (!ended) {
    free(body.buf.data);
    memset(&body, 0, sizeof body);
    if ((rc = kvr_play(src, s->trace_offset_ns, horizon_ns, pages, &head, &ended, NULL))) goto out;
    period = 0;
  } else if (s->trace_offset_ns > 0) {
    if (body.events && s->trace_offset_ns >= period) {
      rc = sim_errorf(SIM_ERANGE, "trace-offset %.3f s is not inside the trace (period %.3f s)",
                      (double)s->trace_offset_ns / 1e9, (double)period / 1e9);
      goto out;
    }
    if ((rc = kvr_play(src, s->trace_offset_ns, UINT64_MAX, pages, &head, &ended, NULL))) goto out;
    if (s->loop) {
      body_start = period - s->trace_offset_ns;
      loop = 1;
    } else {
      free(body.buf.data); /* the single pass is the head */
      memset(&body, 0, sizeof body);
    }
  } else {
    loop = s->loop;
  }

  /* Layout: header, ranges, head, body. */
  size_t range_bytes = range_count * 8;
  size_t total = KVR_MODULE_HEADER_SIZE + range_bytes + head.buf.len + body.buf.len;
  if (total > KVR_MAX_MODULE_BYTES) {
    rc = sim_errorf(SIM_ERANGE, "the guest module would need %zu MiB (at most %u): shorten the trace",
                    total >> 20, KVR_MAX_MODULE_BYTES >> 20);
    goto out;
  }
  if ((rc = kvr_buf_reserve(&out, total))) goto out;
  memset(out.data, 0, KVR_MODULE_HEADER_SIZE);
  out.len = KVR_MODULE_HEADER_SIZE;
  for (uint64_t p = 0; p < pages; p++) {
    if (!kvr_bit(image, p) || (p > 0 && kvr_bit(image, p - 1))) continue;
    uint64_t last = p;
    while (last + 1 < pages && kvr_bit(image, last + 1)) last++;
    kvr_put32(out.data + out.len, (uint32_t)p);
    kvr_put32(out.data + out.len + 4, (uint32_t)last);
    out.len += 8;
  }
  size_t head_off = out.len;
  if (head.buf.len) memcpy(out.data + out.len, head.buf.data, head.buf.len);
  out.len += head.buf.len;
  size_t body_off = out.len;
  if (body.buf.len) memcpy(out.data + out.len, body.buf.data, body.buf.len);
  out.len += body.buf.len;

  /* QEMU's multiboot loader puts the info block right after the kernel and
   * the modules after that, page-aligned (kvr_layout.c has where exactly);
   * the trace's base is computed with 64 KiB of room for the info block,
   * then aligned. */
  uint64_t module_room = kvr_align_up(kernel_end, 4096) + 65536; /* at or above the module */
  uint64_t module_end = module_room + kvr_align_up(total, 4096);
  uint64_t base = kvr_align_up(module_end, KVR_BASE_ALIGN);
  if (base < KVR_MIN_BASE) base = KVR_MIN_BASE;
  uint64_t base_page = base / KVR_PAGE_SIZE;
  if (base_page + pages > KVR_MAX_TRACE_PAGES) {
    rc = sim_errorf(SIM_ERANGE,
                    "%llu pages do not fit the replay guest (at most about 3.4 GiB of trace "
                    "pages, below QEMU's PCI hole)",
                    (unsigned long long)pages);
    goto out;
  }

  unsigned char *h = out.data;
  kvr_put32(h + KVR_MOD_MAGIC, KVR_MODULE_MAGIC);
  kvr_put32(h + KVR_MOD_VERSION, KVR_MODULE_VERSION);
  kvr_put32(h + KVR_MOD_HEADER_BYTES, KVR_MODULE_HEADER_SIZE);
  /* auto-converge throttles the vCPUs: the replayed workload then runs
   * only while they do, as the simulator assumes (docs/features.md). */
  kvr_put32(h + KVR_MOD_FLAGS, (loop ? KVR_MODFLAG_LOOP : 0u) | (s->auto_converge ? KVR_MODFLAG_CPU_BOUND : 0u));
  kvr_put32(h + KVR_MOD_PAGES, (uint32_t)pages);
  kvr_put32(h + KVR_MOD_BASE_PAGE, (uint32_t)base_page);
  kvr_put32(h + KVR_MOD_RANGE_COUNT, (uint32_t)range_count);
  kvr_put32(h + KVR_MOD_RANGES_OFF, KVR_MODULE_HEADER_SIZE);
  kvr_put32(h + KVR_MOD_HEAD_OFF, (uint32_t)head_off);
  kvr_put32(h + KVR_MOD_HEAD_BYTES, (uint32_t)head.buf.len);
  kvr_put32(h + KVR_MOD_BODY_OFF, (uint32_t)body_off);
  kvr_put32(h + KVR_MOD_BODY_BYTES, (uint32_t)body.buf.len);
  kvr_put64(h + KVR_MOD_HEAD_EVENTS, head.events);
  kvr_put64(h + KVR_MOD_BODY_EVENTS, body.events);
  kvr_put64(h + KVR_MOD_BODY_START, body_start);
  kvr_put64(h + KVR_MOD_PERIOD, period);
  kvr_put64(h + KVR_MOD_REPORT_NS, gp->report_ns);
  kvr_put64(h + KVR_MOD_LATE_NS, gp->late_ns);
  kvr_put64(h + KVR_MOD_SLEEP_MIN, gp->sleep_min_ns);
  kvr_put64(h + KVR_MOD_WAKE_EARLY, gp->wake_early_ns);
  /* The workload's write_bytes (else the whole page) where page content
   * matters (xbzrle); otherwise the stamp only, as always. */
  kvr_put32(h + KVR_MOD_WRITE_BYTES, s->xbzrle ? (uint32_t)write_bytes : 0u);
  info->write_bytes = s->xbzrle ? (uint32_t)write_bytes : 0u;
  /* Page content that compresses to the workload's compress_ratio where
   * compression runs (multifd zlib/zstd, compress); otherwise the fill
   * word only, as always. */
  kvr_put32(h + KVR_MOD_RANDOM_BYTES, random_bytes);
  info->random_bytes = random_bytes;
  kvr_put32(h + KVR_MOD_TOTAL_BYTES, (uint32_t)total);
  uint32_t fnv = KVR_FNV_OFFSET;
  for (size_t i = KVR_MODULE_HEADER_SIZE; i < total; i++) fnv = (fnv ^ out.data[i]) * KVR_FNV_PRIME;
  kvr_put32(h + KVR_MOD_CHECKSUM, fnv);

  f = fopen(path, "wb");
  if (!f || fwrite(out.data, 1, total, f) != total) {
    rc = sim_errorf(SIM_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  if (fclose(f) != 0) {
    f = NULL;
    rc = sim_errorf(SIM_EIO, "cannot write %s: %s", path, strerror(errno));
    goto out;
  }
  f = NULL;

  info->base_page = (uint32_t)base_page;
  info->pages = pages;
  info->nonzero_pages = nonzero_pages;
  info->bytes = total;
  info->head_events = head.events;
  info->body_events = body.events;
  info->body_start_ns = body_start;
  info->period_ns = period;
  info->loop = loop;
out:
  if (f) fclose(f);
  free(image);
  free(out.data);
  free(head.buf.data);
  free(body.buf.data);
  wl_source_close(src);
  return rc;
}

/* ------------------------------------------------------------- ELF */

static uint32_t kvr_le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int kvr__elf_end(const char *path, uint64_t *end) {
  unsigned char eh[52], ph[32];
  int rc = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return sim_errorf(SIM_ENOTFOUND, "replay guest %s: %s (build the project first)", path, strerror(errno));
  if (fread(eh, 1, sizeof eh, f) != sizeof eh || memcmp(eh, "\177ELF", 4) != 0 || eh[4] != 1) {
    rc = sim_errorf(SIM_EFORMAT, "%s: not a 32-bit ELF file", path);
    goto out;
  }
  uint32_t phoff = kvr_le32(eh + 28);
  unsigned phentsize = (unsigned)eh[42] | (unsigned)eh[43] << 8;
  unsigned phnum = (unsigned)eh[44] | (unsigned)eh[45] << 8;
  if (phentsize < sizeof ph) {
    rc = sim_errorf(SIM_EFORMAT, "%s: bad program header size %u", path, phentsize);
    goto out;
  }
  uint64_t hi = 0;
  for (unsigned i = 0; i < phnum; i++) {
    if (fseek(f, (long)phoff + (long)i * (long)phentsize, SEEK_SET) != 0 ||
        fread(ph, 1, sizeof ph, f) != sizeof ph) {
      rc = sim_errorf(SIM_EFORMAT, "%s: truncated program headers", path);
      goto out;
    }
    if (kvr_le32(ph) != 1) continue; /* PT_LOAD */
    uint64_t e = (uint64_t)kvr_le32(ph + 12) + kvr_le32(ph + 20); /* p_paddr + p_memsz */
    if (e > hi) hi = e;
  }
  if (hi == 0) rc = sim_errorf(SIM_EFORMAT, "%s: no loadable segment", path);
  *end = hi;
out:
  fclose(f);
  return rc;
}

uint64_t kvr__ram_bytes(const kvr_module_info *m) {
  uint64_t need = (uint64_t)m->base_page * KVR_PAGE_SIZE + m->pages * KVR_PAGE_SIZE + KVR_TOP_MARGIN;
  return (need + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
}
