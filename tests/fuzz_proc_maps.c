/* libFuzzer target: the recorder's /proc/PID/maps parser (workloads/wl_maps.c).
 *
 * The input is the text of a maps file, read only within its size (no NUL
 * terminator). Promises checked: an accepted text gives one entry per line
 * with consecutive line numbers, start below end and a path inside the
 * line without a newline or leading space; printing an entry the way the
 * kernel does and parsing it again gives the same fields; a rejected text
 * is SIM_EFORMAT with a one-line message naming the file. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "wl_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  const char *text;
  size_t size;
  unsigned lines;
} check;

static int same(void *ctx, const wl_maps_entry *e) {
  const wl_maps_entry *want = ctx;
  if (e->start != want->start || e->end != want->end || e->offset != want->offset ||
      e->dev_major != want->dev_major || e->dev_minor != want->dev_minor ||
      e->inode != want->inode || e->readable != want->readable || e->writable != want->writable ||
      e->executable != want->executable || e->shared != want->shared ||
      e->path_len != want->path_len || memcmp(e->path, want->path, e->path_len) != 0)
    abort();
  return 0;
}

static int entry(void *ctx, const wl_maps_entry *e) {
  check *c = ctx;
  if (e->line != ++c->lines) abort();
  if (!(e->start < e->end)) abort();
  if (e->path < c->text || e->path_len > (size_t)(c->text + c->size - e->path)) abort();
  if (memchr(e->path, '\n', e->path_len) || memchr(e->path, '\0', e->path_len)) abort();
  if (e->path_len > 0 && e->path[0] == ' ') abort();
  int anon = -1;
  if (wl__maps_scanned(e, 0, &anon) && (anon != 0 && anon != 1)) abort();
  if (wl__maps_scanned(e, 1, &anon) && e->shared) abort();

  /* As show_map_vma() prints it, then parsed again. */
  size_t cap = e->path_len + 160;
  char *line = malloc(cap);
  if (!line) return 0;
  int n = snprintf(line, cap, "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
                   e->start, e->end, e->readable ? 'r' : '-', e->writable ? 'w' : '-',
                   e->executable ? 'x' : '-', e->shared ? 's' : 'p', e->offset, e->dev_major,
                   e->dev_minor, e->inode);
  if (n < 0 || (size_t)n + e->path_len >= cap) abort();
  memcpy(line + n, e->path, e->path_len);
  if (wl__maps_parse(line, (size_t)n + e->path_len, "again", same, (void *)e) != 0) abort();
  free(line);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check c = {(const char *)data, size, 0};
  sim_error_clear();
  int rc = wl__maps_parse(c.text, size, "fuzz", entry, &c);
  if (rc == 0) {
    /* One entry per line: newlines, plus a last line without one. */
    unsigned lines = 0;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    if (size > 0 && data[size - 1] != '\n') lines++;
    if (c.lines != lines) abort();
  } else {
    const char *msg = sim_error_message();
    if (rc != SIM_EFORMAT || strncmp(msg, "fuzz:", 5) != 0 || strchr(msg, '\n')) abort();
  }
  return 0;
}
