/* record_pattern: a process with a known write pattern, recorded by
 * tests/test_record.c and used to measure the recorder (docs/recording.md).
 *
 *   record_pattern step PAGES INITIAL N M
 *       Maps a region of PAGES pages, makes pages [0, INITIAL) non-zero, prints
 *       "ready <region address>" and then obeys one command per stdin line,
 *       answering each with one line once its writes are done (a handshake:
 *       the recorder scans only between an answer and the next command):
 *         phase K   writes N distinct pages INITIAL + (K-1)*N ... with bytes they
 *                   never held, and rewrites pages [0, M) with the bytes they
 *                   already hold; answers "done"
 *         zero J    madvise(MADV_DONTNEED) on pages [0, J): they read back as
 *                   zero; answers "done"
 *         grow J    maps a new region of J pages and writes all of them;
 *                   answers "grown <address>"
 *         unmap     unmaps the region made by grow; answers "done"
 *         share J   maps J pages MAP_SHARED and writes all of them;
 *                   answers "shared <address>"
 *         quit      exits 0 (EOF on stdin too)
 *
 *   record_pattern timed PHASES N M PHASE_MS
 *       Same writes without a handshake, for recording through the CLI: waits
 *       PHASE_MS, then runs phases 1..PHASES with PHASE_MS between them, waits
 *       1 s (so that a recorder sees the last phase) and exits. INITIAL is M.
 *
 *   record_pattern soak MIB SECONDS PAGES_PER_S
 *       Maps and fills MIB MiB (every page non-zero), prints "ready", then
 *       writes PAGES_PER_S pages per second (10 bursts a second, walking the
 *       region) for SECONDS seconds and exits. For recorder cost measurements.
 *
 *   record_pattern random MIB SECONDS PAGES_PER_S SEED
 *       Maps and fills MIB MiB, prints "ready <address>", waits for a line
 *       on stdin, then writes PAGES_PER_S pages per second (100 bursts a
 *       second) at random page indices (record_pattern_next(), seeded with
 *       SEED) for SECONDS seconds, each write a new 8-byte value; prints
 *       "done <writes> <ns>", and exits at the next line on stdin (sent by
 *       the recorder once a whole scan has followed "done"). The written set is known from SEED and <writes>.
 *       (The line is "done <writes> <nanoseconds>": when page faults are
 *       slow the bursts fall behind, and the time says by how much.)
 *
 *   record_pattern loop MIB SECONDS SEED
 *       Maps and fills MIB MiB, prints "ready <address>", waits for a line
 *       on stdin, then stores 8 bytes into random pages as fast as it can
 *       for SECONDS seconds (a memory-bound loop: one cache and TLB miss
 *       per store), prints "done <stores> <nanoseconds>" and exits.
 *
 * Exit status 2 on bad arguments or a failed system call. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "record_pattern.h"

static size_t page_size;

static void fail(const char *what) {
  fprintf(stderr, "record_pattern: %s: %s\n", what, strerror(errno));
  exit(2);
}

static unsigned long arg(const char *text) {
  char *end = NULL;
  unsigned long v = strtoul(text, &end, 10);
  if (!*text || *end) {
    fprintf(stderr, "record_pattern: '%s': expected a number\n", text);
    exit(2);
  }
  return v;
}

static unsigned char *map_pages(size_t pages) {
  void *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap");
  return p;
}

/* Fills a page with bytes derived from (tag, page index): distinct tags give
 * distinct contents, and no tag gives a zero page. */
static void fill(unsigned char *page, uint64_t tag, uint64_t index) {
  uint64_t x = (tag * 0x9e3779b97f4a7c15ull) ^ (index + 1) * 0xbf58476d1ce4e5b9ull;
  for (size_t off = 0; off < page_size; off += 8) {
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x |= 1; /* never zero */
    memcpy(page + off, &x, 8);
  }
}

/* Stores the bytes the page already holds: the page is written (soft-dirty
 * sees it) but its contents do not change (the hash backend cannot). */
static void rewrite_same(unsigned char *page) {
  volatile uint64_t *w = (volatile uint64_t *)(void *)page;
  for (size_t i = 0; i < page_size / 8; i++) w[i] = w[i];
}

static void phase(unsigned char *region, size_t initial, size_t n, size_t m, unsigned long k) {
  for (size_t j = 0; j < n; j++) {
    size_t index = initial + (k - 1) * n + j;
    fill(region + index * page_size, 1000 + k, index);
  }
  for (size_t j = 0; j < m; j++) rewrite_same(region + j * page_size);
}

static void sleep_ms(unsigned long ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int run_step(size_t pages, size_t initial, size_t n, size_t m) {
  unsigned char *region = map_pages(pages);
  unsigned char *grown = NULL;
  size_t grown_pages = 0;
  for (size_t i = 0; i < initial; i++) fill(region + i * page_size, 1, i);
  printf("ready %p\n", (void *)region);
  fflush(stdout);
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    unsigned long v = 0;
    if (sscanf(line, "phase %lu", &v) == 1) {
      if (v == 0 || initial + v * n > pages) {
        fprintf(stderr, "record_pattern: phase %lu exceeds the region\n", v);
        return 2;
      }
      phase(region, initial, n, m, v);
      puts("done");
    } else if (sscanf(line, "zero %lu", &v) == 1) {
      if (madvise(region, v * page_size, MADV_DONTNEED) != 0) fail("madvise");
      puts("done");
    } else if (sscanf(line, "grow %lu", &v) == 1) {
      grown_pages = v;
      grown = map_pages(grown_pages);
      for (size_t i = 0; i < grown_pages; i++) fill(grown + i * page_size, 7, i);
      printf("grown %p\n", (void *)grown);
    } else if (sscanf(line, "share %lu", &v) == 1) {
      void *p = mmap(NULL, v * page_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
      if (p == MAP_FAILED) fail("mmap");
      for (size_t i = 0; i < v; i++) fill((unsigned char *)p + i * page_size, 9, i);
      printf("shared %p\n", p);
    } else if (strncmp(line, "unmap", 5) == 0) {
      if (grown && munmap(grown, grown_pages * page_size) != 0) fail("munmap");
      grown = NULL;
      puts("done");
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    } else {
      fprintf(stderr, "record_pattern: unknown command %s", line);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}

static int run_timed(unsigned long phases, size_t n, size_t m, unsigned long phase_ms) {
  size_t initial = m, pages = initial + phases * n;
  unsigned char *region = map_pages(pages);
  for (size_t i = 0; i < initial; i++) fill(region + i * page_size, 1, i);
  sleep_ms(phase_ms);
  for (unsigned long k = 1; k <= phases; k++) {
    phase(region, initial, n, m, k);
    sleep_ms(phase_ms);
  }
  sleep_ms(1000);
  return 0;
}

static int run_soak(size_t mib, unsigned long seconds, unsigned long rate) {
  size_t pages = mib * 1024 * 1024 / page_size;
  unsigned char *region = map_pages(pages);
  for (size_t i = 0; i < pages; i++) fill(region + i * page_size, 1, i);
  printf("ready %p\n", (void *)region);
  fflush(stdout);
  size_t cursor = 0, burst = rate / 10;
  uint64_t tag = 2;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (unsigned long tick = 0; tick < seconds * 10; tick++) {
    for (size_t j = 0; j < burst; j++) {
      /* One word per page is enough to change it. */
      uint64_t v = tag++;
      memcpy(region + cursor * page_size, &v, 8);
      cursor = (cursor + 1) % pages;
    }
    next.tv_nsec += 100000000L;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  return 0;
}

/* Waits for one line on stdin (the recorder's "go"). */
static void wait_go(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin)) exit(0);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static unsigned char *filled_region(size_t mib, size_t *pages) {
  *pages = mib * 1024 * 1024 / page_size;
  unsigned char *region = map_pages(*pages);
  for (size_t i = 0; i < *pages; i++) fill(region + i * page_size, 1, i);
  printf("ready %p\n", (void *)region);
  fflush(stdout);
  return region;
}

static int run_random(size_t mib, unsigned long seconds, unsigned long rate, uint64_t seed) {
  size_t pages;
  unsigned char *region = filled_region(mib, &pages);
  wait_go();
  uint64_t state = seed, writes = 0, tag = 2, start = now_ns();
  size_t burst = rate / 100;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (unsigned long tick = 0; tick < seconds * 100; tick++) {
    for (size_t j = 0; j < burst; j++) {
      uint64_t v = tag++;
      memcpy(region + record_pattern_next(&state, pages) * page_size, &v, 8);
      writes++;
    }
    next.tv_nsec += 10000000L;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  printf("done %llu %llu\n", (unsigned long long)writes, (unsigned long long)(now_ns() - start));
  fflush(stdout);
  wait_go(); /* the recorder's "quit", once it has scanned since "done" */
  return 0;
}

static int run_loop(size_t mib, unsigned long seconds, uint64_t seed) {
  size_t pages;
  unsigned char *region = filled_region(mib, &pages);
  wait_go();
  uint64_t state = seed, stores = 0, start = now_ns(), end = start + seconds * 1000000000ull, t;
  do {
    for (int j = 0; j < 4096; j++) {
      uint64_t v = stores++;
      memcpy(region + record_pattern_next(&state, pages) * page_size + (v & 511) * 8, &v, 8);
    }
  } while ((t = now_ns()) < end);
  printf("done %llu %llu\n", (unsigned long long)stores, (unsigned long long)(t - start));
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  if (argc == 6 && strcmp(argv[1], "step") == 0) {
    size_t pages = arg(argv[2]), initial = arg(argv[3]), n = arg(argv[4]), m = arg(argv[5]);
    if (m > initial || initial > pages) {
      fputs("record_pattern: step needs M <= INITIAL <= PAGES\n", stderr);
      return 2;
    }
    return run_step(pages, initial, n, m);
  }
  if (argc == 6 && strcmp(argv[1], "timed") == 0)
    return run_timed(arg(argv[2]), arg(argv[3]), arg(argv[4]), arg(argv[5]));
  if (argc == 5 && strcmp(argv[1], "soak") == 0)
    return run_soak(arg(argv[2]), arg(argv[3]), arg(argv[4]));
  if (argc == 6 && strcmp(argv[1], "random") == 0)
    return run_random(arg(argv[2]), arg(argv[3]), arg(argv[4]), arg(argv[5]));
  if (argc == 5 && strcmp(argv[1], "loop") == 0)
    return run_loop(arg(argv[2]), arg(argv[3]), arg(argv[4]));
  fputs("usage: record_pattern step PAGES INITIAL N M | timed PHASES N M PHASE_MS |"
        " soak MIB SECONDS PAGES_PER_S | random MIB SECONDS PAGES_PER_S SEED |"
        " loop MIB SECONDS SEED\n",
        stderr);
  return 2;
}
