/* wl_binfmt: the binary trace format, reader and writer backend.
 *
 * Layout (all integers little-endian; docs/trace-format.md has it byte by
 * byte):
 *
 *   header   56 fixed bytes (magic "MIGSIMTR", version, flags, header
 *            length, totals) + every metadata line in order + CRC32
 *   chunk*   48-byte chunk header (event count, first/last time, payload
 *            and raw lengths, column lengths, encodings, CRC32 of header
 *            and payload) + payload: one zstd frame (or stored bytes) of
 *            the columns  pfns | time deltas | op bitmap
 *   index    24 bytes per chunk: first time, file offset, events before
 *   trailer  48 bytes: index offset, chunk count, event count, last time,
 *            index CRC32, trailer CRC32, magic "MIGSIMIX"
 *
 * The header's totals are patched in when the writer closes, so a reader
 * knows from the first bytes how long the file must be and can name the
 * chunk where a truncated file stops.
 *
 * Reader: every length is checked against fixed limits and against the
 * file size before anything is allocated or read; every CRC is verified;
 * decoding re-checks time order and pfn < pages. Memory is one chunk
 * (compressed + raw, <= ~5.3 MB for 131072 events) plus the index (24 bytes
 * per chunk); events are decoded straight into the caller's buffer. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "sim_err.h"
#include "wl_backend.h"
#include "wl_internal.h"

/* The only version written and read. (Version 1, time column first and
 * 65536-event chunks, was an interim layout that was never released.) */
#define BIN_VERSION 2u
#define BIN_HEADER_FIXED 56u
#define BIN_CHUNK_HEADER 48u
#define BIN_INDEX_ENTRY 24u
#define BIN_TRAILER 48u
#define BIN_CHUNK_MAGIC "MTCK"
#define BIN_TRAILER_MAGIC "MIGSIMIX"
/* Events per chunk: the writer's chunk size and the reader's limit. With
 * 131072 events, and the pfn column first in the payload, each byte plane
 * fills exactly one 128 KiB zstd block and gets its own entropy tables:
 * 8% smaller than 65536-event chunks on a hot/cold workload (planes sharing
 * a block share one literal histogram). */
#define BIN_CHUNK_EVENTS 131072u
/* Largest header a reader accepts (a long nonzero= list fits easily). */
#define BIN_MAX_HEADER (64u * 1024u * 1024u)
#define BIN_FLAG_OP_COLUMN 1u
/* Zeroed bytes kept after each reader buffer (see bin__reserve). */
#define BIN_SLACK 8u
/* zstd level. Measured (docs/trace-format.md): level 1 gives sizes within
 * 3% of levels 3..12 on these columns at 2-5x their write speed; 19 saves
 * another 5-15% at a tenth of the speed. */
#define BIN_ZSTD_LEVEL 1

enum { BIN_PFN_DELTA = 0, BIN_PFN_PLANES = 1, BIN_PFN_BITS = 2 };
enum { BIN_OP_ALL_WRITES = 0, BIN_OP_BITMAP = 1 };
enum { BIN_STORED = 0, BIN_ZSTD = 1 };

/* Upper bound of a chunk's raw (uncompressed) payload for n >= 1 events:
 * n - 1 time varints, n pfn varints (planes need at most 8n), the bitmap. */
static size_t bin__raw_max(uint32_t n) {
  return (size_t)(n - 1) * 10 + (size_t)n * 10 + ((size_t)n + 7) / 8;
}

/* ----------------------------------------------------------- encoding */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) {
  return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

/* Bytes consumed, or 0 when the varint is cut off or exceeds 64 bits. */
static inline size_t get_varint(const uint8_t *p, size_t avail, uint64_t *out) {
  uint64_t v = 0;
  size_t limit = avail < 10 ? avail : 10;
  for (size_t i = 0; i < limit; i++) {
    uint8_t b = p[i];
    if (i == 9 && b > 1) return 0;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

/* Signed pfn deltas as small unsigned numbers (-1 -> 1, 1 -> 2). */
static uint64_t zigzag(uint64_t delta) { return (delta << 1) ^ (0 - (delta >> 63)); }
static uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

static uint32_t crc32_of(uint32_t crc, const uint8_t *p, size_t len) {
  /* zlib takes uInt lengths; every buffer here is far below 4 GiB. */
  return (uint32_t)crc32(crc, p, (uInt)len);
}

/* ============================================================= writer */

typedef struct {
  FILE *out;
  char *path;
  uint8_t *header; /* serialised header, patched with the totals at close */
  size_t header_len;
  wl_event *events; /* the chunk being filled */
  uint32_t n;
  uint8_t *raw;            /* one candidate raw payload at a time */
  uint8_t *times;          /* the time column, shared by the candidates */
  uint8_t *ops;            /* the op bitmap, shared by the candidates */
  uint8_t *comp, *comp_alt; /* best compressed payload so far, candidate */
  size_t raw_cap, comp_cap;
  ZSTD_CCtx *cctx;
  uint64_t offset; /* bytes written so far = next chunk's offset */
  uint64_t chunk_count, event_count, last_time;
  uint8_t *index; /* serialised index entries */
  size_t index_cap;
} wl__bin_writer;

static void binw__free(void *state) {
  wl__bin_writer *w = state;
  if (!w) return;
  free(w->path);
  free(w->header);
  free(w->events);
  free(w->raw);
  free(w->times);
  free(w->ops);
  free(w->comp);
  free(w->comp_alt);
  free(w->index);
  ZSTD_freeCCtx(w->cctx);
  free(w);
}

static int binw__put(wl__bin_writer *w, const void *p, size_t len) {
  if (len && fwrite(p, 1, len, w->out) != len)
    return sim_errorf(SIM_EIO, "cannot write %s: %s", w->path, strerror(errno));
  w->offset += len;
  return 0;
}

/* Serialises the header (totals zero until close). */
static int binw__build_header(wl__bin_writer *w, const wl_meta *meta) {
  size_t len = BIN_HEADER_FIXED + 4;
  for (size_t i = 0; i < meta->kv_count; i++) {
    len += 5 + strlen(meta->kv[i].key);
    if (meta->kv[i].value) len += 4 + strlen(meta->kv[i].value);
  }
  if (len > BIN_MAX_HEADER || meta->kv_count > WL_MAX_KV)
    return sim_errorf(SIM_ERANGE, "%s: metadata of %zu bytes exceeds the limit of %u bytes",
                      w->path, len, BIN_MAX_HEADER);
  uint8_t *h = calloc(1, len);
  if (!h) return sim_errorf(SIM_ENOMEM, "out of memory writing %s", w->path);
  memcpy(h, WL_BIN_MAGIC, WL_BIN_MAGIC_LEN);
  put_u16(h + 8, BIN_VERSION);
  put_u16(h + 10, meta->has_op_column ? BIN_FLAG_OP_COLUMN : 0);
  put_u32(h + 12, (uint32_t)len);
  put_u32(h + 48, (uint32_t)meta->kv_count);
  size_t pos = BIN_HEADER_FIXED;
  for (size_t i = 0; i < meta->kv_count; i++) {
    const wl_kv *kv = &meta->kv[i];
    size_t klen = strlen(kv->key);
    h[pos] = kv->value ? 1 : 0;
    put_u32(h + pos + 1, (uint32_t)klen);
    memcpy(h + pos + 5, kv->key, klen);
    pos += 5 + klen;
    if (kv->value) {
      size_t vlen = strlen(kv->value);
      put_u32(h + pos, (uint32_t)vlen);
      memcpy(h + pos + 4, kv->value, vlen);
      pos += 4 + vlen;
    }
  }
  w->header = h;
  w->header_len = len;
  return 0;
}

static void binw__seal_header(wl__bin_writer *w) {
  uint8_t *h = w->header;
  put_u64(h + 16, w->event_count);
  put_u64(h + 24, w->chunk_count);
  put_u64(h + 32, w->offset); /* index offset: called right before the index */
  put_u64(h + 40, w->last_time);
  put_u32(h + w->header_len - 4, crc32_of(0, h, w->header_len - 4));
}

static int binw__open(FILE *out, const char *path, const wl_meta *meta, void **state) {
  int rc;
  wl__bin_writer *w = calloc(1, sizeof *w);
  if (!w) return sim_errorf(SIM_ENOMEM, "out of memory writing %s", path);
  w->out = out;
  w->path = strdup(path);
  w->raw_cap = bin__raw_max(BIN_CHUNK_EVENTS);
  w->comp_cap = ZSTD_compressBound(w->raw_cap);
  w->events = malloc(BIN_CHUNK_EVENTS * sizeof *w->events);
  /* +8: the bit packer stores whole 64-bit words. */
  w->raw = malloc(w->raw_cap + 8);
  w->times = malloc((size_t)BIN_CHUNK_EVENTS * 10);
  w->ops = malloc(BIN_CHUNK_EVENTS / 8);
  w->comp = malloc(w->comp_cap);
  w->comp_alt = malloc(w->comp_cap);
  w->cctx = ZSTD_createCCtx();
  if (!w->path || !w->events || !w->raw || !w->times || !w->ops || !w->comp || !w->comp_alt ||
      !w->cctx) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory writing %s", path);
    goto fail;
  }
  if ((rc = binw__build_header(w, meta))) goto fail;
  /* Written now with zero totals so the chunks land at their final
   * offsets; rewritten whole at close. */
  if ((rc = binw__put(w, w->header, w->header_len))) goto fail;
  *state = w;
  return 0;
fail:
  binw__free(w);
  return rc;
}

/* Compresses raw into dst; returns the stored size and sets *compression
 * (stored when zstd does not help). 0 or a negative code via *rc. */
static size_t binw__pack(wl__bin_writer *w, const uint8_t *raw, size_t raw_len, uint8_t *dst,
                         uint8_t *compression, int *rc) {
  *compression = BIN_STORED;
  size_t z = ZSTD_compressCCtx(w->cctx, dst, w->comp_cap, raw, raw_len, BIN_ZSTD_LEVEL);
  if (ZSTD_isError(z)) {
    *rc = sim_errorf(SIM_EIO, "%s: zstd: %s", w->path, ZSTD_getErrorName(z));
    return 0;
  }
  *rc = 0;
  if (z >= raw_len) {
    memcpy(dst, raw, raw_len);
    *compression = BIN_STORED;
    return raw_len;
  }
  *compression = BIN_ZSTD;
  return z;
}

/* pfn column builders. Each writes the column for ev[0..n) at dst and
 * returns its length; *width is the encoding's width parameter. */

/* Zigzag delta varints: 1 byte per event for ascending or clustered pfns. */
static size_t binw__pfn_delta(const wl_event *ev, uint32_t n, uint8_t *dst, uint8_t *width) {
  size_t len = 0;
  uint64_t prev = 0;
  for (uint32_t k = 0; k < n; k++) {
    len += put_varint(dst + len, zigzag(ev[k].pfn - prev));
    prev = ev[k].pfn;
  }
  *width = 0;
  return len;
}

/* Byte planes: plane b holds byte b of every pfn, so zstd sees the skew of
 * each byte separately (a hot set in low pages makes the high planes
 * nearly constant). */
static size_t binw__pfn_planes(const wl_event *ev, uint32_t n, uint64_t all_bits, uint8_t *dst,
                               uint8_t *width) {
  uint8_t bytes = 0;
  while (bytes < 8 && (all_bits >> (8 * bytes)) != 0) bytes++;
  for (uint8_t b = 0; b < bytes; b++)
    for (uint32_t k = 0; k < n; k++) dst[(size_t)b * n + k] = (uint8_t)(ev[k].pfn >> (8 * b));
  *width = bytes;
  return (size_t)bytes * n;
}

/* Bit packing at the bit length of the largest pfn, LSB first: exactly
 * log2(pages) bits per event, the entropy of uniformly random pfns, which
 * zstd cannot reach on byte planes (it codes the planes' bytes together). */
static size_t binw__pfn_bits(const wl_event *ev, uint32_t n, uint64_t all_bits, uint8_t *dst,
                             uint8_t *width) {
  uint8_t bits = 0;
  while (bits < 64 && (all_bits >> bits) != 0) bits++;
  size_t len = 0;
  uint64_t acc = 0;
  unsigned fill = 0; /* bits held in acc */
  for (uint32_t k = 0; k < n && bits; k++) {
    acc |= ev[k].pfn << fill;
    unsigned used = fill + bits;
    if (used >= 64) {
      put_u64(dst + len, acc);
      len += 8;
      used -= 64;
      acc = used ? ev[k].pfn >> (bits - used) : 0;
    }
    fill = used;
  }
  while (fill > 0) {
    dst[len++] = (uint8_t)acc;
    acc >>= 8;
    fill = fill > 8 ? fill - 8 : 0;
  }
  *width = bits;
  return len;
}

/* Encodes and writes the buffered chunk. O(n) plus three zstd
 * compressions: the pfn column is built as delta varints, byte planes and
 * bit packing, and the smallest compressed payload wins (measured per
 * chunk, because which one wins depends on the workload). */
static int binw__flush(wl__bin_writer *w) {
  uint32_t n = w->n;
  const wl_event *ev = w->events;
  if (n == 0) return 0;

  uint8_t *raw = w->raw;
  size_t time_len = 0;
  for (uint32_t k = 1; k < n; k++)
    time_len += put_varint(w->times + time_len, ev[k].time_ns - ev[k - 1].time_ns);

  uint64_t all_bits = 0;
  int any_read = 0;
  for (uint32_t k = 0; k < n; k++) {
    all_bits |= ev[k].pfn;
    any_read |= ev[k].op == WL_OP_READ;
  }
  size_t op_len = any_read ? ((size_t)n + 7) / 8 : 0;
  if (any_read) {
    memset(w->ops, 0, op_len);
    for (uint32_t k = 0; k < n; k++)
      if (ev[k].op == WL_OP_READ) w->ops[k >> 3] |= (uint8_t)(1u << (k & 7));
  }

  int rc;
  size_t best_size = SIZE_MAX, best_raw = 0, best_pfn_len = 0;
  uint8_t best_encoding = 0, best_width = 0, best_compression = 0;
  static const uint8_t encodings[] = {BIN_PFN_DELTA, BIN_PFN_PLANES, BIN_PFN_BITS};
  for (size_t e = 0; e < sizeof encodings; e++) {
    /* Bit packing stops at 56 bits (see the reader); pages <= 2^40 makes
     * this unreachable, but the format must not depend on it. */
    if (encodings[e] == BIN_PFN_BITS && (all_bits >> 56) != 0) continue;
    uint8_t width, compression;
    uint8_t *col = raw; /* pfns first: see BIN_CHUNK_EVENTS */
    size_t pfn_len;
    if (encodings[e] == BIN_PFN_DELTA)
      pfn_len = binw__pfn_delta(ev, n, col, &width);
    else if (encodings[e] == BIN_PFN_PLANES)
      pfn_len = binw__pfn_planes(ev, n, all_bits, col, &width);
    else
      pfn_len = binw__pfn_bits(ev, n, all_bits, col, &width);
    memcpy(raw + pfn_len, w->times, time_len);
    memcpy(raw + pfn_len + time_len, w->ops, op_len);
    size_t raw_len = time_len + pfn_len + op_len;
    size_t size = binw__pack(w, raw, raw_len, w->comp_alt, &compression, &rc);
    if (rc) return rc;
    if (size < best_size) {
      uint8_t *swap = w->comp;
      w->comp = w->comp_alt;
      w->comp_alt = swap;
      best_size = size;
      best_raw = raw_len;
      best_pfn_len = pfn_len;
      best_encoding = encodings[e];
      best_width = width;
      best_compression = compression;
    }
  }

  uint8_t hdr[BIN_CHUNK_HEADER] = {0};
  const uint8_t *payload = w->comp;
  memcpy(hdr, BIN_CHUNK_MAGIC, 4);
  put_u32(hdr + 4, n);
  put_u64(hdr + 8, ev[0].time_ns);
  put_u64(hdr + 16, ev[n - 1].time_ns);
  put_u32(hdr + 24, (uint32_t)best_size);
  put_u32(hdr + 28, (uint32_t)best_raw);
  put_u32(hdr + 32, (uint32_t)time_len);
  put_u32(hdr + 36, (uint32_t)best_pfn_len);
  hdr[40] = best_encoding;
  hdr[41] = best_width;
  hdr[42] = any_read ? BIN_OP_BITMAP : BIN_OP_ALL_WRITES;
  hdr[43] = best_compression;
  uint32_t crc = crc32_of(0, hdr, 44);
  put_u32(hdr + 44, crc32_of(crc, payload, best_size));

  /* The index grows by doubling: amortised O(1) per chunk. */
  size_t need = (size_t)(w->chunk_count + 1) * BIN_INDEX_ENTRY;
  if (need > w->index_cap) {
    size_t cap = w->index_cap ? w->index_cap * 2 : 64 * BIN_INDEX_ENTRY;
    uint8_t *grown = realloc(w->index, cap);
    if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory writing %s", w->path);
    w->index = grown;
    w->index_cap = cap;
  }
  uint8_t *entry = w->index + (size_t)w->chunk_count * BIN_INDEX_ENTRY;
  put_u64(entry, ev[0].time_ns);
  put_u64(entry + 8, w->offset);
  put_u64(entry + 16, w->event_count);

  if ((rc = binw__put(w, hdr, sizeof hdr))) return rc;
  if ((rc = binw__put(w, payload, best_size))) return rc;
  w->chunk_count++;
  w->event_count += n;
  w->last_time = ev[n - 1].time_ns;
  w->n = 0;
  return 0;
}

static int binw__write(void *state, const wl_event *events, size_t n) {
  wl__bin_writer *w = state;
  while (n) {
    size_t take = BIN_CHUNK_EVENTS - w->n;
    if (take > n) take = n;
    memcpy(w->events + w->n, events, take * sizeof *events);
    w->n += (uint32_t)take;
    events += take;
    n -= take;
    if (w->n == BIN_CHUNK_EVENTS) {
      int rc = binw__flush(w);
      if (rc) return rc;
    }
  }
  return 0;
}

static int binw__finish(void *state) {
  wl__bin_writer *w = state;
  int rc = binw__flush(w);
  if (rc) return rc;
  size_t index_len = (size_t)w->chunk_count * BIN_INDEX_ENTRY;
  binw__seal_header(w); /* w->offset is the index offset now */
  uint8_t trailer[BIN_TRAILER] = {0};
  put_u64(trailer, w->offset);
  put_u64(trailer + 8, w->chunk_count);
  put_u64(trailer + 16, w->event_count);
  put_u64(trailer + 24, w->last_time);
  put_u32(trailer + 32, crc32_of(0, w->index, index_len));
  put_u32(trailer + 36, crc32_of(0, trailer, 36));
  memcpy(trailer + 40, BIN_TRAILER_MAGIC, 8);
  if ((rc = binw__put(w, w->index, index_len))) return rc;
  if ((rc = binw__put(w, trailer, sizeof trailer))) return rc;
  if (fseeko(w->out, 0, SEEK_SET) != 0 ||
      fwrite(w->header, 1, w->header_len, w->out) != w->header_len || fflush(w->out) != 0)
    return sim_errorf(SIM_EIO, "cannot write %s: %s", w->path, strerror(errno));
  return 0;
}

const wl__writer_backend wl__bin_backend = {
    .name = "binary",
    .open = binw__open,
    .write = binw__write,
    .finish = binw__finish,
    .free = binw__free,
};

/* ============================================================= reader */

typedef struct {
  uint64_t first_time;
  uint64_t offset;
  uint64_t events_before;
} bin__index_entry;

/* Where decoding stands inside the loaded chunk (copied to undo a
 * look-ahead in seek). */
typedef struct {
  uint32_t k; /* events decoded */
  size_t time_pos, pfn_pos;
  uint64_t time, pfn; /* last decoded values: the delta bases */
} bin__cursor;

typedef struct {
  char *path;
  FILE *f;
  uint64_t file_size, pages;
  uint64_t header_len, index_offset, chunk_count, event_count, last_time;
  bin__index_entry *index;
  ZSTD_DCtx *dctx;
  uint8_t *payload, *raw;
  size_t payload_cap, raw_cap;

  uint64_t chunk; /* the loaded chunk, or the next one to load */
  int loaded;
  uint64_t prev_chunk_last; /* last time of the chunk before `chunk` */
  /* The loaded chunk. */
  uint32_t n;
  uint64_t first_time, chunk_last;
  uint8_t pfn_encoding, width;
  uint64_t width_mask; /* BIN_PFN_BITS: (1 << width) - 1 */
  const uint8_t *time_col, *pfn_col, *op_col;
  size_t time_len, pfn_len;
  bin__cursor cur;

  int err; /* deferred error after a partial read */
  char errmsg[300];
} wl__bin_reader;

/* "path: chunk 3 of 40 (byte 1234): ..." */
static int bin__chunk_err(const wl__bin_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bin__chunk_err(const wl__bin_reader *r, int code, const char *fmt, ...) {
  char detail[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return sim_errorf(code, "%s: chunk %" PRIu64 " of %" PRIu64 " (byte %" PRIu64 "): %s", r->path,
                    r->chunk + 1, r->chunk_count, r->index[r->chunk].offset, detail);
}

static int bin__read_at(wl__bin_reader *r, uint64_t offset, void *buf, size_t len,
                        size_t *got) {
  *got = 0;
  if (fseeko(r->f, (off_t)offset, SEEK_SET) != 0)
    return sim_errorf(SIM_EIO, "cannot read %s: %s", r->path, strerror(errno));
  *got = fread(buf, 1, len, r->f);
  if (*got < len && ferror(r->f))
    return sim_errorf(SIM_EIO, "cannot read %s: %s", r->path, strerror(errno));
  return 0;
}

/* Grows *buf to at least `need` bytes plus BIN_SLACK zeroed bytes, so the
 * bit-packed decoder may load 8 bytes at the last pfn's position (callers
 * have bounded `need`). */
static int bin__reserve(wl__bin_reader *r, uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap && *buf) return 0;
  uint8_t *grown = realloc(*buf, need + BIN_SLACK);
  if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory reading %s", r->path);
  memset(grown + *cap, 0, need + BIN_SLACK - *cap);
  *buf = grown;
  *cap = need;
  return 0;
}

static int bin__truncated(const wl__bin_reader *r, uint64_t chunk) {
  return sim_errorf(SIM_ETRUNCATED, "%s: truncated at byte %" PRIu64 " (chunk %" PRIu64
                    " of %" PRIu64 ")", r->path, r->file_size, chunk + 1, r->chunk_count);
}

/* Loads, verifies and (if needed) decompresses chunk i. */
static int bin__load_chunk(wl__bin_reader *r, uint64_t i) {
  const bin__index_entry *e = &r->index[i];
  r->chunk = i;
  r->loaded = 0;
  uint64_t next = i + 1 < r->chunk_count ? r->index[i + 1].offset : r->index_offset;
  uint64_t next_before = i + 1 < r->chunk_count ? r->index[i + 1].events_before : r->event_count;
  uint8_t h[BIN_CHUNK_HEADER];
  size_t got;
  int rc = bin__read_at(r, e->offset, h, sizeof h, &got);
  if (rc) return rc;
  if (got < sizeof h) return bin__truncated(r, i);
  if (memcmp(h, BIN_CHUNK_MAGIC, 4) != 0)
    return bin__chunk_err(r, SIM_EFORMAT, "no chunk magic '" BIN_CHUNK_MAGIC "'");
  uint32_t n = get_u32(h + 4);
  uint32_t payload_len = get_u32(h + 24), raw_len = get_u32(h + 28);
  uint8_t compression = h[43];
  /* Sizes first: nothing is allocated or read on the strength of an
   * unchecked length. The index (already verified) fixes where the chunk
   * ends. */
  if (n == 0 || n > BIN_CHUNK_EVENTS)
    return bin__chunk_err(r, SIM_EFORMAT, "event count %" PRIu32 " outside 1..%u", n,
                          BIN_CHUNK_EVENTS);
  if ((uint64_t)payload_len != next - e->offset - BIN_CHUNK_HEADER)
    return bin__chunk_err(r, SIM_EFORMAT,
                          "payload length %" PRIu32 " disagrees with the index (%" PRIu64 ")",
                          payload_len, next - e->offset - BIN_CHUNK_HEADER);
  if (raw_len > bin__raw_max(n))
    return bin__chunk_err(r, SIM_EFORMAT, "raw length %" PRIu32 " exceeds %zu for %" PRIu32
                          " events", raw_len, bin__raw_max(n), n);
  if (compression == BIN_STORED ? payload_len != raw_len
      : compression == BIN_ZSTD ? payload_len > ZSTD_compressBound(raw_len)
                                : 1)
    return bin__chunk_err(r, SIM_EFORMAT,
                          "compression %u with payload %" PRIu32 " and raw %" PRIu32
                          " bytes is not valid",
                          (unsigned)compression, payload_len, raw_len);
  if ((rc = bin__reserve(r, &r->payload, &r->payload_cap, payload_len))) return rc;
  got = payload_len ? fread(r->payload, 1, payload_len, r->f) : 0;
  if (got < payload_len) {
    if (ferror(r->f)) return sim_errorf(SIM_EIO, "cannot read %s: %s", r->path, strerror(errno));
    return bin__truncated(r, i);
  }
  uint32_t crc = crc32_of(crc32_of(0, h, 44), r->payload, payload_len);
  if (crc != get_u32(h + 44))
    return bin__chunk_err(r, SIM_ECHECKSUM,
                          "checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                          get_u32(h + 44), crc);

  /* Structure (CRC-covered, but a reader never trusts a writer). */
  uint64_t first = get_u64(h + 8), last = get_u64(h + 16);
  uint32_t time_len = get_u32(h + 32), pfn_len = get_u32(h + 36);
  uint8_t pfn_encoding = h[40], width = h[41], op_encoding = h[42];
  if (first != e->first_time || e->events_before + n != next_before)
    return bin__chunk_err(r, SIM_EFORMAT, "header disagrees with the time index");
  if (last < first)
    return bin__chunk_err(r, SIM_EORDER, "last time %" PRIu64 " before first time %" PRIu64,
                          last, first);
  if (first < r->prev_chunk_last)
    return bin__chunk_err(r, SIM_EORDER, "time goes backwards (%" PRIu64 " after %" PRIu64 ")",
                          first, r->prev_chunk_last);
  if (i + 1 == r->chunk_count && last != r->last_time)
    return bin__chunk_err(r, SIM_EFORMAT, "last time %" PRIu64 " disagrees with the trailer (%"
                          PRIu64 ")", last, r->last_time);
  if ((uint64_t)time_len + pfn_len > raw_len)
    return bin__chunk_err(r, SIM_EFORMAT, "column lengths exceed the raw length");
  size_t op_len = raw_len - time_len - pfn_len;
  if (op_encoding > BIN_OP_BITMAP ||
      op_len != (op_encoding == BIN_OP_BITMAP ? ((size_t)n + 7) / 8 : 0))
    return bin__chunk_err(r, SIM_EFORMAT, "op column (encoding %u, %zu bytes) is not valid",
                          (unsigned)op_encoding, op_len);
  /* Bit widths stop at 56 so one unaligned 64-bit load holds any pfn. */
  if (pfn_encoding == BIN_PFN_DELTA    ? width != 0
      : pfn_encoding == BIN_PFN_PLANES ? width > 8 || pfn_len != (size_t)width * n
      : pfn_encoding == BIN_PFN_BITS   ? width > 56 || pfn_len != ((size_t)width * n + 7) / 8
                                       : 1)
    return bin__chunk_err(r, SIM_EFORMAT, "pfn column (encoding %u, width %u, %" PRIu32
                          " bytes) is not valid", (unsigned)pfn_encoding, (unsigned)width,
                          pfn_len);

  const uint8_t *raw = r->payload;
  if (compression == BIN_ZSTD) {
    if ((rc = bin__reserve(r, &r->raw, &r->raw_cap, raw_len))) return rc;
    size_t z = ZSTD_decompressDCtx(r->dctx, r->raw, raw_len, r->payload, payload_len);
    if (ZSTD_isError(z))
      return bin__chunk_err(r, SIM_EFORMAT, "zstd: %s", ZSTD_getErrorName(z));
    if (z != raw_len)
      return bin__chunk_err(r, SIM_EFORMAT, "decompressed to %zu bytes, expected %" PRIu32, z,
                            raw_len);
    raw = r->raw;
  }
  r->n = n;
  r->first_time = first;
  r->chunk_last = last;
  r->pfn_encoding = pfn_encoding;
  r->width = width;
  r->width_mask = (UINT64_C(1) << width) - 1; /* width <= 56 */
  r->pfn_col = raw;
  r->pfn_len = pfn_len;
  r->time_col = raw + pfn_len;
  r->time_len = time_len;
  r->op_col = op_len ? raw + time_len + pfn_len : NULL;
  memset(&r->cur, 0, sizeof r->cur);
  r->loaded = 1;
  return 0;
}

/* Decodes the next event of the loaded chunk. The per-event hot path. */
static inline int bin__decode(wl__bin_reader *r, wl_event *ev) {
  bin__cursor *c = &r->cur;
  uint32_t k = c->k;
  uint64_t t = r->first_time, p, d;
  if (k > 0) {
    size_t used = get_varint(r->time_col + c->time_pos, r->time_len - c->time_pos, &d);
    if (!used) return bin__chunk_err(r, SIM_EFORMAT, "event %" PRIu32 ": bad time delta", k);
    c->time_pos += used;
    t = c->time + d;
    if (t < c->time)
      return bin__chunk_err(r, SIM_EORDER, "event %" PRIu32 ": time overflows", k);
  }
  if (r->pfn_encoding == BIN_PFN_BITS) {
    /* The buffers carry BIN_SLACK bytes past the payload for this load. */
    uint64_t bit = (uint64_t)k * r->width;
    p = (get_u64(r->pfn_col + (bit >> 3)) >> (bit & 7)) & r->width_mask;
  } else if (r->pfn_encoding == BIN_PFN_PLANES) {
    p = 0;
    for (unsigned b = 0; b < r->width; b++)
      p |= (uint64_t)r->pfn_col[(size_t)b * r->n + k] << (8 * b);
  } else {
    size_t used = get_varint(r->pfn_col + c->pfn_pos, r->pfn_len - c->pfn_pos, &d);
    if (!used) return bin__chunk_err(r, SIM_EFORMAT, "event %" PRIu32 ": bad pfn delta", k);
    c->pfn_pos += used;
    p = c->pfn + unzigzag(d);
  }
  if (p >= r->pages)
    return bin__chunk_err(r, SIM_ERANGE, "event %" PRIu32 ": pfn %" PRIu64 " >= pages %" PRIu64,
                          k, p, r->pages);
  ev->time_ns = t;
  ev->pfn = p;
  uint8_t op = WL_OP_WRITE;
  if (r->op_col) op = (uint8_t)(((unsigned)r->op_col[k >> 3] >> (k & 7)) & 1u);
  ev->op = op;
  c->time = t;
  c->pfn = p;
  c->k = k + 1;
  return 0;
}

/* After the last event of a chunk: every column must be used up exactly. */
static int bin__end_chunk(wl__bin_reader *r) {
  if (r->cur.time_pos != r->time_len ||
      (r->pfn_encoding == BIN_PFN_DELTA && r->cur.pfn_pos != r->pfn_len))
    return bin__chunk_err(r, SIM_EFORMAT, "columns have bytes left after %" PRIu32 " events",
                          r->n);
  if (r->cur.time != r->chunk_last)
    return bin__chunk_err(r, SIM_EFORMAT, "last event at %" PRIu64 ", header says %" PRIu64,
                          r->cur.time, r->chunk_last);
  r->prev_chunk_last = r->chunk_last;
  r->loaded = 0;
  r->chunk++;
  return 0;
}

static long bin__read(void *state, wl_event *buf, size_t max) {
  wl__bin_reader *r = state;
  size_t out = 0;
  int rc = 0;
  if (r->err) return sim_errorf(r->err, "%s", r->errmsg);
  while (out < max) {
    if (!r->loaded) {
      if (r->chunk >= r->chunk_count) break;
      if ((rc = bin__load_chunk(r, r->chunk))) break;
    }
    size_t take = r->n - r->cur.k;
    if (take > max - out) take = max - out;
    for (size_t j = 0; j < take && !rc; j++) rc = bin__decode(r, &buf[out++]);
    if (rc) {
      out--; /* the failed slot holds no event */
      break;
    }
    if (r->cur.k == r->n && (rc = bin__end_chunk(r))) break;
  }
  if (rc) {
    if (out == 0) return rc;
    /* Valid events before the bad one are delivered; the error follows. */
    r->err = rc;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", sim_error_message());
  }
  return (long)out;
}

static int bin__rewind(void *state) {
  wl__bin_reader *r = state;
  if (r->err) return sim_errorf(r->err, "%s", r->errmsg);
  r->chunk = 0;
  r->loaded = 0;
  r->prev_chunk_last = 0;
  return 0;
}

/* Binary search of the index for the last chunk starting before time_ns
 * (chunks before it hold only earlier events), then a forward scan inside
 * it. O(log chunks + one chunk). */
static int bin__seek(void *state, uint64_t time_ns) {
  wl__bin_reader *r = state;
  int rc = bin__rewind(r);
  if (rc || r->chunk_count == 0) return rc;
  uint64_t lo = 0, hi = r->chunk_count;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (r->index[mid].first_time < time_ns)
      lo = mid + 1;
    else
      hi = mid;
  }
  r->chunk = lo ? lo - 1 : 0;
  r->prev_chunk_last = r->chunk ? r->index[r->chunk - 1].first_time : 0;
  for (;;) {
    if (!r->loaded) {
      if (r->chunk >= r->chunk_count) return 0;
      if ((rc = bin__load_chunk(r, r->chunk))) return rc;
    }
    if (r->cur.k == r->n) {
      if ((rc = bin__end_chunk(r))) return rc;
      continue;
    }
    bin__cursor saved = r->cur;
    wl_event ev = {0, 0, 0};
    if ((rc = bin__decode(r, &ev))) return rc;
    if (ev.time_ns >= time_ns) {
      r->cur = saved;
      return 0;
    }
  }
}

static void bin__close(void *state) {
  wl__bin_reader *r = state;
  if (!r) return;
  if (r->f) fclose(r->f);
  ZSTD_freeDCtx(r->dctx);
  free(r->index);
  free(r->payload);
  free(r->raw);
  free(r->path);
  free(r);
}

static const wl_source_ops wl__bin_ops = {
    .name = "binary",
    .read = bin__read,
    .rewind = bin__rewind,
    .seek = bin__seek,
    .close = bin__close,
};

/* Called when the file is shorter than its header says: walks the chunk
 * headers (no payloads) to name the chunk where the data stops. O(chunks
 * present); error path only. */
static int bin__locate_truncation(wl__bin_reader *r) {
  uint64_t pos = r->header_len;
  for (uint64_t i = 0; i < r->chunk_count; i++) {
    uint8_t h[BIN_CHUNK_HEADER];
    size_t got;
    if (pos > r->file_size || r->file_size - pos < BIN_CHUNK_HEADER) return bin__truncated(r, i);
    int rc = bin__read_at(r, pos, h, sizeof h, &got);
    if (rc) return rc;
    if (got < sizeof h) return bin__truncated(r, i);
    uint64_t end = pos + BIN_CHUNK_HEADER + get_u32(h + 24);
    if (end > r->file_size) return bin__truncated(r, i);
    pos = end;
  }
  return sim_errorf(SIM_ETRUNCATED, "%s: truncated at byte %" PRIu64 " (in the %s after all %"
                    PRIu64 " chunks)", r->path, r->file_size,
                    r->file_size - pos < r->chunk_count * BIN_INDEX_ENTRY ? "time index"
                                                                          : "trailer",
                    r->chunk_count);
}

/* Metadata records: u8 kind (0 bare comment, 1 key=value), u32 key length,
 * key, [u32 value length, value]. Text must be printable on one line. */
static int bin__parse_meta(wl__bin_reader *r, const uint8_t *h, uint32_t kv_count,
                           wl_meta *meta) {
  size_t pos = BIN_HEADER_FIXED, end = r->header_len - 4;
  for (uint32_t i = 0; i < kv_count; i++) {
    size_t at = pos, klen, vlen = 0;
    if (end - pos < 5) goto overrun;
    uint8_t kind = h[pos];
    klen = get_u32(h + pos + 1);
    pos += 5;
    if (kind > 1)
      return sim_errorf(SIM_EFORMAT, "%s: byte %zu: metadata record %" PRIu32 " has kind %u",
                        r->path, at, i, (unsigned)kind);
    if (klen > end - pos) goto overrun;
    const uint8_t *key = h + pos, *value = NULL;
    pos += klen;
    if (kind == 1) {
      if (end - pos < 4) goto overrun;
      vlen = get_u32(h + pos);
      pos += 4;
      if (vlen > end - pos) goto overrun;
      value = h + pos;
      pos += vlen;
    }
    if (memchr(key, '\0', klen) || memchr(key, '\n', klen) || memchr(key, '\r', klen) ||
        memchr(key, '=', klen) ||
        (value && (memchr(value, '\0', vlen) || memchr(value, '\n', vlen) ||
                   memchr(value, '\r', vlen))))
      return sim_errorf(SIM_EFORMAT,
                        "%s: byte %zu: metadata record %" PRIu32 " holds a NUL, line break "
                        "or '=' in its key",
                        r->path, at, i);
    char *k = strndup((const char *)key, klen);
    char *v = value ? strndup((const char *)value, vlen) : NULL;
    int rc = (!k || (value && !v)) ? sim_errorf(SIM_ENOMEM, "out of memory reading %s", r->path)
             : (v && wl_meta_get(meta, k))
                 ? sim_errorf(SIM_EFORMAT, "metadata key '%.40s' appears twice", k)
                 : wl_meta_set(meta, k, v);
    free(k);
    free(v);
    if (rc) {
      char detail[256];
      snprintf(detail, sizeof detail, "%s", sim_error_message());
      return sim_errorf(rc, "%s: byte %zu: %s", r->path, at, detail);
    }
    continue;
  overrun:
    return sim_errorf(SIM_EFORMAT, "%s: byte %zu: metadata record %" PRIu32
                      " runs past the header", r->path, at, i);
  }
  if (pos != end)
    return sim_errorf(SIM_EFORMAT, "%s: byte %zu: %zu stray bytes after the metadata", r->path,
                      pos, end - pos);
  return 0;
}

/* Reads and checks the trailer and the time index. */
static int bin__load_index(wl__bin_reader *r) {
  uint8_t t[BIN_TRAILER];
  size_t got;
  uint64_t at = r->file_size - BIN_TRAILER;
  int rc = bin__read_at(r, at, t, sizeof t, &got);
  if (rc) return rc;
  if (got < sizeof t) return bin__locate_truncation(r);
  if (memcmp(t + 40, BIN_TRAILER_MAGIC, 8) != 0)
    return sim_errorf(SIM_EFORMAT, "%s: byte %" PRIu64 ": no trailer magic '" BIN_TRAILER_MAGIC
                      "'", r->path, at + 40);
  if (crc32_of(0, t, 36) != get_u32(t + 36))
    return sim_errorf(SIM_ECHECKSUM, "%s: byte %" PRIu64 ": trailer checksum mismatch", r->path,
                      at);
  if (get_u64(t) != r->index_offset || get_u64(t + 8) != r->chunk_count ||
      get_u64(t + 16) != r->event_count || get_u64(t + 24) != r->last_time)
    return sim_errorf(SIM_EFORMAT, "%s: byte %" PRIu64 ": trailer disagrees with the header",
                      r->path, at);
  size_t len = (size_t)r->chunk_count * BIN_INDEX_ENTRY; /* bounded by the file size */
  uint8_t *raw = malloc(len ? len : 1);
  r->index = malloc((r->chunk_count ? (size_t)r->chunk_count : 1) * sizeof *r->index);
  if (!raw || !r->index) {
    free(raw);
    return sim_errorf(SIM_ENOMEM, "out of memory reading %s", r->path);
  }
  rc = bin__read_at(r, r->index_offset, raw, len, &got);
  if (!rc && got < len) rc = bin__locate_truncation(r);
  if (!rc && crc32_of(0, raw, len) != get_u32(t + 32))
    rc = sim_errorf(SIM_ECHECKSUM, "%s: byte %" PRIu64 ": time index checksum mismatch",
                    r->path, r->index_offset);
  for (uint64_t i = 0; !rc && i < r->chunk_count; i++) {
    bin__index_entry *e = &r->index[i];
    const uint8_t *p = raw + i * BIN_INDEX_ENTRY;
    e->first_time = get_u64(p);
    e->offset = get_u64(p + 8);
    e->events_before = get_u64(p + 16);
    /* Offsets advance by at least a chunk header, counts by at least one
     * event (and at most a chunk), times never go back. */
    const bin__index_entry *prev = i ? e - 1 : NULL;
    int ok = prev ? e->offset > prev->offset && e->offset - prev->offset >= BIN_CHUNK_HEADER &&
                        e->events_before > prev->events_before &&
                        e->events_before - prev->events_before <= BIN_CHUNK_EVENTS &&
                        e->first_time >= prev->first_time
                  : e->offset == r->header_len && e->events_before == 0;
    ok = ok && e->offset <= r->index_offset - BIN_CHUNK_HEADER &&
         e->events_before < r->event_count && e->first_time <= r->last_time;
    if (i + 1 == r->chunk_count)
      ok = ok && r->event_count - e->events_before <= BIN_CHUNK_EVENTS;
    if (!ok)
      rc = sim_errorf(SIM_EFORMAT, "%s: byte %" PRIu64 ": time index entry %" PRIu64
                      " is inconsistent", r->path, r->index_offset + i * BIN_INDEX_ENTRY, i);
  }
  free(raw);
  return rc;
}

int wl__bin_open(const char *path, FILE *f, wl_source **out) {
  wl_meta meta;
  wl_meta_init(&meta);
  uint8_t *header = NULL;
  int rc;
  wl__bin_reader *r = calloc(1, sizeof *r);
  if (!r) {
    fclose(f);
    return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  }
  r->f = f;
  r->path = strdup(path);
  r->dctx = ZSTD_createDCtx();
  if (!r->path || !r->dctx) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
    goto fail;
  }
  off_t end;
  if (fseeko(f, 0, SEEK_END) != 0 || (end = ftello(f)) < 0) {
    rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
    goto fail;
  }
  r->file_size = (uint64_t)end;

  uint8_t fixed[BIN_HEADER_FIXED];
  size_t got;
  if ((rc = bin__read_at(r, 0, fixed, sizeof fixed, &got))) goto fail;
  if (got < WL_BIN_MAGIC_LEN || memcmp(fixed, WL_BIN_MAGIC, WL_BIN_MAGIC_LEN) != 0) {
    rc = sim_errorf(SIM_EFORMAT, "%s: byte 0: not a binary migsim trace (no magic '%s')", path,
                    WL_BIN_MAGIC);
    goto fail;
  }
  if (got < sizeof fixed) {
    rc = sim_errorf(SIM_ETRUNCATED, "%s: truncated at byte %" PRIu64 " (in the %u-byte header)",
                    path, r->file_size, BIN_HEADER_FIXED);
    goto fail;
  }
  uint16_t version = get_u16(fixed + 8);
  if (version != BIN_VERSION) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "%s: byte 8: format version %u, this migsim reads "
                    "version %u", path, (unsigned)version, BIN_VERSION);
    goto fail;
  }
  uint32_t header_len = get_u32(fixed + 12);
  if (header_len < BIN_HEADER_FIXED + 4 || header_len > BIN_MAX_HEADER) {
    rc = sim_errorf(SIM_EFORMAT, "%s: byte 12: header length %" PRIu32 " outside %u..%u", path,
                    header_len, BIN_HEADER_FIXED + 4, BIN_MAX_HEADER);
    goto fail;
  }
  if (header_len > r->file_size) {
    rc = sim_errorf(SIM_ETRUNCATED, "%s: truncated at byte %" PRIu64 " (in the %" PRIu32
                    "-byte header)", path, r->file_size, header_len);
    goto fail;
  }
  header = malloc(header_len);
  if (!header) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
    goto fail;
  }
  if ((rc = bin__read_at(r, 0, header, header_len, &got))) goto fail;
  if (got < header_len) {
    rc = sim_errorf(SIM_ETRUNCATED, "%s: truncated at byte %zu (in the header)", path, got);
    goto fail;
  }
  uint32_t stored_crc = get_u32(header + header_len - 4), crc = crc32_of(0, header, header_len - 4);
  if (crc != stored_crc) {
    rc = sim_errorf(SIM_ECHECKSUM, "%s: byte %" PRIu32 ": header checksum mismatch (stored 0x%08"
                    PRIx32 ", computed 0x%08" PRIx32 ")", path, header_len - 4, stored_crc, crc);
    goto fail;
  }
  uint16_t flags = get_u16(header + 10);
  r->header_len = header_len;
  r->event_count = get_u64(header + 16);
  r->chunk_count = get_u64(header + 24);
  r->index_offset = get_u64(header + 32);
  r->last_time = get_u64(header + 40);
  uint32_t kv_count = get_u32(header + 48);
  if ((flags & ~BIN_FLAG_OP_COLUMN) || get_u32(header + 52) != 0) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "%s: byte 10: unknown flags 0x%04x", path, (unsigned)flags);
    goto fail;
  }
  if (kv_count > WL_MAX_KV) {
    rc = sim_errorf(SIM_EFORMAT, "%s: byte 48: %" PRIu32 " metadata lines exceed the limit of %u",
                    path, kv_count, WL_MAX_KV);
    goto fail;
  }
  /* Totals: each chunk holds 1..BIN_CHUNK_EVENTS events and at least a
   * chunk header, which also bounds chunk_count by the file size. */
  if (r->index_offset < header_len ||
      r->chunk_count > (r->index_offset - header_len) / BIN_CHUNK_HEADER ||
      r->chunk_count > r->event_count || (r->chunk_count == 0) != (r->event_count == 0) ||
      r->event_count / BIN_CHUNK_EVENTS > r->chunk_count ||
      r->index_offset > UINT64_MAX / 2 || (r->event_count == 0 && r->last_time != 0)) {
    rc = sim_errorf(SIM_EFORMAT, "%s: byte 16: header totals are inconsistent (%" PRIu64
                    " events in %" PRIu64 " chunks, index at byte %" PRIu64 ")",
                    path, r->event_count, r->chunk_count, r->index_offset);
    goto fail;
  }
  uint64_t expected = r->index_offset + r->chunk_count * BIN_INDEX_ENTRY + BIN_TRAILER;
  if (r->file_size < expected) {
    rc = bin__locate_truncation(r);
    goto fail;
  }
  if (r->file_size > expected) {
    rc = sim_errorf(SIM_EFORMAT, "%s: byte %" PRIu64 ": %" PRIu64 " unexpected bytes after the "
                    "trailer", path, expected, r->file_size - expected);
    goto fail;
  }
  if ((rc = bin__parse_meta(r, header, kv_count, &meta))) goto fail;
  if ((rc = wl_meta_validate(&meta))) {
    char detail[256];
    snprintf(detail, sizeof detail, "%s", sim_error_message());
    rc = sim_errorf(rc, "%s: %s", path, detail);
    goto fail;
  }
  meta.has_op_column = (flags & BIN_FLAG_OP_COLUMN) != 0;
  r->pages = meta.pages;
  if ((rc = bin__load_index(r))) goto fail;
  free(header);
  return wl__source_new(&wl__bin_ops, r, &meta, r->file_size, out);

fail:
  free(header);
  wl_meta_free(&meta);
  bin__close(r);
  return rc;
}
