/* sim_vec: growing arrays.
 *
 * One helper for the "append, doubling the capacity when full" pattern that
 * every growable array in migsim uses. */
#ifndef SIM_VEC_H
#define SIM_VEC_H

#include <stddef.h>

/* Returns `items` resized so that it holds at least `need` elements of
 * `size` bytes, growing *cap geometrically (at least doubling, at least 16)
 * so that appends cost amortised O(1). Returns NULL when out of memory;
 * `items` and *cap are then unchanged and still valid. */
void *sim_grow(void *items, size_t *cap, size_t need, size_t size);

#endif
