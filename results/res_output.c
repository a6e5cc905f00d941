/* res_output: result folders (see res_output.h for the contract). */
#include "res_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mdl_feature.h"
#include "mdl_schema.h"
#include "res_csv.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_hash.h"
#include "sim_vec.h"

/* ------------------------------------------------------------- schema */

/* Column lists, from the one schema (mdl_schema.h). */
#define RES__NAME(col, ...) #col,
static const char *const res__summary_cols[] = {MDL_SUMMARY_COLUMNS(RES__NAME)};
static const char *const res__round_cols[] = {MDL_ROUND_COLUMNS(RES__NAME)};
static const char *const res__timeline_cols[] = {MDL_TIMELINE_COLUMNS(RES__NAME)};
#undef RES__NAME

#define RES__N(a) (sizeof(a) / sizeof((a)[0]))

enum { RES__SUMMARY, RES__ROUNDS, RES__TIMELINE, RES__FILES };
static const char *const res__file_names[RES__FILES] = {"summary.csv", "rounds.csv", "timeline.csv"};
static const char *const *const res__cols[RES__FILES] = {res__summary_cols, res__round_cols,
                                                         res__timeline_cols};
static const size_t res__ncols[RES__FILES] = {RES__N(res__summary_cols), RES__N(res__round_cols),
                                              RES__N(res__timeline_cols)};

#define RES__MANIFEST "migsim-folder.txt"
#define RES__LOCK ".migsim-lock"
#define RES__FORMAT 1

/* ------------------------------------------------------------ run ids */

char *res_run_id(const char *key, char out[RES_RUN_ID_MAX]) {
  size_t n = strlen(key);
  if (n < RES_RUN_ID_MAX) {
    memcpy(out, key, n + 1);
    return out;
  }
  uint64_t a = sim_hash_str(SIM_HASH_INIT, key);
  uint64_t b = sim_hash_str(sim_hash(SIM_HASH_INIT, "run-id", 6), key);
  snprintf(out, RES_RUN_ID_MAX, "%.150s~%016" PRIx64 "%016" PRIx64, key, a, b);
  return out;
}

/* ------------------------------------------------------------- id set */

/* Open-addressing set of committed run ids (amortised O(1)). */
typedef struct {
  char **slot;
  size_t cap, count;
} res__idset;

static int res__idset_has(const res__idset *set, const char *id) {
  if (!set->cap) return 0;
  for (size_t i = sim_hash_str(SIM_HASH_INIT, id) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
    if (!set->slot[i]) return 0;
    if (!strcmp(set->slot[i], id)) return 1;
  }
}

static int res__idset_put(res__idset *set, char *owned);

static int res__idset_grow(res__idset *set) {
  res__idset bigger = {calloc(set->cap ? set->cap * 2 : 64, sizeof(char *)), set->cap ? set->cap * 2 : 64, 0};
  if (!bigger.slot) return SIM_ENOMEM;
  for (size_t i = 0; i < set->cap; i++)
    if (set->slot[i]) res__idset_put(&bigger, set->slot[i]);
  free(set->slot);
  *set = bigger;
  return 0;
}

/* Takes ownership of `owned` (a strdup'ed id not yet in the set). */
static int res__idset_put(res__idset *set, char *owned) {
  if ((set->count + 1) * 2 > set->cap && res__idset_grow(set)) {
    free(owned);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t i = sim_hash_str(SIM_HASH_INIT, owned) & (set->cap - 1);
  while (set->slot[i]) i = (i + 1) & (set->cap - 1);
  set->slot[i] = owned;
  set->count++;
  return 0;
}

static void res__idset_free(res__idset *set) {
  for (size_t i = 0; i < set->cap; i++) free(set->slot[i]);
  free(set->slot);
  memset(set, 0, sizeof *set);
}

/* ------------------------------------------------------------- folder */

struct res_folder {
  char *dir;
  int lock_fd;
  int fd[RES__FILES];     /* -1 until the file exists */
  off_t len[RES__FILES];  /* committed length */
  char *header[RES__FILES];
  size_t header_len[RES__FILES];
  res__idset ids;
  int sync;
  int resuming; /* the folder already knew this command and grid */
  /* Replacing the folder's results (--force, or compare's own folder)
   * waits for the first new run: a command that fails before it has one
   * leaves the old results as they were. */
  int replace_due;
  char command[64];
  uint64_t grid;
  /* Group commit (with sync): summary rows wait here, with their ids,
   * until the data files are synced, at most RES__COMMIT_NS apart. */
  off_t base[RES__FILES]; /* lengths at the last commit: the rollback point */
  char *pending;
  size_t pending_len, pending_cap;
  char **pending_ids;
  size_t npending, pending_ids_cap;
  struct timespec last_commit;
};

#define RES__COMMIT_NS 1000000000ll

static char *res__path(const res_folder *f, const char *name) {
  size_t n = strlen(f->dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", f->dir, name);
  return p;
}

/* Renders a table's header and, when s and r are given, the run's rows,
 * through res_csv into memory: *buf (malloc'ed) holds the header followed
 * by the rows; *header_len is where the rows start. */
static int res__render(int table, const char *run_id, const mdl_scenario *s, const mdl_result *r, char **buf,
                       size_t *len, size_t *header_len);

static uint64_t res__schema_digest(void) {
  uint64_t h = SIM_HASH_INIT;
  for (int t = 0; t < RES__FILES; t++)
    for (size_t i = 0; i < res__ncols[t]; i++) h = sim_hash_str(h, res__cols[t][i]);
  return h;
}

/* Output files migsim writes into result folders: removed by --force. */
static int res__is_output(const char *name) {
  static const char *const names[] = {"summary.csv", "rounds.csv", "timeline.csv", RES__MANIFEST,
                                      "errors.csv", "report.md", "report.html", "validation.md",
                                      "regress.csv", "junit.xml", "aggregate.csv", "summary.jsonl"};
  for (size_t i = 0; i < RES__N(names); i++)
    if (!strcmp(name, names[i])) return 1;
  size_t n = strlen(name);
  return n > 4 && (!strcmp(name + n - 4, ".png") || !strcmp(name + n - 4, ".svg") ||
                   !strcmp(name + n - 4, ".pdf"));
}

/* Counts (and with `remove`, deletes) migsim's regular output files. */
static int res__outputs(const res_folder *f, int remove, size_t *count) {
  *count = 0;
  DIR *d = opendir(f->dir);
  if (!d) return sim_errorf(SIM_EIO, "cannot read folder %s: %s", f->dir, strerror(errno));
  int rc = 0;
  for (struct dirent *e; !rc && (e = readdir(d));) {
    if (!res__is_output(e->d_name)) continue;
    struct stat sb;
    if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) continue;
    if (!remove && sb.st_size == 0) continue;
    (*count)++;
    if (remove && unlinkat(dirfd(d), e->d_name, 0) != 0)
      rc = sim_errorf(SIM_EIO, "cannot remove %s/%s: %s", f->dir, e->d_name, strerror(errno));
  }
  closedir(d);
  return rc;
}

static int res__lock(res_folder *f) {
  char *path = res__path(f, RES__LOCK);
  if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
  f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  int rc = 0;
  if (f->lock_fd < 0) {
    rc = sim_errorf(SIM_EIO, "cannot open %s: %s", path, strerror(errno));
  } else if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[32] = "";
    ssize_t n = pread(f->lock_fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    if (e == EWOULDBLOCK)
      rc = sim_errorf(SIM_EINVAL, "%s is being written by another migsim process%s%s%s; wait for it or choose another --out",
                      f->dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
    else
      rc = sim_errorf(SIM_EIO, "cannot lock %s: %s", path, strerror(e));
  } else {
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f->lock_fd, 0) != 0 || pwrite(f->lock_fd, pid, (size_t)n, 0) != n) {
      /* The pid is only for messages: a failure here changes nothing. */
    }
  }
  free(path);
  return rc;
}

/* migsim-folder.txt: the format, the columns' digest and one "writer"
 * line per command and grid that wrote the folder (the first, then each
 * one added with --append). */
enum { RES__MAX_WRITERS = 256 };
typedef struct {
  int present;
  unsigned format;
  uint64_t schema;
  size_t nwriters;
  struct {
    char command[32];
    uint64_t grid;
  } writer[RES__MAX_WRITERS];
} res__manifest;

static int res__read_manifest(const res_folder *f, res__manifest *m) {
  memset(m, 0, sizeof *m);
  char *path = res__path(f, RES__MANIFEST);
  if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  int rc = 0;
  if (fd < 0) {
    if (errno != ENOENT) rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
    free(path);
    return rc;
  }
  static _Thread_local char text[RES__MAX_WRITERS * 64 + 256];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';
  m->present = 1;
  char *line = text, *next;
  for (; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    unsigned long long v;
    char word[32];
    if (sscanf(line, "format %u", &m->format) == 1) continue;
    if (sscanf(line, "schema %llx", &v) == 1) {
      m->schema = v;
    } else if (sscanf(line, "writer %31s %llx", word, &v) == 2 && m->nwriters < RES__MAX_WRITERS) {
      snprintf(m->writer[m->nwriters].command, sizeof m->writer[0].command, "%s", word);
      m->writer[m->nwriters++].grid = v;
    }
  }
  if (m->format != RES__FORMAT || !m->nwriters)
    rc = sim_errorf(SIM_EFORMAT, "%s is not a migsim result folder manifest (format %d expected); use --force to replace the folder's results",
                    path, RES__FORMAT);
  free(path);
  return rc;
}

/* Writes the manifest: m's writers (none when m is NULL) plus this one. */
static int res__write_manifest(const res_folder *f, const res__manifest *m, const char *command, uint64_t grid) {
  if (m && m->nwriters >= RES__MAX_WRITERS)
    return sim_errorf(SIM_ERANGE, "%s: %d grids appended already; sweep into another --out", f->dir, RES__MAX_WRITERS);
  char *path = res__path(f, RES__MANIFEST);
  if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
  sim_file *out;
  int rc = sim_file_open(path, &out);
  if (!rc) {
    FILE *o = sim_file_stream(out);
    fprintf(o, "migsim result folder (see docs/results.md)\nformat %d\nschema %016" PRIx64 "\n", RES__FORMAT,
            res__schema_digest());
    for (size_t i = 0; m && i < m->nwriters; i++)
      fprintf(o, "writer %s %016" PRIx64 "\n", m->writer[i].command, m->writer[i].grid);
    fprintf(o, "writer %s %016" PRIx64 "\n", command, grid);
    rc = sim_file_commit(out);
  }
  free(path);
  return rc;
}

/* Reads table t's file, if any: checks the header, finds complete rows
 * (a row ends at a newline outside quotes) and their run ids (first
 * field). Summary: every complete row is committed. Rounds/timeline: rows
 * up to the last one of a committed run are kept; later rows (of a run
 * killed before its summary row) are cut. Sets f->len[t]. */
static int res__scan(res_folder *f, int t) {
  char *path = res__path(f, res__file_names[t]);
  if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
  int rc = 0;
  f->fd[t] = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (f->fd[t] < 0) {
    if (errno != ENOENT) rc = sim_errorf(SIM_EIO, "cannot open %s: %s", path, strerror(errno));
    f->len[t] = 0;
    free(path);
    return rc;
  }
  struct stat sb;
  if (fstat(f->fd[t], &sb) != 0 || !S_ISREG(sb.st_mode)) {
    rc = sim_errorf(SIM_EFORMAT, "%s is not a regular file", path);
    free(path);
    return rc;
  }
  FILE *in = fdopen(dup(f->fd[t]), "rb");
  if (!in) {
    rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
    free(path);
    return rc;
  }
  const char *hdr = f->header[t];
  size_t hlen = f->header_len[t];
  off_t pos = 0, keep = 0;
  unsigned line = 1, orphan_line = 0;
  int quoted = 0, just_closed = 0, field = 0, id_long = 0;
  size_t id_len = 0;
  char id[RES_RUN_ID_MAX + 1];
  char orphan[64] = "";
  int c;
  while (!rc && (c = getc(in)) != EOF) {
    pos++;
    if (line == 1) {
      if ((size_t)(pos - 1) >= hlen || hdr[pos - 1] != (char)c) {
        rc = sim_errorf(SIM_EFORMAT,
                        "%s: header differs from this migsim's %s columns (another version or tool wrote it); "
                        "use --force to replace it",
                        path, res__file_names[t]);
        break;
      }
      if (c == '\n') {
        line++;
        keep = pos;
      }
      continue;
    }
    if (c == '"') {
      /* "" inside a quoted field is one literal quote. */
      int literal = !quoted && just_closed;
      just_closed = quoted;
      quoted = 1 - quoted;
      if (!literal) continue;
      quoted = 1;
    } else {
      just_closed = 0;
    }
    if (quoted) {
      if (field == 0 && id_len < RES_RUN_ID_MAX) id[id_len++] = (char)c;
      else if (field == 0) id_long = 1;
      continue;
    }
    if (c == ',') {
      field++;
      continue;
    }
    if (c != '\n') {
      if (field == 0 && id_len < RES_RUN_ID_MAX) id[id_len++] = (char)c;
      else if (field == 0) id_long = 1;
      continue;
    }
    /* A complete row. */
    id[id_len] = '\0';
    if (t == RES__SUMMARY) {
      if (id_long) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: run id longer than %d characters (an older migsim cut ids); use --force",
                        path, line, RES_RUN_ID_MAX - 1);
      } else if (res__idset_has(&f->ids, id)) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: run id '%.80s' appears twice (an older migsim duplicated rows); use --force",
                        path, line, id);
      } else {
        char *owned = strdup(id);
        rc = owned ? res__idset_put(&f->ids, owned) : sim_errorf(SIM_ENOMEM, "out of memory");
      }
      keep = pos;
    } else if (!id_long && res__idset_has(&f->ids, id)) {
      if (orphan_line)
        rc = sim_errorf(SIM_EFORMAT,
                        "%s:%u: rows of run '%.60s', which has no summary row, before rows of committed runs; "
                        "use --force",
                        path, orphan_line, orphan);
      keep = pos;
    } else if (!orphan_line) {
      orphan_line = line;
      snprintf(orphan, sizeof orphan, "%.60s", id);
    }
    line++;
    field = 0;
    id_len = 0;
    id_long = 0;
    quoted = 0;
    just_closed = 0;
  }
  if (!rc && ferror(in)) rc = sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  fclose(in);
  /* Whatever follows the last committed row (rows of an unfinished run, a
   * half row from a full disk) is rolled back. */
  if (!rc && pos > keep && ftruncate(f->fd[t], keep) != 0)
    rc = sim_errorf(SIM_EIO, "cannot roll back %s: %s", path, strerror(errno));
  f->len[t] = keep;
  free(path);
  return rc;
}

static void res__pending_clear(res_folder *f);

static void res__folder_free(res_folder *f) {
  for (int t = 0; t < RES__FILES; t++) {
    if (f->fd[t] >= 0) close(f->fd[t]);
    free(f->header[t]);
  }
  if (f->lock_fd >= 0) close(f->lock_fd); /* releases the flock */
  res__idset_free(&f->ids);
  res__pending_clear(f);
  free(f->pending);
  free(f->pending_ids);
  free(f->dir);
  free(f);
}

int res_folder_open(const char *dir, const char *command, uint64_t grid, res_folder_mode mode,
                    res_folder **out) {
  int rc = sim_mkdir_p(dir);
  if (rc) return rc;
  res_folder *f = calloc(1, sizeof *f);
  if (!f || !(f->dir = strdup(dir))) {
    free(f);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  f->lock_fd = -1;
  for (int t = 0; t < RES__FILES; t++) f->fd[t] = -1;
  const char *sync = getenv("MIGSIM_FSYNC");
  f->sync = !(sync && !strcmp(sync, "0"));
  for (int t = 0; t < RES__FILES && !rc; t++) {
    char *buf;
    size_t len;
    rc = res__render(t, NULL, NULL, NULL, &buf, &len, &f->header_len[t]);
    if (!rc) f->header[t] = buf;
  }
  if (!rc) rc = res__lock(f);
  static _Thread_local res__manifest m;
  size_t outputs = 0;
  if (!rc) rc = res__read_manifest(f, &m);
  if (rc == SIM_EFORMAT && mode == RES_FOLDER_FORCE) rc = 0;
  if (!rc) rc = res__outputs(f, 0, &outputs);
  int schema_ok = m.present && m.schema == res__schema_digest();
  int same = 0;
  for (size_t i = 0; schema_ok && i < m.nwriters; i++)
    same |= !strcmp(m.writer[i].command, command) && m.writer[i].grid == grid;
  /* A folder without results (new, or claimed by a command that failed
   * before its first run) is any command's. */
  int replace = mode == RES_FOLDER_FORCE || (mode == RES_FOLDER_OWN && same) || !outputs;
  if (!rc && !replace) {
    if (m.present && !schema_ok)
      rc = sim_errorf(SIM_EINVAL,
                      "%s holds results with other columns (written by another migsim version): "
                      "scripts/upgrade-results.py %s adds this version's columns and keeps every run; "
                      "--force replaces them",
                      dir, dir);
    else if (!m.present)
      rc = mode == RES_FOLDER_APPEND
               ? 0
               : sim_errorf(SIM_EINVAL,
                            "%s already holds results (%zu output files) not written by this command; use --append to "
                            "add runs or --force to replace them",
                            dir, outputs);
    else if (!same && mode != RES_FOLDER_APPEND)
      rc = sim_errorf(SIM_EINVAL,
                      "%s already holds results of another `migsim %s` (a different scenario or grid); use %s--force "
                      "to replace them, or choose another --out",
                      dir, m.writer[0].command, mode == RES_FOLDER_OWN ? "" : "--append to add runs, ");
  }
  snprintf(f->command, sizeof f->command, "%s", command);
  f->grid = grid;
  f->replace_due = replace;
  if (!rc && !replace && !m.present) rc = res__write_manifest(f, NULL, command, grid);
  else if (!rc && !replace && !same) rc = res__write_manifest(f, &m, command, grid); /* --append: one more grid */
  f->resuming = same && !replace;
  /* Summary first: it decides which runs exist. */
  for (int t = 0; t < RES__FILES && !rc && !replace; t++) rc = res__scan(f, t);
  for (int t = 0; t < RES__FILES; t++) f->base[t] = f->len[t];
  clock_gettime(CLOCK_MONOTONIC, &f->last_commit);
  if (rc) {
    res__folder_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

static int res__pending_has(const res_folder *f, const char *run_id);

int res_folder_has_run(const res_folder *f, const char *run_id) {
  return res__idset_has(&f->ids, run_id) || res__pending_has(f, run_id);
}

uint64_t res_folder_runs(const res_folder *f) { return f->ids.count; }

int res_folder_resuming(const res_folder *f) { return f->resuming; }

/* Crash testing (scripts/kill-anywhere.sh, test_reliability): with
 * MIGSIM_KILL_AT=N the process kills itself with SIGKILL at its N-th table
 * write, after writing half of it when N is odd (a torn row) and all of it
 * when N is even (between a run's files). Off unless the variable is set. */
static void res__maybe_die(int fd, const char *buf, size_t len, off_t at) {
  static long kill_at = -1, writes;
  if (kill_at < 0) {
    const char *env = getenv("MIGSIM_KILL_AT");
    kill_at = env && *env ? strtol(env, NULL, 10) : 0;
  }
  if (kill_at <= 0 || ++writes != kill_at) return;
  size_t part = (kill_at & 1) ? len / 2 : len;
  if (pwrite(fd, buf, part, at) < 0) {
    /* dying anyway */
  }
  raise(SIGKILL);
}

/* Writes all of buf at `at`; 0 or errno. */
static int res__pwrite_all(int fd, const char *buf, size_t len, off_t at) {
  res__maybe_die(fd, buf, len, at);
  while (len) {
    ssize_t n = pwrite(fd, buf, len, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    buf += n;
    len -= (size_t)n;
    at += n;
  }
  return 0;
}

/* Appends table t's rows (buf holds header + rows): the header too when
 * the file is still empty. */
static int res__append(res_folder *f, int t, const char *buf, size_t len, size_t header_len, off_t *end) {
  const char *from = buf + header_len;
  size_t n = len - header_len;
  if (f->len[t] == 0) {
    from = buf;
    n = len;
  }
  if (f->fd[t] < 0) {
    char *path = res__path(f, res__file_names[t]);
    if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
    f->fd[t] = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    int e = errno;
    free(path);
    if (f->fd[t] < 0) return sim_errorf(SIM_EIO, "cannot create %s/%s: %s", f->dir, res__file_names[t], strerror(e));
  }
  int e = res__pwrite_all(f->fd[t], from, n, f->len[t]);
  if (e) return sim_errorf(SIM_EIO, "cannot write %s/%s: %s", f->dir, res__file_names[t], strerror(e));
  *end = f->len[t] + (off_t)n;
  return 0;
}

static void res__pending_clear(res_folder *f) {
  for (size_t i = 0; i < f->npending; i++) free(f->pending_ids[i]);
  f->npending = 0;
  f->pending_len = 0;
}

/* Truncates every file back to the last commit and forgets the pending
 * runs; should a truncate fail, the next open cuts the same rows. */
static void res__rollback(res_folder *f) {
  for (int t = 0; t < RES__FILES; t++) {
    if (f->fd[t] >= 0 && f->len[t] != f->base[t] && ftruncate(f->fd[t], f->base[t]) != 0) {
    }
    f->len[t] = f->base[t];
  }
  res__pending_clear(f);
}

/* Syncs the data files, then appends the pending summary rows: from here
 * on their runs exist. */
static int res__commit(res_folder *f) {
  if (!f->npending) return 0;
  int rc = 0;
  for (int t = RES__ROUNDS; t < RES__FILES && !rc; t++)
    if (f->sync && f->fd[t] >= 0 && f->len[t] != f->base[t] && fdatasync(f->fd[t]) != 0)
      rc = sim_errorf(SIM_EIO, "cannot write %s/%s: %s", f->dir, res__file_names[t], strerror(errno));
  off_t end = 0;
  if (!rc) rc = res__append(f, RES__SUMMARY, f->pending, f->pending_len, 0, &end);
  if (rc) {
    res__rollback(f);
    return rc;
  }
  f->len[RES__SUMMARY] = end;
  for (size_t i = 0; i < f->npending && !rc; i++) {
    rc = res__idset_put(&f->ids, f->pending_ids[i]);
    f->pending_ids[i] = NULL;
  }
  f->npending = 0;
  f->pending_len = 0;
  for (int t = 0; t < RES__FILES; t++) f->base[t] = f->len[t];
  clock_gettime(CLOCK_MONOTONIC, &f->last_commit);
  return rc;
}

static int res__pending_has(const res_folder *f, const char *run_id) {
  for (size_t i = 0; i < f->npending; i++)
    if (!strcmp(f->pending_ids[i], run_id)) return 1;
  return 0;
}

/* The deferred replacement (replace_due): migsim's outputs removed, a new
 * manifest, empty tables. */
static int res__replace_now(res_folder *f) {
  size_t outputs = 0;
  int rc = res__outputs(f, 1, &outputs);
  if (!rc) rc = res__write_manifest(f, NULL, f->command, f->grid);
  for (int t = 0; t < RES__FILES && !rc; t++) rc = res__scan(f, t);
  for (int t = 0; t < RES__FILES; t++) f->base[t] = f->len[t];
  if (!rc) f->replace_due = 0;
  return rc;
}

int res_folder_replace(res_folder *f) { return f->replace_due ? res__replace_now(f) : 0; }

int res_folder_write(res_folder *f, const char *run_id, const mdl_scenario *s, const mdl_result *r) {
  if (f->replace_due) {
    int rc = res__replace_now(f);
    if (rc) return rc;
  }
  if (strlen(run_id) >= RES_RUN_ID_MAX)
    return sim_errorf(SIM_EINVAL, "run id '%.40s...' is longer than %d characters", run_id, RES_RUN_ID_MAX - 1);
  if (res_folder_has_run(f, run_id))
    return sim_errorf(SIM_EINVAL, "run '%.100s' is already in %s/summary.csv (give another --name, or --force)",
                      run_id, f->dir);
  char *buf[RES__FILES] = {0};
  size_t len[RES__FILES] = {0}, hlen[RES__FILES] = {0};
  int rc = 0;
  for (int t = 0; t < RES__FILES && !rc; t++) {
    if ((t == RES__ROUNDS && !r->round_count) || (t == RES__TIMELINE && !r->sample_count)) continue;
    rc = res__render(t, run_id, s, r, &buf[t], &len[t], &hlen[t]);
  }
  /* Rounds and timeline rows go to their files now; the summary row, which
   * commits the run, waits for the next commit. */
  for (int t = RES__ROUNDS; t < RES__FILES && !rc; t++) {
    off_t end;
    if (buf[t] && !(rc = res__append(f, t, buf[t], len[t], hlen[t], &end))) f->len[t] = end;
  }
  if (!rc) {
    /* The summary header goes with the first row of an empty file. */
    const char *row = f->len[RES__SUMMARY] == 0 && f->pending_len == 0 ? buf[RES__SUMMARY]
                                                                        : buf[RES__SUMMARY] + hlen[RES__SUMMARY];
    size_t n = (size_t)(buf[RES__SUMMARY] + len[RES__SUMMARY] - row);
    char *g = sim_grow(f->pending, &f->pending_cap, f->pending_len + n, 1);
    char **gi = sim_grow(f->pending_ids, &f->pending_ids_cap, f->npending + 1, sizeof *gi);
    char *id = strdup(run_id);
    if (g) f->pending = g;
    if (gi) f->pending_ids = gi;
    if (!g || !gi || !id) {
      free(id);
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
    } else {
      memcpy(f->pending + f->pending_len, row, n);
      f->pending_len += n;
      f->pending_ids[f->npending++] = id;
    }
  }
  for (int t = 0; t < RES__FILES; t++) free(buf[t]);
  if (rc) {
    res__rollback(f);
    return rc;
  }
  /* Without fsync a commit costs one write: every run commits at once.
   * With it, runs are committed in groups, at most a second apart. */
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long since = (long long)(now.tv_sec - f->last_commit.tv_sec) * 1000000000ll +
                    (now.tv_nsec - f->last_commit.tv_nsec);
  if (!f->sync || since >= RES__COMMIT_NS) rc = res__commit(f);
  return rc;
}

int res_folder_close(res_folder *f) {
  if (!f) return 0;
  int rc = res__commit(f);
  for (int t = 0; t < RES__FILES; t++)
    if (f->fd[t] >= 0 && f->sync && fdatasync(f->fd[t]) != 0 && !rc)
      rc = sim_errorf(SIM_EIO, "cannot write %s/%s: %s", f->dir, res__file_names[t], strerror(errno));
  res__folder_free(f);
  return rc;
}

int res_write_run(const char *dir, const char *run_id, const mdl_scenario *s, const mdl_result *r) {
  res_folder *f;
  int rc = res_folder_open(dir, "write", 0, RES_FOLDER_APPEND, &f);
  if (rc) return rc;
  rc = res_folder_write(f, run_id, s, r);
  int crc = res_folder_close(f);
  return rc ? rc : crc;
}

/* -------------------------------------------------------------- rows */

/* One cell per schema entry: empty when the value does not exist. */
#define RES__PUT_TEXT res_csv_str
#define RES__PUT_U64 res_csv_u64
#define RES__PUT_DOUBLE res_csv_double
#define RES__CELL(col, type, present, get, ...) \
  if (present)                                 \
    RES__PUT_##type(c, get);                   \
  else                                         \
    res_csv_empty(c);

static void res__summary_row(res_csv *c, const char *run_id, const mdl_scenario *s, const mdl_result *r) {
  MDL_SUMMARY_COLUMNS(RES__CELL)
}

static void res__round_row(res_csv *c, const char *run_id, const mdl_scenario *s, const mdl_result *r,
                           const mdl_round *d) {
  MDL_ROUND_COLUMNS(RES__CELL)
}

static void res__timeline_row(res_csv *c, const char *run_id, const mdl_scenario *s, const mdl_result *r,
                              const mdl_sample *m) {
  MDL_TIMELINE_COLUMNS(RES__CELL)
}
#undef RES__CELL

static int res__render(int table, const char *run_id, const mdl_scenario *s, const mdl_result *r, char **buf,
                       size_t *len, size_t *header_len) {
  *buf = NULL;
  *len = 0;
  FILE *mem = open_memstream(buf, len);
  if (!mem) return sim_errorf(SIM_ENOMEM, "out of memory");
  res_csv *c;
  int rc = res_csv_stream(mem, res__cols[table], res__ncols[table], &c);
  if (rc) {
    fclose(mem);
    free(*buf);
    *buf = NULL;
    return rc;
  }
  fflush(mem);
  *header_len = *len;
  if (s && r && table == RES__SUMMARY) {
    res__summary_row(c, run_id, s, r);
    rc = res_csv_end_row(c);
  }
  for (size_t i = 0; s && r && table == RES__ROUNDS && i < r->round_count && !rc; i++) {
    res__round_row(c, run_id, s, r, &r->rounds[i]);
    rc = res_csv_end_row(c);
  }
  for (size_t i = 0; s && r && table == RES__TIMELINE && i < r->sample_count && !rc; i++) {
    res__timeline_row(c, run_id, s, r, &r->samples[i]);
    rc = res_csv_end_row(c);
  }
  int crc = res_csv_commit(c);
  if (!rc) rc = crc;
  if (fclose(mem) != 0 && !rc) rc = sim_errorf(SIM_ENOMEM, "out of memory");
  if (rc) {
    free(*buf);
    *buf = NULL;
  }
  return rc;
}

void res_print_header(FILE *out, int name_width) {
  fprintf(out, "%-*s %-9s %-13s %10s %9s %11s %6s %8s %9s\n", name_width, "scenario", "algo", "status",
          "total_ms", "down_ms", "MiB_sent", "syncs", "requests", "stall_ms");
}

void res_print_row(FILE *out, int name_width, const mdl_scenario *s, const mdl_result *r) {
  /* No downtime without a completion: "-", as the CSV leaves it empty. */
  char down[32] = "-";
  if (r->status == MDL_STATUS_COMPLETED) snprintf(down, sizeof down, "%.2f", r->downtime_ms);
  char variant[128]; /* precopy+xbzrle: the algorithm and its features */
  /* A longer name widens its own line rather than being cut: two names that
   * differ only at the end (profile:algo@link) must stay distinguishable. */
  fprintf(out, "%-*s %-9s %-13s %10.1f %9s %11.1f %6llu %8llu %9.1f\n", name_width, s->name,
          mdl_variant_name(s, variant, sizeof variant),
          mdl_status_name(r->status), r->total_time_ms, down, (double)r->transferred_bytes / 1048576.0,
          (unsigned long long)r->dirty_sync_count, (unsigned long long)r->postcopy_requests, r->guest_stall_ms);
}
