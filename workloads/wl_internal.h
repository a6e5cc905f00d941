/* wl_internal: entry points shared between the files of workloads/ only. */
#ifndef WL_INTERNAL_H
#define WL_INTERNAL_H

#include <stdio.h>

#include "wl_trace.h"

/* Magic bytes that open a binary trace and a CSV trace. */
#define WL_BIN_MAGIC "MIGSIMTR"
#define WL_BIN_MAGIC_LEN 8
#define WL_CSV_MAGIC "# migsim-trace v1"

/* Open a file source of each format. `f` is positioned at offset 0 and is
 * owned by the source from then on (also on failure: it is closed). */
int wl__bin_open(const char *path, FILE *f, wl_source **out);
int wl__csv_open(const char *path, FILE *f, wl_source **out);

#endif
