/* kvr_layout: the replay guest's memory, described for the simulator.
 *
 * The replay guest is larger than the trace: the kernel sits at 1 MiB with
 * the module (the trace's accesses) after it, the trace pages start at the
 * base page, and RAM ends a margin above them. To compare like with like,
 * validation and calibration simulate that whole guest: this computes the
 * scenario's guest-offset, guest-extra-pages and guest-nonzero from the
 * very module kvr_run would build. */
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
  /* Non-zero at the start besides the trace's image: kernel and module. */
  snprintf(sim->guest_nonzero, sizeof sim->guest_nonzero, "%llu-%llu",
           (unsigned long long)(0x100000 / KVR_PAGE_SIZE),
           (unsigned long long)((info.module_addr + info.bytes - 1) / KVR_PAGE_SIZE));
  return 0;
}
