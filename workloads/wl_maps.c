/* wl_maps: /proc/PID/maps text -> one wl_maps_entry per line (wl_maps.h).
 * Strict on the fields (a number that does not fit or a stray character is
 * an error, not a silently different mapping), lenient only where kernels
 * differ: the spaces between the inode and the path. */
#include "wl_maps.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim_err.h"

/* A cursor over one line: [p, eol). */
typedef struct {
  const char *p, *eol;
} wl__maps_cursor;

static int wl__maps_hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* 1 to max_digits hex digits. Returns 0 or -1. */
static int wl__maps_hex(wl__maps_cursor *c, unsigned max_digits, uint64_t *value) {
  uint64_t v = 0;
  unsigned digits = 0;
  int d;
  while (c->p < c->eol && (d = wl__maps_hex_digit(*c->p)) >= 0) {
    if (++digits > max_digits) return -1;
    v = v << 4 | (uint64_t)d;
    c->p++;
  }
  if (digits == 0) return -1;
  *value = v;
  return 0;
}

/* 1 to 20 decimal digits that fit a uint64_t. Returns 0 or -1. */
static int wl__maps_decimal(wl__maps_cursor *c, uint64_t *value) {
  uint64_t v = 0;
  unsigned digits = 0;
  while (c->p < c->eol && *c->p >= '0' && *c->p <= '9') {
    uint64_t d = (uint64_t)(*c->p - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
    digits++;
    c->p++;
  }
  if (digits == 0) return -1;
  *value = v;
  return 0;
}

static int wl__maps_char(wl__maps_cursor *c, char expected) {
  if (c->p == c->eol || *c->p != expected) return -1;
  c->p++;
  return 0;
}

/* One of two characters: sets *on to whether it was `yes`. */
static int wl__maps_flag(wl__maps_cursor *c, char yes, char no, int *on) {
  if (c->p == c->eol || (*c->p != yes && *c->p != no)) return -1;
  *on = *c->p++ == yes;
  return 0;
}

/* The error for line number line_no = [line, eol), quoting its first 80
 * bytes with control bytes shown as '?' so that the message stays one line. */
static int wl__maps_error(const char *name, unsigned line_no, const char *line, const char *eol,
                          const char *what) {
  char shown[84];
  size_t n = (size_t)(eol - line), i;
  if (n > 80) n = 80;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)line[i];
    shown[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
  }
  shown[i] = '\0';
  if ((size_t)(eol - line) > n) strcpy(shown + i, "...");
  return sim_errorf(SIM_EFORMAT, "%s:%u: %s in '%s'", name, line_no, what, shown);
}

/* Parses [line, eol) into *e. Returns 0, or the error. */
static int wl__maps_line(const char *name, const char *line, const char *eol, wl_maps_entry *e) {
  wl__maps_cursor c = {line, eol};
  uint64_t major, minor;
  const char *what = "expected 'START-END PERMS OFFSET MAJOR:MINOR INODE [PATH]'";
  if (line == eol) return wl__maps_error(name, e->line, line, eol, "empty line");
  if (memchr(line, '\0', (size_t)(eol - line)))
    return wl__maps_error(name, e->line, line, eol, "NUL byte");
  if (wl__maps_hex(&c, 16, &e->start) || wl__maps_char(&c, '-') || wl__maps_hex(&c, 16, &e->end) ||
      wl__maps_char(&c, ' ') || wl__maps_flag(&c, 'r', '-', &e->readable) ||
      wl__maps_flag(&c, 'w', '-', &e->writable) || wl__maps_flag(&c, 'x', '-', &e->executable) ||
      wl__maps_flag(&c, 's', 'p', &e->shared) || wl__maps_char(&c, ' ') ||
      wl__maps_hex(&c, 16, &e->offset) || wl__maps_char(&c, ' ') || wl__maps_hex(&c, 8, &major) ||
      wl__maps_char(&c, ':') || wl__maps_hex(&c, 8, &minor) || wl__maps_char(&c, ' ') ||
      wl__maps_decimal(&c, &e->inode) || (c.p < c.eol && *c.p != ' '))
    return wl__maps_error(name, e->line, line, eol, what);
  if (e->start >= e->end) {
    char why[96];
    snprintf(why, sizeof why, "start 0x%" PRIx64 " is not below end 0x%" PRIx64, e->start, e->end);
    return wl__maps_error(name, e->line, line, eol, why);
  }
  e->dev_major = (uint32_t)major;
  e->dev_minor = (uint32_t)minor;
  while (c.p < c.eol && *c.p == ' ') c.p++;
  e->path = c.p;
  e->path_len = (size_t)(c.eol - c.p);
  return 0;
}

int wl__maps_parse(const char *text, size_t len, const char *name, wl_maps_fn fn, void *ctx) {
  const char *p = text, *end = text + len;
  wl_maps_entry e;
  memset(&e, 0, sizeof e);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    e.line++;
    int rc = wl__maps_line(name, p, eol, &e);
    if (rc) return rc;
    if ((rc = fn(ctx, &e))) return rc;
    p = eol < end ? eol + 1 : end;
  }
  return 0;
}

static int wl__maps_is_special(const char *path, size_t len) {
  static const char *const skip[] = {"[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"};
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (len == strlen(skip[i]) && memcmp(path, skip[i], len) == 0) return 1;
  return 0;
}

int wl__maps_scanned(const wl_maps_entry *entry, int exclude_shared, int *anon_private) {
  if (!entry->readable || !entry->writable || (entry->shared && exclude_shared) ||
      wl__maps_is_special(entry->path, entry->path_len))
    return 0;
  *anon_private = !entry->shared && (entry->path_len == 0 || entry->path[0] == '[');
  return 1;
}
