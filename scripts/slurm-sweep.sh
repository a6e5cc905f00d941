#!/usr/bin/env bash
# A migsim sweep as a Slurm job array (docs/sweeps.md): task K of N runs
# shard K/N of the grid into out/shards/K; a second job, started when every
# task has ended well, merges the shards into out/sweep, byte for byte the
# folder a single `migsim sweep` of the grid writes.
#
#   sbatch scripts/slurm-sweep.sh            # submits the array and the merge
#
# Edit GRID (the sweep's parameters) and N (the number of tasks). A task
# that died is resubmitted with `sbatch --array=K scripts/slurm-sweep.sh`:
# its shard resumes where it stopped; then run the merge again.
#SBATCH --job-name=migsim-sweep
#SBATCH --array=1-8
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=out/slurm-%A_%a.log
set -euo pipefail

N=8 # = the size of --array
GRID=(--workload "uniform:wss=32768,rate=5000" --memory 1GiB
      --algo precopy,postcopy,hybrid --bandwidth 32MiB/s,64MiB/s,128MiB/s,256MiB/s
      --repeat 5)
MIGSIM=${MIGSIM:-migsim}

if [[ -n ${SLURM_ARRAY_TASK_ID:-} ]]; then
  K=$SLURM_ARRAY_TASK_ID
  mkdir -p out/shards
  "$MIGSIM" sweep "${GRID[@]}" --jobs "${SLURM_CPUS_PER_TASK:-1}" --quiet \
    --shard "$K/$N" --out "out/shards/$K"
  # Task N submits the merge; afterok on the array job waits for every task.
  if [[ $K == "$N" ]]; then
    sbatch --dependency="afterok:$SLURM_ARRAY_JOB_ID" --job-name=migsim-merge \
      --output=out/slurm-merge-%j.log --wrap="$MIGSIM merge out/sweep $(for k in $(seq 1 "$N"); do printf 'out/shards/%s ' "$k"; done)"
  fi
else
  echo "submit with: sbatch $0" >&2
  exit 2
fi
