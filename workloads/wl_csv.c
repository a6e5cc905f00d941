/* wl_csv: the CSV trace interchange format (docs/design.md, "Trace interchange:
 * CSV"): a streaming reader built on libcsv and the CSV writer backend.
 *
 *   # migsim-trace v1          line 1, exactly
 *   # key=value                metadata, kept in order (wl_meta_set)
 *   # free text                a bare comment (no '='), kept too
 *   time_ns,pfn,op             or time_ns,pfn (every op is then w)
 *   0,12,w                     sorted by time_ns (non-decreasing)
 *
 * Round trip. The canonical metadata line is "# " + text: the reader drops
 * exactly one space after '#' and keeps everything else verbatim (key up to
 * the first '=', value after it), and the writer puts that one space back.
 * A canonical file (LF line ends, no padding in numbers) therefore comes
 * back byte for byte from CSV -> binary -> CSV. Non-canonical input is
 * accepted and normalised: CRLF becomes LF, "#key=v" becomes "# key=v",
 * "007" becomes "7", and an empty comment "# " becomes "#". A key given
 * twice is refused (keeping one value would silently drop a line).
 *
 * Memory: the file is read in WL_CSV_BLOCK-byte blocks and parsed in slices
 * no longer than the pending-event buffer, so a reader holds one block, at
 * most WL_CSV_PENDING decoded events and libcsv's field buffer (capped at
 * WL_CSV_MAX_FIELD bytes) whatever the file size. Nothing is allocated per
 * event. */
#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "wl_backend.h"
#include "wl_internal.h"

#define WL_CSV_BLOCK (64u * 1024u)
/* Each parsed slice is at most this many bytes; every row ends with at
 * least one byte of the slice, so one slice yields at most this many
 * events and always fits the (empty) pending buffer. */
#define WL_CSV_PENDING 8192u
/* libcsv grows its field buffer without bound; a trace field is a number
 * or one letter, so anything this long is garbage, not data. */
#define WL_CSV_MAX_FIELD (64u * 1024u)
/* A metadata line may carry a long nonzero= list, but not gigabytes. */
#define WL_CSV_MAX_META_LINE (64u * 1024u * 1024u)
/* Text kept per field for the row check (digits of a u64 fit easily). */
#define WL_CSV_FIELD_TEXT 32u

#define WL_CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL)

/* ============================================================= reader */

typedef struct {
  char *path;
  FILE *f;
  struct csv_parser parser;
  int parser_live;
  int has_op;     /* header named an op column: rows have 3 fields */
  uint64_t pages; /* copy of meta.pages for the hot path */

  off_t data_start;        /* byte offset of the first data row */
  uint64_t data_line;      /* its line number */
  unsigned char *block;    /* WL_CSV_BLOCK bytes read from f */
  size_t block_len, block_pos;
  int file_eof; /* f has no more bytes */
  int done;     /* csv_fini ran: no more rows */

  wl_event *pending; /* decoded, not yet returned: [head, head + count) */
  size_t pending_head, pending_count;

  /* The row being parsed. */
  uint64_t line; /* line number of the row being parsed (1-based) */
  size_t fields; /* fields seen so far in this row */
  size_t field_len[3];
  char field_text[3][WL_CSV_FIELD_TEXT];
  uint64_t prev_time;

  int err; /* first error (sticky); its message is errmsg */
  char errmsg[300];
} wl__csv_reader;

/* Records the first error of a row callback (libcsv cannot be stopped
 * from inside a callback; later rows are then ignored). */
static void csv__fail(wl__csv_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void csv__fail(wl__csv_reader *r, int code, const char *fmt, ...) {
  if (r->err) return;
  int n = snprintf(r->errmsg, sizeof r->errmsg, "%s:%" PRIu64 ": ", r->path, r->line);
  if (n < 0) n = 0;
  if ((size_t)n < sizeof r->errmsg) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg + n, sizeof r->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
  }
  r->err = code;
}

/* Caps libcsv's field buffer (see WL_CSV_MAX_FIELD): refusing to grow makes
 * csv_parse stop with CSV_ENOMEM, reported as an over-long field. */
static void *csv__capped_realloc(void *p, size_t size) {
  if (size > WL_CSV_MAX_FIELD) return NULL;
  return realloc(p, size);
}

static int csv__parser_init(wl__csv_reader *r) {
  if (csv_init(&r->parser, WL_CSV_OPTIONS) != 0)
    return sim_errorf(SIM_ENOMEM, "out of memory starting the CSV parser");
  csv_set_realloc_func(&r->parser, csv__capped_realloc);
  r->parser_live = 1;
  return 0;
}

/* Field callback: keeps a short copy of the first three fields; the row
 * callback checks the count before parsing, so that "1;2;w" is reported as
 * one field, not as a bad number. */
static void csv__on_field(void *data, size_t len, void *ctx) {
  wl__csv_reader *r = ctx;
  size_t k = r->fields++;
  if (k >= 3) return;
  size_t keep = len < WL_CSV_FIELD_TEXT - 1 ? len : WL_CSV_FIELD_TEXT - 1;
  if (keep) memcpy(r->field_text[k], data, keep);
  r->field_text[k][keep] = '\0';
  r->field_len[k] = len;
}

/* Parses field k as a decimal u64 (digits only). 0 or an error recorded. */
static int csv__field_u64(wl__csv_reader *r, size_t k, const char *what, uint64_t *out) {
  const char *s = r->field_text[k];
  size_t len = r->field_len[k];
  if (len == 0 || len >= WL_CSV_FIELD_TEXT) {
    csv__fail(r, SIM_EFORMAT, "%s '%.20s%s' is not a non-negative integer", what, s,
              len >= WL_CSV_FIELD_TEXT ? "..." : "");
    return -1;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      csv__fail(r, SIM_EFORMAT, "%s '%s' is not a non-negative integer", what, s);
      return -1;
    }
    unsigned digit = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      csv__fail(r, SIM_ERANGE, "%s %s does not fit in 64 bits", what, s);
      return -1;
    }
    v = v * 10 + digit;
  }
  *out = v;
  return 0;
}

static void csv__row(wl__csv_reader *r) {
  size_t want = r->has_op ? 3 : 2;
  if (r->fields != want) {
    csv__fail(r, SIM_EFORMAT, "expected %zu fields (%s), got %zu", want,
              r->has_op ? "time_ns,pfn,op" : "time_ns,pfn", r->fields);
    return;
  }
  wl_event ev;
  if (csv__field_u64(r, 0, "time_ns", &ev.time_ns)) return;
  if (csv__field_u64(r, 1, "pfn", &ev.pfn)) return;
  ev.op = WL_OP_WRITE;
  if (r->has_op) {
    const char *op = r->field_text[2];
    if (r->field_len[2] == 1 && op[0] == 'w') {
      ev.op = WL_OP_WRITE;
    } else if (r->field_len[2] == 1 && op[0] == 'r') {
      ev.op = WL_OP_READ;
    } else {
      csv__fail(r, SIM_EFORMAT, "unknown op '%.20s' (expected w or r)", op);
      return;
    }
  }
  if (ev.pfn >= r->pages) {
    csv__fail(r, SIM_ERANGE, "pfn %" PRIu64 " >= pages %" PRIu64, ev.pfn, r->pages);
    return;
  }
  if (ev.time_ns < r->prev_time) {
    csv__fail(r, SIM_EORDER, "time goes backwards (%" PRIu64 " after %" PRIu64 ")",
              ev.time_ns, r->prev_time);
    return;
  }
  if (r->pending_head + r->pending_count >= WL_CSV_PENDING) { /* defensive */
    csv__fail(r, SIM_EFORMAT, "internal error: pending buffer overflow");
    return;
  }
  r->prev_time = ev.time_ns;
  r->pending[r->pending_head + r->pending_count++] = ev;
}

/* Row callback. With CSV_REPALL_NL libcsv reports every CR and LF; "\r\n"
 * arrives as the row (ended by CR) then an empty row (ended by LF), and a
 * blank line as an empty row. Lines are counted on LF. */
static void csv__on_row(int c, void *ctx) {
  wl__csv_reader *r = ctx;
  if (r->fields > 0 && !r->err) csv__row(r);
  r->fields = 0;
  if (c == '\n') r->line++;
}

/* Parses the next slice of input into the (empty) pending buffer, reading
 * a block from the file when needed. 0, or a negative code. */
static int csv__parse_more(wl__csv_reader *r) {
  if (r->block_pos == r->block_len) {
    if (r->file_eof) {
      /* The last row may lack its newline: csv_fini delivers it. */
      csv_fini(&r->parser, csv__on_field, csv__on_row, r);
      r->done = 1;
      if (!r->err && csv_error(&r->parser) != CSV_SUCCESS)
        csv__fail(r, SIM_EFORMAT, "malformed CSV at end of file (%s)",
                  csv_strerror(csv_error(&r->parser)));
      return 0;
    }
    size_t got = fread(r->block, 1, WL_CSV_BLOCK, r->f);
    if (got == 0) {
      if (ferror(r->f)) {
        r->err = sim_errorf(SIM_EIO, "cannot read %s: %s", r->path, strerror(errno));
        snprintf(r->errmsg, sizeof r->errmsg, "%s", sim_error_message());
        return r->err;
      }
      r->file_eof = 1;
    }
    r->block_len = got;
    r->block_pos = 0;
    return 0;
  }
  size_t slice = r->block_len - r->block_pos;
  if (slice > WL_CSV_PENDING) slice = WL_CSV_PENDING;
  size_t used = csv_parse(&r->parser, r->block + r->block_pos, slice, csv__on_field,
                          csv__on_row, r);
  r->block_pos += slice;
  if (used < slice && !r->err) {
    int e = csv_error(&r->parser);
    if (e == CSV_ENOMEM || e == CSV_ETOOBIG)
      csv__fail(r, SIM_EFORMAT, "field longer than %u bytes", WL_CSV_MAX_FIELD);
    else
      csv__fail(r, SIM_EFORMAT, "malformed CSV (%s)", csv_strerror(e));
  }
  return 0;
}

static long csv__read(void *state, wl_event *buf, size_t max) {
  wl__csv_reader *r = state;
  size_t out = 0;
  while (out < max) {
    if (r->pending_count) {
      size_t n = r->pending_count < max - out ? r->pending_count : max - out;
      memcpy(buf + out, r->pending + r->pending_head, n * sizeof *buf);
      out += n;
      r->pending_head += n;
      r->pending_count -= n;
      if (r->pending_count == 0) r->pending_head = 0;
      continue;
    }
    if (r->err || r->done) break;
    int rc = csv__parse_more(r);
    if (rc) break;
  }
  /* Events before a bad row are valid: return them, fail on the next call. */
  if (out > 0) return (long)out;
  if (r->err) return sim_errorf(r->err, "%s", r->errmsg);
  return 0;
}

static int csv__rewind(void *state) {
  wl__csv_reader *r = state;
  if (r->err) return sim_errorf(r->err, "%s", r->errmsg);
  if (fseeko(r->f, r->data_start, SEEK_SET) != 0)
    return sim_errorf(SIM_EIO, "cannot rewind %s: %s", r->path, strerror(errno));
  csv_free(&r->parser);
  r->parser_live = 0;
  int rc = csv__parser_init(r);
  if (rc) return rc;
  r->block_len = r->block_pos = 0;
  r->file_eof = r->done = 0;
  r->pending_head = r->pending_count = 0;
  r->line = r->data_line;
  r->fields = 0;
  r->prev_time = 0;
  return 0;
}

/* Linear: rewinds, then parses forward to the first event >= time_ns and
 * leaves it at the head of the pending buffer. O(events before time_ns). */
static int csv__seek(void *state, uint64_t time_ns) {
  wl__csv_reader *r = state;
  int rc = csv__rewind(r);
  if (rc) return rc;
  for (;;) {
    while (r->pending_count && r->pending[r->pending_head].time_ns < time_ns) {
      r->pending_head++;
      r->pending_count--;
    }
    if (r->pending_count) return 0;
    r->pending_head = 0;
    if (r->err) return sim_errorf(r->err, "%s", r->errmsg);
    if (r->done) return 0;
    if ((rc = csv__parse_more(r))) return rc;
  }
}

static void csv__close(void *state) {
  wl__csv_reader *r = state;
  if (!r) return;
  if (r->parser_live) csv_free(&r->parser);
  if (r->f) fclose(r->f);
  free(r->block);
  free(r->pending);
  free(r->path);
  free(r);
}

static const wl_source_ops wl__csv_ops = {
    .name = "csv",
    .read = csv__read,
    .rewind = csv__rewind,
    .seek = csv__seek,
    .close = csv__close,
};

/* Reads one line (without its LF, and without a CR before it) into *buf.
 * Returns 1, 0 at end of file, or a negative code. Header lines only. */
static int csv__getline(FILE *f, const char *path, uint64_t line, char **buf, size_t *cap) {
  size_t len = 0;
  int c;
  while ((c = getc(f)) != EOF && c != '\n') {
    if (c == '\0')
      return sim_errorf(SIM_EFORMAT, "%s:%" PRIu64 ": NUL byte in a header line", path, line);
    if (len + 1 >= *cap) {
      if (*cap >= WL_CSV_MAX_META_LINE)
        return sim_errorf(SIM_EFORMAT, "%s:%" PRIu64 ": header line longer than %u bytes",
                          path, line, WL_CSV_MAX_META_LINE);
      size_t grown_cap = *cap ? *cap * 2 : 256;
      char *grown = realloc(*buf, grown_cap);
      if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
      *buf = grown;
      *cap = grown_cap;
    }
    (*buf)[len++] = (char)c;
  }
  if (ferror(f)) return sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  if (c == EOF && len == 0) return 0;
  if (len && (*buf)[len - 1] == '\r') len--;
  /* A CR elsewhere could not be written back (it would end the line). */
  if (len && memchr(*buf, '\r', len))
    return sim_errorf(SIM_EFORMAT, "%s:%" PRIu64 ": carriage return inside a header line", path,
                      line);
  if (!*buf) { /* empty first line: make the buffer exist */
    *buf = malloc(1);
    if (!*buf) return sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
    *cap = 1;
  }
  (*buf)[len] = '\0';
  return 1;
}

static int csv__is_known_key(const char *key, size_t len) {
  static const char *const known[] = {"pages", "page_size", "nonzero", "duration_ns"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i]) == len && memcmp(known[i], key, len) == 0) return 1;
  return 0;
}

/* Stores one metadata line; `text` is what follows '#' (modified). */
static int csv__meta_line(wl_meta *m, const char *path, uint64_t line, char *text) {
  if (text[0] == ' ') text++;
  char *eq = strchr(text, '=');
  int rc;
  if (!eq) {
    rc = wl_meta_set(m, text, NULL);
  } else {
    *eq = '\0';
    /* A known key padded with spaces would silently become an unknown key
     * (and "pages" would then be "missing"): say what is wrong instead. */
    const char *k = text;
    size_t klen = strlen(k);
    while (*k == ' ' || *k == '\t') k++, klen--;
    while (klen && (k[klen - 1] == ' ' || k[klen - 1] == '\t')) klen--;
    if (k != text || klen != strlen(text)) {
      if (csv__is_known_key(k, klen))
        return sim_errorf(SIM_EFORMAT,
                          "%s:%" PRIu64 ": metadata key '%s' has spaces around it "
                          "(expected '# %.*s=VALUE')",
                          path, line, text, (int)klen, k);
    }
    /* wl_meta_set would overwrite the first value: refuse rather than
     * drop a line silently. */
    if (wl_meta_get(m, text))
      return sim_errorf(SIM_EFORMAT, "%s:%" PRIu64 ": metadata key '%.40s' appears twice", path,
                        line, text);
    rc = wl_meta_set(m, text, eq + 1);
  }
  if (rc) {
    char detail[256];
    snprintf(detail, sizeof detail, "%s", sim_error_message());
    return sim_errorf(rc, "%s:%" PRIu64 ": %s", path, line, detail);
  }
  return 0;
}

int wl__csv_open(const char *path, FILE *f, wl_source **out) {
  wl_meta meta;
  wl_meta_init(&meta);
  char *line_buf = NULL;
  size_t line_cap = 0;
  uint64_t line = 0;
  int rc;
  wl__csv_reader *r = calloc(1, sizeof *r);
  if (!r) {
    fclose(f);
    return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  }
  r->f = f;
  r->path = strdup(path);
  r->block = malloc(WL_CSV_BLOCK);
  r->pending = malloc(WL_CSV_PENDING * sizeof *r->pending);
  if (!r->path || !r->block || !r->pending) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
    goto fail;
  }

  uint64_t disk_bytes = 0;
  if (fseeko(f, 0, SEEK_END) == 0) {
    off_t end = ftello(f);
    if (end > 0) disk_bytes = (uint64_t)end;
  }
  if (fseeko(f, 0, SEEK_SET) != 0) {
    rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
    goto fail;
  }

  /* Line 1: the version line. */
  rc = csv__getline(f, path, ++line, &line_buf, &line_cap);
  if (rc < 0) goto fail;
  if (rc == 0 || strcmp(line_buf, WL_CSV_MAGIC) != 0) {
    if (rc == 1 && strncmp(line_buf, "# migsim-trace ", 15) == 0)
      rc = sim_errorf(SIM_EUNSUPPORTED, "%s:1: unsupported trace version '%.20s' (expected '%s')",
                      path, line_buf + 15, WL_CSV_MAGIC);
    else
      rc = sim_errorf(SIM_EFORMAT, "%s:1: expected '%s'", path, WL_CSV_MAGIC);
    goto fail;
  }

  /* Metadata lines, then the column header (blank lines are skipped). */
  for (;;) {
    rc = csv__getline(f, path, ++line, &line_buf, &line_cap);
    if (rc < 0) goto fail;
    if (rc == 0) {
      rc = sim_errorf(SIM_EFORMAT,
                      "%s:%" PRIu64 ": expected the column header 'time_ns,pfn,op' or "
                      "'time_ns,pfn', got end of file",
                      path, line);
      goto fail;
    }
    if (line_buf[0] == '#') {
      if ((rc = csv__meta_line(&meta, path, line, line_buf + 1))) goto fail;
      continue;
    }
    if (line_buf[0] == '\0') continue;
    if (strcmp(line_buf, "time_ns,pfn,op") == 0) {
      r->has_op = 1;
    } else if (strcmp(line_buf, "time_ns,pfn") == 0) {
      r->has_op = 0;
    } else {
      rc = sim_errorf(SIM_EFORMAT,
                      "%s:%" PRIu64 ": expected the column header 'time_ns,pfn,op' or "
                      "'time_ns,pfn', got '%.40s'",
                      path, line, line_buf);
      goto fail;
    }
    break;
  }
  if ((rc = wl_meta_validate(&meta))) {
    char detail[256];
    snprintf(detail, sizeof detail, "%s", sim_error_message());
    rc = sim_errorf(rc, "%s: %s", path, detail);
    goto fail;
  }
  meta.has_op_column = r->has_op;
  r->pages = meta.pages;
  r->data_start = ftello(f);
  if (r->data_start < 0) {
    rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
    goto fail;
  }
  r->data_line = line + 1;
  r->line = r->data_line;
  if ((rc = csv__parser_init(r))) goto fail;
  free(line_buf);
  return wl__source_new(&wl__csv_ops, r, &meta, disk_bytes, out);

fail:
  free(line_buf);
  wl_meta_free(&meta);
  csv__close(r);
  return rc;
}

/* ============================================================= writer */

/* Longest row: two 20-digit numbers, two commas, op, newline. */
#define WL_CSV_MAX_ROW 48u

typedef struct {
  FILE *out;
  char *path;
  int has_op;
  size_t len;
  char buf[WL_CSV_BLOCK];
} wl__csv_writer;

static int csvw__flush(wl__csv_writer *w) {
  if (w->len && fwrite(w->buf, 1, w->len, w->out) != w->len)
    return sim_errorf(SIM_EIO, "cannot write %s: %s", w->path, strerror(errno));
  w->len = 0;
  return 0;
}

/* Decimal digits of v at p; returns the end. printf would dominate the
 * export time. */
static char *csvw__u64(char *p, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static void csvw__free(void *state) {
  wl__csv_writer *w = state;
  if (!w) return;
  free(w->path);
  free(w);
}

static int csvw__open(FILE *out, const char *path, const wl_meta *meta, void **state) {
  wl__csv_writer *w = calloc(1, sizeof *w);
  if (!w) return sim_errorf(SIM_ENOMEM, "out of memory writing %s", path);
  w->out = out;
  w->path = strdup(path);
  w->has_op = meta->has_op_column;
  if (!w->path) {
    csvw__free(w);
    return sim_errorf(SIM_ENOMEM, "out of memory writing %s", path);
  }
  /* Header lines may be long (nonzero=...): stdio, not the row buffer. */
  fputs(WL_CSV_MAGIC "\n", out);
  for (size_t i = 0; i < meta->kv_count; i++) {
    const wl_kv *kv = &meta->kv[i];
    if (kv->value)
      fprintf(out, "# %s=%s\n", kv->key, kv->value);
    else if (kv->key[0])
      fprintf(out, "# %s\n", kv->key);
    else
      fputs("#\n", out);
  }
  fputs(w->has_op ? "time_ns,pfn,op\n" : "time_ns,pfn\n", out);
  if (ferror(out)) {
    int rc = sim_errorf(SIM_EIO, "cannot write %s: %s", path, strerror(errno));
    csvw__free(w);
    return rc;
  }
  *state = w;
  return 0;
}

static int csvw__write(void *state, const wl_event *events, size_t n) {
  wl__csv_writer *w = state;
  for (size_t i = 0; i < n; i++) {
    if (sizeof w->buf - w->len < WL_CSV_MAX_ROW) {
      int rc = csvw__flush(w);
      if (rc) return rc;
    }
    char *p = w->buf + w->len;
    p = csvw__u64(p, events[i].time_ns);
    *p++ = ',';
    p = csvw__u64(p, events[i].pfn);
    if (w->has_op) {
      *p++ = ',';
      *p++ = events[i].op == WL_OP_READ ? 'r' : 'w';
    }
    *p++ = '\n';
    w->len = (size_t)(p - w->buf);
  }
  return 0;
}

static int csvw__finish(void *state) { return csvw__flush(state); }

const wl__writer_backend wl__csv_backend = {
    .name = "csv",
    .open = csvw__open,
    .write = csvw__write,
    .finish = csvw__finish,
    .free = csvw__free,
};
