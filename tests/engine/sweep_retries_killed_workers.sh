#!/usr/bin/env bash
# Workers killed from outside (kill -9: the OOM killer, a preemption) have their runs queued again
# within the same pass: 8 random kills during a 20-run sweep and the one command still finishes all
# 20 with exit 0, the attempts recorded. A run killed --max-attempts times fails, naming the signal
# and the count; a plugin that segfaults fails its run at once, without a retry.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/slow.toml
seeds='experiment.seeds=[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]'
sweep "$exp" --set "$seeds" --set model.params.step_sleep_ms=40 --jobs 4 --threads 1 > "$WORK/sweep.log" 2>&1 &
coordinator=$!
# A victim early in its training, so that the kill lands mid-run; at most twice per run (3 attempts);
# not one already killed whose death the coordinator has not yet recorded.
victim_query="select worker_pid from runs where status = 'running' and attempts - attempts_at_queue < 3
              and json_extract(progress, '\$.epoch') between 1 and 6"
killed=0 killed_pids=0
while ((killed < 8)); do
  wait_until '[[ -f $DB ]] && victim=$(q "$victim_query and worker_pid not in ($killed_pids) order by random() limit 1" 2>/dev/null) && [[ -n $victim ]]' 60
  if kill -KILL "$victim" 2> /dev/null; then
    killed=$((killed + 1)) killed_pids+=",$victim"
    sleep 0.$((RANDOM % 5 + 2))
  fi
done
wait_for_exit "$coordinator"
expect_eq "$code" 0 "exit code of a sweep whose killed runs were retried: $(tail -5 "$WORK/sweep.log")"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 20 "all 20 finished in one pass"
expect_eq "$(q "select sum(attempts) from runs")" 28 "20 runs + 8 killed attempts"
[[ $(q "select max(attempts) from runs") -le 3 ]] || fail "a run had more than 3 attempts"
expect_eq "$(grep -c 'queued again' "$WORK/sweep.log")" 8 "each kill reported"

# Killed as often as --max-attempts allows: failed, with the signal and the count.
sweep "$exp" --set 'experiment.seeds=[40]' --max-attempts 2 --jobs 1 > "$WORK/capped.log" 2>&1 &
coordinator=$!
for kill in 1 2; do
  wait_until 'victim=$(q "select worker_pid from runs where seed = 40 and status = '"'running'"' and attempts = $kill and progress is not null") && [[ -n $victim ]]' 60
  kill -KILL "$victim"
done
wait_for_exit "$coordinator"
expect_eq "$code" 1 "exit code when a run failed"
expect_match "$(q "select status || ': ' || error from runs where seed = 40")" \
  "^failed: worker killed by signal 9 \(SIGKILL.* on attempt 2 of 2; not retried" "run killed max-attempts times"

# A crash inside the plugin is not retried.
set +e
sweep "$EXPERIMENTS/faults.toml" --jobs 2 > "$WORK/faults.log" 2>&1
set -e
expect_match "$(q "select attempts || ' ' || status || ': ' || error from runs where variant = 'segfault'")" \
  "^1 failed: worker crashed with signal 11 \(SIGSEGV" "segfault: failed once, no retry"
echo "ok"
