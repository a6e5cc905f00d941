/* libFuzzer target: guest console lines (kvmreplay/kvr_console.c).
 *
 * The input is what the guest prints; the console reads it from a file
 * descriptor until the end. Promises checked: the error text stays
 * terminated within its buffer, and the counters only come from "KVR P"
 * lines (no report, no counters). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *tmp = tmpfile();
  if (!tmp) return 0;
  if (size && fwrite(data, 1, size, tmp) != size) abort();
  fflush(tmp);
  rewind(tmp);
  int fd = dup(fileno(tmp));
  fclose(tmp);
  kvr_console *c = NULL;
  if (kvr__console_attach(fd, &c) != 0) return 0;
  int rc = 0;
  for (int i = 0; i < 1000 && rc == 0; i++) rc = kvr__console_drain(c);
  const kvr_guest_state *st = kvr__console_state(c);
  if (memchr(st->error, '\0', sizeof st->error) == NULL) abort();
  if (st->reports == 0 && (st->writes || st->done || st->t_ms)) abort();
  kvr__console_close(c);
  return 0;
}
