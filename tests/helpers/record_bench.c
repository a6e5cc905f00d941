/* record_bench: accuracy and cost of each recording backend on a large
 * process (docs/recording.md "Cost, measured"; run by bench/record_bench.sh).
 *
 *   record_bench HELPER [MIB [RATE [SECONDS [INTERVAL_MS [BACKEND...]]]]]
 *
 * HELPER is tests/helpers/record_pattern. For every backend (default: the
 * ones whose self-test passes here, of uffd-wp, soft-dirty and hash):
 *
 *  1. Write set and scan cost: `record_pattern random MIB SECONDS RATE SEED`
 *     is recorded at INTERVAL_MS. It starts writing only once the baseline
 *     is done, and exits only when told, after a scan that began once it
 *     had stopped writing, so every write it makes falls inside the
 *     recording: the pages the recorder reports in the helper's region must be exactly the pages the helper wrote (rebuilt from the
 *     seed). Prints scans, overruns, scan time (mean, max, per GiB of
 *     resident memory), and the written set: recorded, known, missing, extra.
 *  2. Slowdown: `record_pattern loop MIB 5 SEED` (random 8-byte stores into
 *     the region, as fast as it can) runs once alone and once while being
 *     recorded; prints stores/s of both and the slowdown.
 *  3. Fault cost, in this process, without a recorder: a first write to
 *     fresh anonymous memory, and (when uffd-wp works here) a write to a
 *     page that PAGEMAP_SCAN has write-protected, each per page over 64
 *     MiB, three times. What the recorded program pays per page and
 *     interval with uffd-wp is the second; it depends on the machine
 *     (48-85 us in a VM without hardware page tables, under 1 us with
 *     them: docs/recording.md).
 *
 * Defaults: 1024 MiB, 20000 pages/s, 10 s, 100 ms. Exit status 0 when
 * every write set matched for the exact backends (hash cannot see a
 * rewrite of identical bytes, but every write here changes the page, so
 * hash must match too), 1 otherwise, 2 on bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_pipes.h"
#include "record_pattern.h"
#include "sim_err.h"
#include "wl_record.h"
#include "wl_record_internal.h"

#define SEED 12345u
#define LOOP_SECONDS 5u

typedef struct {
  pid_t pid;
  FILE *to, *from;
} child;

static void child_start(child *c, char *const argv[]) {
  c->pid = child_pipes_start(argv[0], argv, &c->to, &c->from);
  if (c->pid < 0) {
    perror("record_bench: starting the helper");
    exit(2);
  }
}

static void child_line(child *c, char *line, size_t cap) {
  if (!fgets(line, (int)cap, c->from)) {
    fprintf(stderr, "record_bench: the helper died\n");
    exit(2);
  }
}

static void child_go(child *c) {
  fputs("go\n", c->to);
  fflush(c->to);
}

static void child_end(child *c) {
  fclose(c->to);
  fclose(c->from);
  waitpid(c->pid, NULL, 0);
}

/* What the recording callback needs. */
typedef struct {
  wl_recorder *rec;
  child *helper;
  uint64_t region;
  size_t region_pages, page_size;
  int64_t *index_of_pfn; /* region page index per pfn, -1 outside */
  uint64_t pfns;
  unsigned char *recorded; /* per region page */
  uint64_t outside;        /* reported pages outside the region */
  int watch_done;           /* `random` helper: wait for "done", say "quit" */
  int done_seen, quit_sent; /* the helper said "done"; we said "quit" */
  unsigned long long writes, writer_ns;
} bench_state;

/* Non-blocking: has the helper printed its "done" line? */
static int helper_done(bench_state *b) {
  struct pollfd p = {fileno(b->helper->from), POLLIN, 0};
  char line[128];
  if (poll(&p, 1, 0) != 1 || !fgets(line, sizeof line, b->helper->from)) return 0;
  sscanf(line, "done %llu %llu", &b->writes, &b->writer_ns);
  return 1;
}

static void on_scan(void *arg, const wl_record_stats *st, uint64_t scan_ns, int overran) {
  (void)scan_ns;
  (void)overran;
  bench_state *b = arg;
  if (st->scans == 1 && !b->index_of_pfn) {
    /* The baseline: learn where the region's pages are, then let the
     * helper start. */
    b->pfns = st->pages;
    b->index_of_pfn = malloc(b->pfns * sizeof *b->index_of_pfn);
    for (uint64_t p = 0; p < b->pfns; p++) b->index_of_pfn[p] = -1;
    for (size_t i = 0; i < b->region_pages; i++) {
      uint64_t pfn;
      if (wl_recorder_pfn_of(b->rec, b->region + i * b->page_size, &pfn) == 0 && pfn < b->pfns)
        b->index_of_pfn[pfn] = (int64_t)i;
    }
    child_go(b->helper);
    return;
  }
  /* A scan that began after "done" has seen every write: then "quit". A
   * slow backend thus loses nothing to the exit (whose scan is dropped). */
  if (b->watch_done && b->done_seen && !b->quit_sent) {
    fputs("quit\n", b->helper->to);
    fflush(b->helper->to);
    b->quit_sent = 1;
  }
  if (b->watch_done && !b->done_seen) b->done_seen = helper_done(b);
  size_t n;
  const uint64_t *dirty = wl_recorder_dirty(b->rec, &n);
  for (size_t i = 0; i < n; i++) {
    if (dirty[i] < b->pfns && b->index_of_pfn[dirty[i]] >= 0)
      b->recorded[b->index_of_pfn[dirty[i]]] = 1;
    else
      b->outside++;
  }
}

/* Part 1. Returns 1 when the write set matched. */
static int bench_write_set(const char *helper, const wl_record_backend *backend, size_t mib,
                           unsigned long rate, unsigned long seconds, uint64_t interval_ns) {
  char a_mib[32], a_sec[32], a_rate[32], a_seed[32], line[128];
  snprintf(a_mib, sizeof a_mib, "%zu", mib);
  snprintf(a_sec, sizeof a_sec, "%lu", seconds);
  snprintf(a_rate, sizeof a_rate, "%lu", rate);
  snprintf(a_seed, sizeof a_seed, "%u", SEED);
  char *argv[] = {(char *)helper, "random", a_mib, a_sec, a_rate, a_seed, NULL};
  child h;
  child_start(&h, argv);
  child_line(&h, line, sizeof line);
  bench_state b;
  memset(&b, 0, sizeof b);
  b.helper = &h;
  b.page_size = (size_t)sysconf(_SC_PAGESIZE);
  b.region = strtoull(line + 6, NULL, 16);
  b.region_pages = mib * 1024 * 1024 / b.page_size;
  b.recorded = calloc(b.region_pages, 1);
  b.watch_done = 1;
  wl_record_opts opts = {interval_ns, 0};
  if (wl_recorder_open(h.pid, backend, &opts, &b.rec) != 0) {
    fprintf(stderr, "record_bench: %s\n", sim_error_message());
    exit(2);
  }
  if (wl_recorder_run(b.rec, 0, NULL, on_scan, &b) != 0) {
    fprintf(stderr, "record_bench: %s\n", sim_error_message());
    exit(2);
  }
  unsigned long long writes = b.writes, writer_ns = b.writer_ns ? b.writer_ns : 1;
  child_end(&h);

  unsigned char *known = calloc(b.region_pages, 1);
  uint64_t state = SEED;
  for (uint64_t w = 0; w < writes; w++) known[record_pattern_next(&state, b.region_pages)] = 1;
  uint64_t n_known = 0, n_recorded = 0, missing = 0, extra = 0;
  for (size_t i = 0; i < b.region_pages; i++) {
    n_known += known[i];
    n_recorded += b.recorded[i];
    missing += known[i] && !b.recorded[i];
    extra += !known[i] && b.recorded[i];
  }
  wl_record_stats st;
  wl_recorder_stats(b.rec, &st);
  uint64_t scans = st.scans > 1 ? st.scans - 1 : 0;
  double gib = (double)st.resident_bytes_total / (1024.0 * 1024 * 1024);
  printf("%-10s  %4zu MiB  %6lu pages/s  %3" PRIu64 " ms  scans %4" PRIu64 "  overruns %3" PRIu64
         "  scan mean %7.1f ms  max %7.1f ms  %7.1f ms/GiB  written set: recorded %" PRIu64
         " known %" PRIu64 " missing %" PRIu64 " extra %" PRIu64 " (outside the region %" PRIu64
         "); writer achieved %.0f pages/s\n",
         wl_record_backend_name(backend), mib, rate, interval_ns / 1000000, scans, st.overruns,
         scans ? (double)st.scan_ns_total / 1e6 / (double)scans : 0.0,
         (double)st.scan_ns_max / 1e6, gib > 0 ? (double)st.scan_ns_total / 1e6 / gib : 0.0,
         n_recorded, n_known, missing, extra, b.outside,
         (double)writes / ((double)writer_ns / 1e9));
  fflush(stdout);
  wl_recorder_free(b.rec);
  free(b.index_of_pfn);
  free(b.recorded);
  free(known);
  return missing == 0 && extra == 0;
}

/* Part 2: stores/s of the loop, recorded with `backend` (NULL: alone). */
static double bench_loop(const char *helper, const wl_record_backend *backend, size_t mib,
                         uint64_t interval_ns) {
  char a_mib[32], a_sec[32], a_seed[32], line[128];
  snprintf(a_mib, sizeof a_mib, "%zu", mib);
  snprintf(a_sec, sizeof a_sec, "%u", LOOP_SECONDS);
  snprintf(a_seed, sizeof a_seed, "%u", SEED);
  char *argv[] = {(char *)helper, "loop", a_mib, a_sec, a_seed, NULL};
  child h;
  child_start(&h, argv);
  child_line(&h, line, sizeof line);
  wl_recorder *rec = NULL;
  if (backend) {
    bench_state b;
    memset(&b, 0, sizeof b);
    b.helper = &h;
    b.page_size = (size_t)sysconf(_SC_PAGESIZE);
    b.region = strtoull(line + 6, NULL, 16);
    b.region_pages = 0; /* no set kept: only the cost matters here */
    b.recorded = NULL;
    wl_record_opts opts = {interval_ns, 0};
    if (wl_recorder_open(h.pid, backend, &opts, &rec) != 0 ||
        wl_recorder_run(rec, 0, NULL, on_scan, (b.rec = rec, &b)) != 0) {
      fprintf(stderr, "record_bench: %s\n", sim_error_message());
      exit(2);
    }
    free(b.index_of_pfn);
    wl_recorder_free(rec);
  } else {
    child_go(&h);
  }
  child_line(&h, line, sizeof line);
  unsigned long long stores = 0, ns = 1;
  sscanf(line, "done %llu %llu", &stores, &ns);
  child_end(&h);
  return (double)stores / ((double)ns / 1e9);
}

/* Writes one byte into each page of [p, p + len): ns per page. */
static double touch_pages(unsigned char *p, size_t len) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (size_t i = 0; i < len; i += 4096) p[i]++;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)(len / 4096);
}

/* Part 3: the first-touch and write-protect fault costs of this machine. */
static void bench_faults(int uffd_wp) {
  const size_t len = 64u << 20;
  printf("== fault cost: one write into each page of 64 MiB, this process, no recorder\n");
  for (int r = 0; r < 3; r++) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      printf("fault cost: mmap: %s\n", strerror(errno));
      return;
    }
    double first = touch_pages(p, len), wp = -1;
    int uffd = uffd_wp ? (int)syscall(SYS_userfaultfd, O_CLOEXEC | WL__UFFD_USER_MODE_ONLY) : -1;
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    struct uffdio_api api = {.api = UFFD_API,
                             .features = WL__UFFD_FEATURE_WP_ASYNC | WL__UFFD_FEATURE_WP_UNPOPULATED};
    wl__pm_region vec[64];
    wl__pm_scan_arg arg = {.size = sizeof arg,
                           .flags = WL__PM_SCAN_WP_MATCHING | WL__PM_SCAN_CHECK_WPASYNC,
                           .start = (uint64_t)(uintptr_t)p,
                           .end = (uint64_t)(uintptr_t)p + len,
                           .vec = (uint64_t)(uintptr_t)vec,
                           .vec_len = 64};
    wl__pm_scan_written(&arg);
    if (uffd >= 0 && pm >= 0 && ioctl(uffd, UFFDIO_API, &api) == 0 &&
        wl__uffd_register(uffd, arg.start, arg.end) == 0 && ioctl(pm, WL__PAGEMAP_SCAN, &arg) >= 0)
      wp = touch_pages(p, len);
    if (uffd >= 0) close(uffd);
    if (pm >= 0) close(pm);
    munmap(p, len);
    if (wp >= 0)
      printf("first touch %8.2f us/page   write-protect fault %8.2f us/page\n", first / 1e3, wp / 1e3);
    else
      printf("first touch %8.2f us/page   write-protect fault: uffd-wp not available here\n", first / 1e3);
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: record_bench HELPER [MIB [RATE [SECONDS [INTERVAL_MS [BACKEND...]]]]]\n", stderr);
    return 2;
  }
  const char *helper = argv[1];
  size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
  unsigned long rate = argc > 3 ? strtoul(argv[3], NULL, 10) : 20000;
  unsigned long seconds = argc > 4 ? strtoul(argv[4], NULL, 10) : 10;
  uint64_t interval_ns = (argc > 5 ? strtoull(argv[5], NULL, 10) : 100) * 1000000ull;
  const wl_record_backend *backends[3];
  size_t count = 0;
  if (argc > 6) {
    for (int i = 6; i < argc && count < 3; i++) {
      backends[count] = wl_record_backend_find(argv[i]);
      if (!backends[count]) {
        fprintf(stderr, "record_bench: unknown backend '%s'\n", argv[i]);
        return 2;
      }
      count++;
    }
  } else {
    if (wl_record_uffd_wp_probe() == 0)
      backends[count++] = &wl_record_uffd_wp;
    else
      printf("uffd-wp     unavailable: %s\n", sim_error_message());
    if (wl_record_soft_dirty_probe() == 0)
      backends[count++] = &wl_record_soft_dirty;
    else
      printf("soft-dirty  unavailable: %s\n", sim_error_message());
    backends[count++] = &wl_record_hash;
  }
  if (!mib || !rate || !seconds || !interval_ns) {
    fputs("record_bench: MIB, RATE, SECONDS and INTERVAL_MS must be positive\n", stderr);
    return 2;
  }
  int all_match = 1;
  printf("== write set and scan cost: a %zu MiB process writing %lu random pages/s for %lu s,"
         " recorded every %" PRIu64 " ms\n",
         mib, rate, seconds, interval_ns / 1000000);
  for (size_t i = 0; i < count; i++)
    all_match &= bench_write_set(helper, backends[i], mib, rate, seconds, interval_ns);
  printf("== slowdown: random 8-byte stores into %zu MiB for %u s, recorded every %" PRIu64
         " ms\n",
         mib, LOOP_SECONDS, interval_ns / 1000000);
  double alone = bench_loop(helper, NULL, mib, interval_ns);
  printf("%-10s  %12.0f stores/s\n", "alone", alone);
  fflush(stdout);
  for (size_t i = 0; i < count; i++) {
    double rec = bench_loop(helper, backends[i], mib, interval_ns);
    printf("%-10s  %12.0f stores/s  slowdown %5.1f %%\n", wl_record_backend_name(backends[i]),
           rec, 100.0 * (1.0 - rec / alone));
    fflush(stdout);
  }
  int uffd_wp = 0;
  for (size_t i = 0; i < count; i++) uffd_wp |= backends[i] == &wl_record_uffd_wp;
  bench_faults(uffd_wp);
  return all_match ? 0 : 1;
}
