/* kvr_console: the replay guest's serial console (COM1 on a unix socket).
 *
 * The guest prints lines starting with "KVR " (kvr_abi.h): BOOT, READY
 * with its memory layout, GO, periodic P(rogress) lines with cumulative
 * counters, and ERR. Everything received is also appended to a capture file
 * in the run directory. Reads never block: the harness drains the console
 * between polls so that the guest's UART never backs up. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

#define KVR_CONSOLE_DRAIN_MAX (256u << 10)     /* bytes read per drain call */
#define KVR_CONSOLE_CAPTURE_MAX (16ull << 20)  /* bytes kept in the capture */

struct kvr_console {
  int fd;
  FILE *capture;
  uint64_t captured; /* bytes written to the capture */
  char line[512];
  size_t len;
  kvr_guest_state st;
};

int kvr__console_attach(int fd, kvr_console **out) {
  *out = NULL;
  kvr_console *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  c->fd = fd;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int rc = sim_errorf(SIM_EIO, "fcntl: %s", strerror(errno));
    kvr__console_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

int kvr__console_connect(const char *path, pid_t pid, uint64_t timeout_ns,
                         const char *capture_path, kvr_console **out) {
  *out = NULL;
  int fd = -1;
  int rc = kvr__unix_connect(path, pid, timeout_ns, "serial console", &fd);
  if (!rc) rc = kvr__console_attach(fd, out);
  if (!rc && capture_path && !((*out)->capture = fopen(capture_path, "w"))) {
    rc = sim_errorf(SIM_EIO, "cannot create %s: %s", capture_path, strerror(errno));
    kvr__console_close(*out);
    *out = NULL;
  }
  return rc;
}

/* Value of " key=" in line as an unsigned number (decimal or 0x hex). */
static int kvr_field(const char *line, const char *key, uint64_t *v) {
  size_t klen = strlen(key);
  for (const char *p = strstr(line, key); p; p = strstr(p + 1, key)) {
    if (p[klen] != '=' || (p != line && p[-1] != ' ')) continue;
    *v = strtoull(p + klen + 1, NULL, 0);
    return 1;
  }
  return 0;
}

static void kvr_console_line(kvr_console *c, const char *line) {
  kvr_guest_state *st = &c->st;
  uint64_t v;
  if (strncmp(line, "KVR ", 4) != 0) return;
  const char *msg = line + 4;
  if (strncmp(msg, "BOOT", 4) == 0) {
    st->booted = 1;
  } else if (strncmp(msg, "READY", 5) == 0) {
    st->ready = 1;
    if (kvr_field(msg, "base_page", &v)) st->base_page = (uint32_t)v;
    if (kvr_field(msg, "pages", &v)) st->pages = v;
    if (kvr_field(msg, "status", &v)) st->status_addr = (uint32_t)v;
    if (kvr_field(msg, "tsc_hz", &v)) st->tsc_hz = v;
    if (kvr_field(msg, "fill_ms", &v)) st->fill_ms = v;
  } else if (strncmp(msg, "GO", 2) == 0) {
    st->going = 1;
  } else if (msg[0] == 'P' && msg[1] == ' ') {
    st->reports++;
    kvr_field(msg, "t_ms", &st->t_ms);
    kvr_field(msg, "done", &st->done);
    kvr_field(msg, "writes", &st->writes);
    kvr_field(msg, "reads", &st->reads);
    kvr_field(msg, "late", &st->late);
    kvr_field(msg, "maxlag_us", &st->maxlag_us);
    kvr_field(msg, "stall_us", &st->stall_us);
    kvr_field(msg, "loops", &st->loops);
  } else if (strncmp(msg, "ERR", 3) == 0) {
    snprintf(st->error, sizeof st->error, "%s", msg[3] == ' ' ? msg + 4 : msg + 3);
  }
}

int kvr__console_drain(kvr_console *c) {
  if (c->fd < 0) return sim_errorf(SIM_EIO, "serial console closed");
  char buf[4096];
  /* Bounded work per call: a guest flooding its console cannot keep the
   * harness in here; the rest is read at the next poll. */
  for (size_t taken = 0; taken < KVR_CONSOLE_DRAIN_MAX; taken += sizeof buf) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) {
      close(c->fd);
      c->fd = -1;
      return sim_errorf(SIM_EIO, "serial console closed");
    }
    /* The capture keeps the first KVR_CONSOLE_CAPTURE_MAX bytes. */
    if (c->capture && c->captured < KVR_CONSOLE_CAPTURE_MAX) {
      size_t keep = (size_t)n;
      if (keep > KVR_CONSOLE_CAPTURE_MAX - c->captured) keep = (size_t)(KVR_CONSOLE_CAPTURE_MAX - c->captured);
      fwrite(buf, 1, keep, c->capture);
      c->captured += keep;
      if (c->captured == KVR_CONSOLE_CAPTURE_MAX) fputs("\n[capture cut: console flood]\n", c->capture);
    }
    for (ssize_t i = 0; i < n; i++) {
      char ch = buf[i];
      if (ch == '\r') continue;
      if (ch == '\n') {
        c->line[c->len] = '\0';
        kvr_console_line(c, c->line);
        c->len = 0;
      } else if (c->len + 1 < sizeof c->line) {
        c->line[c->len++] = ch;
      }
    }
  }
  return 0;
}

int kvr__console_send(kvr_console *c, char byte) {
  if (c->fd < 0) return sim_errorf(SIM_EIO, "serial console closed");
  for (;;) {
    ssize_t n = send(c->fd, &byte, 1, MSG_NOSIGNAL);
    if (n == 1) return 0;
    if (n < 0 && errno == EINTR) continue;
    return sim_errorf(SIM_EIO, "serial console: send: %s", strerror(errno));
  }
}

int kvr__console_fd(const kvr_console *c) { return c ? c->fd : -1; }

const kvr_guest_state *kvr__console_state(const kvr_console *c) { return &c->st; }

void kvr__console_close(kvr_console *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  if (c->capture) fclose(c->capture);
  free(c);
}
