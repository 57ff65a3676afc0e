#!/bin/bash
# Submit a class's grading: an array of N shards, then the gather once they have all ended.
#
#   deploy/slurm/submit.sh SUBMISSIONS RESULTS N [more sbatch options, e.g. --partition=cpu]
#
# Prints the two job ids. Environment (WCDL_RUNTIME, WCDL_IMAGE, WCDL_REPO): see grade.sbatch.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 SUBMISSIONS RESULTS N [sbatch options]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
submissions=$(realpath "$1") results=$(realpath -m "$2") n=$3
shift 3
mkdir -p "$results"
grade=$(sbatch --parsable --array="1-$n" --chdir="$results" "$@" "$here/grade.sbatch" "$submissions" "$results" "$n")
gather=$(sbatch --parsable --dependency="afterany:${grade%%;*}" --chdir="$results" "$@" \
  "$here/gather.sbatch" "$results" "$n")
echo "grading: job array ${grade%%;*} (shards 1-$n); gather: job $gather -> $results/final"
