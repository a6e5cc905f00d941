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
  unsigned long line;
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
  if (!r->have_header) {
    r->header = r->cells;
    r->nheader = r->n;
    r->cells = NULL;
    r->n = r->cap = 0;
    r->have_header = 1;
    return;
  }
  r->stop = r->fn(r->ctx, (const char *const *)r->header, (const char *const *)r->cells, r->n);
  res__free_cells(r->cells, r->n);
  r->n = 0;
}

int res_csv_each(const char *path, int missing_ok, res_csv_row_fn fn, void *ctx) {
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
  r.ctx = ctx;
  char buf[65536];
  size_t got;
  while (!r.rc && !r.stop && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    if (csv_parse(&p, buf, got, res__field, res__row, &r) != got) {
      r.rc = sim_errorf(SIM_EFORMAT, "%s: line %lu: %s", path, r.line + 1, csv_strerror(csv_error(&p)));
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

int res_csv_col(const char *const *header, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(header[i], name) == 0) return (int)i;
  return -1;
}
