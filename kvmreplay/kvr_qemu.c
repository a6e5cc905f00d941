/* kvr_qemu: which QEMU binary a replay runs, and its firmware directories.
 *
 * `--qemu` (or the scenario key `qemu`) takes a path, a program name looked
 * up in PATH, or a short version name from the table below. The short
 * names are the QEMUs that scripts/deps.sh installs: Debian 12's own 7.2
 * (in PATH) and 10.0 from bookworm-backports, unpacked into a private
 * prefix. A QEMU that lives in such a prefix (PREFIX/usr/bin/qemu-...)
 * must read its firmware and option ROMs from PREFIX/usr/share, not from
 * the system's /usr/share/qemu, which belongs to the system QEMU: those
 * directories are given to it with -L. See docs/qemu-10.0.md. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

#define KVR_QEMU_DEFAULT "qemu-system-x86_64"
#define KVR_QEMU10_PREFIX "/opt/migsim/qemu-10.0"

/* Short names. `prefix_env` moves the prefix (as for scripts/deps.sh). */
typedef struct {
  const char *name;       /* what --qemu accepts */
  const char *version;    /* what query-version must report: "major.minor." */
  const char *program;    /* in PATH when prefix is NULL, else under prefix */
  const char *prefix;     /* install prefix, or NULL */
  const char *prefix_env; /* environment variable overriding prefix */
} kvr_qemu_entry;

static const kvr_qemu_entry kvr_qemu_table[] = {
    {"7.2", "7.2.", KVR_QEMU_DEFAULT, NULL, NULL},
    {"10.0", "10.0.", "/usr/bin/" KVR_QEMU_DEFAULT, KVR_QEMU10_PREFIX, "MIGSIM_QEMU10_PREFIX"},
};

static const kvr_qemu_entry *kvr_qemu_lookup(const char *name) {
  if (!name) return NULL;
  /* "qemu-10.0" is accepted too: it is how profiles name versions. */
  if (strncmp(name, "qemu-", 5) == 0) name += 5;
  for (size_t i = 0; i < sizeof kvr_qemu_table / sizeof kvr_qemu_table[0]; i++)
    if (strcmp(kvr_qemu_table[i].name, name) == 0) return &kvr_qemu_table[i];
  return NULL;
}

const char *kvr_qemu_expected_version(const char *name) {
  const kvr_qemu_entry *e = kvr_qemu_lookup(name);
  return e ? e->version : NULL;
}

static int kvr_search_path(const char *name, char *buf, size_t len) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  const char *p = path;
  while (*p) {
    const char *colon = strchr(p, ':');
    size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
    if (dlen > 0 && dlen + strlen(name) + 2 <= len) {
      snprintf(buf, len, "%.*s/%s", (int)dlen, p, name);
      if (access(buf, X_OK) == 0) return 0;
    }
    p += dlen;
    if (*p == ':') p++;
  }
  return SIM_ENOTFOUND;
}

int kvr_find_qemu(const char *name, char *buf, size_t len) {
  if (!name || !*name) name = KVR_QEMU_DEFAULT;
  const kvr_qemu_entry *e = kvr_qemu_lookup(name);
  if (e && e->prefix) {
    const char *prefix = e->prefix_env ? getenv(e->prefix_env) : NULL;
    if (!prefix || !*prefix) prefix = e->prefix;
    if ((size_t)snprintf(buf, len, "%s%s", prefix, e->program) >= len)
      return sim_errorf(SIM_ERANGE, "QEMU %s: path too long under %s", e->name, prefix);
    if (access(buf, X_OK) != 0)
      return sim_errorf(SIM_ENOTFOUND, "QEMU %s is not installed (%s: %s): run scripts/deps.sh as root",
                        e->name, buf, strerror(errno));
    return 0;
  }
  if (e) name = e->program;
  if (!e && strspn(name, "0123456789.") == strlen(name))
    return sim_errorf(SIM_ENOTFOUND, "unknown QEMU version '%s': give 7.2, 10.0 or the binary's path", name);
  if (strchr(name, '/')) {
    if (access(name, X_OK) != 0)
      return sim_errorf(SIM_ENOTFOUND, "QEMU binary %s is not executable: %s", name, strerror(errno));
    snprintf(buf, len, "%s", name);
    return 0;
  }
  if (kvr_search_path(name, buf, len) == 0) return 0;
  return sim_errorf(SIM_ENOTFOUND,
                    "%s not found in PATH: install QEMU (Debian: apt-get install qemu-system-x86)",
                    name);
}

static int kvr_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int kvr__qemu_firmware(const char *binary, char dirs[][PATH_MAX], int max) {
  char real[PATH_MAX];
  if (!realpath(binary, real)) return 0;
  /* PREFIX/usr/bin/NAME with a non-empty PREFIX: a private install. */
  char *slash = strrchr(real, '/');
  if (!slash) return 0;
  *slash = '\0';
  size_t n = strlen(real);
  const char *tail = "/usr/bin";
  if (n <= strlen(tail) || strcmp(real + n - strlen(tail), tail) != 0) return 0;
  real[n - strlen(tail)] = '\0';
  /* SeaBIOS first (the package that QEMU depends on, unpacked beside it),
   * then QEMU's own data (option ROMs such as the multiboot loader). */
  static const char *const subdirs[] = {"/usr/share/seabios", "/usr/share/qemu"};
  int count = 0;
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0] && count < max; i++) {
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s%s", real, subdirs[i]) >= sizeof dir) continue;
    if (kvr_is_dir(dir)) snprintf(dirs[count++], PATH_MAX, "%s", dir);
  }
  return count;
}
