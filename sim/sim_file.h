/* sim_file: output files that appear whole or not at all.
 *
 * Writers open "<path>.tmp.<pid>", write, then commit (fsync-free rename
 * over <path>) or abort (unlink). A crash or an error therefore never leaves
 * a half-written result under the real name. */
#ifndef SIM_FILE_H
#define SIM_FILE_H

#include <stdio.h>

typedef struct sim_file sim_file;

/* Opens a temporary file next to `path` for writing ("wb").
 * Returns 0 and *out, or SIM_EIO with a message naming the path. */
int sim_file_open(const char *path, sim_file **out);

/* The stdio stream to write to. */
FILE *sim_file_stream(sim_file *f);

/* Flushes, closes and renames the temporary file over `path`; frees f.
 * On any I/O error the temporary file is removed and SIM_EIO returned. */
int sim_file_commit(sim_file *f);

/* Closes and removes the temporary file; frees f. NULL is a no-op. */
void sim_file_abort(sim_file *f);

/* Creates directory `path` (and parents) if missing. 0 or SIM_EIO. */
int sim_mkdir_p(const char *path);

#endif
