/* test_kvr_content: the replay guest's page content for compression
 * (kvmreplay/guest/kvr_abi.h kvr_page_content, kvmreplay/kvr_module.c),
 * without QEMU: a non-zero page of the initial image compresses with zlib
 * to the workload's compress_ratio, and only scenarios that compress get
 * such pages (other modules stay byte for byte as before). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "kvr.h"
#include "kvr_abi.h"
#include "kvr_internal.h"
#include "sim_err.h"
#include "test_util.h"

/* zlib level 1 ratio of page `pfn` as the guest fills it. */
static double page_ratio(uint32_t pfn, uint32_t random_bytes) {
  uint32_t page[KVR_PAGE_SIZE / 4];
  unsigned char out[2 * KVR_PAGE_SIZE];
  kvr_page_content(page, pfn, random_bytes, 0x12345678u);
  uLongf len = sizeof out;
  assert_int_equal(compress2(out, &len, (const Bytef *)page, KVR_PAGE_SIZE, 1), Z_OK);
  return (double)len / KVR_PAGE_SIZE;
}

/* Each target ratio is met within 0.5 % of a page, on pages the search did
 * not look at, and the prefix grows with the ratio. */
static void test_ratio_reached(void **state) {
  (void)state;
  const double targets[] = {0.05, 0.135, 0.3, 0.528, 0.75, 0.95};
  uint32_t prev = 0;
  for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
    uint32_t rb = kvr__random_bytes_for(targets[i]);
    assert_int_equal(rb % 4, 0);
    assert_true(rb <= KVR_PAGE_SIZE);
    assert_true(rb > prev);
    prev = rb;
    for (uint32_t pfn = 100; pfn < 110; pfn++) {
      double got = page_ratio(pfn, rb);
      if (got < targets[i] - 0.005 || got > targets[i] + 0.005)
        fail_msg("compress_ratio %.3f: prefix %u gives %.4f on page %u", targets[i], rb, got, pfn);
    }
  }
  /* Beyond reach: the nearest prefix. Random bytes do not compress, so 1
   * is (nearly) the whole page; a tiny ratio the fill word alone. */
  assert_true(kvr__random_bytes_for(1.0) >= KVR_PAGE_SIZE - 64);
  assert_int_equal(kvr__random_bytes_for(0.0001), 0);
}

/* The prefix never forms a stamp (the integrity check reads stamps), and
 * the tail is the fill word. */
static void test_content_shape(void **state) {
  (void)state;
  uint32_t page[KVR_PAGE_SIZE / 4];
  for (uint32_t pfn = 0; pfn < 64; pfn++) {
    kvr_page_content(page, pfn, 1024, 0xdeadbeefu);
    uint64_t seq;
    assert_int_equal(kvr_stamp_decode(page, &seq), -1);
    assert_int_not_equal(page[0], 0xdeadbeefu);
    for (uint32_t i = 256; i < KVR_PAGE_SIZE / 4; i++) assert_int_equal(page[i], 0xdeadbeefu);
  }
  kvr_page_content(page, 7, 0, 0xdeadbeefu);
  for (uint32_t i = 0; i < KVR_PAGE_SIZE / 4; i++) assert_int_equal(page[i], 0xdeadbeefu);
}

/* A replayed write as the guest makes it: stamp, then the fill to W. */
static void guest_write(uint32_t *page, uint64_t seq, uint32_t write_bytes) {
  kvr_stamp_words(seq, page);
  for (uint32_t o = KVR_STAMP_BYTES; o + 4 <= write_bytes; o += 4) page[o / 4] = KVR_FILL_WORD(page[0], o);
}

/* Two writes to a page differ in every byte of [0, W) but by chance (1 in
 * 256 a byte), so QEMU's XBZRLE sees one run of W changed bytes, as the
 * model's write_bytes says; and the stamp decodes to its seq. A stamp
 * that stores seq and the magic as plain words keeps about 10 bytes. */
static void test_stamp_changes_every_byte(void **state) {
  (void)state;
  static const uint64_t seqs[] = {0, 1, 255, 256, 65536, 123456789, 0xffffffffull, 0x100000000ull, 0x123456789abcull};
  for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
    uint32_t w[4];
    uint64_t back = 0;
    kvr_stamp_words(seqs[i], w);
    assert_int_equal(kvr_stamp_decode(w, &back), 0);
    assert_true(back == seqs[i]);
    assert_true(w[0] | w[3]); /* never a zero page */
    w[2] ^= 1u;
    assert_int_equal(kvr_stamp_decode(w, &back), -1);
  }
  const uint32_t write_bytes = 64;
  uint32_t a[KVR_PAGE_SIZE / 4], b[KVR_PAGE_SIZE / 4];
  uint64_t same = 0, pairs = 0;
  for (uint64_t seq = 1000; seq < 21000; seq += 7, pairs++) {
    memset(a, 0x5a, sizeof a);
    memcpy(b, a, sizeof b);
    guest_write(a, seq, write_bytes);
    guest_write(b, seq + 1 + seq % 5000, write_bytes); /* a later write, 1 to 5000 apart */
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    for (uint32_t k = 0; k < write_bytes; k++) same += pa[k] == pb[k];
    assert_memory_equal(pa + write_bytes, pb + write_bytes, KVR_PAGE_SIZE - write_bytes);
  }
  /* By chance: 64/256 = 0.25 equal bytes a pair; the plain stamp had ~10. */
  assert_true((double)same / (double)pairs < 0.5);
}

static uint32_t module_random_bytes(const char *trace, const char *setting, const char *value) {
  char module[512];
  snprintf(module, sizeof module, "%s.mod", trace);
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  snprintf(s.workload, sizeof s.workload, "%s", trace);
  if (setting && mdl_scenario_set(&s, setting, value)) fail_msg("%s", sim_error_message());
  if (setting && !strcmp(setting, "multifd-compression")) s.multifd = 1;
  kvr_module_info info;
  kvr_guest_params gp = {100000000, 1000000, 0, 0};
  assert_int_equal(kvr__module_build(&s, module, 0x109000, &gp, 60000000000ull, &info), 0);
  FILE *f = fopen(module, "rb");
  assert_non_null(f);
  unsigned char h[KVR_MODULE_HEADER_SIZE];
  assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
  fclose(f);
  unlink(module);
  uint32_t v = (uint32_t)h[KVR_MOD_RANDOM_BYTES] | (uint32_t)h[KVR_MOD_RANDOM_BYTES + 1] << 8 |
               (uint32_t)h[KVR_MOD_RANDOM_BYTES + 2] << 16 | (uint32_t)h[KVR_MOD_RANDOM_BYTES + 3] << 24;
  assert_int_equal(v, info.random_bytes);
  return v;
}

/* Modules carry the prefix for multifd zlib/zstd and compress only. */
static void test_module_field(void **state) {
  (void)state;
  char trace[] = "/tmp/migsim-kvr-content-XXXXXX";
  int fd = mkstemp(trace);
  assert_true(fd >= 0);
  const char text[] = "# migsim-trace v1\n# page_size=4096\n# pages=64\n# nonzero=0-15\n# compress_ratio=0.3\n"
                      "time_ns,pfn,op\n0,3,w\n1000000,9,w\n";
  assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  uint32_t want = kvr__random_bytes_for(0.3);
  assert_int_equal(module_random_bytes(trace, NULL, NULL), 0);
  assert_int_equal(module_random_bytes(trace, "multifd", "yes"), 0); /* none: content does not matter */
  assert_int_equal(module_random_bytes(trace, "multifd-compression", "zlib"), want);
  assert_int_equal(module_random_bytes(trace, "multifd-compression", "zstd"), want);
  assert_int_equal(module_random_bytes(trace, "compress", "yes"), want);
  unlink(trace);
}

/* compress on QEMU 10.0: refused in one line before any QEMU starts (the
 * short name says the version), naming the version that removed it. */
static void test_removed_feature_refused(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  assert_int_equal(mdl_scenario_set(&s, "workload", "uniform:wss=64,rate=10"), 0);
  assert_int_equal(mdl_scenario_set(&s, "memory", "8MiB"), 0);
  assert_int_equal(mdl_scenario_set(&s, "algo", "precopy+compress"), 0);
  kvr_options o;
  kvr_options_init(&o);
  o.qemu = "10.0";
  mdl_result r;
  assert_int_equal(kvr_run(&s, &o, &r, NULL), SIM_EUNSUPPORTED);
  assert_non_null(strstr(r.failure, "compress"));
  assert_non_null(strstr(r.failure, "removed it in 9.1"));
  mdl_result_free(&r);
}

/* The machine's CPU model, what a profile's `host` is matched against
 * (docs/hosts.md): /proc/cpuinfo's first model name, whole. */
static void test_host_cpu_model(void **state) {
  (void)state;
  char buf[256], small[8];
  assert_int_equal(kvr_host_cpu_model(buf, 0), SIM_EINVAL);
  if (kvr_host_cpu_model(buf, sizeof buf) == SIM_ENOTFOUND) skip(); /* no model name (some arches) */
  assert_true(buf[0] != 0);
  assert_null(strchr(buf, '\n'));
  assert_true(buf[0] != ' ' && buf[0] != '\t');
  FILE *f = popen("grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//'", "r");
  assert_non_null(f);
  char want[256] = "";
  assert_non_null(fgets(want, sizeof want, f));
  pclose(f);
  want[strcspn(want, "\n")] = 0;
  assert_string_equal(buf, want);
  assert_int_equal(kvr_host_cpu_model(small, sizeof small), 0); /* cut, still terminated */
  assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ratio_reached), cmocka_unit_test(test_host_cpu_model),
      cmocka_unit_test(test_content_shape),
      cmocka_unit_test(test_stamp_changes_every_byte),
      cmocka_unit_test(test_module_field),
      cmocka_unit_test(test_removed_feature_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
