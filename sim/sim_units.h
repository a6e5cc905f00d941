/* sim_units: parsing of the quantities users type (sizes, durations, rates,
 * fractions), shared by the CLI, workload specs and scenario files.
 *
 * Accepted units (case-sensitive for the binary/decimal distinction):
 *   sizes     B, KiB, MiB, GiB, TiB (powers of 1024); KB, MB, GB, TB
 *             (powers of 1000); "pages" when a page size is known.
 *   durations ns, us, ms, s, min, h.
 *   rates     B/s, KiB/s, MiB/s, GiB/s, KB/s, MB/s, GB/s, bit/s, kbit/s,
 *             Mbit/s, Gbit/s (also Mbps, Gbps), pages/s.
 *   fractions 0.25 or 25%.
 * Every parser returns 0 or SIM_EINVAL / SIM_EUNIT / SIM_ERANGE with a
 * message naming the offending text. */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define SIM_NS_PER_US 1000ull
#define SIM_NS_PER_MS 1000000ull
#define SIM_NS_PER_S 1000000000ull

/* A size in bytes. A bare number is bytes; "N pages" (or "Np") is
 * N × page_size when page_size > 0. */
int sim_parse_bytes(const char *text, uint64_t page_size, uint64_t *bytes);

/* A duration in nanoseconds. A bare number is taken in `bare_unit_ns`
 * (e.g. SIM_NS_PER_S for --duration, SIM_NS_PER_MS for --downtime-limit). */
int sim_parse_duration(const char *text, uint64_t bare_unit_ns,
                       uint64_t *ns);

typedef enum { SIM_RATE_BYTES, SIM_RATE_PAGES } sim_rate_kind;
typedef struct {
  double value;       /* per second, in the kind's unit */
  sim_rate_kind kind; /* bytes/s or pages/s */
} sim_rate;

/* A rate. A bare number has kind `bare_kind`. */
int sim_parse_rate(const char *text, sim_rate_kind bare_kind, sim_rate *rate);

/* Converts a rate to bytes/s or pages/s given the page size. */
double sim_rate_bytes_per_s(sim_rate rate, uint64_t page_size);
double sim_rate_pages_per_s(sim_rate rate, uint64_t page_size);

/* A non-negative integer count; accepts 1e6 and k/M/G suffixes (×1000).
 * Plain digits are read exactly up to 2^64-1; other notations must give a
 * whole number no larger than 2^53 (where a double still holds every
 * integer), so nothing is rounded or clamped. */
int sim_parse_count(const char *text, uint64_t *count);

/* A finite double (no unit). */
int sim_parse_double(const char *text, double *value);

/* A fraction in [0, 1]: "0.25" or "25%". */
int sim_parse_fraction(const char *text, double *fraction);

/* What a number measures, for messages and help texts that state ranges. */
typedef enum {
  SIM_QTY_COUNT,  /* a plain integer */
  SIM_QTY_NUMBER, /* a plain real number */
  SIM_QTY_NS,     /* nanoseconds, printed as ns/us/ms/s */
  SIM_QTY_BYTES,  /* bytes, printed as B/KiB/.../TiB */
  SIM_QTY_RATE    /* bytes per second, printed as B/s/.../TiB/s */
} sim_quantity;

/* v in the largest unit that represents it exactly ("1GiB/s", "2000s");
 * returns buf. */
char *sim_format_quantity(char *buf, size_t len, sim_quantity q, double v);
/* "lo..hi" in that form; returns buf. */
char *sim_format_range(char *buf, size_t len, sim_quantity q, double lo, double hi);

/* Human-readable renderings into buf (always NUL-terminated); return buf. */
char *sim_format_bytes(char *buf, size_t len, double bytes);
char *sim_format_duration(char *buf, size_t len, uint64_t ns);

#endif
