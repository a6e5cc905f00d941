/* res_csv_read: stream a CSV file row by row through libcsv. */
#include "res_csv_read.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"

typedef struct {
  char **cells;
  size_t n, cap;
  char **header;
  size_t nheader;
  int have_header;
  res_csv_row_fn fn;
  void *ctx;
  int stop;
  int rc;
  unsigned long line;      /* rows seen */
  unsigned long phys_line; /* the file's line being parsed (from 1) */
  unsigned long row_line;  /* the file's line the current row started on */
  res_csv_row_line_fn line_fn;
  int exact; /* rows padded or refused to the header's width */
  const char *path;
} res__reader;

static void res__field(void *s, size_t len, void *data) {
  res__reader *r = data;
  if (r->rc || r->stop) return;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 32;
    char **g = realloc(r->cells, cap * sizeof *g);
    if (!g) {
      r->rc = sim_errorf(SIM_ENOMEM, "out of memory reading CSV");
      return;
    }
    r->cells = g;
    r->cap = cap;
  }
  if (r->n == 0) r->row_line = r->phys_line;
  char *copy = malloc(len + 1);
  if (!copy) {
    r->rc = sim_errorf(SIM_ENOMEM, "out of memory reading CSV");
    return;
  }
  memcpy(copy, s, len);
  copy[len] = '\0';
  r->cells[r->n++] = copy;
}

static void res__free_cells(char **cells, size_t n) {
  for (size_t i = 0; i < n; i++) free(cells[i]);
}

static void res__row(int c, void *data) {
  (void)c;
  res__reader *r = data;
  r->line++;
  if (r->rc || r->stop) {
    res__free_cells(r->cells, r->n);
    r->n = 0;
    return;
  }
  if (!r->have_header && r->line_fn && r->n >= 1 && (r->cells[0][0] == '#' || (r->n == 1 && !r->cells[0][0]))) {
    /* a hand-written file (res_csv_each_line): comments and blank lines
     * before the header are skipped, as after it */
    res__free_cells(r->cells, r->n);
    r->n = 0;
    return;
  }
  if (!r->have_header) {
    r->header = r->cells;
    r->nheader = r->n;
    r->cells = NULL;
    r->n = r->cap = 0;
    r->have_header = 1;
    return;
  }
  /* Callbacks that index the header with the row's cell count get rows of
   * the header's width: any other row is refused (a row cut short is a
   * truncated file), except for empty cells past the header's end, which
   * are dropped. */
  if (r->exact && r->n != r->nheader) {
    size_t used = r->n;
    while (used > r->nheader && !r->cells[used - 1][0]) used--;
    if (used != r->nheader) {
      r->rc = sim_errorf(SIM_EFORMAT, "%s:%lu: %zu cells where the header has %zu", r->path, r->row_line, r->n,
                         r->nheader);
      res__free_cells(r->cells, r->n);
      r->n = 0;
      return;
    }
    while (r->n > r->nheader) free(r->cells[--r->n]);
  }
  if (r->line_fn)
    r->stop = r->line_fn(r->ctx, r->row_line, (const char *const *)r->header, r->nheader,
                         (const char *const *)r->cells, r->n);
  else
    r->stop = r->fn(r->ctx, (const char *const *)r->header, (const char *const *)r->cells, r->n);
  res__free_cells(r->cells, r->n);
  r->n = 0;
}

static int res__each(const char *path, int missing_ok, int exact, res_csv_row_fn fn,
                     res_csv_row_line_fn line_fn, void *ctx) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (missing_ok && errno == ENOENT) return 0;
    return sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  }
  struct csv_parser p;
  if (csv_init(&p, CSV_APPEND_NULL) != 0) {
    fclose(f);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  res__reader r = {0};
  r.fn = fn;
  r.line_fn = line_fn;
  r.ctx = ctx;
  r.path = path;
  r.exact = exact;
  r.phys_line = 1;
  char buf[65536];
  size_t got;
  /* Fed a line at a time so that a row knows the file line it starts on. */
  while (!r.rc && !r.stop && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t at = 0; at < got && !r.rc && !r.stop;) {
      const char *nl = memchr(buf + at, '\n', got - at);
      size_t len = nl ? (size_t)(nl - (buf + at)) + 1 : got - at;
      if (csv_parse(&p, buf + at, len, res__field, res__row, &r) != len) {
        if (line_fn)
          r.rc = sim_errorf(SIM_EFORMAT, "%s:%lu: %s", path, r.phys_line, csv_strerror(csv_error(&p)));
        else
          r.rc = sim_errorf(SIM_EFORMAT, "%s: line %lu: %s", path, r.line + 1, csv_strerror(csv_error(&p)));
      }
      if (nl) r.phys_line++;
      at += len;
    }
  }
  if (!r.rc && !r.stop) csv_fini(&p, res__field, res__row, &r);
  csv_free(&p);
  fclose(f);
  res__free_cells(r.cells, r.n);
  free(r.cells);
  res__free_cells(r.header, r.nheader);
  free(r.header);
  if (r.rc) return r.rc;
  return r.stop;
}

int res_csv_each(const char *path, int missing_ok, res_csv_row_fn fn, void *ctx) {
  return res__each(path, missing_ok, 1, fn, NULL, ctx);
}

int res_csv_each_at(const char *path, int missing_ok, res_csv_row_line_fn fn, void *ctx) {
  return res__each(path, missing_ok, 1, NULL, fn, ctx);
}

int res_csv_each_line(const char *path, res_csv_row_line_fn fn, void *ctx) {
  return res__each(path, 0, 0, NULL, fn, ctx);
}

int res_csv_col(const char *const *header, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(header[i], name) == 0) return (int)i;
  return -1;
}
