/* wl_backend: the trace writer backends behind wl_writer (internal to
 * workloads/).
 *
 * wl_writer.c owns the output file (sim_file: temporary name, renamed on
 * success) and checks every event (time order, pfn < pages, op) before a
 * backend sees it; a backend only encodes. Each backend is a const
 * descriptor, chosen by wl_format. */
#ifndef WL_BACKEND_H
#define WL_BACKEND_H

#include <stdio.h>

#include "wl_trace.h"

typedef struct {
  const char *name;
  /* Writes the file header for `meta` to `out` (positioned at offset 0)
   * and returns the backend's state in *state. `path` is for messages
   * only. The backend keeps no reference to `meta` after returning. */
  int (*open)(FILE *out, const char *path, const wl_meta *meta, void **state);
  /* Encodes n >= 1 checked events. */
  int (*write)(void *state, const wl_event *events, size_t n);
  /* Writes whatever ends the file (last chunk, index, trailer). */
  int (*finish)(void *state);
  /* Frees the state (not the stream). NULL is a no-op. */
  void (*free)(void *state);
} wl__writer_backend;

extern const wl__writer_backend wl__csv_backend;
extern const wl__writer_backend wl__bin_backend;

#endif
