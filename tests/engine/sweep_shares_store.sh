#!/usr/bin/env bash
# 4 sweeps × 4 workers (16 writers) on one store at once, two of the same experiment and two that
# overlap it: every run trains exactly once, whoever claims it; every sweep waits for the runs
# another one holds and exits 0; the store is intact and no process saw "database is locked".
source "$(dirname "$0")/lib.sh"
twelve=$EXPERIMENTS/twelve-runs.toml
mkdir -p "$WORK/out"
pids=()
start() { sweep "$@" --jobs 4 --threads 1 > "$WORK/out/sweep-${#pids[@]}.log" 2>&1 & pids+=($!); }
start "$twelve"
start "$twelve"
start "$EXPERIMENTS/shared-baseline.toml"              # its 4 baseline runs are twelve's
start "$twelve" --set 'experiment.seeds=[1, 2]'        # seed 1's 6 runs are twelve's
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "sweep $i exited with $?: $(cat "$WORK/out/sweep-$i.log")"
done
distinct=22  # 12 + 4 of shared-baseline's own + 6 of seed 2
expect_eq "$(q "select count(*) from runs")" $distinct "distinct runs"
expect_eq "$(q "select count(*) from runs where status = 'finished' and attempts = 1")" $distinct "each finished after one attempt"
starts=$(cat "$DB_LOGS"/*.log | grep -cE '^\[w[0-9]+\] run [0-9]+ \(')
expect_eq "$starts" $distinct "training starts in all worker logs"
expect_eq "$(cat "$DB_LOGS"/*.log | grep -oE '^\[w[0-9]+\] run [0-9]+ \(' | sed 's/^\[w[0-9]*\] //' | sort -u | wc -l)" $distinct "distinct runs started"
expect_eq "$(q "pragma integrity_check")" ok "integrity_check"
if grep -ril "locked" "$WORK/out" "$DB_LOGS"; then fail "a process saw the database locked"; fi
for i in 0 1 3; do
  expect_match "$(cat "$WORK/out/sweep-$i.log")" "sweep 'engine-twelve': (12|6)/(12|6) finished, 0 failed" "sweep $i summary"
done
echo "ok"
