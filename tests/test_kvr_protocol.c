/* test_kvr_protocol: kvmreplay's QMP client, console reader and process
 * table against misbehaving peers. The peers are small socket servers in
 * this test speaking the wire protocol (a QMP greeting and replies, a
 * serial console), not a model of a migration: an error reply without an
 * id, a console flood, a stall; and real child processes for the process
 * table and the parent-death signal. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvr_internal.h"
#include "sim_err.h"
#include "test_util.h"

typedef enum { PEER_IDLESS_ERROR, PEER_STALL, PEER_FLOOD, PEER_PAIR } peer_mode;

typedef struct {
  char path[100]; /* sun_path holds 108 */
  int listen_fd;
  peer_mode mode;
  atomic_int stop; /* set by the test, read by the peer thread */
  char caps[256];  /* PEER_PAIR: the client's qmp_capabilities line */
  char pair[2][256]; /* PEER_PAIR: the two lines read before any answer */
} peer;

static int peer_listen(peer *p, const char *name, peer_mode mode) {
  memset(p, 0, sizeof *p);
  snprintf(p->path, sizeof p->path, "%.60s/%.30s.sock", tmpdir, name);
  p->mode = mode;
  p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", p->path);
  unlink(p->path);
  if (bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->listen_fd, 1) != 0) return -1;
  return 0;
}

/* Reads one line (the client's command) or returns -1 at EOF. */
static int read_line(int fd, char *buf, size_t len) {
  size_t n = 0;
  while (n + 1 < len) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r <= 0) return -1;
    if (c == '\n') break;
    buf[n++] = c;
  }
  buf[n] = '\0';
  return (int)n;
}

static void send_text(int fd, const char *text) {
  size_t n = strlen(text);
  while (n) {
    ssize_t w = send(fd, text, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    text += w;
    n -= (size_t)w;
  }
}

static void *peer_main(void *arg) {
  peer *p = arg;
  int fd = accept(p->listen_fd, NULL, NULL);
  if (fd < 0) return NULL;
  char line[4096];
  if (p->mode == PEER_FLOOD) {
    /* A guest that never stops printing, with a real report now and then. */
    static const char junk[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
    while (!p->stop) {
      for (int i = 0; i < 100 && !p->stop; i++) send_text(fd, junk);
      send_text(fd, "KVR P t_ms=5 done=7 writes=9\n");
    }
    close(fd);
    return NULL;
  }
  if (p->mode == PEER_PAIR) {
    /* Offers "oob", then reads two commands before answering either: a
     * client that waits for the first answer never sends the second. */
    send_text(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\n");
    if (read_line(fd, p->caps, sizeof p->caps) >= 0) send_text(fd, "{\"return\": {}, \"id\": 1}\n");
    if (read_line(fd, p->pair[0], sizeof p->pair[0]) >= 0 && read_line(fd, p->pair[1], sizeof p->pair[1]) >= 0) {
      send_text(fd, "{\"return\": {}, \"id\": 2}\n");
      send_text(fd, "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}\n");
      send_text(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Postcopy is off\"}, \"id\": 3}\n");
    }
    if (read_line(fd, line, sizeof line) >= 0) send_text(fd, "{\"return\": {\"n\": 4}, \"id\": 4}\n");
    while (!p->stop && read_line(fd, line, sizeof line) >= 0) {
    }
    close(fd);
    return NULL;
  }
  send_text(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n");
  if (read_line(fd, line, sizeof line) >= 0) send_text(fd, "{\"return\": {}, \"id\": 1}\n");
  if (read_line(fd, line, sizeof line) >= 0) {
    /* An event first: it must be skipped, not taken for the answer. */
    send_text(fd, "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n");
    if (p->mode == PEER_IDLESS_ERROR)
      send_text(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword\"}}\n");
  }
  while (!p->stop && read_line(fd, line, sizeof line) >= 0) {
  }
  close(fd);
  return NULL;
}

/* Starts a QMP peer in `mode` and connects a client to it. */
static kvr_qmp *peer_connect(peer *p, const char *name, peer_mode mode, pthread_t *t) {
  assert_int_equal(peer_listen(p, name, mode), 0);
  pthread_create(t, NULL, peer_main, p);
  kvr_qmp *q = NULL;
  assert_int_equal(kvr__qmp_connect(p->path, getpid(), 5000000000ull, "source", &q), 0);
  return q;
}

/* Closes the client (the peer sees EOF) and waits for the peer. */
static void peer_done(peer *p, pthread_t t, kvr_qmp *q) {
  kvr__qmp_close(q);
  p->stop = 1;
  pthread_join(t, NULL);
  close(p->listen_fd);
}

static void test_qmp_idless_error(void **state) {
  (void)state;
  peer p;
  pthread_t t;
  kvr_qmp *q = peer_connect(&p, "qmp-err", PEER_IDLESS_ERROR, &t);
  uint64_t t0 = kvr__now_ns();
  int rc = kvr__qmp_exec(q, "query-status", NULL, 30000000000ull, NULL);
  uint64_t took = kvr__now_ns() - t0;
  assert_int_equal(rc, SIM_ECHILD);
  assert_non_null(strstr(sim_error_message(), "JSON parse error"));
  assert_non_null(strstr(sim_error_message(), "without id"));
  assert_true(took < 2000000000ull); /* at once, not after the 30 s timeout */
  assert_int_equal(kvr__qmp_event_count(q), 1);
  peer_done(&p, t, q);
}

static void test_qmp_stall(void **state) {
  (void)state;
  peer p;
  pthread_t t;
  kvr_qmp *q = peer_connect(&p, "qmp-stall", PEER_STALL, &t);
  uint64_t t0 = kvr__now_ns();
  assert_int_equal(kvr__qmp_exec(q, "query-status", NULL, 300000000ull, NULL), SIM_ETIMEOUT);
  uint64_t took = kvr__now_ns() - t0;
  assert_true(took >= 300000000ull && took < 3000000000ull);
  assert_non_null(strstr(sim_error_message(), "query-status"));
  peer_done(&p, t, q);
}

/* kvmreplay asks for post-copy in the same write as `migrate`
 * (kvr__qmp_exec_pair): both commands must reach QEMU before either is
 * answered, with "oob" enabled when offered (else QEMU reads the second
 * only after answering the first); the second's error is reported and
 * both answers are taken off the socket. */
static void test_qmp_pair(void **state) {
  (void)state;
  peer p;
  pthread_t t;
  kvr_qmp *q = peer_connect(&p, "qmp-pair", PEER_PAIR, &t);
  assert_non_null(strstr(p.caps, "\"enable\":[\"oob\"]"));
  json_t *args = json_pack("{s:s}", "uri", "tcp:127.0.0.1:1");
  int rc = kvr__qmp_exec_pair(q, "migrate", args, "migrate-start-postcopy", NULL, 2000000000ull);
  json_decref(args);
  assert_int_equal(rc, SIM_ECHILD);
  assert_non_null(strstr(sim_error_message(), "migrate-start-postcopy: Postcopy is off"));
  assert_non_null(strstr(p.pair[0], "\"migrate\""));
  assert_non_null(strstr(p.pair[0], "tcp:127.0.0.1:1"));
  assert_non_null(strstr(p.pair[1], "\"migrate-start-postcopy\""));
  assert_int_equal(kvr__qmp_event_count(q), 1);
  /* The next command gets its own answer, not a leftover. */
  json_t *ret = NULL;
  assert_int_equal(kvr__qmp_exec(q, "query-status", NULL, 2000000000ull, &ret), 0);
  assert_int_equal(json_integer_value(json_object_get(ret, "n")), 4);
  json_decref(ret);
  peer_done(&p, t, q);
}

static void test_console_flood(void **state) {
  (void)state;
  peer p;
  assert_int_equal(peer_listen(&p, "console", PEER_FLOOD), 0);
  pthread_t t;
  pthread_create(&t, NULL, peer_main, &p);
  char capture[300];
  snprintf(capture, sizeof capture, "%s/console.log", tmpdir);
  kvr_console *c = NULL;
  assert_int_equal(kvr__console_connect(p.path, getpid(), 5000000000ull, capture, &c), 0);
  usleep(100000);
  /* Each drain returns although the guest keeps printing. */
  for (int i = 0; i < 50; i++) {
    uint64_t t0 = kvr__now_ns();
    assert_int_equal(kvr__console_drain(c), 0);
    assert_true(kvr__now_ns() - t0 < 500000000ull);
  }
  assert_true(kvr__console_state(c)->reports > 0);
  assert_int_equal(kvr__console_state(c)->writes, 9);
  p.stop = 1;
  kvr__console_close(c);
  pthread_join(t, NULL);
  close(p.listen_fd);
}

static void *spawn_from_thread(void *arg) {
  char *const argv[] = {"/bin/sleep", "30", NULL};
  char log[300];
  snprintf(log, sizeof log, "%s/sleep.log", tmpdir);
  if (kvr__spawn(argv, log, 0, (pid_t *)arg) != 0) *(pid_t *)arg = -1;
  return NULL; /* the thread ends; its child must live on */
}

static void test_processes(void **state) {
  (void)state;
  /* Parent death is the process's, not the spawning thread's. */
  pid_t child = -1;
  pthread_t t;
  pthread_create(&t, NULL, spawn_from_thread, &child);
  pthread_join(t, NULL);
  assert_true(child > 0);
  usleep(200000);
  int status;
  assert_int_equal(kvr__child_exited(child, &status), 0); /* still running */
  assert_int_equal(kvr__kill_and_reap(child, 5000000000ull), 0);
  /* The group table: full is refused with a message, not overrun. */
  enum { MAX = 64 };
  pid_t kids[MAX + 1];
  char *const argv[] = {"/bin/sleep", "30", NULL};
  char log[300];
  snprintf(log, sizeof log, "%s/many.log", tmpdir);
  int started = 0, refused = 0;
  for (int i = 0; i < MAX + 1; i++) {
    if (kvr__spawn(argv, log, 0, &kids[i]) == 0) {
      started++;
    } else {
      refused++;
      assert_non_null(strstr(sim_error_message(), "process groups"));
      kids[i] = -1;
    }
  }
  assert_int_equal(started, MAX);
  assert_int_equal(refused, 1);
  for (int i = 0; i < MAX + 1; i++)
    if (kids[i] > 0) assert_int_equal(kvr__kill_and_reap(kids[i], 5000000000ull), 0);
  /* Slots are free again. */
  assert_int_equal(kvr__spawn(argv, log, 0, &kids[0]), 0);
  assert_int_equal(kvr__kill_and_reap(kids[0], 5000000000ull), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qmp_idless_error),
      cmocka_unit_test(test_qmp_stall),
      cmocka_unit_test(test_qmp_pair),
      cmocka_unit_test(test_console_flood),
      cmocka_unit_test(test_processes),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
