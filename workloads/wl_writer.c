/* wl_writer: writes a trace in the binary or the CSV format.
 *
 * The writer owns the output file (sim_file: "<path>.tmp.<pid>", renamed
 * over <path> by wl_writer_close, removed by wl_writer_abort or on any
 * error in close) and checks every event before the backend encodes it, so
 * neither format can hold a trace that its reader would reject.
 *
 * The path "-" writes a CSV trace to standard output (for
 * `migsim trace export FILE - | head`); what was written before an error
 * cannot be taken back there. The binary format cannot go to a pipe: its
 * header is completed when the file is closed. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_file.h"
#include "wl_backend.h"
#include "wl_trace.h"

struct wl_writer {
  const wl__writer_backend *backend;
  void *state;
  sim_file *file; /* NULL when writing to standard output */
  char *path;
  uint64_t pages;
  int has_op_column;
  uint64_t events;    /* written so far */
  uint64_t last_time; /* time of the last event written */
};

/* Rejects metadata that a reader would parse differently: a line break
 * would split the line, and an '=' in a key would move the split. */
static int writer__check_meta(const char *path, const wl_meta *meta) {
  if (!wl_meta_get(meta, "pages"))
    return sim_errorf(SIM_EINVAL, "%s: trace metadata has no pages= line", path);
  int rc = wl_meta_validate(meta);
  if (rc) return rc;
  for (size_t i = 0; i < meta->kv_count; i++) {
    const wl_kv *kv = &meta->kv[i];
    if (strpbrk(kv->key, "\r\n") || (kv->value && strpbrk(kv->value, "\r\n")))
      return sim_errorf(SIM_EINVAL, "%s: metadata line '%.40s' contains a line break", path,
                        kv->key);
    if (strchr(kv->key, '=')) /* also a bare comment: it would come back as key=value */
      return sim_errorf(SIM_EINVAL, "%s: metadata key '%.40s' contains '='", path, kv->key);
  }
  return 0;
}

int wl_writer_open(const char *path, wl_format format, const wl_meta *meta, wl_writer **out) {
  int rc = writer__check_meta(path, meta);
  if (rc) return rc;
  wl_writer *w = calloc(1, sizeof *w);
  if (!w) return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  w->backend = format == WL_FORMAT_CSV ? &wl__csv_backend : &wl__bin_backend;
  w->pages = meta->pages;
  w->has_op_column = meta->has_op_column;
  w->path = strdup(path);
  if (!w->path) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
    goto fail;
  }
  FILE *stream = stdout;
  if (strcmp(path, "-") == 0) {
    if (format != WL_FORMAT_CSV) {
      rc = sim_errorf(SIM_EINVAL, "a binary trace cannot be written to standard output "
                                  "(its header is completed at close); give a file name");
      goto fail;
    }
  } else {
    if ((rc = sim_file_open(path, &w->file))) goto fail;
    stream = sim_file_stream(w->file);
  }
  if ((rc = w->backend->open(stream, path, meta, &w->state))) goto fail;
  *out = w;
  return 0;
fail:
  wl_writer_abort(w);
  return rc;
}

int wl_writer_write(wl_writer *w, const wl_event *events, size_t n) {
  if (n == 0) return 0;
  /* One pass of checks first, so that a bad batch encodes nothing. */
  uint64_t prev = w->last_time;
  for (size_t i = 0; i < n; i++) {
    const wl_event *ev = &events[i];
    uint64_t index = w->events + i;
    if (ev->time_ns < prev)
      return sim_errorf(SIM_EORDER,
                        "%s: event %" PRIu64 " goes back in time (%" PRIu64 " after %" PRIu64 ")",
                        w->path, index, ev->time_ns, prev);
    if (ev->pfn >= w->pages)
      return sim_errorf(SIM_ERANGE, "%s: event %" PRIu64 ": pfn %" PRIu64 " >= pages %" PRIu64,
                        w->path, index, ev->pfn, w->pages);
    if (ev->op != WL_OP_WRITE && ev->op != WL_OP_READ)
      return sim_errorf(SIM_EINVAL, "%s: event %" PRIu64 ": unknown op %u", w->path, index,
                        (unsigned)ev->op);
    /* A trace without an op column means "all writes"; a read would be
     * silently turned into a write on the way back from CSV. */
    if (ev->op == WL_OP_READ && !w->has_op_column)
      return sim_errorf(SIM_EINVAL,
                        "%s: event %" PRIu64 " is a read but the trace has no op column "
                        "(set has_op_column in its metadata)",
                        w->path, index);
    prev = ev->time_ns;
  }
  int rc = w->backend->write(w->state, events, n);
  if (rc) return rc;
  w->events += n;
  w->last_time = prev;
  return 0;
}

int wl_writer_close(wl_writer *w) {
  int rc = w->backend->finish(w->state);
  w->backend->free(w->state);
  w->state = NULL;
  if (!w->file) {
    if (fflush(stdout) != 0 && !rc)
      rc = sim_errorf(SIM_EIO, "cannot write to standard output: %s", strerror(errno));
  } else if (rc) {
    sim_file_abort(w->file);
  } else {
    rc = sim_file_commit(w->file);
  }
  w->file = NULL;
  free(w->path);
  free(w);
  return rc;
}

void wl_writer_abort(wl_writer *w) {
  if (!w) return;
  if (w->state) w->backend->free(w->state);
  if (w->file)
    sim_file_abort(w->file);
  else
    fflush(stdout);
  free(w->path);
  free(w);
}
