/* Tests of the trace formats: the CSV interchange format, the binary format
 * and the writers behind them, plus `migsim trace import/export`.
 *
 * Round trips are checked byte for byte; every rejected input must give
 * the right error code, a message naming the place, and no output file. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim_err.h"
#include "sim_rng.h"
#include "wl_internal.h"
#include "wl_trace.h"

#define FIXTURES MIGSIM_SOURCE_DIR "/tests/fixtures/"

static char tmp_root[256];

/* ------------------------------------------------------------ helpers */

static const char *tmp_path(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", tmp_root, name);
  return buf;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static int setup(void **state) {
  (void)state;
  const char *base = getenv("TMPDIR");
  snprintf(tmp_root, sizeof tmp_root, "%s/migsim-fmt-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmp_root)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  remove_tree(tmp_root);
  return 0;
}

/* Number of directory entries whose name starts with `prefix` (so that a
 * leftover "out.mtr.tmp.123" counts as much as "out.mtr"). */
static int count_files(const char *name) {
  DIR *d = opendir(tmp_root);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, name, strlen(name)) || (e->d_name[0] == '.' && !strncmp(e->d_name + 1, name, strlen(name))))
      n++; /* the file or its hidden temporary file */
  closedir(d);
  return n;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void write_all(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void assert_same_file(const char *a, const char *b) {
  size_t la, lb;
  char *x = read_all(a, &la), *y = read_all(b, &lb);
  if (la != lb || memcmp(x, y, la) != 0) {
    size_t i = 0;
    while (i < la && i < lb && x[i] == y[i]) i++;
    fail_msg("%s (%zu bytes) and %s (%zu bytes) differ at byte %zu", a, la, b, lb, i);
  }
  free(x);
  free(y);
}

/* Opens `in` and copies it to `out`; returns wl_copy's code. */
static int convert(const char *in, const char *out, wl_format format) {
  wl_source *src = NULL;
  int rc = wl_source_open(in, NULL, &src);
  if (rc) return rc;
  rc = wl_copy(src, out, format);
  wl_source_close(src);
  return rc;
}

/* Opens and reads every event; returns 0, the first error code, and the
 * number of events read before it. */
static int read_through(const char *path, uint64_t *events) {
  wl_source *src = NULL;
  *events = 0;
  int rc = wl_source_open(path, NULL, &src);
  if (rc) return rc;
  wl_event buf[1000];
  long n;
  while ((n = wl_source_read(src, buf, 1000)) > 0) *events += (uint64_t)n;
  wl_source_close(src);
  return n < 0 ? (int)n : 0;
}

static void assert_error(int rc, int code, const char *needle) {
  if (rc != code)
    fail_msg("expected %s (%d), got %s (%d): %s", sim_strerror(code), code, sim_strerror(rc), rc,
             sim_error_message());
  if (needle && !strstr(sim_error_message(), needle))
    fail_msg("message '%s' lacks '%s'", sim_error_message(), needle);
}

static wl_meta make_meta(uint64_t pages, int has_op) {
  wl_meta m;
  wl_meta_init(&m);
  char text[32];
  snprintf(text, sizeof text, "%" PRIu64, pages);
  assert_int_equal(wl_meta_set(&m, "pages", text), 0);
  m.has_op_column = has_op;
  return m;
}

/* ----------------------------------------------------- fixture round trip */

static const char *const fixtures[] = {"trace_ops.csv", "trace_noop.csv", "trace_empty.csv",
                                       "trace_meta.csv"};

static void test_fixtures_round_trip(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
    char in[512], bin[512], csv[512], csv2[512], bin2[512];
    snprintf(in, sizeof in, FIXTURES "%s", fixtures[i]);
    tmp_path(bin, sizeof bin, "rt.mtr");
    tmp_path(csv, sizeof csv, "rt.csv");
    tmp_path(csv2, sizeof csv2, "rt2.csv");
    tmp_path(bin2, sizeof bin2, "rt2.mtr");
    assert_int_equal(convert(in, bin, WL_FORMAT_BINARY), 0);
    assert_int_equal(convert(bin, csv, WL_FORMAT_CSV), 0);
    assert_same_file(in, csv);
    assert_int_equal(convert(in, csv2, WL_FORMAT_CSV), 0);
    assert_same_file(in, csv2);
    assert_int_equal(convert(csv, bin2, WL_FORMAT_BINARY), 0);
    assert_same_file(bin, bin2);
  }
}

/* What the reader makes of trace_ops.csv, field by field, in both formats. */
static void check_ops_fixture(const char *path) {
  wl_source *src = NULL;
  assert_int_equal(wl_source_open(path, NULL, &src), 0);
  const wl_meta *m = wl_source_meta(src);
  assert_int_equal(m->pages, 131072);
  assert_int_equal(m->page_size, 4096);
  assert_int_equal(m->has_op_column, 1);
  assert_int_equal(m->nonzero_count, 2);
  assert_int_equal(m->nonzero[1].first, 70000);
  assert_int_equal(m->nonzero[1].last, 70010);
  assert_int_equal(wl_meta_nonzero_pages(m), 65536 + 11);
  assert_int_equal(m->kv_count, 6);
  assert_string_equal(m->kv[3].key, "recorded_by");
  assert_string_equal(m->kv[3].value, "dirtytrack 0.3");
  assert_string_equal(m->kv[4].key, "a bare comment about this trace");
  assert_null(m->kv[4].value);
  assert_string_equal(wl_meta_get(m, "cmdline"), "stress-ng --vm 1 --vm-bytes 256M");
  static const wl_event want[] = {{0, 12, WL_OP_WRITE},      {0, 13, WL_OP_WRITE},
                                  {1500, 9000, WL_OP_WRITE}, {1500, 9000, WL_OP_READ},
                                  {2100, 12, WL_OP_READ},    {2100, 131071, WL_OP_WRITE},
                                  {5000000, 70005, WL_OP_WRITE}};
  wl_event got[16];
  /* Small reads cross the binary reader's internal positions. */
  long total = 0, n;
  while ((n = wl_source_read(src, got + total, 3)) > 0) total += n;
  assert_int_equal(n, 0);
  assert_int_equal(total, 7);
  for (size_t i = 0; i < 7; i++) {
    assert_int_equal(got[i].time_ns, want[i].time_ns);
    assert_int_equal(got[i].pfn, want[i].pfn);
    assert_int_equal(got[i].op, want[i].op);
  }
  /* Rewind gives the same stream again. */
  assert_int_equal(wl_source_rewind(src), 0);
  assert_int_equal(wl_source_read(src, got, 16), 7);
  assert_int_equal(got[6].pfn, 70005);
  wl_source_close(src);
}

static void test_ops_fixture_contents(void **state) {
  (void)state;
  char bin[512];
  check_ops_fixture(FIXTURES "trace_ops.csv");
  tmp_path(bin, sizeof bin, "ops.mtr");
  assert_int_equal(convert(FIXTURES "trace_ops.csv", bin, WL_FORMAT_BINARY), 0);
  check_ops_fixture(bin);
}

static void test_noop_and_odd_metadata(void **state) {
  (void)state;
  wl_source *src = NULL;
  wl_event ev[8];
  assert_int_equal(wl_source_open(FIXTURES "trace_noop.csv", NULL, &src), 0);
  assert_int_equal(wl_source_meta(src)->has_op_column, 0);
  assert_int_equal(wl_source_read(src, ev, 8), 5);
  for (int i = 0; i < 5; i++) assert_int_equal(ev[i].op, WL_OP_WRITE);
  assert_int_equal(ev[2].pfn, 32767);
  wl_source_close(src);

  assert_int_equal(wl_source_open(FIXTURES "trace_meta.csv", NULL, &src), 0);
  const wl_meta *m = wl_source_meta(src);
  assert_int_equal(m->page_size, 8192);
  assert_int_equal(m->pages, 1024);
  assert_int_equal(wl_meta_nonzero_pages(m), 1 + 3 + 24);
  assert_string_equal(m->kv[0].key, "");
  assert_null(m->kv[0].value);
  assert_string_equal(wl_meta_get(m, "workload"), "redis; note=a=b");
  assert_string_equal(m->kv[3].key, " two leading spaces kept");
  assert_string_equal(wl_meta_get(m, ""), "value with empty key");
  assert_string_equal(wl_meta_get(m, "zz_unknown"), "");
  assert_int_equal(wl_source_read(src, ev, 8), 3);
  assert_int_equal(ev[2].time_ns, UINT64_MAX);
  wl_source_close(src);

  assert_int_equal(wl_source_open(FIXTURES "trace_empty.csv", NULL, &src), 0);
  assert_int_equal(wl_source_meta(src)->duration_ns, 1000000000);
  assert_int_equal(wl_source_read(src, ev, 8), 0);
  wl_source_close(src);
}

/* CRLF, "#key" without the space and blank lines are accepted and come out
 * in canonical form. */
static void test_csv_normalises(void **state) {
  (void)state;
  char in[512], out[512];
  tmp_path(in, sizeof in, "crlf.csv");
  tmp_path(out, sizeof out, "crlf-out.csv");
  static const char crlf[] = "# migsim-trace v1\r\n#pages=32768\r\n\r\ntime_ns,pfn\r\n"
                             "0,0\r\n0,1\r\n10,32767\r\n\r\n10,32767\r\n20,5";
  write_all(in, crlf, sizeof crlf - 1);
  assert_int_equal(convert(in, out, WL_FORMAT_CSV), 0);
  assert_same_file(FIXTURES "trace_noop.csv", out);
}

/* ------------------------------------------------ large generated trace */

/* The stream the large-trace tests write: evenly spaced times (one event
 * every 333 ns), uniform random pfns over `pages`, a quarter of them reads
 * when has_op. */
static void gen_events(gsl_rng *rng, wl_event *ev, size_t n, size_t first, uint64_t pages,
                       int has_op) {
  for (size_t i = 0; i < n; i++) {
    ev[i].time_ns = (uint64_t)(first + i) * 333;
    ev[i].pfn = gsl_rng_uniform_int(rng, pages);
    ev[i].op = has_op && gsl_rng_uniform_int(rng, 4) == 0 ? WL_OP_READ : WL_OP_WRITE;
  }
}

static void write_random_trace(const char *path, wl_format format, uint64_t seed, size_t count,
                               uint64_t pages, int has_op) {
  wl_meta m = make_meta(pages, has_op);
  assert_int_equal(wl_meta_set(&m, "generator", "test-uniform"), 0);
  wl_writer *w = NULL;
  assert_int_equal(wl_writer_open(path, format, &m, &w), 0);
  gsl_rng *rng = sim_rng_stream(seed, "test_trace_format");
  wl_event buf[4096];
  for (size_t done = 0; done < count;) {
    size_t n = count - done < 4096 ? count - done : 4096;
    gen_events(rng, buf, n, done, pages, has_op);
    assert_int_equal(wl_writer_write(w, buf, n), 0);
    done += n;
  }
  gsl_rng_free(rng);
  assert_int_equal(wl_writer_close(w), 0);
  wl_meta_free(&m);
}

static uint64_t file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (uint64_t)st.st_size;
}

static void test_large_round_trip(void **state) {
  (void)state;
  enum { COUNT = 300000 };
  char bin[512], csv[512], bin2[512], csv2[512];
  tmp_path(bin, sizeof bin, "large.mtr");
  tmp_path(csv, sizeof csv, "large.csv");
  tmp_path(bin2, sizeof bin2, "large2.mtr");
  tmp_path(csv2, sizeof csv2, "large2.csv");
  write_random_trace(bin, WL_FORMAT_BINARY, 42, COUNT, 32768, 1);

  /* Every event comes back as written (regenerated from the same seed). */
  wl_source *src = NULL;
  assert_int_equal(wl_source_open(bin, NULL, &src), 0);
  gsl_rng *rng = sim_rng_stream(42, "test_trace_format");
  wl_event got[4096], want[4096];
  size_t done = 0;
  long n;
  while ((n = wl_source_read(src, got, 4096)) > 0) {
    gen_events(rng, want, (size_t)n, done, 32768, 1);
    for (long i = 0; i < n; i++) { /* field by field: wl_event has padding */
      assert_int_equal(got[i].time_ns, want[i].time_ns);
      assert_int_equal(got[i].pfn, want[i].pfn);
      assert_int_equal(got[i].op, want[i].op);
    }
    done += (size_t)n;
  }
  assert_int_equal(n, 0);
  assert_int_equal(done, COUNT);
  gsl_rng_free(rng);
  wl_source_close(src);

  /* binary -> CSV -> binary -> CSV: both pairs byte-identical. */
  assert_int_equal(convert(bin, csv, WL_FORMAT_CSV), 0);
  assert_int_equal(convert(csv, bin2, WL_FORMAT_BINARY), 0);
  assert_same_file(bin, bin2);
  assert_int_equal(convert(bin2, csv2, WL_FORMAT_CSV), 0);
  assert_same_file(csv, csv2);
}

/* Size targets from docs/design.md: ~2 bytes/event for uniform random pfns over
 * 32768 pages (15 bits of entropy = 1.875 bytes), far below 1 byte for a
 * coarse recorded trace (shared timestamps, ascending pfns). */
static void test_bytes_per_event(void **state) {
  (void)state;
  enum { COUNT = 1000000 };
  char path[512];
  tmp_path(path, sizeof path, "uniform.mtr");
  write_random_trace(path, WL_FORMAT_BINARY, 7, COUNT, 32768, 0);
  double uniform = (double)file_size(path) / COUNT;
  print_message("uniform 32768 pages: %.3f bytes/event\n", uniform);
  assert_true(uniform < 2.0);
  assert_true(uniform > 1.875 - 0.01); /* cannot beat the entropy */

  /* Coarse: one timestamp per 10 ms epoch, each epoch dirties a random
   * ~40% of 131072 pages in ascending order (what a dirty-bitmap recorder
   * produces). */
  tmp_path(path, sizeof path, "coarse.mtr");
  wl_meta m = make_meta(131072, 0);
  wl_writer *w = NULL;
  assert_int_equal(wl_writer_open(path, WL_FORMAT_BINARY, &m, &w), 0);
  gsl_rng *rng = sim_rng_stream(9, "coarse");
  wl_event buf[4096];
  size_t n = 0, total = 0;
  for (uint64_t epoch = 0; epoch < 40; epoch++) {
    for (uint64_t pfn = 0; pfn < 131072; pfn++) {
      if (gsl_rng_uniform(rng) >= 0.4) continue;
      buf[n++] = (wl_event){epoch * 10000000, pfn, WL_OP_WRITE};
      if (n == 4096) {
        assert_int_equal(wl_writer_write(w, buf, n), 0);
        total += n;
        n = 0;
      }
    }
  }
  assert_int_equal(wl_writer_write(w, buf, n), 0);
  total += n;
  assert_int_equal(wl_writer_close(w), 0);
  gsl_rng_free(rng);
  wl_meta_free(&m);
  double coarse = (double)file_size(path) / (double)total;
  print_message("coarse ascending (%zu events): %.3f bytes/event\n", total, coarse);
  assert_true(coarse < 0.5);
}

/* ----------------------------------------------------------------- seek */

/* Seeks at many times and checks the next event is the first with
 * time >= t, against a brute-force scan of the same events. */
static void check_seek(const char *path, const wl_event *all, size_t count) {
  wl_source *src = NULL;
  assert_int_equal(wl_source_open(path, NULL, &src), 0);
  uint64_t last = all[count - 1].time_ns;
  uint64_t probes[] = {0, 1, all[1].time_ns, all[count / 2].time_ns, all[count / 2].time_ns + 1,
                       last - 1, last, last + 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof probes / sizeof probes[0] + 40; i++) {
    uint64_t t = i < sizeof probes / sizeof probes[0] ? probes[i] : last / 40 * (i - 9) + 7;
    size_t first = 0;
    while (first < count && all[first].time_ns < t) first++;
    assert_int_equal(wl_source_seek(src, t), 0);
    wl_event ev[64];
    long n = wl_source_read(src, ev, 64);
    if (first == count) {
      assert_int_equal(n, 0);
      continue;
    }
    assert_true(n > 0);
    for (long j = 0; j < n; j++) {
      assert_int_equal(ev[j].time_ns, all[first + (size_t)j].time_ns);
      assert_int_equal(ev[j].pfn, all[first + (size_t)j].pfn);
    }
  }
  /* After a seek the stream runs to the end with nothing lost. */
  assert_int_equal(wl_source_seek(src, all[count / 3].time_ns), 0);
  size_t first = 0;
  while (all[first].time_ns < all[count / 3].time_ns) first++;
  wl_event ev[4096];
  long n;
  size_t seen = 0;
  while ((n = wl_source_read(src, ev, 4096)) > 0) seen += (size_t)n;
  assert_int_equal(n, 0);
  assert_int_equal(seen, count - first);
  wl_source_close(src);
}

static void test_seek(void **state) {
  (void)state;
  /* Long runs of equal timestamps that cross chunk boundaries (131072
   * events per chunk): the case where a naive index search lands late. */
  enum { COUNT = 400000 };
  wl_event *all = malloc(COUNT * sizeof *all);
  assert_non_null(all);
  gsl_rng *rng = sim_rng_stream(3, "seek");
  for (size_t i = 0; i < COUNT; i++) {
    all[i].time_ns = (i / 50000) * 1000 + (i % 50000 > 49990 ? i % 50000 - 49990 : 0);
    all[i].pfn = gsl_rng_uniform_int(rng, 100000);
    all[i].op = WL_OP_WRITE;
  }
  gsl_rng_free(rng);
  char bin[512], csv[512];
  tmp_path(bin, sizeof bin, "seek.mtr");
  tmp_path(csv, sizeof csv, "seek.csv");
  wl_meta m = make_meta(100000, 0);
  wl_writer *w = NULL;
  assert_int_equal(wl_writer_open(bin, WL_FORMAT_BINARY, &m, &w), 0);
  assert_int_equal(wl_writer_write(w, all, COUNT), 0);
  assert_int_equal(wl_writer_close(w), 0);
  wl_meta_free(&m);
  check_seek(bin, all, COUNT);
  assert_int_equal(convert(bin, csv, WL_FORMAT_CSV), 0);
  check_seek(csv, all, COUNT); /* linear seek, same answers */
  free(all);
}

/* ------------------------------------------------------ damaged binaries */

static void make_small_binary(const char *path, size_t count) {
  write_random_trace(path, WL_FORMAT_BINARY, 11, count, 32768, 1);
}

static void test_truncated_binary(void **state) {
  (void)state;
  char bin[512], cut[512], out[512];
  tmp_path(bin, sizeof bin, "whole.mtr");
  tmp_path(cut, sizeof cut, "cut.mtr");
  tmp_path(out, sizeof out, "out.csv");
  make_small_binary(bin, 400000); /* 4 chunks of up to 131072 events */
  size_t len;
  char *data = read_all(bin, &len);
  size_t offsets[] = {8, 30, 56, 100, 200, len / 4, len / 2, len - 200, len - 49, len - 1};
  for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
    write_all(cut, data, offsets[i]);
    uint64_t events;
    int rc = read_through(cut, &events);
    char want[64];
    snprintf(want, sizeof want, "truncated at byte %zu", offsets[i]);
    assert_error(rc, SIM_ETRUNCATED, want);
    assert_int_equal(convert(cut, out, WL_FORMAT_CSV), SIM_ETRUNCATED);
    assert_int_equal(count_files("out.csv"), 0);
  }
  /* The middle of the file is in a chunk, and the message says which. */
  write_all(cut, data, len / 2);
  uint64_t events;
  assert_error(read_through(cut, &events), SIM_ETRUNCATED, " of 4)");
  free(data);
}

/* Flipping any single byte of a binary trace must be caught (every byte
 * is covered by a CRC or checked against a constant). */
static void test_every_flipped_byte_is_caught(void **state) {
  (void)state;
  char bin[512], bad[512];
  tmp_path(bin, sizeof bin, "flip.mtr");
  tmp_path(bad, sizeof bad, "flipped.mtr");
  assert_int_equal(convert(FIXTURES "trace_ops.csv", bin, WL_FORMAT_BINARY), 0);
  size_t len;
  char *data = read_all(bin, &len);
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit += 7) {
      data[i] = (char)(data[i] ^ (1 << bit));
      write_all(bad, data, len);
      uint64_t events;
      int rc = read_through(bad, &events);
      if (rc == 0) fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
      data[i] = (char)(data[i] ^ (1 << bit));
    }
  }
  free(data);
}

static void test_chunk_checksum(void **state) {
  (void)state;
  char bin[512], bad[512], out[512];
  tmp_path(bin, sizeof bin, "crc.mtr");
  tmp_path(bad, sizeof bad, "crc-bad.mtr");
  tmp_path(out, sizeof out, "out.csv");
  make_small_binary(bin, 400000);
  size_t len;
  unsigned char *data = (unsigned char *)read_all(bin, &len);
  data[len / 2] ^= 0x10; /* inside the second of 4 chunks' payload */
  write_all(bad, data, len);
  uint64_t events;
  assert_error(read_through(bad, &events), SIM_ECHECKSUM, "checksum mismatch");
  assert_true(strstr(sim_error_message(), "crc-bad.mtr: chunk ") != NULL);
  assert_true(events >= 131072); /* the first chunk was fine and delivered */
  assert_int_equal(convert(bad, out, WL_FORMAT_CSV), SIM_ECHECKSUM);
  assert_int_equal(count_files("out.csv"), 0);
  free(data);
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_absurd_sizes(void **state) {
  (void)state;
  char bin[512], bad[512];
  tmp_path(bin, sizeof bin, "sizes.mtr");
  tmp_path(bad, sizeof bad, "sizes-bad.mtr");
  make_small_binary(bin, 1000);
  size_t len;
  unsigned char *data = (unsigned char *)read_all(bin, &len);
  uint32_t header_len = (uint32_t)data[12] | (uint32_t)data[13] << 8;

  unsigned char *copy = malloc(len);
  assert_non_null(copy);
  memcpy(copy, data, len);
  put32(copy + 12, 0xfffffff0u); /* header length */
  write_all(bad, copy, len);
  uint64_t events;
  assert_error(read_through(bad, &events), SIM_EFORMAT, "sizes-bad.mtr: byte 12: header length");

  memcpy(copy, data, len);
  put32(copy + header_len + 4, 1000000000u); /* chunk event count */
  write_all(bad, copy, len);
  assert_error(read_through(bad, &events), SIM_EFORMAT, "event count 1000000000 outside");
  assert_true(strstr(sim_error_message(), "(byte ") != NULL);

  memcpy(copy, data, len);
  put32(copy + header_len + 28, 0x7fffffffu); /* raw length */
  write_all(bad, copy, len);
  assert_error(read_through(bad, &events), SIM_EFORMAT, "raw length 2147483647 exceeds");

  memcpy(copy, data, len);
  put32(copy + header_len + 24, 0xffffff00u); /* payload length */
  write_all(bad, copy, len);
  assert_error(read_through(bad, &events), SIM_EFORMAT, "payload length");

  memcpy(copy, data, len);
  copy[8] = 9; /* version */
  write_all(bad, copy, len);
  assert_error(read_through(bad, &events), SIM_EUNSUPPORTED, "format version 9");
  copy[8] = 1; /* the unreleased interim layout */
  write_all(bad, copy, len);
  assert_error(read_through(bad, &events), SIM_EUNSUPPORTED, "format version 1");
  free(copy);
  free(data);
}

/* ----------------------------------------------------------- bad CSV */

static const struct {
  const char *name;
  const char *text;
  int code;
  const char *message;
} bad_csv[] = {
    {"row", "# migsim-trace v1\n# pages=100\ntime_ns,pfn,op\n0,1,w\n5,2,w,9\n", SIM_EFORMAT,
     "bad.csv:5: expected 3 fields (time_ns,pfn,op), got 4"},
    {"noparse", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,1\n1;2\n", SIM_EFORMAT,
     "bad.csv:5: expected 2 fields (time_ns,pfn), got 1"},
    {"number", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,1\n12x,2\n", SIM_EFORMAT,
     "bad.csv:5: time_ns '12x' is not a non-negative integer"},
    {"negative", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,-1\n", SIM_EFORMAT,
     "bad.csv:4: pfn '-1' is not a non-negative integer"},
    {"quote", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,1\n\"1\"2,3\n", SIM_EFORMAT,
     "bad.csv:5: malformed CSV"},
    {"pfn", "# migsim-trace v1\n# pages=131072\ntime_ns,pfn,op\n0,1,w\n1,140000,w\n",
     SIM_ERANGE, "bad.csv:5: pfn 140000 >= pages 131072"},
    {"order", "# migsim-trace v1\n# pages=100\ntime_ns,pfn,op\n2000,1,w\n1500,2,w\n", SIM_EORDER,
     "bad.csv:5: time goes backwards (1500 after 2000)"},
    {"order-crlf", "# migsim-trace v1\r\n# pages=100\r\ntime_ns,pfn\r\n2000,1\r\n1500,2\r\n",
     SIM_EORDER, "bad.csv:5: time goes backwards (1500 after 2000)"},
    {"op", "# migsim-trace v1\n# pages=100\ntime_ns,pfn,op\n0,1,w\n1,2,x\n", SIM_EFORMAT,
     "bad.csv:5: unknown op 'x' (expected w or r)"},
    {"nopages", "# migsim-trace v1\n# page_size=4096\ntime_ns,pfn,op\n0,1,w\n", SIM_EFORMAT,
     "bad.csv: trace header lacks pages=N"},
    {"badpages", "# migsim-trace v1\n# pages=lots\ntime_ns,pfn,op\n", SIM_EFORMAT,
     "bad.csv:2: metadata pages=lots"},
    {"spacedkey", "# migsim-trace v1\n# pages = 10\ntime_ns,pfn,op\n", SIM_EFORMAT,
     "bad.csv:2: metadata key 'pages ' has spaces"},
    {"nonzero", "# migsim-trace v1\n# nonzero=0-200\n# pages=100\ntime_ns,pfn\n", SIM_ERANGE,
     "bad.csv: nonzero page 200 is outside pages=100"},
    {"header", "# migsim-trace v1\n# pages=100\ntime,pfn\n0,1\n", SIM_EFORMAT,
     "bad.csv:3: expected the column header"},
    {"noheader", "# migsim-trace v1\n# pages=100\n", SIM_EFORMAT,
     "bad.csv:3: expected the column header"},
    {"version", "# migsim-trace v2\n# pages=100\ntime_ns,pfn\n", SIM_EUNSUPPORTED,
     "unsupported trace version 'v2'"},
    {"huge", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,99999999999999999999\n",
     SIM_ERANGE, "bad.csv:4: pfn 99999999999999999999 does not fit"},
    /* Found by fuzz_trace_csv: a CR inside a metadata line was kept, and
     * the writers (rightly) refused to write it back. */
    {"cr-in-meta", "# migsim-trace v1\n# pages=100\n# note=a\rb\ntime_ns,pfn\n", SIM_EFORMAT,
     "bad.csv:3: carriage return inside a header line"},
    {"duplicate", "# migsim-trace v1\n# note=a\n# pages=100\n# note=b\ntime_ns,pfn\n",
     SIM_EFORMAT, "bad.csv:4: metadata key 'note' appears twice"},
    {"lastrow", "# migsim-trace v1\n# pages=100\ntime_ns,pfn\n0,1\n3,100", SIM_ERANGE,
     "bad.csv:5: pfn 100 >= pages 100"},
};

static void test_bad_csv(void **state) {
  (void)state;
  char in[512], out[512];
  tmp_path(in, sizeof in, "bad.csv");
  tmp_path(out, sizeof out, "out.mtr");
  for (size_t i = 0; i < sizeof bad_csv / sizeof bad_csv[0]; i++) {
    write_all(in, bad_csv[i].text, strlen(bad_csv[i].text));
    uint64_t events;
    sim_error_clear();
    int rc = read_through(in, &events);
    if (rc != bad_csv[i].code || !strstr(sim_error_message(), bad_csv[i].message))
      fail_msg("case %s: got %d '%s', expected %d '...%s...'", bad_csv[i].name, rc,
               sim_error_message(), bad_csv[i].code, bad_csv[i].message);
    assert_int_equal(convert(in, out, WL_FORMAT_BINARY), bad_csv[i].code);
    assert_int_equal(count_files("out.mtr"), 0);
  }
}

/* A bad row far into a file (past the first block and slice) still gets
 * its own line number, and the rows before it are delivered. */
static void test_bad_csv_deep_line(void **state) {
  (void)state;
  char in[512];
  tmp_path(in, sizeof in, "deep.csv");
  FILE *f = fopen(in, "wb");
  assert_non_null(f);
  fputs("# migsim-trace v1\n# pages=1000\ntime_ns,pfn,op\n", f);
  for (int i = 0; i < 100000; i++) fprintf(f, "%d,%d,w\n", i, i % 1000);
  fputs("100000,5,q\n", f);
  fclose(f);
  uint64_t events;
  assert_error(read_through(in, &events), SIM_EFORMAT, "deep.csv:100004: unknown op 'q'");
  assert_int_equal(events, 100000);
}

/* ------------------------------------------------------------- writer */

static void test_writer_checks(void **state) {
  (void)state;
  char path[512];
  tmp_path(path, sizeof path, "w.mtr");
  for (int format = 0; format < 2; format++) {
    wl_format fmt = format ? WL_FORMAT_CSV : WL_FORMAT_BINARY;
    wl_meta m = make_meta(100, 0);
    wl_writer *w = NULL;
    assert_int_equal(wl_writer_open(path, fmt, &m, &w), 0);
    wl_event ok[2] = {{10, 1, WL_OP_WRITE}, {20, 99, WL_OP_WRITE}};
    assert_int_equal(wl_writer_write(w, ok, 2), 0);
    wl_event back = {19, 1, WL_OP_WRITE};
    assert_error(wl_writer_write(w, &back, 1), SIM_EORDER, "event 2 goes back in time (19 after 20)");
    wl_event range = {30, 100, WL_OP_WRITE};
    assert_error(wl_writer_write(w, &range, 1), SIM_ERANGE, "pfn 100 >= pages 100");
    wl_event read = {30, 5, WL_OP_READ};
    assert_error(wl_writer_write(w, &read, 1), SIM_EINVAL, "no op column");
    assert_int_equal(count_files("w.mtr"), 1); /* the temporary file */
    wl_writer_abort(w);
    assert_int_equal(count_files("w.mtr"), 0);
    wl_meta_free(&m);
  }
  /* Metadata that could not be read back is refused up front. */
  wl_meta m = make_meta(100, 1);
  assert_int_equal(wl_meta_set(&m, "note", "two\nlines"), 0);
  wl_writer *w = NULL;
  assert_error(wl_writer_open(path, WL_FORMAT_CSV, &m, &w), SIM_EINVAL, "line break");
  assert_int_equal(count_files("w.mtr"), 0);
  wl_meta_free(&m);
  m = make_meta(100, 1);
  assert_int_equal(wl_meta_set(&m, "a=b", NULL), 0); /* would be read back as a key */
  assert_error(wl_writer_open(path, WL_FORMAT_BINARY, &m, &w), SIM_EINVAL, "contains '='");
  wl_meta_free(&m);
  wl_meta_init(&m);
  assert_error(wl_writer_open(path, WL_FORMAT_BINARY, &m, &w), SIM_EINVAL, "no pages=");
  wl_meta_free(&m);
}

/* ---------------------------------------------------------------- CLI */

/* Runs the built CLI; stdout goes to out_path (NULL: discarded). */
static int run_cli_to(const char *args, const char *out_path, const char *err_path) {
  char cmd[4096];
  int len = snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", MIGSIM_BIN, args,
                     out_path ? out_path : "/dev/null", err_path);
  assert_true(len > 0 && (size_t)len < sizeof cmd);
  int status = system(cmd);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static int run_cli(const char *args, const char *err_path) { return run_cli_to(args, NULL, err_path); }

static void test_cli(void **state) {
  (void)state;
  char in[512], out[512], err[512], args[1600], back[512];
  tmp_path(in, sizeof in, "cli-bad.csv");
  tmp_path(out, sizeof out, "cli-out.mtr");
  tmp_path(err, sizeof err, "stderr.txt");
  tmp_path(back, sizeof back, "cli-back.csv");
  write_all(in, bad_csv[0].text, strlen(bad_csv[0].text));
  snprintf(args, sizeof args, "trace import '%s' '%s'", in, out);
  assert_int_equal(run_cli(args, err), 2);
  assert_int_equal(count_files("cli-out"), 0);
  size_t len;
  char *msg = read_all(err, &len);
  assert_non_null(strstr(msg, "cli-bad.csv:5: expected 3 fields"));
  assert_non_null(strchr(msg, '\n'));
  assert_int_equal(strchr(msg, '\n') - msg, (long)len - 1); /* one line */
  free(msg);

  /* Truncated binary through export: exit 2, no CSV. */
  char whole[512];
  tmp_path(whole, sizeof whole, "cli-whole.mtr");
  make_small_binary(whole, 70000);
  char *data = read_all(whole, &len);
  write_all(out, data, len - 10);
  free(data);
  snprintf(args, sizeof args, "trace export '%s' '%s'", out, back);
  assert_int_equal(run_cli(args, err), 2);
  assert_int_equal(count_files("cli-back"), 0);
  unlink(out);

  /* The good path, both ways, byte-identical. */
  snprintf(args, sizeof args, "trace import '%s' '%s'", FIXTURES "trace_ops.csv", out);
  assert_int_equal(run_cli(args, err), 0);
  snprintf(args, sizeof args, "trace export '%s' '%s'", out, back);
  assert_int_equal(run_cli(args, err), 0);
  assert_same_file(FIXTURES "trace_ops.csv", back);

  /* "-" is standard output for CSV; a binary trace refuses it. */
  snprintf(args, sizeof args, "trace export '%s' -", out);
  unlink(back);
  assert_int_equal(run_cli_to(args, back, err), 0);
  assert_same_file(FIXTURES "trace_ops.csv", back);
  snprintf(args, sizeof args, "trace import '%s' -", FIXTURES "trace_ops.csv");
  assert_int_equal(run_cli(args, err), 2);
  msg = read_all(err, &len);
  assert_non_null(strstr(msg, "cannot be written to standard output"));
  free(msg);

  /* OUT the input itself: refused, the trace left as it was. */
  snprintf(args, sizeof args, "trace export '%s' '%s'", out, out);
  data = read_all(out, &len);
  assert_int_equal(run_cli(args, err), 2);
  size_t len2;
  char *after = read_all(out, &len2);
  assert_int_equal(len2, len);
  assert_memory_equal(after, data, len);
  free(after);
  free(data);
  msg = read_all(err, &len);
  assert_non_null(strstr(msg, "is the input trace itself"));
  free(msg);

  assert_int_equal(run_cli("trace import --help", err), 0);
  assert_int_equal(run_cli("trace export --help", err), 0);
  assert_int_equal(run_cli("trace import only-one-arg", err), 2);
  assert_int_equal(run_cli("trace export --bogus a b", err), 2);
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixtures_round_trip),
      cmocka_unit_test(test_ops_fixture_contents),
      cmocka_unit_test(test_noop_and_odd_metadata),
      cmocka_unit_test(test_csv_normalises),
      cmocka_unit_test(test_large_round_trip),
      cmocka_unit_test(test_bytes_per_event),
      cmocka_unit_test(test_seek),
      cmocka_unit_test(test_truncated_binary),
      cmocka_unit_test(test_every_flipped_byte_is_caught),
      cmocka_unit_test(test_chunk_checksum),
      cmocka_unit_test(test_absurd_sizes),
      cmocka_unit_test(test_bad_csv),
      cmocka_unit_test(test_bad_csv_deep_line),
      cmocka_unit_test(test_writer_checks),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
