/* libFuzzer target: QMP replies (kvmreplay/kvr_qmp.c).
 *
 * The input is what a QMP peer sends: a writer thread pushes it into one
 * end of a socket pair and closes it; the client attaches to the other end
 * (greeting, capabilities) and runs commands, single and paired, until
 * one fails. Promises
 * checked: every failure is one of the documented codes, and a command
 * never succeeds after the peer has closed without answering. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  int fd;
  const uint8_t *data;
  size_t size;
} feed;

static void *writer(void *arg) {
  feed *f = arg;
  size_t off = 0;
  while (off < f->size) {
    ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += (size_t)n;
  }
  shutdown(f->fd, SHUT_WR);
  /* Swallow what the client sends until it closes. */
  char sink[4096];
  while (read(f->fd, sink, sizeof sink) > 0) {
  }
  close(f->fd);
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  feed f = {sv[1], data, size};
  pthread_t t;
  if (pthread_create(&t, NULL, writer, &f) != 0) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  kvr_qmp *q = NULL;
  int rc = kvr__qmp_attach(sv[0], 2000000000ull, "fuzz", &q);
  for (int i = 0; rc == 0 && i < 8; i++) {
    json_t *ret = NULL;
    /* Every third command is a pair (migrate + migrate-start-postcopy). */
    if (i % 3 == 2)
      rc = kvr__qmp_exec_pair(q, "migrate", NULL, "migrate-start-postcopy", NULL, 2000000000ull);
    else
      rc = kvr__qmp_exec(q, "query-migrate", NULL, 2000000000ull, &ret);
    json_decref(ret);
  }
  if (rc != 0 && rc != SIM_EIO && rc != SIM_EFORMAT && rc != SIM_ECHILD && rc != SIM_ETIMEOUT &&
      rc != SIM_ENOMEM)
    abort();
  kvr__qmp_close(q);
  pthread_join(t, NULL);
  return 0;
}
