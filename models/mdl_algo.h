/* mdl_algo: the migration algorithms, one const descriptor each, in one
 * table (STYLE.md habit 6; workloads/wl_gen.c does the same for
 * generators).
 *
 * Everything that differs between algorithms is a field here, read by the
 * simulator (models/mdl_sim.c), the hybrid switch rule (mdl_switch.c),
 * kvmreplay (which QEMU capabilities to set, when to issue
 * migrate-start-postcopy), the result writer (which switch columns apply),
 * validation, the scenario parser and every command's --help; so a new
 * algorithm is one entry in mdl_algo.c plus its enum value (see
 * docs/extending.md). */
#ifndef MDL_ALGO_H
#define MDL_ALGO_H

#include <stddef.h>
#include <stdio.h>

/* Scenario values (mdl_scenario.algo); the table in mdl_algo.c is indexed
 * by them. */
typedef enum { MDL_ALGO_PRECOPY, MDL_ALGO_POSTCOPY, MDL_ALGO_HYBRID, MDL_ALGO_COUNT } mdl_algo;

typedef struct {
  mdl_algo id;
  const char *name;        /* the `algo` parameter's value */
  const char *description; /* one sentence for --help and the docs */
  /* QEMU migration capabilities the algorithm turns on, on both sides;
   * kvmreplay passes them 1:1 to migrate-set-capabilities. NULL-ended. */
  const char *const *capabilities;
  /* Scenario parameters that apply only to this algorithm and some others
   * (the rest apply to all). NULL-ended. */
  const char *const *keys;
  int switch_at_start;  /* issues migrate-start-postcopy right after migrate */
  int switch_by_policy; /* issues it when mdl_switch_due() says (switch-policy) */
} mdl_algorithm;

/* The descriptor of `a` (a valid mdl_algo). O(1). */
const mdl_algorithm *mdl_algorithm_of(mdl_algo a);

/* The descriptor named `name`, or NULL. O(algorithms). */
const mdl_algorithm *mdl_algorithm_find(const char *name);

/* True when the algorithm turns on QEMU capability `cap` (e.g.
 * "postcopy-ram": a post-copy phase, page requests over the return path,
 * userfaultfd on the destination). */
int mdl_algorithm_has_capability(const mdl_algorithm *a, const char *cap);

/* True when scenario parameter `key` applies to the algorithm: it is
 * listed in the keys of this algorithm, or of no algorithm at all. */
int mdl_algorithm_applies(const mdl_algorithm *a, const char *key);

const char *mdl_algo_name(mdl_algo a);

/* The value named `name` into *out: 0, or SIM_EINVAL naming the choices
 * (*out unchanged). */
int mdl_algo_parse(const char *name, mdl_algo *out);

/* Every algorithm's name in table order, separated by `sep` and the last
 * two by `last` (", " and " or "), into buf. Returns buf. */
char *mdl_algo_list(char *buf, size_t len, const char *sep, const char *last);

/* One line per algorithm (name and description) for --help. */
void mdl_algo_help(FILE *out);

/* The table as Markdown (algorithm, QEMU capabilities, its parameters,
 * what it does): the source of docs/scenarios.md's "Algorithms". */
void mdl_algo_md(FILE *out);

#endif
