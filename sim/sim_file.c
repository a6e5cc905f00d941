/* sim_file: exclusive temporary file + rename, with signal cleanup. */
#include "sim_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim_err.h"

struct sim_file {
  FILE *stream;
  char *path;
  char *tmp_path; /* NULL for stdout */
  int slot;       /* cleanup registry slot, -1 if none */
};

/* ------------------------------------------------ cleanup on signals */

/* Names of the temporary files now open, for the signal handler: a fixed
 * table of atomically published pointers (no locks, no allocation in the
 * handler). With more files open at once the extra ones are simply not
 * cleaned up by a signal. */
enum { SIM__SLOTS = 64 };
static char *sim__slots[SIM__SLOTS];
static int sim__handlers_installed;

static void sim__on_signal(int sig) {
  for (int i = 0; i < SIM__SLOTS; i++) {
    char *p = __atomic_load_n(&sim__slots[i], __ATOMIC_ACQUIRE);
    if (p) unlink(p); /* async-signal-safe */
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void sim__install_handlers(void) {
  if (__atomic_exchange_n(&sim__handlers_installed, 1, __ATOMIC_ACQ_REL)) return;
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sim__on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

static int sim__register(char *tmp_path) {
  sim__install_handlers();
  for (int i = 0; i < SIM__SLOTS; i++) {
    char *expected = NULL;
    if (__atomic_compare_exchange_n(&sim__slots[i], &expected, tmp_path, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return i;
  }
  return -1;
}

static void sim__unregister(int slot) {
  if (slot >= 0) __atomic_store_n(&sim__slots[slot], NULL, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- files */

int sim_file_check_target(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return 0; /* absent (or unreachable: open says why) */
  if (S_ISREG(sb.st_mode)) return 0;
  const char *what = S_ISLNK(sb.st_mode)    ? "a symbolic link"
                     : S_ISFIFO(sb.st_mode) ? "a FIFO"
                     : S_ISDIR(sb.st_mode)  ? "a directory"
                     : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
                     : S_ISSOCK(sb.st_mode) ? "a socket"
                                            : "not a regular file";
  return sim_errorf(SIM_EINVAL, "%s is %s; refusing to replace it (give a regular file name, or - for standard output)",
                    path, what);
}

static void sim__file_free(sim_file *f) {
  sim__unregister(f->slot);
  free(f->path);
  free(f->tmp_path);
  free(f);
}

/* Creates "<dir>/.<base>.tmp-<pid>-<random>" exclusively. */
static int sim__create_temp(sim_file *f) {
  const char *slash = strrchr(f->path, '/');
  size_t dir_len = slash ? (size_t)(slash - f->path) + 1 : 0;
  const char *base = slash ? slash + 1 : f->path;
  size_t n = strlen(f->path) + 64;
  f->tmp_path = malloc(n);
  if (!f->tmp_path) return sim_errorf(SIM_ENOMEM, "out of memory opening %s", f->path);
  for (int attempt = 0; attempt < 100; attempt++) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      r ^= (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15);
      r += (uint64_t)(unsigned)attempt;
    }
    snprintf(f->tmp_path, n, "%.*s.%s.tmp-%ld-%016llx", (int)dir_len, f->path, base, (long)getpid(),
             (unsigned long long)r);
    int fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return sim_errorf(SIM_EIO, "cannot create %s: %s", f->path, strerror(errno));
    f->slot = sim__register(f->tmp_path);
    f->stream = fdopen(fd, "wb");
    if (!f->stream) {
      int rc = sim_errorf(SIM_EIO, "cannot create %s: %s", f->path, strerror(errno));
      close(fd);
      unlink(f->tmp_path);
      return rc;
    }
    return 0;
  }
  return sim_errorf(SIM_EIO, "cannot create a temporary file next to %s", f->path);
}

int sim_file_open(const char *path, sim_file **out) {
  if (!path || !*path) return sim_errorf(SIM_EINVAL, "empty output file name");
  sim_file *f = calloc(1, sizeof *f);
  if (!f) return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  f->slot = -1;
  if (!(f->path = strdup(path))) {
    free(f);
    return sim_errorf(SIM_ENOMEM, "out of memory opening %s", path);
  }
  if (!strcmp(path, "-")) {
    f->stream = stdout;
    *out = f;
    return 0;
  }
  int rc = sim_file_check_target(path);
  if (!rc) rc = sim__create_temp(f);
  if (rc) {
    sim__file_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

FILE *sim_file_stream(sim_file *f) { return f->stream; }

const char *sim_file_temp_path(const sim_file *f) { return f->tmp_path; }

int sim_file_commit(sim_file *f) {
  if (!f->tmp_path) {
    int rc = fflush(f->stream) != 0 || ferror(f->stream)
                 ? sim_errorf(SIM_EIO, "cannot write to standard output: %s", strerror(errno))
                 : 0;
    sim__file_free(f);
    return rc;
  }
  int failed = fflush(f->stream) != 0 || ferror(f->stream);
  int saved = errno;
  if (!failed && fsync(fileno(f->stream)) != 0 && errno != EINVAL) {
    failed = 1;
    saved = errno;
  }
  if (fclose(f->stream) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  int rc = 0;
  if (!failed && (rc = sim_file_check_target(f->path)) == 0 && rename(f->tmp_path, f->path) != 0) {
    failed = 1;
    saved = errno;
  }
  if (failed) rc = sim_errorf(SIM_EIO, "cannot write %s: %s", f->path, strerror(saved));
  if (rc) unlink(f->tmp_path);
  sim__file_free(f);
  return rc;
}

void sim_file_abort(sim_file *f) {
  if (!f) return;
  if (f->tmp_path) {
    fclose(f->stream);
    unlink(f->tmp_path);
  }
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
