/* sim_file: write-to-temporary-then-rename output files. */
#include "sim_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_err.h"

struct sim_file {
  FILE *stream;
  char *path;
  char *tmp_path;
};

int sim_file_open(const char *path, sim_file **out) {
  sim_file *f = calloc(1, sizeof *f);
  if (!f) return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  size_t n = strlen(path) + 32;
  f->path = strdup(path);
  f->tmp_path = malloc(n);
  if (!f->path || !f->tmp_path) goto nomem;
  snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
  f->stream = fopen(f->tmp_path, "wb");
  if (!f->stream) {
    int rc = sim_errorf(SIM_EIO, "cannot create %s: %s", path, strerror(errno));
    free(f->path);
    free(f->tmp_path);
    free(f);
    return rc;
  }
  *out = f;
  return 0;
nomem:
  free(f->path);
  free(f->tmp_path);
  free(f);
  return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
}

FILE *sim_file_stream(sim_file *f) { return f->stream; }

static void sim__file_free(sim_file *f) {
  free(f->path);
  free(f->tmp_path);
  free(f);
}

int sim_file_commit(sim_file *f) {
  int failed = ferror(f->stream);
  int saved = errno;
  if (fclose(f->stream) != 0) {
    failed = 1;
    saved = errno;
  }
  if (!failed && rename(f->tmp_path, f->path) != 0) {
    failed = 1;
    saved = errno;
  }
  int rc = 0;
  if (failed) {
    rc = sim_errorf(SIM_EIO, "cannot write %s: %s", f->path, strerror(saved));
    unlink(f->tmp_path);
  }
  sim__file_free(f);
  return rc;
}

void sim_file_abort(sim_file *f) {
  if (!f) return;
  fclose(f->stream);
  unlink(f->tmp_path);
  sim__file_free(f);
}

int sim_mkdir_p(const char *path) {
  if (!path || !*path) return sim_errorf(SIM_EINVAL, "empty directory name");
  char *copy = strdup(path);
  if (!copy) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (char *p = copy + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
        int rc = sim_errorf(SIM_EIO, "cannot create directory %s: %s", copy,
                            strerror(errno));
        free(copy);
        return rc;
      }
      *p = saved;
      if (saved == '\0') break;
    }
  }
  free(copy);
  return 0;
}
