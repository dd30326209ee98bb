#!/usr/bin/env bash
# Two sweeps writing to one database at once both complete, with no "database is locked". The two
# experiment names hold the same 12 computations: each runs once and belongs to both.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/twelve-runs.toml
sweep "$exp" --jobs 2 --set experiment.name=first > "$WORK/a.log" 2>&1 &
a=$!
sweep "$exp" --jobs 2 --set experiment.name=second > "$WORK/b.log" 2>&1 &
b=$!
wait "$a" || fail "first sweep failed: $(cat "$WORK/a.log")"
wait "$b" || fail "second sweep failed: $(cat "$WORK/b.log")"
expect_eq "$(q "select count(*) from runs where status = 'finished' and attempts = 1")" 12 "both sweeps' runs finished, once each"
expect_eq "$(q "select count(distinct experiment) from run_memberships")" 2 "two experiments"
expect_eq "$(q "select count(distinct run_id) from run_memberships where experiment = 'second'")" 12 "each run is in both"
if grep -qi "locked" "$WORK/a.log" "$WORK/b.log" "$WORK"/results/logs/*.log; then fail "a 'database is locked' error was logged"; fi
echo "ok"
