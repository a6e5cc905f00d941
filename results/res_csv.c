/* res_csv: CSV tables written whole (temporary file + rename) or appended
 * row by row. See res_csv.h for the format. Each row is built in one
 * growable buffer owned by the handle, so writing a row allocates only when
 * a row is longer than every row before it. */
#include "res_csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_err.h"
#include "sim_file.h"

typedef enum { RES__CSV_CREATE, RES__CSV_APPEND, RES__CSV_STREAM } res__csv_mode;

struct res_csv {
  res__csv_mode mode;
  sim_file *file; /* create mode */
  FILE *stream;   /* where rows go (owned in append mode) */
  char *path;     /* for messages */
  size_t ncolumns;
  size_t cells;   /* cells in the row being built */
  int row_bad;    /* a cell was refused: the row will be dropped */
  char *row;
  size_t len, cap;
  uint64_t rows;
};

/* ------------------------------------------------------------ buffers */

static int res__reserve(res_csv *c, size_t extra) {
  if (c->len + extra + 1 <= c->cap) return 0;
  size_t cap = c->cap ? c->cap : 256;
  while (cap < c->len + extra + 1) cap *= 2;
  char *grown = realloc(c->row, cap);
  if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory writing %s", c->path);
  c->row = grown;
  c->cap = cap;
  return 0;
}

static int res__put(res_csv *c, const char *text, size_t n) {
  int rc = res__reserve(c, n);
  if (rc) return rc;
  memcpy(c->row + c->len, text, n);
  c->len += n;
  c->row[c->len] = '\0';
  return 0;
}

/* RFC 4180: quote only when the field holds a separator, quote or newline. */
static int res__put_field(res_csv *c, const char *text) {
  size_t n = strlen(text);
  if (strcspn(text, ",\"\r\n") == n) return res__put(c, text, n);
  int rc = res__reserve(c, 2 * n + 2);
  if (rc) return rc;
  c->row[c->len++] = '"';
  for (const char *p = text; *p; p++) {
    if (*p == '"') c->row[c->len++] = '"';
    c->row[c->len++] = *p;
  }
  c->row[c->len++] = '"';
  c->row[c->len] = '\0';
  return 0;
}

/* Starts a cell: refuses one cell too many, adds the separator. */
static int res__cell(res_csv *c) {
  if (c->cells >= c->ncolumns) {
    c->row_bad = 1;
    return sim_errorf(SIM_ERANGE, "%s: row %" PRIu64 " has more than %zu cells", c->path,
                      c->rows + 1, c->ncolumns);
  }
  if (c->cells++ > 0) return res__put(c, ",", 1);
  return 0;
}

/* ---------------------------------------------------------------- open */

static int res__new(res__csv_mode mode, const char *path, const char *const *columns,
                    size_t ncolumns, res_csv **out) {
  if (ncolumns == 0 || !columns)
    return sim_errorf(SIM_EINVAL, "%s: a CSV table needs at least one column", path);
  for (size_t i = 0; i < ncolumns; i++)
    if (!columns[i] || !columns[i][0])
      return sim_errorf(SIM_EINVAL, "%s: column %zu has no name", path, i + 1);
  res_csv *c = calloc(1, sizeof *c);
  if (!c || !(c->path = strdup(path))) {
    free(c);
    return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  }
  c->mode = mode;
  c->ncolumns = ncolumns;
  /* The header is built like a row and kept in the buffer until written
   * (or compared, in append mode). */
  int rc = 0;
  for (size_t i = 0; i < ncolumns && !rc; i++) {
    if (i) rc = res__put(c, ",", 1);
    if (!rc) rc = res__put_field(c, columns[i]);
  }
  if (rc) {
    free(c->row);
    free(c->path);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void res__free(res_csv *c) {
  free(c->row);
  free(c->path);
  free(c);
}

/* Writes the header held in the row buffer. */
static int res__write_header(res_csv *c) {
  int rc = res__put(c, "\n", 1);
  if (rc) return rc;
  size_t n = c->len;
  c->len = 0;
  if (fwrite(c->row, 1, n, c->stream) != n)
    return sim_errorf(SIM_EIO, "cannot write %s: %s", c->path, strerror(errno));
  return 0;
}

int res_csv_create(const char *path, const char *const *columns, size_t ncolumns,
                   res_csv **out) {
  res_csv *c = NULL;
  int rc = res__new(RES__CSV_CREATE, path, columns, ncolumns, &c);
  if (rc) return rc;
  if ((rc = sim_file_open(path, &c->file))) {
    res__free(c);
    return rc;
  }
  c->stream = sim_file_stream(c->file);
  if ((rc = res__write_header(c))) {
    res_csv_abort(c);
    return rc;
  }
  *out = c;
  return 0;
}

int res_csv_stream(FILE *stream, const char *const *columns, size_t ncolumns,
                   res_csv **out) {
  res_csv *c = NULL;
  int rc = res__new(RES__CSV_STREAM, "(output stream)", columns, ncolumns, &c);
  if (rc) return rc;
  c->stream = stream;
  if ((rc = res__write_header(c))) {
    res__free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* Splits the next CSV field off *p (quotes undone) into buf; for messages
 * only, so a field longer than buf is cut. */
static void res__next_field(const char **p, char *buf, size_t size) {
  const char *s = *p;
  size_t n = 0;
  int quoted = (*s == '"');
  if (quoted) s++;
  while (*s) {
    if (quoted && *s == '"') {
      if (s[1] == '"') {
        s++;
      } else {
        s++;
        quoted = 0;
        continue;
      }
    } else if (!quoted && (*s == ',' || *s == '\n' || *s == '\r')) {
      break;
    }
    if (n + 1 < size) buf[n++] = *s;
    s++;
  }
  buf[n] = '\0';
  if (*s == ',') s++;
  *p = s;
}

/* Explains how the existing header `have` differs from `want` (both
 * without newline), naming the first differing column. */
static int res__header_mismatch(const res_csv *c, const char *have, const char *want) {
  char a[128], b[128];
  const char *p = have, *q = want;
  for (size_t col = 1;; col++) {
    int have_more = *p && *p != '\n' && *p != '\r', want_more = *q != '\0';
    if (!have_more && !want_more) break; /* same names, different quoting */
    res__next_field(&p, a, sizeof a);
    res__next_field(&q, b, sizeof b);
    if (!have_more)
      return sim_errorf(SIM_EFORMAT, "%s: header has %zu columns, expected %zu (missing '%s')",
                        c->path, col - 1, c->ncolumns, b);
    if (!want_more)
      return sim_errorf(SIM_EFORMAT, "%s: header has more than the expected %zu columns (extra '%s')",
                        c->path, c->ncolumns, a);
    if (strcmp(a, b) != 0)
      return sim_errorf(SIM_EFORMAT, "%s: header column %zu is '%s', expected '%s'", c->path, col,
                        a, b);
  }
  return sim_errorf(SIM_EFORMAT, "%s: header row differs from the expected '%.200s'", c->path,
                    want);
}

/* With the lock held: an empty file gets the header; otherwise the first
 * line must equal it and the file must end with a newline. */
static int res__append_check(res_csv *c, int fd) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return sim_errorf(SIM_EIO, "cannot stat %s: %s", c->path, strerror(errno));
  if (sb.st_size == 0) {
    int rc = res__write_header(c);
    if (!rc && fflush(c->stream) != 0)
      rc = sim_errorf(SIM_EIO, "cannot write %s: %s", c->path, strerror(errno));
    return rc;
  }
  const char *want = c->row;
  size_t want_len = c->len;
  /* The header and its newline decide; a little more names an extra
   * column in the message. */
  size_t size = want_len + 256;
  char *have = malloc(size + 1);
  if (!have) return sim_errorf(SIM_ENOMEM, "out of memory opening %s", c->path);
  ssize_t got = pread(fd, have, size, 0);
  if (got < 0) {
    free(have);
    return sim_errorf(SIM_EIO, "cannot read %s: %s", c->path, strerror(errno));
  }
  have[got] = '\0';
  int rc = 0;
  if ((size_t)got < want_len + 1 || memcmp(have, want, want_len) != 0 || have[want_len] != '\n')
    rc = res__header_mismatch(c, have, want);
  free(have);
  if (rc) return rc;
  char last = 0;
  if (pread(fd, &last, 1, (off_t)(sb.st_size - 1)) != 1)
    return sim_errorf(SIM_EIO, "cannot read %s: %s", c->path, strerror(errno));
  if (last != '\n')
    return sim_errorf(SIM_EFORMAT, "%s: the last row is incomplete (no final newline)", c->path);
  c->len = 0; /* the header is not needed any more */
  return 0;
}

int res_csv_append(const char *path, const char *const *columns, size_t ncolumns,
                   res_csv **out) {
  res_csv *c = NULL;
  int rc = res__new(RES__CSV_APPEND, path, columns, ncolumns, &c);
  if (rc) return rc;
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    rc = sim_errorf(SIM_EIO, "cannot open %s: %s", path, strerror(errno));
    res__free(c);
    return rc;
  }
  c->stream = fdopen(fd, "a");
  if (!c->stream) {
    rc = sim_errorf(SIM_EIO, "cannot open %s: %s", path, strerror(errno));
    close(fd);
    res__free(c);
    return rc;
  }
  /* Unbuffered: the single fwrite of a row becomes a single write(2). */
  setvbuf(c->stream, NULL, _IONBF, 0);
  if (flock(fd, LOCK_EX) != 0) {
    rc = sim_errorf(SIM_EIO, "cannot lock %s: %s", path, strerror(errno));
  } else {
    rc = res__append_check(c, fd);
    flock(fd, LOCK_UN);
  }
  if (rc) {
    fclose(c->stream);
    res__free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* --------------------------------------------------------------- cells */

int res_csv_str(res_csv *c, const char *text) {
  int rc = res__cell(c);
  if (rc || !text) return rc;
  return res__put_field(c, text);
}

int res_csv_empty(res_csv *c) { return res__cell(c); }

int res_csv_u64(res_csv *c, uint64_t value) {
  char buf[24];
  int rc = res__cell(c);
  if (rc) return rc;
  int n = snprintf(buf, sizeof buf, "%" PRIu64, value);
  return res__put(c, buf, (size_t)n);
}

int res_csv_i64(res_csv *c, int64_t value) {
  char buf[24];
  int rc = res__cell(c);
  if (rc) return rc;
  int n = snprintf(buf, sizeof buf, "%" PRId64, value);
  return res__put(c, buf, (size_t)n);
}

/* NaN, infinities and -0 get the spellings documented in res_csv.h;
 * returns 1 when `value` was one of them (buf filled). */
static int res__special(double value, char *buf, size_t size) {
  if (isnan(value)) {
    buf[0] = '\0';
  } else if (isinf(value)) {
    snprintf(buf, size, "%s", value > 0 ? "Inf" : "-Inf");
  } else if (value == 0.0) {
    snprintf(buf, size, "0");
  } else {
    return 0;
  }
  return 1;
}

int res_csv_double(res_csv *c, double value) {
  char buf[40];
  int rc = res__cell(c);
  if (rc) return rc;
  if (!res__special(value, buf, sizeof buf)) {
    /* Shortest round-trip form: at most three snprintf + strtod. */
    for (int digits = 15; digits <= 17; digits++) {
      snprintf(buf, sizeof buf, "%.*g", digits, value);
      if (strtod(buf, NULL) == value) break;
    }
  }
  return res__put(c, buf, strlen(buf));
}

int res_csv_fixed(res_csv *c, double value, int decimals) {
  char buf[400]; /* %.17f of DBL_MAX is 327 characters */
  if (decimals < 0 || decimals > 17)
    return sim_errorf(SIM_EINVAL, "%s: %d decimals (expected 0..17)", c->path, decimals);
  int rc = res__cell(c);
  if (rc) return rc;
  if (!res__special(value, buf, sizeof buf)) {
    snprintf(buf, sizeof buf, "%.*f", decimals, value);
    /* "-0.000" would read back as -0: print the plain zero. */
    if (buf[0] == '-' && strtod(buf, NULL) == 0.0) memmove(buf, buf + 1, strlen(buf));
  }
  return res__put(c, buf, strlen(buf));
}

/* ---------------------------------------------------------------- rows */

int res_csv_end_row(res_csv *c) {
  size_t cells = c->cells;
  int bad = c->row_bad;
  c->cells = 0;
  c->row_bad = 0;
  if (bad || cells != c->ncolumns) {
    c->len = 0;
    return sim_errorf(SIM_EINVAL, "%s: row %" PRIu64 " has %s%zu cells, expected %zu", c->path,
                      c->rows + 1, bad ? "more than " : "", cells, c->ncolumns);
  }
  int rc = res__put(c, "\n", 1);
  size_t n = c->len;
  c->len = 0;
  if (rc) return rc;
  if (fwrite(c->row, 1, n, c->stream) != n ||
      (c->mode == RES__CSV_APPEND && fflush(c->stream) != 0))
    return sim_errorf(SIM_EIO, "cannot write %s: %s", c->path, strerror(errno));
  c->rows++;
  return 0;
}

uint64_t res_csv_rows(const res_csv *c) { return c->rows; }

int res_csv_commit(res_csv *c) {
  int rc = 0;
  switch (c->mode) {
  case RES__CSV_CREATE:
    rc = sim_file_commit(c->file);
    break;
  case RES__CSV_APPEND:
    if (fclose(c->stream) != 0)
      rc = sim_errorf(SIM_EIO, "cannot write %s: %s", c->path, strerror(errno));
    break;
  case RES__CSV_STREAM:
    if (fflush(c->stream) != 0 || ferror(c->stream))
      rc = sim_errorf(SIM_EIO, "cannot write output: %s", strerror(errno));
    break;
  }
  res__free(c);
  return rc;
}

void res_csv_abort(res_csv *c) {
  if (!c) return;
  if (c->mode == RES__CSV_CREATE) sim_file_abort(c->file);
  else if (c->mode == RES__CSV_APPEND) fclose(c->stream);
  res__free(c);
}
