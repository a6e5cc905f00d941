/* sim_hash: FNV-1a 64. */
#include "sim_hash.h"

#include <string.h>

uint64_t sim_hash(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t sim_hash_str(uint64_t h, const char *text) { return sim_hash(h, text, strlen(text) + 1); }
