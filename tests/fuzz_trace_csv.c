/* libFuzzer target: the CSV trace reader (workloads/wl_csv.c).
 *
 * Each input is opened as a CSV trace from memory and read to the end,
 * checking the reader's promises (non-decreasing time, pfn < pages, op w or
 * r); rewind and seek are exercised too. An input that reads cleanly is
 * also converted to the binary format and read back, which must yield the
 * same events: the writer may not accept what its reader rejects. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_err.h"
#include "wl_internal.h"
#include "wl_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads src to the end, checking every event. Returns the event count and
 * an order-sensitive hash, or -1 after a read error. */
static long long drain(wl_source *src, uint64_t *hash) {
  const wl_meta *m = wl_source_meta(src);
  wl_event buf[37]; /* odd size: batches end anywhere */
  long long total = 0;
  uint64_t prev = 0;
  long n;
  *hash = 1469598103934665603ull;
  while ((n = wl_source_read(src, buf, sizeof buf / sizeof buf[0])) > 0) {
    for (long i = 0; i < n; i++) {
      if (buf[i].time_ns < prev || buf[i].pfn >= m->pages || buf[i].op > WL_OP_READ) abort();
      prev = buf[i].time_ns;
      *hash = (*hash ^ buf[i].time_ns ^ (buf[i].pfn << 1) ^ buf[i].op) * 1099511628211ull;
    }
    total += n;
  }
  return n < 0 ? -1 : total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  /* fmemopen wants a writable buffer even for reading. */
  char *copy = malloc(size);
  if (!copy) return 0;
  memcpy(copy, data, size);
  FILE *f = fmemopen(copy, size, "rb");
  if (!f) {
    free(copy);
    return 0;
  }
  wl_source *src = NULL;
  if (wl__csv_open("fuzz.csv", f, &src) != 0) {
    free(copy);
    return 0;
  }
  uint64_t hash, hash2;
  long long events = drain(src, &hash);
  if (events >= 0) {
    /* Rewind must replay the same stream. */
    if (wl_source_rewind(src) != 0) abort();
    if (drain(src, &hash2) != events || hash2 != hash) abort();
    if (events > 0 && wl_source_seek(src, hash % 1000) != 0) abort();

    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_trace_csv.%ld.mtr", (long)getpid());
    if (wl_source_rewind(src) != 0) abort();
    int rc = wl_copy(src, path, WL_FORMAT_BINARY);
    if (rc != 0 && rc != SIM_EIO) abort(); /* read fine, so must write fine */
    if (rc == 0) {
      wl_source *back = NULL;
      if (wl_source_open(path, NULL, &back) != 0) abort();
      if (drain(back, &hash2) != events || hash2 != hash) abort();
      if (wl_source_meta(back)->kv_count != wl_source_meta(src)->kv_count) abort();
      wl_source_close(back);
      unlink(path);
    }
  }
  wl_source_close(src);
  free(copy);
  return 0;
}
