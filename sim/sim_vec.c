/* sim_vec: growing arrays. */
#include "sim_vec.h"

#include <stdint.h>
#include <stdlib.h>

void *sim_grow(void *items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return items;
  size_t n = *cap * 2;
  if (n < need) n = need;
  if (n < 16) n = 16;
  if (size && n > SIZE_MAX / size) return NULL;
  void *grown = realloc(items, n * size);
  if (!grown) return NULL;
  *cap = n;
  return grown;
}
