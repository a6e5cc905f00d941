/* kvr_net: a real shaped link for concurrent migrations (kvr.h, "Shaped
 * link"; docs/planning.md, "Checked on a real network").
 *
 * One network namespace holds the destinations; a veth pair joins it to
 * the namespace the harness (and every source QEMU) runs in. The root end
 * carries the migration streams out, so its egress is shaped with a token
 * bucket (tbf): every migration crosses that one queue, exactly one shared
 * link (a FIFO, as on a switch port: TCP's congestion control shares it,
 * not a fair scheduler). The rate given is migration payload; tc counts whole frames, so
 * the bucket is set higher by the TCP/IP/Ethernet headers of a full frame
 * (1514 bytes on the wire per 1448 of payload at MTU 1500 with TCP
 * timestamps). An optional latency is a netem delay of the whole round
 * trip on the namespace's end (the return path: ACKs and post-copy page
 * requests), so the forward queue stays a plain FIFO.
 *
 * Everything is done with the `ip` and `tc` programs (iproute2), started
 * without a shell; set-up first removes whatever an earlier, interrupted
 * run left under the same name, and tear-down ignores what is missing, so
 * both are idempotent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

/* Wire bytes per payload byte of a full TCP segment (see above). */
#define KVR_NET_FRAME_RATIO (1514.0 / 1448.0)

/* 1 when `prog` is an executable in PATH or in /sbin, /usr/sbin (where
 * Debian puts iproute2, often outside a user's PATH). Writes the path. */
static int kvr_net_find(const char *prog, char *buf, size_t len) {
  const char *path = getenv("PATH");
  char dirs[4096];
  snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
  for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    if (!*d) continue;
    snprintf(buf, len, "%s/%s", d, prog);
    if (access(buf, X_OK) == 0) return 1;
  }
  return 0;
}

/* 1 when the effective capability set holds bit `cap` (or cannot be
 * read: then the commands themselves will say). */
static int kvr_net_has_cap(unsigned cap) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 1;
  char line[256];
  unsigned long long eff = ~0ull;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &eff) == 1) break;
  fclose(f);
  return (eff >> cap) & 1;
}

int kvr_net_check(void) {
  char buf[PATH_MAX];
  if (geteuid() != 0)
    return sim_errorf(SIM_EUNSUPPORTED, "a shaped link needs root (network namespaces, veth, tc); "
                                        "run as root");
  /* Root in an unprivileged container: namespaces and tc are refused. */
  if (!kvr_net_has_cap(12) || !kvr_net_has_cap(21))
    return sim_errorf(SIM_EUNSUPPORTED, "a shaped link needs CAP_NET_ADMIN and CAP_SYS_ADMIN, which this "
                                        "root process lacks (an unprivileged container?)");
  if (!kvr_net_find("ip", buf, sizeof buf) || !kvr_net_find("tc", buf, sizeof buf))
    return sim_errorf(SIM_ENOTFOUND, "'ip' or 'tc' not found: install iproute2 (Debian: apt-get install "
                                     "iproute2)");
  return 0;
}

/* Runs argv (argv[0] looked up as above) and waits; its output goes to a
 * pipe whose first line becomes the message on failure. 0, or SIM_EIO. */
static int kvr_net_cmd(const kvr_net *n, char *const argv[]) {
  char prog[PATH_MAX];
  if (!kvr_net_find(argv[0], prog, sizeof prog))
    return sim_errorf(SIM_ENOTFOUND, "'%s' not found: install iproute2", argv[0]);
  char cmdline[512] = "";
  for (int i = 0; argv[i]; i++) {
    size_t used = strlen(cmdline);
    snprintf(cmdline + used, sizeof cmdline - used, "%s%s", i ? " " : "", argv[i]);
  }
  if (n->log) fprintf(n->log, "net: %s\n", cmdline);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return sim_errorf(SIM_EIO, "pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    execv(prog, argv);
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    return sim_errorf(SIM_EIO, "fork: %s", strerror(errno));
  }
  char text[1024];
  size_t got = 0;
  ssize_t r;
  while ((r = read(out[0], text + got, sizeof text - 1 - got)) != 0) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    got += (size_t)r;
    if (got == sizeof text - 1) {
      char sink[256];
      while (read(out[0], sink, sizeof sink) > 0) {
      }
      break;
    }
  }
  text[got] = '\0';
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  text[strcspn(text, "\n")] = '\0';
  return sim_errorf(SIM_EIO, "'%s' failed: %s", cmdline, text[0] ? text : "no message");
}

int kvr_net_up(const kvr_net_opts *o, kvr_net *n) {
  memset(n, 0, sizeof *n);
  n->log = o->log;
  const char *name = o->name && *o->name ? o->name : "migsim";
  /* Interface names have at most 15 characters: NAME-s, NAME-d. */
  if (strlen(name) > 12 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name))
    return sim_errorf(SIM_EINVAL, "link name '%s': 1 to 12 of a-z, 0-9, '-'", name);
  if (!(o->rate >= 125000.0 && o->rate <= 5e9))
    return sim_errorf(SIM_ERANGE, "link rate %.0f bytes/s: expected 1 Mbit/s to 40 Gbit/s", o->rate);
  if (o->latency_ns > 1000000000ull) return sim_errorf(SIM_ERANGE, "link latency over 1 s");
  int rc = kvr_net_check();
  if (rc) return rc;
  snprintf(n->netns, sizeof n->netns, "%s", name);
  snprintf(n->dev_src, sizeof n->dev_src, "%s-s", name);
  snprintf(n->dev_dst, sizeof n->dev_dst, "%s-d", name);
  /* A /30 per name (FNV-1a of it), so two names can coexist. */
  uint32_t h = 2166136261u;
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  unsigned net = h % 16384u;
  snprintf(n->src_addr, sizeof n->src_addr, "10.200.%u.%u", net >> 6, ((net & 63u) << 2) + 1);
  snprintf(n->dst_addr, sizeof n->dst_addr, "10.200.%u.%u", net >> 6, ((net & 63u) << 2) + 2);
  n->rate = o->rate;
  n->tc_rate = o->rate * KVR_NET_FRAME_RATIO;
  n->latency_ns = o->latency_ns;
  kvr_net_down(n); /* an earlier run's leftovers */

  char src_cidr[24], dst_cidr[24], rate[32], burst[32], delay[32];
  snprintf(src_cidr, sizeof src_cidr, "%s/30", n->src_addr);
  snprintf(dst_cidr, sizeof dst_cidr, "%s/30", n->dst_addr);
  snprintf(rate, sizeof rate, "%.0fbit", n->tc_rate * 8);
  /* At least a few full GSO segments, else 4 ms of the rate. */
  double burst_bytes = n->tc_rate / 250 > 65536 ? n->tc_rate / 250 : 65536;
  snprintf(burst, sizeof burst, "%.0f", burst_bytes);
  snprintf(delay, sizeof delay, "%lluus", (unsigned long long)(2 * o->latency_ns / 1000));
  char *const steps[][24] = {
      {"ip", "netns", "add", n->netns, NULL},
      {"ip", "link", "add", n->dev_src, "type", "veth", "peer", "name", n->dev_dst, NULL},
      {"ip", "link", "set", n->dev_dst, "netns", n->netns, NULL},
      {"ip", "addr", "add", src_cidr, "dev", n->dev_src, NULL},
      {"ip", "link", "set", n->dev_src, "up", NULL},
      {"ip", "-n", n->netns, "addr", "add", dst_cidr, "dev", n->dev_dst, NULL},
      {"ip", "-n", n->netns, "link", "set", n->dev_dst, "up", NULL},
      {"ip", "-n", n->netns, "link", "set", "lo", "up", NULL},
      /* The shared link: one token bucket, one FIFO of 50 ms. With 25 ms,
       * three TCP streams (python, 100 Mbit/s here) lost enough at the
       * tail of the queue to fall into retransmission timeouts in one
       * trial of two: 5.3 MB/s of 12.5 used, the streams far from equal
       * shares; with 50 and 100 ms all four trials used 12.4 MB/s, the
       * streams within 0.5-1 MB/s of each other. This kernel has no fair
       * qdisc (fq_codel, sfq) to do better. */
      {"tc", "qdisc", "replace", "dev", n->dev_src, "root", "tbf", "rate", rate, "burst", burst, "latency",
       "50ms", NULL},
  };
  for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !rc; i++) rc = kvr_net_cmd(n, steps[i]);
  if (!rc && o->latency_ns) {
    char *const netem[] = {"tc", "-n", n->netns, "qdisc", "replace", "dev", n->dev_dst, "root", "netem",
                           "delay", delay, NULL};
    if ((rc = kvr_net_cmd(n, netem))) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", sim_error_message());
      rc = sim_errorf(rc, "%s (latency needs the kernel's netem qdisc, sch_netem; or give latency 0)", msg);
    }
  }
  if (rc) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", sim_error_message());
    kvr_net_down(n);
    return sim_errorf(rc, "setting up the shaped link: %s", msg);
  }
  return 0;
}

void kvr_net_down(const kvr_net *n) {
  if (!n || !n->netns[0]) return;
  char path[PATH_MAX];
  struct stat st;
  /* Deleting the namespace deletes its veth end and with it the pair. */
  snprintf(path, sizeof path, "/var/run/netns/%s", n->netns);
  kvr_net quiet = *n;
  quiet.log = NULL;
  if (stat(path, &st) == 0) {
    char *const del[] = {"ip", "netns", "del", (char *)n->netns, NULL};
    if (kvr_net_cmd(&quiet, del) && n->log) fprintf(n->log, "net: %s\n", sim_error_message());
  }
  snprintf(path, sizeof path, "/sys/class/net/%s", n->dev_src);
  if (stat(path, &st) == 0) {
    char *const del[] = {"ip", "link", "del", (char *)n->dev_src, NULL};
    if (kvr_net_cmd(&quiet, del) && n->log) fprintf(n->log, "net: %s\n", sim_error_message());
  }
}
