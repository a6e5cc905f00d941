/* libFuzzer target: generator specs (workloads/wl_gen*.c).
 *
 * Each input (NUL-terminated) is opened as a generator spec on a small
 * guest and up to 64 batches of events are read. Promises checked: events
 * come in non-decreasing time with pfn < pages and op w or r, and the
 * stream is the same after a rewind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wl_gen.h"
#include "wl_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t drain(wl_source *src, uint64_t pages, int *ok) {
  wl_event buf[257];
  uint64_t h = 1469598103934665603ull, prev = 0;
  *ok = 1;
  for (int b = 0; b < 64; b++) {
    long n = wl_source_read(src, buf, sizeof buf / sizeof buf[0]);
    if (n < 0) *ok = 0;
    if (n <= 0) break;
    for (long i = 0; i < n; i++) {
      if (buf[i].time_ns < prev || buf[i].pfn >= pages || buf[i].op > WL_OP_READ) abort();
      prev = buf[i].time_ns;
      h = (h ^ buf[i].time_ns ^ (buf[i].pfn << 1) ^ buf[i].op) * 1099511628211ull;
    }
  }
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *spec = malloc(size + 1);
  if (!spec) return 0;
  memcpy(spec, data, size);
  spec[size] = '\0';
  /* Only generator specs: a spec must not name a file on this machine. */
  if (!wl_gen_is_spec(spec)) {
    free(spec);
    return 0;
  }
  wl_open_opts o = {4096, 4096, 7, 0};
  wl_source *src = NULL;
  if (wl_gen_open(spec, &o, &src) == 0) {
    int ok1, ok2;
    uint64_t a = drain(src, o.pages, &ok1);
    if (ok1 && wl_source_rewind(src) == 0) {
      uint64_t b = drain(src, o.pages, &ok2);
      if (ok2 && a != b) abort();
    }
    wl_source_close(src);
  }
  free(spec);
  return 0;
}
