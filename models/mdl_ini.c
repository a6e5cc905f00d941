/* mdl_ini: a strict INI reader (see mdl_ini.h for the accepted subset).
 *
 * Written here rather than configuring inih: Debian's libinih is built
 * with multi-line values on (an indented line continues the previous
 * value) and a 200-byte line buffer, and both are compile-time options of
 * the shared library, so a scenario file could be silently misread. The
 * whole file is loaded (files are small; MDL__INI_MAX_BYTES bounds it),
 * split in place, and checked for duplicates by sorting: O(n log n). */
#include "mdl_ini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_err.h"
#include "sim_vec.h"

#define MDL__INI_MAX_BYTES (64u << 20) /* a scenario file of 64 MiB is a mistake */

static int mdl__blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static char *mdl__trim(char *s) {
  while (mdl__blank(*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && mdl__blank(s[n - 1])) s[--n] = '\0';
  return s;
}

static int mdl__key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

typedef struct {
  const char *name;
  unsigned line;
  size_t entries;
} mdl__section;

static int mdl__cmp_entry(const void *a, const void *b) {
  const mdl_ini_entry *x = *(const mdl_ini_entry *const *)a, *y = *(const mdl_ini_entry *const *)b;
  int c = strcmp(x->section, y->section);
  if (!c) c = strcmp(x->key, y->key);
  if (!c) c = (x->line > y->line) - (x->line < y->line);
  return c;
}

static int mdl__cmp_section(const void *a, const void *b) {
  const mdl__section *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (!c) c = (x->line > y->line) - (x->line < y->line);
  return c;
}

/* Duplicate keys (within a section) and sections: the earliest repeat is
 * reported, naming both lines. */
static int mdl__check_duplicates(const char *path, mdl_ini *ini, mdl__section *sec, size_t nsec) {
  unsigned bad_line = 0, first_line = 0;
  const char *what = NULL, *name = NULL, *in = NULL;
  if (nsec > 1) {
    qsort(sec, nsec, sizeof *sec, mdl__cmp_section);
    for (size_t i = 1; i < nsec; i++)
      if (!strcmp(sec[i].name, sec[i - 1].name) && (!bad_line || sec[i].line < bad_line)) {
        bad_line = sec[i].line;
        first_line = sec[i - 1].line;
        what = "section";
        name = sec[i].name;
      }
  }
  if (ini->count > 1) {
    const mdl_ini_entry **order = malloc(ini->count * sizeof *order);
    if (!order) return sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
    for (size_t i = 0; i < ini->count; i++) order[i] = &ini->entries[i];
    qsort(order, ini->count, sizeof *order, mdl__cmp_entry);
    for (size_t i = 1; i < ini->count; i++)
      if (!strcmp(order[i]->section, order[i - 1]->section) && !strcmp(order[i]->key, order[i - 1]->key) &&
          (!bad_line || order[i]->line < bad_line)) {
        bad_line = order[i]->line;
        first_line = order[i - 1]->line;
        what = "key";
        name = order[i]->key;
        in = order[i]->section;
      }
    free(order);
  }
  if (!bad_line) return 0;
  if (in)
    return sim_errorf(SIM_EFORMAT, "%s:%u: duplicate %s '%.200s' in [%.200s] (first at line %u)", path,
                      bad_line, what, name, in, first_line);
  return sim_errorf(SIM_EFORMAT, "%s:%u: duplicate %s [%.200s] (first at line %u)", path, bad_line, what,
                    name, first_line);
}

int mdl_ini_parse(const char *path, const char *text, size_t len, mdl_ini *ini) {
  memset(ini, 0, sizeof *ini);
  if (memchr(text, '\0', len)) {
    unsigned line = 1;
    for (const char *p = text; *p; p++) line += *p == '\n';
    return sim_errorf(SIM_EFORMAT, "%s:%u: NUL byte (not a text file)", path, line);
  }
  ini->path = strdup(path);
  ini->text = malloc(len + 1);
  if (!ini->path || !ini->text) {
    mdl_ini_free(ini);
    return sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
  }
  memcpy(ini->text, text, len);
  ini->text[len] = '\0';

  size_t cap = 0, nsec = 0, sec_cap = 0;
  mdl__section *sec = NULL;
  const char *section = "";
  int rc = 0;
  char *p = ini->text;
  for (unsigned line = 1; p && !rc; line++) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    char *s = mdl__trim(p);
    p = nl ? nl + 1 : NULL;
    if (*s == '\0' || *s == ';' || *s == '#') continue;
    if (*s == '[') {
      char *close = strchr(s, ']');
      if (!close)
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: section header without ']'", path, line);
      else if (*mdl__trim(close + 1) != '\0')
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: text after the section header", path, line);
      if (rc) break;
      *close = '\0';
      char *name = mdl__trim(s + 1);
      if (!*name) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: empty section name '[]'", path, line);
        break;
      }
      if (nsec && sec[nsec - 1].entries == 0) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: section [%.200s] has no entries", path, sec[nsec - 1].line,
                        sec[nsec - 1].name);
        break;
      }
      mdl__section *g = sim_grow(sec, &sec_cap, nsec + 1, sizeof *g);
      if (!g) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
        break;
      }
      sec = g;
      sec[nsec++] = (mdl__section){name, line, 0};
      section = name;
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = sim_errorf(SIM_EFORMAT, "%s:%u: expected 'key = value', '[section]' or a comment", path, line);
      break;
    }
    *eq = '\0';
    char *key = mdl__trim(s), *value = mdl__trim(eq + 1);
    if (!*key) {
      rc = sim_errorf(SIM_EFORMAT, "%s:%u: entry without a key", path, line);
      break;
    }
    for (const char *k = key; *k; k++)
      if (!mdl__key_char(*k)) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: key '%.100s' has a character other than letters, digits, '_', '-', '.'",
                        path, line, key);
        break;
      }
    if (rc) break;
    mdl_ini_entry *g = sim_grow(ini->entries, &cap, ini->count + 1, sizeof *g);
    if (!g) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
      break;
    }
    ini->entries = g;
    ini->entries[ini->count++] = (mdl_ini_entry){section, key, value, line};
    if (nsec) sec[nsec - 1].entries++;
  }
  if (!rc && nsec && sec[nsec - 1].entries == 0)
    rc = sim_errorf(SIM_EFORMAT, "%s:%u: section [%.200s] has no entries", path, sec[nsec - 1].line,
                    sec[nsec - 1].name);
  if (!rc) rc = mdl__check_duplicates(path, ini, sec, nsec);
  free(sec);
  if (rc) mdl_ini_free(ini);
  return rc;
}

int mdl_ini_read(const char *path, mdl_ini *ini) {
  memset(ini, 0, sizeof *ini);
  FILE *f = fopen(path, "rb");
  if (!f) return sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return sim_errorf(SIM_EIO, "%s: not a regular file", path);
  }
  if ((unsigned long long)sb.st_size > MDL__INI_MAX_BYTES) {
    fclose(f);
    return sim_errorf(SIM_ERANGE, "%s: %lld bytes; scenario and profile files are limited to %u MiB", path,
                      (long long)sb.st_size, MDL__INI_MAX_BYTES >> 20);
  }
  size_t len = (size_t)sb.st_size;
  char *buf = malloc(len + 1);
  if (!buf) {
    fclose(f);
    return sim_errorf(SIM_ENOMEM, "out of memory reading %s", path);
  }
  size_t got = fread(buf, 1, len, f);
  int err = ferror(f);
  fclose(f);
  if (err || got != len) {
    free(buf);
    return sim_errorf(SIM_EIO, "cannot read %s: %s", path, err ? strerror(errno) : "file changed while reading");
  }
  int rc = mdl_ini_parse(path, buf, len, ini);
  free(buf);
  return rc;
}

void mdl_ini_free(mdl_ini *ini) {
  if (!ini) return;
  free(ini->entries);
  free(ini->text);
  free(ini->path);
  memset(ini, 0, sizeof *ini);
}
