/* wl_record_internal: what wl_record.c and wl_record_uffd.c share (internal
 * to workloads/): the kernel ABI of PAGEMAP_SCAN and of userfaultfd's async
 * write protection, and the few operations that need ptrace.
 *
 * Debian 12's kernel headers (6.1) predate PAGEMAP_SCAN (Linux 6.7) and the
 * userfaultfd features WP_UNPOPULATED (6.4) and WP_ASYNC (6.7), so their
 * numbers are defined here. Source of the numbers: the kernel's UAPI headers
 * include/uapi/linux/fs.h (PAGEMAP_SCAN, struct pm_scan_arg, struct
 * page_region, PM_SCAN_*, PAGE_IS_*) and include/uapi/linux/userfaultfd.h
 * (UFFD_FEATURE_*, UFFD_USER_MODE_ONLY). They are ABI: they never change. */
#ifndef WL_RECORD_INTERNAL_H
#define WL_RECORD_INTERNAL_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/* linux/fs.h: struct page_region */
typedef struct {
  uint64_t start, end, categories;
} wl__pm_region;

/* linux/fs.h: struct pm_scan_arg */
typedef struct {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
} wl__pm_scan_arg;

#define WL__PAGEMAP_SCAN _IOWR('f', 16, wl__pm_scan_arg)
/* pm_scan_arg.flags */
#define WL__PM_SCAN_WP_MATCHING (1u << 0)  /* write-protect the pages found */
#define WL__PM_SCAN_CHECK_WPASYNC (1u << 1) /* fail (EPERM) on a mapping not
                                               registered for async WP */
/* page categories */
#define WL__PAGE_IS_WPALLOWED (1u << 0)
#define WL__PAGE_IS_WRITTEN (1u << 1)
#define WL__PAGE_IS_FILE (1u << 2)
#define WL__PAGE_IS_PRESENT (1u << 3)
#define WL__PAGE_IS_SWAPPED (1u << 4)
#define WL__PAGE_IS_PFNZERO (1u << 5)

/* Sets the categories of a PAGEMAP_SCAN that finds the pages written since
 * they were last write-protected: written (no uffd-wp bit), resident or
 * swapped, and not the shared zero page (a read of untouched memory maps
 * it without the bit). Holes are left alone: they are not written, and
 * protecting them would fill huge sparse mappings with page tables; a
 * first write to one creates an entry without the bit, found next time. */
static inline void wl__pm_scan_written(wl__pm_scan_arg *arg) {
  arg->category_mask = WL__PAGE_IS_WRITTEN | WL__PAGE_IS_PFNZERO;
  arg->category_inverted = WL__PAGE_IS_PFNZERO;
  arg->category_anyof_mask = WL__PAGE_IS_PRESENT | WL__PAGE_IS_SWAPPED;
  arg->return_mask = WL__PAGE_IS_WRITTEN;
}

/* linux/userfaultfd.h */
#define WL__UFFD_USER_MODE_ONLY 1
#define WL__UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1ull << 12)
#define WL__UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#define WL__UFFD_FEATURE_WP_ASYNC (1ull << 15)

/* Creates a userfaultfd *inside* process `pid` and returns a duplicate of
 * it in *uffd, initialised (UFFDIO_API) for asynchronous write protection
 * of any kind of memory. A userfaultfd belongs to the address space of the
 * process that created it, and every later ioctl on it (register,
 * write-protect) acts on that address space, whoever calls it; so only the
 * creation needs to happen in the target. It is done by ptrace: the main
 * thread is seized and interrupted, made to run userfaultfd(2) and, once
 * the recorder holds its own copy (pidfd_getfd(2)), close(2), then its
 * registers are restored and it is released. It never sees a difference,
 * except that a blocking system call it was in is restarted.
 * Returns 0, 1 when the process has gone (or is exiting), or a negative
 * code (SIM_EUNSUPPORTED naming what is missing). x86-64 only. */
int wl__uffd_attach(pid_t pid, int *uffd);

/* Registers [start, end) of the uffd's address space for write protection
 * (UFFDIO_REGISTER_MODE_WP). Returns 0 or -errno (EINVAL: a kind of
 * mapping that cannot be registered; EBUSY: registered by someone else;
 * ENOMEM/ENOENT: the mapping has gone). */
int wl__uffd_register(int uffd, uint64_t start, uint64_t end);

#endif
