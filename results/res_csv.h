/* res_csv: the CSV table writer behind every migsim output file.
 *
 * Format (loads as-is into pandas.read_csv and R's read.csv):
 *   - one header row of column names, then rows with exactly one cell per
 *     column; fields separated by ',', rows ended by '\n' (LF, not CRLF);
 *   - strings are quoted per RFC 4180 only when they contain ',', '"', CR
 *     or LF (inner quotes doubled);
 *   - integers in decimal;
 *   - doubles in the shortest of %.15g, %.16g, %.17g that reads back as the
 *     very same double: 0.1 prints as "0.1", yet nothing is lost. glibc's
 *     printf is exactly rounded, so the same value always gives the same
 *     bytes; -0 prints as "0". A fixed number of decimals is available
 *     through res_csv_fixed() for columns where that reads better.
 *     NaN prints as an empty cell (a missing value to both pandas and R),
 *     infinities as "Inf" and "-Inf" (both parse them).
 *
 * Files are written either whole (res_csv_create: under a temporary name,
 * renamed into place by res_csv_commit, deleted by res_csv_abort) or by
 * appending rows to an existing table (res_csv_append, for sweeps that add
 * one summary row per run). In append mode each row is formatted into a
 * buffer and written with one fwrite on an unbuffered O_APPEND stream, i.e.
 * one write(2) per row, so a crash never leaves half a row and concurrent
 * appenders do not interleave within a row.
 *
 * A row is built cell by cell; the row is only written by res_csv_end_row,
 * and only if it has exactly as many cells as columns. Not thread-safe per
 * handle. */
#ifndef RES_CSV_H
#define RES_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct res_csv res_csv;

/* Creates `path` (through a temporary name) and writes the header.
 * columns[0..ncolumns) are copied. Returns 0 and *out, or SIM_EINVAL (no
 * columns, an empty or NULL name), SIM_EIO or SIM_ENOMEM. */
int res_csv_create(const char *path, const char *const *columns,
                   size_t ncolumns, res_csv **out);

/* Opens `path` to append rows. When it does not exist (or is empty) it is
 * created with the header; the check-or-create step holds an advisory
 * flock(2) so that two processes racing to create it end up with one
 * header. When it exists its first line must equal the header these
 * columns produce, and it must end with '\n'. Returns 0 and *out, or
 * SIM_EFORMAT naming the file and the first differing column (or a partial
 * last row), SIM_EIO, SIM_EINVAL, SIM_ENOMEM. */
int res_csv_append(const char *path, const char *const *columns,
                   size_t ncolumns, res_csv **out);

/* Writes the header and rows to a caller-owned stream (e.g. stdout);
 * commit flushes it and abort leaves it open. */
int res_csv_stream(FILE *stream, const char *const *columns, size_t ncolumns,
                   res_csv **out);

/* Cells of the current row, left to right. Each returns 0, or SIM_ERANGE
 * when the row already has ncolumns cells, or SIM_ENOMEM. */
int res_csv_str(res_csv *c, const char *text); /* NULL = empty cell */
int res_csv_u64(res_csv *c, uint64_t value);
int res_csv_i64(res_csv *c, int64_t value);
int res_csv_double(res_csv *c, double value);
/* value with exactly `decimals` (0..17) digits after the point ("%.*f"). */
int res_csv_fixed(res_csv *c, double value, int decimals);
int res_csv_empty(res_csv *c); /* a missing value */

/* Ends the row and writes it. SIM_EINVAL (naming the file and the counts)
 * when the row has fewer cells than columns; SIM_EIO when the write fails.
 * Either way the row is discarded and the next cell starts a new row. */
int res_csv_end_row(res_csv *c);

/* Rows written so far (excluding the header). */
uint64_t res_csv_rows(const res_csv *c);

/* Finishes and frees c. Created files are renamed into place; appended
 * files and streams are flushed (and closed when opened here). A started
 * but unfinished row is dropped. Returns 0 or SIM_EIO (the created file is
 * then removed). */
int res_csv_commit(res_csv *c);

/* Frees c without finishing: a created file is deleted; rows already
 * appended stay (each is whole). NULL is a no-op. */
void res_csv_abort(res_csv *c);

#endif
