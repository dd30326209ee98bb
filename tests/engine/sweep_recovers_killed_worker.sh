#!/usr/bin/env bash
# A worker killed with SIGKILL mid-run: its run is queued again and finished by the same sweep.
# Then the whole sweep (coordinator and workers) killed: the run left 'running' is found orphaned.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/slow.toml

sweep "$exp" --jobs 1 > "$WORK/first.log" 2>&1 &
coordinator=$!
wait_until '[[ -f $DB ]] && [[ $(q "select count(*) from runs where status = '"'running'"' and progress is not null") == 1 ]]' 60
victim=$(q "select worker_pid from runs where status = 'running'")
victim_run=$(q "select id from runs where status = 'running'")
kill -KILL "$victim"
wait_for_exit "$coordinator"
expect_eq "$code" 0 "exit code when a killed run was retried: $(cat "$WORK/first.log")"
expect_match "$(cat "$WORK/first.log")" "killed by signal 9 \(SIGKILL, [^)]*\): its run is queued again" "the kill is reported"
expect_eq "$(q "select status || ',' || attempts from runs where id = $victim_run")" "finished,2" "killed run finished by its second attempt"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 3 "the other runs went on"

# Kill everything at once: nobody is left to mark the run.
out=$(sweep "$exp" --set 'experiment.seeds=[3]' --jobs 1 > "$WORK/second.log" 2>&1 &)
wait_until '[[ $(q "select count(*) from runs where seed = 3 and status = '"'running'"' and progress is not null") == 1 ]]' 60
pkill -KILL -f -- "--db $DB"
sleep 0.5
expect_eq "$(q "select status from runs where seed = 3")" running "a run left running by a vanished worker"
out=$(sweep "$exp" --set 'experiment.seeds=[3]' 2>&1) || fail "recovery sweep failed: $out"
expect_match "$out" "1 resumed \(1 from vanished workers\)" "orphaned run requeued"
expect_eq "$(q "select status || ',' || attempts from runs where seed = 3")" "finished,2" "orphaned run finished"
echo "ok"
