/* res_csv_read: reading back migsim's own CSV outputs (libcsv).
 *
 * Used to resume sweeps (which runs are already in summary.csv) and by
 * validation (measured vs predicted rows). Streams the file; memory is one
 * row. */
#ifndef RES_CSV_READ_H
#define RES_CSV_READ_H

#include <stddef.h>

/* Called once per data row with the row's cells (ncells of them, in header
 * order) and the header. Return non-zero to stop early (that value is
 * returned by res_csv_each). Every row has the header's width: any other
 * row is an error naming the file and line (empty cells past the header's
 * end aside, which are dropped). */
typedef int (*res_csv_row_fn)(void *ctx, const char *const *header, const char *const *cells,
                              size_t ncells);

/* Reads `path` (header row + data rows). A missing file is not an error
 * when `missing_ok` (returns 0 with no calls). Errors name the file and
 * the line. */
int res_csv_each(const char *path, int missing_ok, res_csv_row_fn fn, void *ctx);

/* As res_csv_each (the file must exist), and fn also gets the file line
 * (from 1) the row starts on, for errors as "FILE:LINE: ...", and the
 * header's length. */
typedef int (*res_csv_row_line_fn)(void *ctx, unsigned long line, const char *const *header, size_t nheader,
                                   const char *const *cells, size_t ncells);
int res_csv_each_line(const char *path, res_csv_row_line_fn fn, void *ctx);

/* As res_csv_each (rows of the header's width, ncells == nheader), with
 * the file line for errors. */
int res_csv_each_at(const char *path, int missing_ok, res_csv_row_line_fn fn, void *ctx);

/* Index of `name` in header[0..n), or -1. */
int res_csv_col(const char *const *header, size_t n, const char *name);

#endif
