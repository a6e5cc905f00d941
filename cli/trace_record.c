/* migsim trace record: records a dirty-page trace of a running process or
 * of a command started for the purpose (docs/recording.md). Thin: the
 * scanning, the schedule and the output live in workloads/wl_record.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kvr.h"
#include "sim_err.h"
#include "sim_units.h"
#include "wl_record.h"

#define CLI__REC_GRACE_NS (2ull * SIM_NS_PER_S)

static volatile sig_atomic_t cli__rec_stop;

static void cli__rec_on_signal(int sig) {
  (void)sig;
  cli__rec_stop = 1;
}

static void cli__rec_usage(FILE *out) {
  fputs("usage: migsim trace record [OPTIONS] -o FILE (--pid PID | -- CMD [ARGS...])\n"
        "\n"
        "Records which pages of a process's memory are written, interval by\n"
        "interval, as a dirty-page trace. With -- CMD the command is started,\n"
        "recorded, and ended (SIGTERM to its process group) when the duration\n"
        "is over. The recording ends early, and the trace is still written,\n"
        "when the process exits or on Ctrl-C.\n"
        "\n"
        "options:\n"
        "  -o, --output FILE      trace to write (.csv: CSV, else binary)\n"
        "  -p, --pid PID          record a running process\n"
        "  -i, --interval TIME    scan period (default 100ms; bare number: ms)\n"
        "  -d, --duration TIME    how long to record (default 30s; 0: until the\n"
        "                         process exits; bare number: s)\n"
        "      --delay TIME       wait before the first scan, e.g. to skip a\n"
        "                         program's start-up (default 0; bare number: s)\n"
        "  -b, --backend NAME     auto (default), uffd-wp, soft-dirty or hash\n"
        "      --exclude-shared   leave writable shared mappings out (recorded\n"
        "                         by default: shared memory, memfd, shm)\n"
        "      --include-shared   accepted for compatibility: now the default\n"
        "  -m, --meta KEY=VALUE   add a metadata line (repeatable)\n"
        "  -q, --quiet            no progress or summary on stderr\n"
        "  -h, --help             this help\n"
        "\n"
        "Backends: uffd-wp write-protects the target's memory with userfaultfd\n"
        "(created inside it through ptrace) and reads back the written pages\n"
        "with PAGEMAP_SCAN (exact, Linux 6.7+, x86-64); soft-dirty uses the\n"
        "kernel's soft-dirty bits (exact, needs CONFIG_MEM_SOFT_DIRTY); hash\n"
        "compares a hash of every resident page (cannot see a page rewritten\n"
        "with the same bytes). All need ptrace rights over the process. auto\n"
        "takes the first of uffd-wp, soft-dirty whose self-test passes, else\n"
        "hash, and says which and why. If the process execs another program,\n"
        "the recording restarts on the new one (e.g. -- python3 behind a\n"
        "wrapper script or a shell).\n",
        out);
}

/* Appends `arg` to buf (a command line for metadata), quoted when it has
 * spaces, with control characters (which would break a metadata line)
 * replaced by spaces. */
static void cli__rec_append_arg(char *buf, size_t cap, const char *arg) {
  size_t len = strlen(buf);
  int quote = strpbrk(arg, " \t\"'") != NULL || *arg == '\0';
  if (len && len + 1 < cap) buf[len++] = ' ';
  if (quote && len + 1 < cap) buf[len++] = '\'';
  for (const char *p = arg; *p && len + 1 < cap; p++)
    buf[len++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
  if (quote && len + 1 < cap) buf[len++] = '\'';
  buf[len] = '\0';
}

/* The command line of a running process from /proc/PID/cmdline. */
static void cli__rec_pid_cmdline(pid_t pid, char *buf, size_t cap) {
  char path[64], raw[4096];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t n = fread(raw, 1, sizeof raw - 1, f);
  fclose(f);
  /* Programs that rewrite their title (redis, postgres) pad it with NULs. */
  while (n > 0 && raw[n - 1] == '\0') n--;
  raw[n] = '\0';
  for (size_t i = 0; i <= n && n > 0; i += strlen(raw + i) + 1) cli__rec_append_arg(buf, cap, raw + i);
}

typedef struct {
  int quiet;
  int warned;
  uint64_t interval_ns;
  uint64_t execs; /* exec restarts reported so far */
  pid_t pid;
} cli__rec_progress;

static void cli__rec_on_scan(void *arg, const wl_record_stats *st, uint64_t scan_ns, int overran) {
  cli__rec_progress *p = arg;
  if (p->quiet) return;
  if (st->execs != p->execs) {
    char path[64], exe[512];
    snprintf(path, sizeof path, "/proc/%ld/exe", (long)p->pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    p->execs = st->execs;
    fprintf(stderr, "migsim: trace record: process %ld exec'd %s: recording restarted on it\n",
            (long)p->pid, n > 0 ? exe : "another program");
  }
  if (overran && !p->warned) {
    p->warned = 1;
    fprintf(stderr,
            "migsim: trace record: warning: a scan (%.1f ms) ended after the next "
            "deadline of the %.1f ms schedule; overruns are counted in the metadata\n",
            (double)scan_ns / 1e6, (double)p->interval_ns / 1e6);
  }
  if (cli_is_tty() && st->scans > 1)
    fprintf(stderr, "\rmigsim: trace record: %.1f s, %" PRIu64 " page writes, %" PRIu64
            " overruns   ", (double)st->last_time_ns / 1e9, st->events, st->overruns);
}

/* Dies, but reaps the command first: no child outlives migsim. */
static _Noreturn void cli__rec_die(pid_t child, int rc, const char *context) {
  if (child > 0) wl_record_reap(child, CLI__REC_GRACE_NS, NULL);
  cli_check(rc < 0 ? rc : SIM_EINVAL, context);
  exit(CLI_EXIT_ERROR); /* not reached: cli_check exits on rc < 0 */
}

static void cli__rec_meta(wl_meta *m, const char *key, const char *value, pid_t child) {
  int rc = wl_meta_set(m, key, value);
  if (rc) cli__rec_die(child, rc, "metadata");
}

int cli_trace_record(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},   {"pid", required_argument, NULL, 'p'},
      {"interval", required_argument, NULL, 'i'}, {"duration", required_argument, NULL, 'd'},
      {"backend", required_argument, NULL, 'b'},  {"include-shared", no_argument, NULL, 'S'},
      {"exclude-shared", no_argument, NULL, 'X'},
      {"meta", required_argument, NULL, 'm'},     {"quiet", no_argument, NULL, 'q'},
      {"delay", required_argument, NULL, 'D'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
  const char *output = NULL, *backend_name = "auto";
  uint64_t interval_ns = 100 * SIM_NS_PER_MS, duration_ns = 30 * SIM_NS_PER_S, delay_ns = 0;
  long pid_arg = 0;
  int exclude_shared = 0, quiet = 0;
  wl_meta user_meta;
  wl_meta_init(&user_meta);

  optind = 1;
  int opt;
  /* '+': stop at the first non-option, so that CMD's own options stay its. */
  while ((opt = getopt_long(argc, argv, "+:o:p:i:d:b:m:qh", longopts, NULL)) != -1) {
    switch (opt) {
    case 'o': output = optarg; break;
    case 'p': {
      char *end = NULL;
      errno = 0;
      pid_arg = strtol(optarg, &end, 10);
      if (errno || !*optarg || *end || pid_arg <= 0 || pid_arg > INT_MAX)
        cli_die("--pid '%s': expected a positive process id", optarg);
      break;
    }
    case 'i': interval_ns = cli_duration("--interval", optarg, SIM_NS_PER_MS); break;
    case 'd': duration_ns = cli_duration("--duration", optarg, SIM_NS_PER_S); break;
    case 'b': backend_name = optarg; break;
    case 'D': delay_ns = cli_duration("--delay", optarg, SIM_NS_PER_S); break;
    case 'S': break; /* the default now; kept so that old scripts run */
    case 'X': exclude_shared = 1; break;
    case 'm': {
      char *eq = strchr(optarg, '=');
      if (!eq || eq == optarg) cli_die("--meta '%s': expected KEY=VALUE", optarg);
      *eq = '\0';
      if (strpbrk(optarg, " \t\r\n#") || strpbrk(eq + 1, "\r\n"))
        cli_die("--meta '%s': keys have no spaces or '#', values no newlines", optarg);
      if (wl_record_key_reserved(optarg))
        cli_die("--meta %s: this key is set by the recorder", optarg);
      cli_check(wl_meta_set(&user_meta, optarg, eq + 1), "--meta");
      break;
    }
    case 'q': quiet = 1; break;
    case 'h': cli__rec_usage(stdout); return CLI_EXIT_OK;
    case ':': cli_die("trace record: option '%s' needs a value (see 'migsim trace record --help')", argv[optind - 1]);
    default: cli_die("trace record: unknown option '%s' (see 'migsim trace record --help')", argv[optind - 1]);
    }
  }
  char **cmd = argv + optind;
  int have_cmd = optind < argc;
  if (!output) cli_die("trace record: -o FILE is required");
  if (!pid_arg == !have_cmd) cli_die("trace record: give either --pid PID or -- CMD [ARGS...]");
  if (interval_ns < SIM_NS_PER_MS) cli_die("--interval: expected at least 1ms");
  if (duration_ns && duration_ns < interval_ns)
    cli_die("--duration: shorter than the interval");

  /* Fail now, not after a long recording, when the output cannot be made. */
  {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", output);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) != 0) cli_die("-o %s: cannot write into %s: %s", output, dir, strerror(errno));
  }

  const wl_record_backend *backend = NULL;
  char backend_note[512] = "";
  if (strcmp(backend_name, "auto") == 0) {
    char why_not_uffd[256];
    if (wl_record_uffd_wp_probe() == 0) {
      backend = &wl_record_uffd_wp;
      snprintf(backend_note, sizeof backend_note,
               "self-test passed: userfaultfd async write protection and PAGEMAP_SCAN work");
    } else {
      snprintf(why_not_uffd, sizeof why_not_uffd, "%s", sim_error_message());
      if (wl_record_soft_dirty_probe() == 0) {
        backend = &wl_record_soft_dirty;
        snprintf(backend_note, sizeof backend_note, "%s; soft-dirty self-test passed",
                 why_not_uffd);
      } else {
        backend = &wl_record_hash;
        snprintf(backend_note, sizeof backend_note, "%s; %s", why_not_uffd, sim_error_message());
      }
    }
    if (!quiet)
      fprintf(stderr, "migsim: trace record: backend %s (%s)\n", wl_record_backend_name(backend),
              backend_note);
  } else {
    backend = wl_record_backend_find(backend_name);
    if (!backend)
      cli_die("--backend '%s': expected auto, uffd-wp, soft-dirty or hash", backend_name);
    if (backend == &wl_record_uffd_wp) cli_check(wl_record_uffd_wp_probe(), "--backend uffd-wp");
  }

  /* Before the child exists, so that no signal can end migsim without
   * reaping it. exec resets the handler in the child. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli__rec_on_signal; /* no SA_RESTART: wake the sleep */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  char command[4096] = "";
  pid_t child = 0, pid;
  if (have_cmd) {
    for (char **a = cmd; *a; a++) cli__rec_append_arg(command, sizeof command, *a);
    cli_check(wl_record_spawn(cmd, &child), NULL);
    pid = child;
  } else {
    pid = (pid_t)pid_arg;
    cli__rec_pid_cmdline(pid, command, sizeof command);
  }

  wl_record_opts opts = {interval_ns, exclude_shared};
  wl_recorder *rec = NULL;
  int rc = wl_recorder_open(pid, backend, &opts, &rec);
  if (rc) cli__rec_die(child, rc, have_cmd ? "trace record" : "--pid");

  /* The baseline (time 0, the initial image) comes after the delay. */
  struct timespec delay = {(time_t)(delay_ns / SIM_NS_PER_S), (long)(delay_ns % SIM_NS_PER_S)};
  while (!cli__rec_stop && nanosleep(&delay, &delay) != 0 && errno == EINTR) {
  }

  cli__rec_progress progress = {quiet, 0, interval_ns, 0, pid};
  rc = wl_recorder_run(rec, duration_ns, &cli__rec_stop, cli__rec_on_scan, &progress);
  if (cli_is_tty() && !quiet) fputc('\n', stderr);
  if (rc) {
    wl_recorder_free(rec);
    cli__rec_die(child, rc, "trace record");
  }
  const char *end = wl_recorder_exited(rec) ? "exited" : cli__rec_stop ? "interrupted" : "duration";

  int status = 0;
  if (child) {
    rc = wl_record_reap(child, CLI__REC_GRACE_NS, &status);
    child = 0;
    if (rc) {
      wl_recorder_free(rec);
      cli_check(rc, "trace record");
    }
  }

  /* Metadata: what was recorded, where and when, then the user's lines. */
  wl_meta meta;
  wl_meta_init(&meta);
  char buf[128];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  struct utsname uts;
  cli__rec_meta(&meta, "recorder", "migsim trace record", 0);
  if (command[0]) cli__rec_meta(&meta, "command", command, 0);
  cli__rec_meta(&meta, "date", buf, 0);
  if (uname(&uts) == 0) {
    char kernel[sizeof uts.sysname + sizeof uts.release + 2];
    snprintf(kernel, sizeof kernel, "%s %s", uts.sysname, uts.release);
    cli__rec_meta(&meta, "kernel", kernel, 0);
  }
  /* The machine: what the recorder costs the program depends on it
   * (docs/recording.md, "Cost, measured"). */
  char cpu[MDL_HOST_CPU_MAX];
  if (kvr_host_cpu_model(cpu, sizeof cpu) == 0) cli__rec_meta(&meta, "host_cpu", cpu, 0);
  cli__rec_meta(&meta, "end", end, 0);
  for (size_t i = 0; i < user_meta.kv_count; i++)
    cli__rec_meta(&meta, user_meta.kv[i].key, user_meta.kv[i].value, 0);

  rc = wl_recorder_write(rec, output, wl_format_for_path(output), &meta);
  wl_record_stats st;
  wl_recorder_stats(rec, &st);
  wl_recorder_free(rec);
  wl_meta_free(&meta);
  wl_meta_free(&user_meta);
  cli_check(rc, "trace record");

  if (!quiet) {
    uint64_t scans = st.scans > 1 ? st.scans - 1 : 0;
    double gib = (double)st.resident_bytes_total / (1024.0 * 1024.0 * 1024.0);
    fprintf(stderr,
            "migsim: trace record: %s: %.1f s (%s), %" PRIu64 " scans, %" PRIu64
            " page writes, %" PRIu64 " pages (%" PRIu64 " non-zero at start); "
            "%" PRIu64 " overruns; scan mean %.1f ms, max %.1f ms, %.1f ms/GiB\n",
            output, (double)st.last_time_ns / 1e9, end, scans, st.events, st.pages,
            st.initial_nonzero, st.overruns,
            scans ? (double)st.scan_ns_total / 1e6 / (double)scans : 0.0,
            (double)st.scan_ns_max / 1e6, gib > 0 ? (double)st.scan_ns_total / 1e6 / gib : 0.0);
    if (have_cmd && WIFEXITED(status) && WEXITSTATUS(status) != 0 && strcmp(end, "exited") == 0)
      fprintf(stderr, "migsim: trace record: note: the command exited with status %d\n",
              WEXITSTATUS(status));
  }
  return CLI_EXIT_OK;
}
