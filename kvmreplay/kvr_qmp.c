/* kvr_qmp: a minimal QMP client (QEMU Machine Protocol) over a unix socket.
 *
 * QMP is one JSON object per line: a greeting {"QMP": ...}, then answers
 * {"return": ...} / {"error": {"class", "desc"}} carrying the "id" we sent,
 * interleaved with asynchronous {"event": ...} objects, which are counted
 * and otherwise skipped. JSON is parsed and built with jansson only.
 * Reads wait with poll() against a deadline and give up early when the
 * signal guard saw a signal. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

struct kvr_qmp {
  int fd;
  char name[16];
  char *buf;
  size_t len, cap;
  uint64_t next_id;
  uint64_t events;
  char last_event[64];
};

int kvr__unix_connect(const char *path, pid_t pid, uint64_t timeout_ns, const char *what,
                      int *fd_out) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path)
    return sim_errorf(SIM_ERANGE, "socket path too long (%zu bytes): %s", strlen(path), path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  uint64_t deadline = kvr__now_ns() + timeout_ns;
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sim_errorf(SIM_EIO, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      *fd_out = fd;
      return 0;
    }
    int e = errno;
    close(fd);
    if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR)
      return sim_errorf(SIM_EIO, "cannot connect to %s at %s: %s", what, path, strerror(e));
    int st;
    if (kvr__child_exited(pid, &st)) {
      char how[96];
      kvr__describe_status(st, how, sizeof how);
      return sim_errorf(SIM_ECHILD, "QEMU %s before its %s socket appeared", how, what);
    }
    if (kvr__guard_signal()) return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
    if (kvr__now_ns() >= deadline)
      return sim_errorf(SIM_ETIMEOUT, "%s socket %s did not appear within %.0f s", what, path,
                        (double)timeout_ns / 1e9);
    usleep(5000);
  }
}

/* Reads until a complete line is buffered; returns its length (without the
 * newline) in *line_len. */
static int kvr_qmp_fill_line(kvr_qmp *q, uint64_t deadline, size_t *line_len) {
  for (;;) {
    char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
    if (nl) {
      *line_len = (size_t)(nl - q->buf);
      return 0;
    }
    if (kvr__guard_signal())
      return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
    uint64_t now = kvr__now_ns();
    if (now >= deadline) return sim_errorf(SIM_ETIMEOUT, "%s QMP: no answer in time", q->name);
    uint64_t wait_ms = (deadline - now) / 1000000u + 1;
    struct pollfd pfd = {q->fd, POLLIN, 0};
    int pr = poll(&pfd, 1, wait_ms > 1000 ? 1000 : (int)wait_ms);
    if (pr < 0 && errno != EINTR) return sim_errorf(SIM_EIO, "%s QMP: poll: %s", q->name, strerror(errno));
    if (pr <= 0) continue;
    if (q->cap - q->len < 4096) {
      size_t cap = q->cap ? q->cap * 2 : 16384;
      if (cap > (64u << 20)) return sim_errorf(SIM_EFORMAT, "%s QMP: line longer than 64 MiB", q->name);
      char *g = realloc(q->buf, cap);
      if (!g) return sim_errorf(SIM_ENOMEM, "out of memory reading QMP");
      q->buf = g;
      q->cap = cap;
    }
    ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return sim_errorf(SIM_EIO, "%s QMP: read: %s", q->name, strerror(errno));
    if (n == 0) return sim_errorf(SIM_EIO, "%s QMP connection closed (QEMU exited?)", q->name);
    q->len += (size_t)n;
  }
}

/* Reads one JSON message. */
static int kvr_qmp_read(kvr_qmp *q, uint64_t deadline, json_t **msg) {
  size_t line_len = 0;
  int rc = kvr_qmp_fill_line(q, deadline, &line_len);
  if (rc) return rc;
  json_error_t jerr;
  json_t *j = json_loadb(q->buf, line_len, 0, &jerr);
  memmove(q->buf, q->buf + line_len + 1, q->len - line_len - 1);
  q->len -= line_len + 1;
  if (!j || !json_is_object(j)) {
    json_decref(j);
    return sim_errorf(SIM_EFORMAT, "%s QMP: malformed message: %s", q->name, jerr.text);
  }
  *msg = j;
  return 0;
}

/* Writes `text` whole. */
static int kvr_qmp_write(kvr_qmp *q, const char *text) {
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = send(q->fd, text + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sim_errorf(SIM_EIO, "%s QMP: send: %s", q->name, strerror(errno));
    off += (size_t)n;
  }
  return 0;
}

/* Builds one command line (JSON + newline, malloc'd); *id_out receives the
 * id its answer will carry. */
static char *kvr_qmp_line(kvr_qmp *q, const char *cmd, json_t *args, uint64_t *id_out) {
  uint64_t id = ++q->next_id;
  json_t *msg = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
  if (!msg) return NULL;
  if (args) json_object_set(msg, "arguments", args);
  char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  char *line = text ? malloc(strlen(text) + 2) : NULL;
  if (line) sprintf(line, "%s\n", text);
  free(text);
  *id_out = id;
  return line;
}

/* Waits for the answer carrying `id` (to `cmd`). */
static int kvr_qmp_await(kvr_qmp *q, uint64_t id, const char *cmd, uint64_t timeout_ns, json_t **ret) {
  uint64_t deadline = kvr__now_ns() + timeout_ns;
  for (;;) {
    json_t *m = NULL;
    int rc = kvr_qmp_read(q, deadline, &m);
    if (rc) {
      if (rc == SIM_ETIMEOUT)
        return sim_errorf(rc, "%s QMP: no answer to %s within %.1f s", q->name, cmd,
                          (double)timeout_ns / 1e9);
      return rc;
    }
    json_t *ev = json_object_get(m, "event");
    if (ev) {
      q->events++;
      snprintf(q->last_event, sizeof q->last_event, "%s", json_is_string(ev) ? json_string_value(ev) : "?");
      json_decref(m);
      continue;
    }
    json_t *mid = json_object_get(m, "id");
    json_t *err = json_object_get(m, "error");
    if (!mid && err) {
      /* QEMU answers a command it could not parse (bad JSON, a missing
       * "execute") with an error that carries no id: QEMU answers in
       * order, so it is the answer to the oldest command in flight, the
       * one awaited, now rather than at the timeout. */
      const char *desc = json_string_value(json_object_get(err, "desc"));
      rc = sim_errorf(SIM_ECHILD, "%s QMP %s: %s (error without id)", q->name, cmd, desc ? desc : "error");
      json_decref(m);
      return rc;
    }
    if (!json_is_integer(mid) || (uint64_t)json_integer_value(mid) != id) {
      json_decref(m); /* an answer to an earlier, timed-out command */
      continue;
    }
    if (err) {
      const char *desc = json_string_value(json_object_get(err, "desc"));
      rc = sim_errorf(SIM_ECHILD, "%s QMP %s: %s", q->name, cmd, desc ? desc : "error");
      json_decref(m);
      return rc;
    }
    json_t *r = json_object_get(m, "return");
    if (ret && r) *ret = json_incref(r);
    json_decref(m);
    return 0;
  }
}

int kvr__qmp_exec(kvr_qmp *q, const char *cmd, json_t *args, uint64_t timeout_ns,
                  json_t **ret) {
  if (ret) *ret = NULL;
  uint64_t id;
  char *line = kvr_qmp_line(q, cmd, args, &id);
  if (!line) return sim_errorf(SIM_ENOMEM, "out of memory building a QMP command");
  int rc = kvr_qmp_write(q, line);
  free(line);
  return rc ? rc : kvr_qmp_await(q, id, cmd, timeout_ns, ret);
}

int kvr__qmp_exec_pair(kvr_qmp *q, const char *cmd1, json_t *args1, const char *cmd2, json_t *args2,
                       uint64_t timeout_ns) {
  uint64_t id1, id2;
  char *l1 = kvr_qmp_line(q, cmd1, args1, &id1), *l2 = kvr_qmp_line(q, cmd2, args2, &id2);
  char *both = l1 && l2 ? malloc(strlen(l1) + strlen(l2) + 1) : NULL;
  if (both) sprintf(both, "%s%s", l1, l2);
  free(l1);
  free(l2);
  if (!both) return sim_errorf(SIM_ENOMEM, "out of memory building a QMP command");
  int rc = kvr_qmp_write(q, both);
  free(both);
  if (rc) return rc;
  rc = kvr_qmp_await(q, id1, cmd1, timeout_ns, NULL);
  /* The second answer is read even after a first error, so that it is
   * not left in the socket for a later command. */
  int rc2 = rc == SIM_ECHILD || rc == 0 ? kvr_qmp_await(q, id2, cmd2, timeout_ns, NULL) : 0;
  return rc ? rc : rc2;
}

int kvr__qmp_attach(int fd, uint64_t timeout_ns, const char *name, kvr_qmp **out) {
  *out = NULL;
  kvr_qmp *q = calloc(1, sizeof *q);
  if (!q) {
    close(fd);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  q->fd = fd;
  snprintf(q->name, sizeof q->name, "%s", name);
  json_t *greeting = NULL;
  int rc = kvr_qmp_read(q, kvr__now_ns() + timeout_ns, &greeting);
  if (rc) goto fail;
  if (!json_object_get(greeting, "QMP")) {
    rc = sim_errorf(SIM_EFORMAT, "%s: not a QMP peer (no greeting)", name);
    goto fail;
  }
  /* With "oob" enabled QEMU keeps reading commands while one runs (without
   * it, it reads the next only after answering), so a pair sent in one
   * write is queued at once (kvr__qmp_exec_pair). Only asked for when
   * offered; commands are still run one after another, in order. */
  json_t *offered = json_object_get(json_object_get(greeting, "QMP"), "capabilities");
  json_t *args = NULL;
  for (size_t i = 0; json_is_array(offered) && i < json_array_size(offered); i++) {
    const char *cap = json_string_value(json_array_get(offered, i));
    if (cap && !strcmp(cap, "oob")) {
      args = json_pack("{s:[s]}", "enable", "oob");
      break;
    }
  }
  rc = kvr__qmp_exec(q, "qmp_capabilities", args, timeout_ns, NULL);
  json_decref(args);
  if (rc) goto fail;
  json_decref(greeting);
  *out = q;
  return 0;
fail:
  json_decref(greeting);
  kvr__qmp_close(q);
  return rc;
}

int kvr__qmp_connect(const char *path, pid_t pid, uint64_t timeout_ns, const char *name,
                     kvr_qmp **out) {
  *out = NULL;
  int fd = -1;
  int rc = kvr__unix_connect(path, pid, timeout_ns, "QMP", &fd);
  if (rc) return rc;
  if ((rc = kvr__qmp_attach(fd, timeout_ns, name, out)) == SIM_EFORMAT)
    rc = sim_errorf(rc, "%s (socket %s)", sim_error_message(), path);
  return rc;
}

uint64_t kvr__qmp_event_count(const kvr_qmp *q) { return q ? q->events : 0; }
const char *kvr__qmp_last_event(const kvr_qmp *q) { return q ? q->last_event : ""; }

void kvr__qmp_close(kvr_qmp *q) {
  if (!q) return;
  if (q->fd >= 0) close(q->fd);
  free(q->buf);
  free(q);
}
