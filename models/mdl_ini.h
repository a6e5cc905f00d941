/* mdl_ini: the strict INI subset of scenario and profile files.
 *
 * One definition, documented in docs/scenarios.md ("File format"):
 *   - a line is a section header "[name]", an entry "key = value", a
 *     comment (first non-blank character ';' or '#') or blank;
 *   - blanks around a line, a key and a value are ignored, so an indented
 *     entry is an entry like any other: there are no continuation lines;
 *   - there is no line length limit; a NUL byte is an error;
 *   - keys are letters, digits, '_', '-' and '.'; values run to the end of
 *     the line (no inline comments, no quoting);
 *   - entries before the first section belong to section "" (the file's
 *     global part);
 *   - a repeated section, a repeated key within a section and a section
 *     without entries are errors.
 * Errors name the file and the line ("FILE:LINE: what"). The whole file is
 * read and checked before the caller sees any entry, so a mistake on the
 * last line stops a command before it writes anything. */
#ifndef MDL_INI_H
#define MDL_INI_H

#include <stddef.h>

typedef struct {
  const char *section; /* "" before the first [section] */
  const char *key;
  const char *value;
  unsigned line;
} mdl_ini_entry;

typedef struct {
  mdl_ini_entry *entries; /* file order */
  size_t count;
  char *text;             /* owns the strings the entries point into */
  char *path;
} mdl_ini;

/* Reads and checks `path` (see above). 0 and *ini filled, or SIM_EIO
 * (unreadable), SIM_EFORMAT ("FILE:LINE: ..."), SIM_ENOMEM. */
int mdl_ini_read(const char *path, mdl_ini *ini);

/* Parses text[0..len) as if read from a file called `path`. */
int mdl_ini_parse(const char *path, const char *text, size_t len, mdl_ini *ini);

/* Frees what mdl_ini_read filled; a zeroed or freed mdl_ini is a no-op. */
void mdl_ini_free(mdl_ini *ini);

#endif
