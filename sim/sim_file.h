/* sim_file: output files that appear whole or not at all, and never
 * replace anything but a regular file.
 *
 * A writer creates a temporary file in the target's folder, exclusively
 * (O_EXCL, an unpredictable name ".NAME.tmp-PID-RANDOM"), writes, then
 * commits (flush, fsync, rename over the target) or aborts (unlink). The
 * target must be absent or a regular file: a FIFO, a device, a directory
 * or a symbolic link is refused before anything is written. The path "-"
 * means standard output (commit flushes it). Temporary files still open
 * are removed when the process gets SIGINT, SIGTERM or SIGHUP (the handler
 * is installed only where the signal still has its default action; the
 * signal is then re-raised), so an interrupted export leaves nothing. */
#ifndef SIM_FILE_H
#define SIM_FILE_H

#include <stdio.h>

typedef struct sim_file sim_file;

/* Opens a temporary file next to `path` for writing (binary), or stdout
 * for "-". Returns 0 and *out, or SIM_EINVAL (the target exists and is not
 * a regular file) or SIM_EIO, with a message naming the path. */
int sim_file_open(const char *path, sim_file **out);

/* The stdio stream to write to. */
FILE *sim_file_stream(sim_file *f);

/* The temporary file's name, for writers that open files by name (e.g.
 * a plotting library); NULL for stdout. Valid until commit or abort. */
const char *sim_file_temp_path(const sim_file *f);

/* Flushes, syncs, closes and renames the temporary file over `path`;
 * frees f. On any I/O error the temporary file is removed and SIM_EIO
 * returned; SIM_EINVAL when the target became a non-regular file. */
int sim_file_commit(sim_file *f);

/* Closes and removes the temporary file; frees f. NULL is a no-op. */
void sim_file_abort(sim_file *f);

/* Refuses (SIM_EINVAL, one line) when `path` exists and is not a regular
 * file; 0 when it is absent or regular. */
int sim_file_check_target(const char *path);

/* Creates directory `path` (and parents) if missing. 0 or SIM_EIO. */
int sim_mkdir_p(const char *path);

#endif
