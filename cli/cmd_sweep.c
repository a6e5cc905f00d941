/* migsim sweep: a grid over comma-separated values of any scenario
 * parameter, run on all cores, appended row by row and resumable. */
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef MIGSIM_MPI
#include <dirent.h>
#include <mpi.h>
#endif

#include "cli.h"
#include "cli_pool.h"
#include "cli_progress.h"
#include "cli_real.h"
#include "cli_scenario.h"
#include "mdl_algo.h"
#include "mdl_profile.h"
#include "cli_shard.h"
#include "mdl_sim.h"
#include "res_output.h"
#include "sim_err.h"
#include "sim_hash.h"
#include "sim_units.h"
#include "sim_vec.h"

enum { CLI_SWEEP_MAX_AXES = 16 };
/* A point's key holds every axis as key=value: never cut. */
#define CLI_SWEEP_KEY_MAX (CLI_SWEEP_MAX_AXES * (64 + MDL_TEXT_MAX + 2))

typedef struct {
  char key[64];
  char **values;
  size_t count;
} cli__axis;

enum { CLI_SWEEP_MAX_ZIPS = 8 };

typedef struct {
  mdl_scenario base;
  /* The bases the grid runs on: &base, or every scenario of --scenario
   * FILE (a grid per scenario; several make the key start with
   * scenario=NAME). */
  const mdl_scenario *bases;
  size_t nbases;
  const char *scenario_file;
  cli__axis axes[CLI_SWEEP_MAX_AXES];
  size_t naxes;
  /* --zip: axis i takes the value of axis zip_leader[i] (SIZE_MAX: its
   * own); zipped lists pair element-wise instead of multiplying. */
  const char *zips[CLI_SWEEP_MAX_ZIPS];
  size_t nzips;
  size_t zip_leader[CLI_SWEEP_MAX_AXES];
  unsigned bw_keep; /* which of bandwidth's parts are given themselves */
  const char *out;
  long jobs;
  int quiet;
  int jsonl;
  uint64_t repeat;        /* runs per grid point (seeds or trace offsets) */
  uint64_t trace_step_ns; /* trace offset between repeats of a trace */
  uint64_t grid_points;   /* points of the grid; grid_runs = grid_points x repeat */
  uint64_t grid_runs;
  /* --shard K/N: this process runs the runs i of the grid with
   * i % shard_n == shard_k - 1 (its w->points runs, in grid order). */
  uint64_t shard_k, shard_n;
  int shard_given;
  res_folder_mode mode;
  res_folder *folder;
  int write_failed;

  /* run state */
  uint64_t points, done, skipped;
  struct cli__finished **slots; /* per point: finished, not yet written */
  uint64_t next_write;          /* points before it are written (or skipped) */
  pthread_mutex_t lock;
  char error_msg[1024];
  cli_progress progress; /* updated under lock */
} cli__sweep;

static atomic_int cli__interrupted; /* lock-free: safe in a handler */
static void cli__on_sigint(int sig) {
  (void)sig;
  atomic_store_explicit(&cli__interrupted, 1, memory_order_relaxed);
}

static void cli__sweep_help(void) {
  printf("usage: migsim sweep [SCENARIO OPTIONS with comma-separated values] [OPTIONS]\n\n"
         "Runs the grid (cartesian product) of every scenario parameter given several\n"
         "comma-separated values, on all cores, appending one row per run to\n"
         "OUT/summary.csv (and its rounds to OUT/rounds.csv) in grid order, so the files\n"
         "are the same bytes whatever the thread count. Rerunning the same command\n"
         "(also with more values) skips the runs already in OUT/summary.csv, so an\n"
         "interrupted sweep (Ctrl-C, a kill, a full disk) loses nothing and duplicates\n"
         "nothing; OUT holding another sweep's results is refused unless --append or\n"
         "--force (docs/results.md). run_id is the point's key, e.g.\n"
         "algo=hybrid;max-bandwidth=64MiB/s (keys over 199 characters end in a hash).\n"
         "Workload specs contain commas themselves: a new spec starts at each item that\n"
         "names a generator (uniform:..., idle, ...) or a file; ';' also separates.\n\n"
         "options:\n"
         "  --out DIR      output folder [out/sweep]\n"
         "  --append       add to a folder holding other results (same columns)\n"
         "  --force        replace the folder's results (CSVs, plots, reports)\n"
         "  --zip A,B      pair the values of swept parameters A and B element-wise (the\n"
         "                 first of A with the first of B, ...) instead of combining each\n"
         "                 with each; the lists must be as long; repeatable\n"
         "  --scenario FILE  the scenarios of an INI file as the base (one grid each;\n"
         "                 run ids then start with scenario=NAME when there are\n"
         "                 several); flags override the file's values\n"
         "  --bandwidth LIST  linked: each value sets max-bandwidth, postcopy-bandwidth\n"
         "                 and link together, so algorithms run at the same speed; any\n"
         "                 of the three given too (fixed or swept) wins for its part\n"
         "  --shard K/N    run only the grid's runs i with i %% N == K-1 (K in 1..N), e.g.\n"
         "                 one task of a Slurm job array; `migsim merge OUT DIR1..DIRN`\n"
         "                 then writes the single sweep's bytes (docs/sweeps.md)\n"
#ifdef MIGSIM_MPI
         "                 (this build has MPI: under `mpirun -n N` rank r runs shard\n"
         "                 r+1/N into OUT.rank-R-of-N and rank 0 merges them into OUT)\n"
#endif
         "  --jobs N       worker threads [number of cores]\n"
         "  --repeat N     run each point N times (a generator workload with seeds seed,\n"
         "                 seed+1, ..., a trace at trace offsets offset, offset+step, ...),\n"
         "                 run ids KEY#1..KEY#N, and OUT/aggregate.csv: per point and\n"
         "                 metric n, mean, median, stddev, 95%% CI of the mean, min, max [1]\n"
         "  --trace-step DURATION  trace offset between repeats of a trace [1s]\n"
         "  --jsonl        also write OUT/summary.jsonl (one JSON object per run, the\n"
         "                 columns of summary.csv, null for an empty cell)\n"
         "  --quiet        no progress output\n"
         "  --help         this text\n\n"
         "example:\n"
         "  migsim sweep --workload uniform:wss=32768,rate=5000,uniform:wss=32768,rate=20000 \\\n"
         "      --algo precopy,postcopy,hybrid --max-bandwidth 32MiB/s,64MiB/s,128MiB/s \\\n"
         "      --memory 1GiB --out out/sweep1\n\n"
         "algorithms (--algo):\n");
  mdl_algo_help(stdout);
  printf("\nscenario parameters:\n");
  mdl_scenario_help(stdout);
}

static int cli__sweep_opt(void *ctx, const char *name, const char *value) {
  cli__sweep *w = ctx;
  if (!strcmp(name, "help")) {
    cli__sweep_help();
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "out")) return w->out = value, 1;
  if (!strcmp(name, "jobs")) {
    if (!value) return 1;
    w->jobs = (long)cli_count("--jobs", value);
    if (w->jobs < 1) cli_die("sweep: --jobs must be >= 1");
    return 1;
  }
  if (!strcmp(name, "quiet")) return w->quiet = 1, 0;
  if (!strcmp(name, "jsonl")) return w->jsonl = 1, 0;
  if (!strcmp(name, "repeat")) {
    if (!value) return 1;
    w->repeat = cli_count("--repeat", value);
    if (w->repeat < 1 || w->repeat > 100000) cli_die("sweep: --repeat must be 1..100000");
    return 1;
  }
  if (!strcmp(name, "trace-step")) {
    if (value) w->trace_step_ns = cli_duration("--trace-step", value, SIM_NS_PER_S);
    return 1;
  }
  if (!strcmp(name, "shard")) {
    if (!value) return 1;
    unsigned long long k, n;
    char tail;
    if (sscanf(value, "%llu/%llu%c", &k, &n, &tail) != 2 || k < 1 || k > n)
      cli_die("sweep: --shard %s: give K/N with 1 <= K <= N (shard K of N)", value);
    w->shard_k = k;
    w->shard_n = n;
    w->shard_given = 1;
    return 1;
  }
  if (!strcmp(name, "append")) return w->mode = RES_FOLDER_APPEND, 0;
  if (!strcmp(name, "force")) return w->mode = RES_FOLDER_FORCE, 0;
  if (!strcmp(name, "scenario")) return w->scenario_file = value, 1;
  if (!strcmp(name, "zip")) {
    if (!value) return 1;
    if (w->nzips == CLI_SWEEP_MAX_ZIPS) cli_die("sweep: at most %d --zip", CLI_SWEEP_MAX_ZIPS);
    w->zips[w->nzips++] = value;
    return 1;
  }
  if (!value) return -1;
  /* A yes/no parameter given alone (--timeline --jobs 2) is not an axis. */
  if (mdl_scenario_is_flag(name) && !strncmp(value, "--", 2)) return -1;
  /* A scenario parameter (or the linked bandwidth): check the key exists,
   * collect its values. */
  mdl_scenario probe = w->base;
  if (cli_scenario_set(&probe, name, "0", w->bw_keep) == SIM_ENOTFOUND) return -1;
  for (size_t i = 0; i < w->naxes; i++) {
    if (!strcmp(w->axes[i].key, name)) cli_die("sweep: --%s given twice", name);
    const char *what = mdl_scenario_same_param(w->axes[i].key, name);
    if (what) cli_die("sweep: --%s and --%s both set %s: give one", w->axes[i].key, name, what);
  }
  if (w->naxes == CLI_SWEEP_MAX_AXES) cli_die("sweep: at most %d parameters", CLI_SWEEP_MAX_AXES);
  cli__axis *a = &w->axes[w->naxes];
  snprintf(a->key, sizeof a->key, "%s", name);
  if (mdl_sweep_split(name, value, &a->values, &a->count)) cli_die("sweep: %s", sim_error_message());
  for (size_t i = 0; i < a->count; i++) {
    probe = w->base;
    if (cli_scenario_set(&probe, name, a->values[i], w->bw_keep)) cli_die("sweep: --%s", sim_error_message());
  }
  w->naxes++;
  return 1;
}

/* Builds run `index`: grid point index / repeat (mixed radix over the
 * axes, last axis fastest), repeat index % repeat (cli_scenario_repeat;
 * its run id is the key with "#k"). */
static int cli__point(const cli__sweep *w, uint64_t index, mdl_scenario *s, char *key, size_t keylen) {
  size_t pos = 0;
  key[0] = '\0';
  uint64_t k = index % w->repeat;
  uint64_t rest = index / w->repeat;
  size_t choice[CLI_SWEEP_MAX_AXES];
  for (size_t i = w->naxes; i-- > 0;) {
    if (w->zip_leader[i] != SIZE_MAX) continue; /* follows its leader */
    choice[i] = (size_t)(rest % w->axes[i].count);
    rest /= w->axes[i].count;
  }
  for (size_t i = 0; i < w->naxes; i++)
    if (w->zip_leader[i] != SIZE_MAX) choice[i] = choice[w->zip_leader[i]];
  /* The scenario of the file is the slowest digit. */
  const mdl_scenario *base = &w->bases[rest % w->nbases];
  *s = *base;
  if (w->nbases > 1) pos += (size_t)snprintf(key, keylen, "scenario=%s", base->name);
  for (size_t i = 0; i < w->naxes; i++) {
    const char *v = w->axes[i].values[choice[i]];
    int rc = cli_scenario_set(s, w->axes[i].key, v, w->bw_keep);
    if (rc) return rc;
    /* Every given parameter is in the key, single values too, so that a
     * rerun with a longer list of values reuses the rows already done. */
    pos += (size_t)snprintf(key + pos, pos < keylen ? keylen - pos : 0, "%s%s=%s", pos ? ";" : "",
                              w->axes[i].key, v);
  }
  if (pos >= keylen) return sim_errorf(SIM_ERANGE, "sweep point key longer than %zu bytes", keylen - 1);
  if (pos < sizeof s->name) {
    memcpy(s->name, key, pos + 1);
  } else {
    char id[RES_RUN_ID_MAX];
    snprintf(s->name, sizeof s->name, "%s", res_run_id(key, id));
  }
  if (w->repeat > 1) {
    /* The name stays the point's key: the repeats share it. */
    mdl_scenario point = *s;
    cli_scenario_repeat(&point, k, w->trace_step_ns, s);
    pos += (size_t)snprintf(key + pos, pos < keylen ? keylen - pos : 0, "#%llu", (unsigned long long)(k + 1));
    if (pos >= keylen) return sim_errorf(SIM_ERANGE, "sweep point key longer than %zu bytes", keylen - 1);
  }
  return 0;
}

/* A finished point waiting for its turn to be written. */
typedef struct cli__finished {
  mdl_scenario s, used; /* as given; with the values actually used */
  mdl_result r;
  char key[CLI_SWEEP_KEY_MAX];
  char id[RES_RUN_ID_MAX];
} cli__finished;

/* A slot of a point that was already in summary.csv. */
static cli__finished cli__skipped_mark;

/* Writes finished points in grid order, so that a sweep's files are the
 * same bytes whatever the number of threads. Called under the lock. */
static int cli__flush(cli__sweep *w) {
  /* After a failed write nothing more is written: the folder must stay a
   * prefix of the grid so that a resume gives the uninterrupted bytes. */
  if (w->write_failed) return SIM_EIO;
  int rc = 0;
  while (!rc && w->next_write < w->points && w->slots[w->next_write]) {
    cli__finished *f = w->slots[w->next_write];
    if (f != &cli__skipped_mark) {
      rc = res_folder_write(w->folder, f->id, &f->used, &f->r);
      if (rc) {
        if (!w->error_msg[0])
          snprintf(w->error_msg, sizeof w->error_msg, "%.600s: %s", f->key, sim_error_message());
        w->write_failed = 1;
        break; /* the slot is freed with the others */
      }
      w->done++;
      mdl_result_free(&f->r);
      free(f);
    }
    w->slots[w->next_write++] = NULL;
  }
  return rc;
}

/* One grid point: simulate it, then hand it to the ordered writer. */
static int cli__run_point(void *ctx, uint64_t index) {
  cli__sweep *w = ctx;
  cli__finished *f = malloc(sizeof *f);
  if (!f) return sim_errorf(SIM_ENOMEM, "out of memory");
  /* index counts this shard's runs; the grid's run is every shard_n-th. */
  int rc = cli__point(w, index * w->shard_n + (w->shard_k - 1), &f->s, f->key, sizeof f->key);
  if (!rc) res_run_id(f->key, f->id);
  /* The folder's run set grows under w->lock as other workers' runs are
   * written (its arrays are reallocated), so it is read under the lock too. */
  int present = 0;
  if (!rc) {
    pthread_mutex_lock(&w->lock);
    present = res_folder_has_run(w->folder, f->id);
    pthread_mutex_unlock(&w->lock);
  }
  if (present && !res_folder_resuming(w->folder)) {
    /* A key names only the swept parameters: in another grid's folder the
     * same key is another experiment, not this one done already. */
    rc = sim_errorf(SIM_EINVAL, "run '%.300s' is already in %s/summary.csv from another grid; sweep into another --out",
                    f->id, w->out);
    pthread_mutex_lock(&w->lock);
    if (!w->error_msg[0]) snprintf(w->error_msg, sizeof w->error_msg, "%s", sim_error_message());
    pthread_mutex_unlock(&w->lock);
    free(f);
    return rc;
  }
  if (present) {
    free(f);
    pthread_mutex_lock(&w->lock);
    w->skipped++;
    w->slots[index] = &cli__skipped_mark;
    rc = cli__flush(w);
    pthread_mutex_unlock(&w->lock);
    return rc;
  }
  mdl_result_init(&f->r, "sim");
  if (!rc) rc = mdl_scenario_resolve(&f->s, &f->used, NULL, NULL);
  if (!rc) rc = mdl_simulate(&f->s, &f->r);
  pthread_mutex_lock(&w->lock);
  if (rc) {
    if (!w->error_msg[0]) snprintf(w->error_msg, sizeof w->error_msg, "%.600s: %s", f->key, sim_error_message());
    mdl_result_free(&f->r);
    free(f);
  } else {
    w->slots[index] = f;
    rc = cli__flush(w);
    cli_progress_update(&w->progress, w->done + w->skipped, w->skipped);
  }
  pthread_mutex_unlock(&w->lock);
  return rc;
}

static void cli__sweep_free(cli__sweep *w) {
  for (size_t i = 0; i < w->naxes; i++) {
    mdl_sweep_values_free(w->axes[i].values, w->axes[i].count);
  }
  /* Points finished after an error or interruption but never written. */
  for (uint64_t i = 0; w->slots && i < w->points; i++) {
    if (!w->slots[i] || w->slots[i] == &cli__skipped_mark) continue;
    mdl_result_free(&w->slots[i]->r);
    free(w->slots[i]);
  }
  free(w->slots);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

/* Resolves --zip A,B,...: B (and the rest) follow A, value by value. Dies
 * with one line on a name that is not swept, a list of another length or
 * an axis zipped twice. */
static void cli__zip(cli__sweep *w) {
  for (size_t i = 0; i < CLI_SWEEP_MAX_AXES; i++) w->zip_leader[i] = SIZE_MAX;
  for (size_t z = 0; z < w->nzips; z++) {
    char buf[512];
    if (strlen(w->zips[z]) >= sizeof buf) cli_die("sweep: --zip %s: too long", w->zips[z]);
    snprintf(buf, sizeof buf, "%s", w->zips[z]);
    size_t leader = SIZE_MAX, n = 0;
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save), n++) {
      size_t a = 0;
      while (a < w->naxes && strcmp(w->axes[a].key, name)) a++;
      if (a == w->naxes)
        cli_die("sweep: --zip %s: %s is not a swept parameter (give --%s V1,V2,...)", w->zips[z], name, name);
      if (w->zip_leader[a] != SIZE_MAX || a == leader)
        cli_die("sweep: --zip %s: %s is zipped twice", w->zips[z], name);
      for (size_t j = 0; j < w->naxes; j++)
        if (w->zip_leader[j] == a) cli_die("sweep: --zip %s: %s is zipped twice", w->zips[z], name);
      if (leader == SIZE_MAX) {
        leader = a;
        continue;
      }
      if (w->axes[a].count != w->axes[leader].count)
        cli_die("sweep: --zip %s: %s has %zu values, %s has %zu; zipped lists must be as long", w->zips[z],
                w->axes[leader].key, w->axes[leader].count, name, w->axes[a].count);
      w->zip_leader[a] = leader;
    }
    if (n < 2) cli_die("sweep: --zip %s: name two or more swept parameters (--zip A,B)", w->zips[z]);
  }
}

#ifdef MIGSIM_MPI
/* True when mpirun (Open MPI, or a PMI launcher such as srun) started this
 * process: only then is MPI initialised, so that a plain `migsim sweep`
 * of an MPI build neither starts a singleton runtime nor waits for one. */
static int cli__mpi_launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* Removes a rank's shard folder after the merge: its files, then itself. */
static void cli__remove_shard_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  char path[4096];
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}
#endif

/* Runs whose rate limit is above their link (the link's default is the
 * profile's, looked up once per profile name). */
typedef struct {
  uint64_t count;
  char first_key[256];
  double first_max, first_link;
  char profiles[8][MDL_TEXT_MAX];
  double links[8];
  size_t nprofiles;
} cli__over_link;

static void cli__check_over_link(cli__over_link *o, const mdl_scenario *s, const char *key) {
  double link = s->link_bandwidth;
  if (link == 0) {
    size_t k = 0;
    while (k < o->nprofiles && strcmp(o->profiles[k], s->profile)) k++;
    if (k == o->nprofiles) {
      mdl_profile p;
      if (mdl_profile_load(s->profile, &p)) return; /* reported when the run resolves it */
      if (k == sizeof o->links / sizeof o->links[0]) k = 0; /* reuse the first slot */
      else o->nprofiles++;
      snprintf(o->profiles[k], sizeof o->profiles[k], "%s", s->profile);
      o->links[k] = p.link_bytes_per_s;
    }
    link = o->links[k];
  }
  if (!(s->max_bandwidth > link) || link <= 0) return;
  if (o->count++ == 0) {
    snprintf(o->first_key, sizeof o->first_key, "%s", key);
    o->first_max = s->max_bandwidth;
    o->first_link = link;
  }
}

/* Algorithms with and without post-copy compared over one or two of the
 * three speeds: each runs at its own (pre-copy at max-bandwidth, post-copy
 * at postcopy-bandwidth, by default the link), so the comparison is not at
 * one speed; the issue that led to `bandwidth` (docs/scenarios.md). */
static void cli__speed_warning(const cli__sweep *w) {
  const cli__axis *algo = NULL;
  unsigned swept = 0;
  for (size_t i = 0; i < w->naxes; i++) {
    if (!strcmp(w->axes[i].key, "algo")) algo = &w->axes[i];
    if (!strcmp(w->axes[i].key, MDL_BANDWIDTH_KEY)) return; /* one speed for all */
    swept |= mdl_bandwidth_part(w->axes[i].key);
  }
  if (!algo || !swept || swept == (MDL_BW_MAX | MDL_BW_POSTCOPY | MDL_BW_LINK)) return;
  int pre = 0, post = 0;
  for (size_t v = 0; v < algo->count; v++) {
    const mdl_algorithm *a = mdl_algorithm_find(algo->values[v]);
    if (a && mdl_algorithm_has_capability(a, "postcopy-ram")) post = 1;
    else if (a) pre = 1;
  }
  if (!pre || !post) return;
  char list[96] = "";
  static const char *const parts[] = {"max-bandwidth", "postcopy-bandwidth", "link"};
  for (size_t k = 0, n = 0; k < 3; k++)
    if (swept & mdl_bandwidth_part(parts[k]))
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? " and " : "", parts[k]);
  fprintf(stderr,
          "migsim: warning: sweep: only %s swept while pre-copy and post-copy algorithms are compared: pre-copy "
          "runs at max-bandwidth, post-copy at postcopy-bandwidth (default: the link), so they run at different "
          "speeds; --bandwidth LIST sets all three (docs/scenarios.md)\n",
          list);
}

int cli_cmd_sweep(int argc, char **argv) {
  cli__sweep *w = calloc(1, sizeof *w);
  if (!w) cli_die("sweep: out of memory");
  mdl_scenario_defaults(&w->base);
  w->out = "out/sweep";
  w->jobs = cli_cores();
  w->repeat = 1;
  w->trace_step_ns = SIM_NS_PER_S;
  w->shard_k = w->shard_n = 1;
  int sharded = 0;
  w->bw_keep = cli_bandwidth_keep(argc, argv);
  cli_scenario_args(argc, argv, &w->base, cli__sweep_opt, w, NULL, 0);
  if (w->naxes == 0) cli_die("sweep: no parameters given (see --help)");
  /* Under mpirun -n N, rank r runs shard r+1/N into OUT.rank-R-of-N and
   * rank 0 merges the shards into OUT (docs/sweeps.md). */
  int mpi_rank = 0, mpi_size = 1;
  const char *final_out = w->out;
  char rank_out[4096];
#ifdef MIGSIM_MPI
  int mpi_on = !w->shard_given && cli__mpi_launched();
  if (mpi_on) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  }
  if (mpi_size > 1) {
    size_t len = strlen(w->out);
    while (len > 1 && w->out[len - 1] == '/') len--;
    if (len > 3000) cli_die("sweep: --out %s: too long", w->out);
    snprintf(rank_out, sizeof rank_out, "%.*s.rank-%d-of-%d", (int)len, w->out, mpi_rank, mpi_size);
    w->out = rank_out;
    w->shard_k = (uint64_t)mpi_rank + 1;
    w->shard_n = (uint64_t)mpi_size;
    w->shard_given = 1;
    if (mpi_rank != 0) w->quiet = 1; /* one progress line, rank 0's */
  }
#else
  (void)rank_out;
#endif
  cli__zip(w);
  cli_scenarios file_list = {0};
  w->bases = &w->base;
  w->nbases = 1;
  if (w->scenario_file) {
    /* Each scenario of the file, the flags over it (cli_scenarios_collect
     * applies them), checked before anything runs. */
    cli_scenarios_collect(w->scenario_file, &w->base, &file_list);
    w->bases = file_list.items;
    w->nbases = file_list.count;
  }
  w->grid_points = w->nbases;
  for (size_t i = 0; i < w->naxes; i++)
    if (w->zip_leader[i] == SIZE_MAX) w->grid_points *= w->axes[i].count;
  w->grid_runs = w->grid_points * w->repeat;
  sharded = w->shard_given;
  w->points = cli_shard_runs(w->grid_runs, w->shard_k, w->shard_n);
  /* Every point is built and checked before the folder is touched; the
   * run ids of the whole grid, in order, identify it to `migsim merge`. */
  uint64_t ids = SIM_HASH_INIT;
  cli__over_link over = {0};
  {
    mdl_scenario point;
    char *key = malloc(CLI_SWEEP_KEY_MAX);
    if (!key) cli_die("sweep: out of memory");
    mdl_scenario used;
    for (uint64_t i = 0; i < w->grid_runs; i++) {
      cli_check(cli__point(w, i, &point, key, CLI_SWEEP_KEY_MAX), "sweep");
      if (mdl_scenario_validate(&point)) cli_die("sweep: %s: %s", key, sim_error_message());
      /* Resolved too (the trace opened, the memory the run needs checked
       * against the machine's, the profile's hypervisor able to run it),
       * so that no point fails halfway through a sweep; cheap next to the
       * run itself. */
      mdl_profile prof;
      if (mdl_scenario_resolve(&point, &used, &prof, NULL) || mdl_profile_supports(&prof, &point))
        cli_die("sweep: %s: %s", key, sim_error_message());
      char id[RES_RUN_ID_MAX];
      ids = sim_hash_str(ids, res_run_id(key, id));
      cli__check_over_link(&over, &point, key);
    }
    free(key);
  }
  /* The grid's identity: the fixed parameters and the axes' names (not
   * their values, so a rerun with more values resumes). */
  const char *axis_keys[CLI_SWEEP_MAX_AXES];
  uint64_t grid = SIM_HASH_INIT;
  for (size_t i = 0; i < w->naxes; i++) {
    axis_keys[i] = w->axes[i].key;
    grid = sim_hash_str(grid, w->axes[i].key);
  }
  for (size_t b = 0; b < w->nbases; b++) {
    uint64_t base = mdl_scenario_digest(&w->bases[b], axis_keys, w->naxes);
    grid = sim_hash(grid, &base, sizeof base);
  }
  for (size_t i = 0; i < w->naxes; i++) {
    /* Zipped axes are another grid than the same axes multiplied. */
    if (w->zip_leader[i] == SIZE_MAX) continue;
    uint64_t pair[2] = {i, w->zip_leader[i]};
    grid = sim_hash(grid, pair, sizeof pair);
  }
  if (w->repeat > 1) {
    /* A single run keeps the digest it always had: its folders resume. */
    grid = sim_hash(grid, &w->repeat, sizeof w->repeat);
    grid = sim_hash(grid, &w->trace_step_ns, sizeof w->trace_step_ns);
  }
  /* A shard's folder is its own grid: never resumed as the whole sweep's
   * (or another shard's). migsim-shard.txt names the whole grid. */
  uint64_t folder_grid = grid;
  if (sharded) {
    uint64_t kn[2] = {w->shard_k, w->shard_n};
    folder_grid = sim_hash(sim_hash_str(grid, "shard"), kn, sizeof kn);
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/summary.csv", w->out);
  cli_check(res_folder_open(w->out, "sweep", folder_grid, w->mode, &w->folder), "sweep");
  /* Once the sweep will run: an error before it stays one line. */
  if (mpi_rank == 0) {
    cli__speed_warning(w);
    if (over.count)
      fprintf(stderr,
              "migsim: warning: sweep: %llu of %llu runs have max-bandwidth above the link (first: %s, %.1f MiB/s "
              "over %.1f MiB/s); the link limits them\n",
              (unsigned long long)over.count, (unsigned long long)w->grid_runs, over.first_key,
              over.first_max / 1048576.0, over.first_link / 1048576.0);
  }
  if (sharded) {
    cli_shard rec = {w->shard_k, w->shard_n, grid, w->grid_runs, ids, w->repeat, w->jsonl};
    cli_check(cli_shard_write(w->out, &rec), "sweep");
  }
  uint64_t present = res_folder_runs(w->folder);

  w->slots = calloc(w->points, sizeof *w->slots);
  if (!w->slots) cli_die("sweep: out of memory for %llu points", (unsigned long long)w->points);
  pthread_mutex_init(&w->lock, NULL);
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = cli__on_sigint;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  cli_progress_init(&w->progress, "sweep", "runs", w->points, w->quiet);
  if (!w->quiet)
    fprintf(stderr, "sweep: %llu runs on %ld threads -> %s/summary.csv%s\n", (unsigned long long)w->points,
            w->jobs, w->out, present ? " (resuming)" : "");
  int error = cli_pool_run(w->points, w->jobs, cli__run_point, w, &cli__interrupted);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  cli_progress_done(&w->progress, w->done + w->skipped, w->skipped);
  int status = CLI_EXIT_OK;
  if (res_folder_close(w->folder) && !error) {
    snprintf(w->error_msg, sizeof w->error_msg, "%s", sim_error_message());
    error = 1;
  }
  if (error) {
    fprintf(stderr, "migsim: sweep: %s (%llu runs kept in %s; rerun to continue)\n", w->error_msg,
            (unsigned long long)w->done, path);
    status = CLI_EXIT_ERROR;
  } else if (atomic_load(&cli__interrupted)) {
    fprintf(stderr, "migsim: sweep interrupted: %llu of %llu runs in %s; rerun the same command to continue\n",
            (unsigned long long)(w->done + w->skipped), (unsigned long long)w->points, path);
    status = 130;
  } else if (!w->quiet) {
    fprintf(stderr, "sweep: %llu runs done, %llu already present -> %s\n", (unsigned long long)w->done,
            (unsigned long long)w->skipped, path);
  }
#ifdef MIGSIM_MPI
  if (mpi_on) {
    /* Every rank ran its shard: rank 0 merges them, then removes them. */
    int ok = status == CLI_EXIT_OK, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (mpi_size > 1 && all_ok && mpi_rank == 0) {
      char **dirs = calloc((size_t)mpi_size, sizeof *dirs);
      size_t len = strlen(final_out);
      while (len > 1 && final_out[len - 1] == '/') len--;
      for (int r = 0; dirs && r < mpi_size; r++) {
        dirs[r] = malloc(len + 64);
        if (dirs[r]) snprintf(dirs[r], len + 64, "%.*s.rank-%d-of-%d", (int)len, final_out, r, mpi_size);
      }
      status = dirs ? cli_merge_shards(final_out, dirs, (size_t)mpi_size, w->mode, w->quiet) : CLI_EXIT_ERROR;
      for (int r = 0; dirs && r < mpi_size; r++) {
        if (status == CLI_EXIT_OK && dirs[r]) cli__remove_shard_dir(dirs[r]);
        free(dirs[r]);
      }
      free(dirs);
    } else if (mpi_size > 1 && !all_ok && ok && mpi_rank == 0) {
      fprintf(stderr, "migsim: sweep: another rank failed; its shard folder %s.rank-R-of-%d keeps its runs, rerun to continue\n",
              final_out, mpi_size);
      status = CLI_EXIT_ERROR;
    }
    if (mpi_size > 1) {
      MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (!all_ok && status == CLI_EXIT_OK) status = CLI_EXIT_ERROR;
    }
    MPI_Finalize();
    if (mpi_size > 1) {
      cli__sweep_free(w);
      cli_scenarios_free(&file_list);
      return status;
    }
  }
#else
  (void)mpi_rank;
  (void)mpi_size;
  (void)final_out;
#endif
  /* A shard leaves aggregate.csv and summary.jsonl to the merge. */
  if (status == CLI_EXIT_OK && !sharded && w->repeat > 1) cli_write_aggregate("sweep", w->out, grid);
  if (status == CLI_EXIT_OK && !sharded) cli_write_jsonl("sweep", w->out, grid, w->jsonl);
  cli__sweep_free(w);
  cli_scenarios_free(&file_list);
  return status;
}
