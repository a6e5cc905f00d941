/* wl_maps: the text of /proc/PID/maps, parsed without touching any process
 * (internal to workloads/; the recorder's only /proc text format). Kept apart
 * from wl_record.c so that tests and a libFuzzer target can feed it any
 * bytes.
 *
 * A line is what the kernel's show_map_vma() prints (fs/proc/task_mmu.c and
 * Documentation/filesystems/proc.rst, "/proc/PID/maps"):
 *
 *   START-END PERMS OFFSET MAJOR:MINOR INODE [PATH]
 *   7f3c5a400000-7f3c5a421000 rw-p 00000000 00:00 0 [heap]
 *
 * START, END, OFFSET, MAJOR and MINOR are hexadecimal, INODE decimal, PERMS
 * four characters [r-][w-][x-][ps]. A mapping without a name ends after the
 * inode (older kernels add a space); otherwise spaces pad to the path, which
 * is the rest of the line, spaces and " (deleted)" included (the kernel
 * escapes a newline in a path as "\012", so a line never holds one). */
#ifndef WL_MAPS_H
#define WL_MAPS_H

#include <stddef.h>
#include <stdint.h>

/* One line. `path` points into the parsed text and is not NUL-terminated;
 * path_len 0 means no name (an anonymous mapping). */
typedef struct {
  uint64_t start, end; /* [start, end), start < end */
  uint64_t offset;     /* of the mapping in its file */
  uint32_t dev_major, dev_minor;
  uint64_t inode;
  int readable, writable, executable, shared; /* 's' or 'p' in PERMS */
  const char *path;
  size_t path_len;
  unsigned line; /* 1-based */
} wl_maps_entry;

/* Called once per line, in order. Returning non-zero stops the parse,
 * which returns that value. */
typedef int (*wl_maps_fn)(void *ctx, const wl_maps_entry *entry);

/* Parses `len` bytes of maps text (need not be NUL-terminated; a final line
 * may lack its newline; empty text has no lines) and calls fn per line.
 * `name` (e.g. "/proc/42/maps") prefixes error messages. Lines are not
 * required to ascend: the kernel reads a large maps file in pieces and a
 * mapping that changes in between can be printed twice.
 * Returns 0, fn's non-zero value, or SIM_EFORMAT with a one-line message
 * "NAME:LINE: what is wrong in 'the line'" (an empty line, a malformed or
 * more than 64-bit field, START not below END, a NUL byte). O(len). */
int wl__maps_parse(const char *text, size_t len, const char *name, wl_maps_fn fn, void *ctx);

/* Whether the recorder scans a mapping: readable and writable, private or
 * (unless exclude_shared) shared, and not one of the kernel's special
 * mappings ([vvar], [vvar_vclock], [vdso], [vsyscall]), whose pages cannot
 * be read or do not belong to the process. When it does, *anon_private
 * says whether its pages that are not resident read as zero: private and
 * anonymous (no path, or a kernel name such as [heap], [stack],
 * [anon:name]). */
int wl__maps_scanned(const wl_maps_entry *entry, int exclude_shared, int *anon_private);

#endif
