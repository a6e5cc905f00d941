/* sim_hash: a small, stable, non-cryptographic hash for names and keys.
 *
 * FNV-1a, 64 bits (Fowler, Noll, Vo; public-domain algorithm). Stable
 * across platforms and releases: values end up in result files (hashed
 * run ids, folder signatures), so they must never change. O(n). */
#ifndef SIM_HASH_H
#define SIM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SIM_HASH_INIT 14695981039346656037ull

/* Continues hash `h` (SIM_HASH_INIT to start) over data[0..len). */
uint64_t sim_hash(uint64_t h, const void *data, size_t len);

/* Continues `h` over the NUL-terminated text, terminator included, so
 * that ("ab","c") and ("a","bc") differ. */
uint64_t sim_hash_str(uint64_t h, const char *text);

#endif
