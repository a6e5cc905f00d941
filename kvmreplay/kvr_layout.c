/* kvr_layout: the replay guest's memory, described for the simulator.
 *
 * The replay guest is larger than the trace: the kernel sits at 1 MiB with
 * the module (the trace's accesses) after it, the trace pages start at the
 * base page, and RAM ends a margin above them. To compare like with like,
 * validation and calibration simulate that whole guest: this computes the
 * scenario's guest-offset, guest-extra-pages and guest-nonzero from the
 * very module kvr_run would build. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvr.h"
#include "kvr_abi.h"
#include "kvr_internal.h"
#include "sim_err.h"

#ifndef KVR_GUEST_ELF_PATH
#define KVR_GUEST_ELF_PATH "kvr_guest.elf"
#endif

const char *kvr__guest_path(const char *given) {
  if (given && *given) return given;
  const char *env = getenv("MIGSIM_KVR_GUEST");
  return env && *env ? env : KVR_GUEST_ELF_PATH;
}

/* Pages the firmware and QEMU's multiboot loader leave non-zero, found by
 * tracing ram_save_page over a first pass on QEMU 7.2 and 10.0 (the same on
 * both, 134 MiB and 518 MiB guests; docs/kvmreplay.md, "The simulated
 * layout"): in the first MiB the interrupt table and BIOS data with the
 * e820 map, the multiboot info at 0x9000, the EBDA, the option ROMs and
 * SeaBIOS at 0xE8000; below the top of RAM, 16 MiB down, 27 pages of
 * SeaBIOS's temporary allocations, and its tables in the last 128 KiB. */
static const struct {
  uint32_t first, last;
} kvr__fw_low[] = {{0, 0}, {6, 6}, {9, 9}, {159, 160}, {167, 168}, {192, 192}, {194, 194}, {232, 255}};
/* Counted down from the top of RAM (pages). */
static const struct {
  uint32_t from_top, count;
} kvr__fw_high[] = {{4127, 1}, {4122, 26}, {32, 3}};

/* Appends "A-B" (or "A") to buf; the layout's dozen ranges fit
 * MDL_TEXT_MAX many times over. */
static void kvr__add_range(char *buf, size_t size, uint64_t a, uint64_t b) {
  size_t len = strlen(buf);
  assert(len + 2 * 21 + 2 < size);
  if (a == b)
    snprintf(buf + len, size - len, "%s%llu", len ? "," : "", (unsigned long long)a);
  else
    snprintf(buf + len, size - len, "%s%llu-%llu", len ? "," : "", (unsigned long long)a, (unsigned long long)b);
}

int kvr_sim_layout(const mdl_scenario *s, mdl_scenario *sim) {
  *sim = *s;
  uint64_t kernel_end;
  int rc = kvr__elf_end(kvr__guest_path(NULL), &kernel_end);
  if (rc) return rc;
  const char *tmp = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/migsim-layout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) return sim_errorf(SIM_EIO, "cannot create a temporary file in %s", tmp ? tmp : "/tmp");
  close(fd);
  kvr_guest_params gp;
  memset(&gp, 0, sizeof gp);
  kvr_module_info info;
  /* The same horizon as kvr_run: events past timeout + 5 s never play. */
  rc = kvr__module_build(s, path, kernel_end, &gp, s->timeout_ns + 5000000000ull, &info);
  unlink(path);
  if (rc) return rc;
  uint64_t ram_pages = kvr__ram_bytes(&info) / KVR_PAGE_SIZE;
  sim->pages = info.pages;
  sim->guest_offset = info.base_page;
  sim->guest_extra_pages = ram_pages - info.base_page - info.pages;
  /* Non-zero at the start besides the trace's image. */
  char *nz = sim->guest_nonzero;
  size_t size = sizeof sim->guest_nonzero;
  nz[0] = 0;
  for (size_t i = 0; i < sizeof kvr__fw_low / sizeof kvr__fw_low[0]; i++)
    kvr__add_range(nz, size, kvr__fw_low[i].first, kvr__fw_low[i].last);
  /* The kernel at 1 MiB: text and data, then .bss, which the guest writes
   * in part (stack, rings, status: 3 of its 7 pages here; all counted). */
  uint64_t kernel_first = 0x100000 / KVR_PAGE_SIZE, kernel_last = (kernel_end - 1) / KVR_PAGE_SIZE;
  /* QEMU's multiboot loader (hw/i386/multiboot.c) copies the kernel's
   * image, page-aligned, then one page holding the module list and command
   * lines, then the module: so the module starts two pages on. */
  uint64_t module_first = kernel_last + 2;
  uint64_t module_last = module_first + (info.bytes + KVR_PAGE_SIZE - 1) / KVR_PAGE_SIZE - 1;
  kvr__add_range(nz, size, kernel_first, module_last);
  for (size_t i = 0; i < sizeof kvr__fw_high / sizeof kvr__fw_high[0]; i++) {
    if (ram_pages < kvr__fw_high[i].from_top + module_last + 1) continue; /* a tiny guest */
    uint64_t a = ram_pages - kvr__fw_high[i].from_top;
    kvr__add_range(nz, size, a, a + kvr__fw_high[i].count - 1);
  }
  return 0;
}
