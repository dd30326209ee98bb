#!/usr/bin/env bash
# Every experiment file we ship (experiments/**/*.toml) must still expand: its plugins exist and
# every parameter, ablation key and grid key is one the plugin knows. A renamed parameter would
# otherwise surface only when a user runs a paper-scale file hours into a GPU lease.
#   dry_run_every_experiment.sh MVRL_RUN EXPERIMENTS_DIR
set -uo pipefail
mvrl_run=$1 experiments=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0 checked=0
while IFS= read -r file; do
  checked=$((checked + 1))
  if ! out=$("$mvrl_run" sweep "$file" --dry-run --db "$work/dry.sqlite" 2>&1); then
    echo "FAIL $file"
    echo "$out" | tail -3
    failed=$((failed + 1))
  elif ! grep -q "runs (dry run: nothing was written)" <<< "$out"; then
    echo "FAIL $file: no run list in the dry run's output"
    failed=$((failed + 1))
  fi
done < <(find "$experiments" -name '*.toml' | sort)

if ((checked == 0)); then echo "no experiment files under $experiments"; exit 1; fi
if [[ -e "$work/dry.sqlite" ]]; then echo "a dry run wrote $work/dry.sqlite"; exit 1; fi
echo "$checked experiment files, $failed failed"
((failed == 0))
