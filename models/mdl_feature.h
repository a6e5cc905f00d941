/* mdl_feature: QEMU migration features (capabilities with their
 * parameters), one const descriptor each, in one table, like the
 * algorithms (mdl_algo.h).
 *
 * A feature is a scenario flag named as QEMU's capability
 * (`auto-converge = yes`) plus scenario parameters named as QEMU's
 * migration parameters (`cpu-throttle-initial = 30`). The descriptor says
 * which they are and how QEMU takes them, so kvmreplay passes them 1:1 to
 * migrate-set-capabilities / migrate-set-parameters, `compare --algos`
 * and the `algo` parameter accept variants (`precopy+auto-converge`), and
 * --help and the docs list them, all from this table. The simulator's
 * rules for a feature live in the driver (models/mdl_drv_qemu.c, see
 * docs/features.md); docs/extending.md says what adding one touches. */
#ifndef MDL_FEATURE_H
#define MDL_FEATURE_H

#include <stdio.h>

#include "mdl_scenario.h"

/* How QEMU's migrate-set-parameters takes a value. */
typedef enum { MDL_QMP_INT, MDL_QMP_BOOL, MDL_QMP_STRING } mdl_qmp_type;

typedef struct {
  const char *key; /* scenario parameter = QEMU's parameter name */
  mdl_qmp_type type;
  int both;        /* also set on the destination, before it listens
                      (multifd-channels: how many channels it accepts) */
} mdl_feature_param;

typedef struct {
  const char *name;        /* the flag (scenario key) and the variant suffix */
  const char *capability;  /* QEMU capability set on both sides */
  const char *description; /* one sentence for --help and the docs */
  const mdl_feature_param *params; /* its parameters; key NULL ends */
  const char *qemu;        /* QEMU versions that have it, for the docs */
  const char *removed_in;  /* first QEMU version without it ("9.1"), or
                              NULL; kvmreplay refuses it there */
} mdl_feature;

/* True when QEMU version `version` ("10.0.2") no longer has feature f. */
int mdl_feature_removed(const mdl_feature *f, const char *version);

/* Features in table order; NULL past the end. */
const mdl_feature *mdl_feature_at(size_t i);
const mdl_feature *mdl_feature_find(const char *name);

/* True when scenario `s` turns feature `f` on. */
int mdl_feature_enabled(const mdl_scenario *s, const mdl_feature *f);

/* Applies an algorithm variant, ALGO[+FEATURE...] (e.g.
 * "precopy+auto-converge"): sets `algo` and turns each feature on. 0 or
 * SIM_EINVAL naming the unknown part and the choices (s unchanged). */
int mdl_variant_apply(mdl_scenario *s, const char *variant);

/* The variant's name: the algorithm and the features the scenario turns
 * on, in table order ("precopy+auto-converge+xbzrle"); what `algo` would
 * be given to make it. Returns buf. */
char *mdl_variant_name(const mdl_scenario *s, char *buf, size_t len);

/* One line per feature for --help, and the table as Markdown (feature,
 * QEMU capability, parameters, versions, meaning) for docs/features.md. */
void mdl_feature_help(FILE *out);
void mdl_feature_md(FILE *out);

#endif
