#!/usr/bin/env bash
# mvrl-run slurm on a real one-node Slurm (scripts/local-slurm): an 11-run sweep as a job array, one
# shard per task, merged by the dependent merge job. Every run ends in the main store exactly once
# with the same keys and metrics as a local `mvrl-run sweep` of the same file; a task requeued
# mid-run (scontrol requeue) and one sent USR2 (it requeues itself) resume from their checkpoints; the failing run ends failed with its
# error; submitting again submits nothing; merging twice changes nothing; a truncated shard and
# one of another schema version are refused by name and the others merge.
#   usage: slurm_arrays_merge_shards.sh <mvrl-run> <test plugin dir> <experiments dir> <scripts dir>
source "$(dirname "$0")/lib.sh"
LOCAL_SLURM=$4/local-slurm
exp=$EXPERIMENTS/slurm.toml

# MaxArraySize 6: the 11 tasks go in as two arrays (tasks 0-5 and 6-10).
export MVRL_LOCAL_SLURM_DIR=$WORK/slurm MVRL_LOCAL_SLURM_PORT=6917 MVRL_LOCAL_SLURM_MAX_ARRAY_SIZE=6
export SLURM_CONF=$MVRL_LOCAL_SLURM_DIR/slurm.conf
export MVRL_SHARD_DIR=$WORK/node-local  # the tasks' "node-local disk"
mkdir -p "$MVRL_SHARD_DIR"
"$LOCAL_SLURM" start > "$WORK/local-slurm.log" 2>&1 || fail "local Slurm did not start: $(cat "$WORK/local-slurm.log")"
stop_slurm() {
  "$LOCAL_SLURM" stop > /dev/null 2>&1 || true
  cleanup
}
trap stop_slurm EXIT

# The reference: the same file swept locally, in another store.
reference=$WORK/local/mvrl.sqlite
mvrl sweep "$exp" --db "$reference" > "$WORK/local.log" 2>&1 && fail "the local sweep should report its failing run"
expect_eq "$(sqlite3 "$reference" "select group_concat(status) from (select status from runs order by status)")" \
  "failed,finished,finished,finished,finished,finished,finished,finished,finished,finished,finished" "local sweep statuses"

# Submit: two arrays of 11 tasks in all and a merge job, returning at once.
mvrl slurm "$exp" --db "$DB" --array-parallelism 2 > "$WORK/submit.log" 2>&1 || fail "submit: $(cat "$WORK/submit.log")"
expect_match "$(cat "$WORK/submit.log")" \
  "submitted 11 runs in 11 task\(s\): job arrays [0-9]+ \(6 tasks\), [0-9]+ \(5 tasks\); merge job [0-9]+ runs after them" "submission summary"
folder=$(ls -d "$WORK"/results/slurm/engine-slurm-*)
read -r first_array second_array < <(sed -n 's/.*job arrays \([0-9]*\) (6 tasks), \([0-9]*\) (5 tasks).*/\1 \2/p' "$WORK/submit.log")
merge_job=$(sed -n 's/.*merge job \([0-9]*\) runs.*/\1/p' "$WORK/submit.log")
array_task() { (($1 < 6)) && echo "${first_array}_$1" || echo "${second_array}_$(($1 - 6))"; }
expect_match "$(mvrl slurm "$exp" --db "$DB" --dry-run)" "11 runs: 0 to submit in 0 task\(s\), [0-9]+ in tasks still queued or running" \
  "while the arrays are queued or running, nothing is to submit again"
grep -q -- '--signal=B:USR2@90' "$folder/task.sbatch" || fail "the task script does not ask for USR2 before the time limit"
grep -q -- "--array=0-10%2" "$folder/task.sbatch" || fail "the task script's array line: $(grep array "$folder/task.sbatch")"

# Preempt each slow run once it is past epoch 3 (it checkpoints where it stops): one task by
# `scontrol requeue` (Slurm sends SIGTERM and queues it again), the other by the USR2 that
# --signal=B:USR2@90 sends before a time limit (the task requeues itself).
task_of() { grep -l "\"variant\": \"$1\"" "$folder"/tasks/*.json | xargs -n1 basename | sed 's/.json//'; }
progress="select coalesce(json_extract(progress, '\$.epoch'), 0) from runs where status = 'running'"
wait_past_epoch_3() {
  watched=$1  # wait_until evals its condition in its own frame, where $1 is the condition
  wait_until 'shard=$(ls "$MVRL_SHARD_DIR"/mvrl-engine-slurm-*-task-"$watched"-*/task-"$watched".sqlite 2>/dev/null | head -1) &&
              [[ -n $shard ]] && epoch=$(sqlite3 -cmd ".timeout 5000" "$shard" "$progress" 2>/dev/null) && (( ${epoch:-0} >= 3 ))' 120
}
requeued_task=$(task_of slow)
usr2_task=$(task_of "slow, USR2")
wait_past_epoch_3 "$requeued_task"
scontrol requeue "$(array_task "$requeued_task")" || fail "scontrol requeue $(array_task "$requeued_task")"
wait_past_epoch_3 "$usr2_task"
scancel --batch --signal=USR2 "$(array_task "$usr2_task")" || fail "scancel --signal=USR2 $(array_task "$usr2_task")"

# Everything ends, the merge job last.
wait_until '[[ -z $(squeue -h 2>/dev/null) ]]' 240
jobcomp=$MVRL_LOCAL_SLURM_DIR/jobcomp.txt
expect_match "$(grep "JobId=$merge_job " "$jobcomp")" "JobState=COMPLETED" "the merge job completed"
merge_start=$(grep "JobId=$merge_job " "$jobcomp" | sed 's/.*StartTime=\([^ ]*\).*/\1/')
last_task_end=$(grep -E "ArrayJobId=($first_array|$second_array) " "$jobcomp" | sed 's/.*EndTime=\([^ ]*\).*/\1/' | sort | tail -1)
[[ ! $merge_start < $last_task_end ]] || fail "the merge job started ($merge_start) before the last task ended ($last_task_end)"
for task in "$requeued_task" "$usr2_task"; do
  id=$(array_task "$task")
  expect_eq "$(grep -c "ArrayJobId=${id%_*} ArrayTaskId=${id#*_} " "$jobcomp")" "2" "task $task ran twice (jobcomp: $(grep "ArrayJobId=${id%_*} " "$jobcomp"))"
done
grep -q "task $usr2_task: requeued itself as $(array_task "$usr2_task")" "$folder/logs/task-$(array_task "$usr2_task").out" ||
  fail "the USR2 task did not requeue itself: $(cat "$folder/logs/task-$(array_task "$usr2_task").out")"

# The merged store: every run once, as the local sweep has it.
expect_eq "$(q "pragma integrity_check")" "ok" "integrity of the main store"
for shard in "$folder"/shards/*.sqlite; do
  expect_eq "$(sqlite3 "$shard" "pragma integrity_check")" "ok" "integrity of $shard"
done
expect_eq "$(ls "$folder"/shards/*.sqlite | wc -l)" "11" "one shard per task"
results_of() {
  sqlite3 "$1" "select r.key, r.status, coalesce(r.error, ''), m.representation, m.metric, m.name, m.value
                from runs r left join metrics m on m.run_id = r.id order by r.key, m.metric, m.name"
}
expect_eq "$(results_of "$DB")" "$(results_of "$reference")" "keys, statuses, errors and metrics equal the local sweep's"
expect_eq "$(q "select count(*), count(distinct key) from runs")" "11|11" "each run once"
expect_match "$(q "select error from runs where status = 'failed'")" "failed in train_step: runtime error: test-faults: failing on purpose$" \
  "the failed run's error"
for variant in "slow" "slow, USR2"; do
  expect_match "$(q "select attempts || ' ' || resumed_from from runs r join run_memberships m on m.run_id = r.id where m.variant = '$variant'")" \
    "^2 stage 'train', epoch ([3-9]|[1-5][0-9]) of 60, after [0-9]+ rows$" "the preempted run '$variant' resumed from its checkpoint"
done
expect_eq "$(mvrl table "$exp" --db "$DB" --format csv)" "$(mvrl table "$exp" --db "$reference" --format csv)" "the table equals the local sweep's"
[[ -z $(ls "$MVRL_SHARD_DIR") ]] || fail "node-local folders left behind: $(ls "$MVRL_SHARD_DIR")"
[[ -z $(ls "$WORK/results/checkpoints" 2>/dev/null) ]] || fail "checkpoints left behind: $(ls "$WORK/results/checkpoints")"
expect_match "$(mvrl slurm "$exp" --db "$DB" --status)" "sweep [0-9]+: 11 task\(s\) in .*; merge job $merge_job: COMPLETED" "--status names the merge job"

# Submitting again submits nothing (the failed run is kept, as sweep keeps it).
mvrl slurm "$exp" --db "$DB" > "$WORK/again.log" 2>&1 || fail "second submit: $(cat "$WORK/again.log")"
expect_match "$(cat "$WORK/again.log")" "nothing to submit" "second submit"
expect_eq "$(ls -d "$WORK"/results/slurm/*/ | wc -l)" "1" "no new submission folder"
[[ -z $(squeue -h) ]] || fail "the second submit queued jobs: $(squeue -h)"

# Merging again changes nothing.
before=$(sqlite3 "$DB" .dump)
mvrl merge "$folder/shards" --db "$DB" > "$WORK/merge-again.log" 2>&1 || fail "merge again: $(cat "$WORK/merge-again.log")"
expect_eq "$(sqlite3 "$DB" .dump)" "$before" "a second merge changes nothing"
expect_eq "$(grep -c "0 added, 0 updated, 1 unchanged" "$WORK/merge-again.log")" "11" "each shard says it changed nothing"

# A truncated shard and one of another schema version are refused by name; the others merge.
mkdir "$WORK/mixed"
cp "$folder"/shards/*.sqlite "$WORK/mixed/"
truncated=$WORK/mixed/task-0.sqlite
truncate -s $(($(stat -c %s "$truncated") / 2)) "$truncated"
older=$WORK/mixed/task-1.sqlite  # as if an older mvrl had written it
sqlite3 "$older" "update meta set value = '2' where key = 'schema_version'"
set +e
out=$(mvrl merge "$WORK/mixed" --db "$WORK/fresh/mvrl.sqlite" 2>&1)
code=$?
set -e
expect_eq "$code" 1 "exit code of a merge with a truncated shard"
expect_match "$out" "shard '$truncated' refused: " "the truncated shard is named"
expect_match "$out" "shard '$older' refused: it has schema version 2, this mvrl writes [0-9]+" "the shard of another schema is named"
expect_match "$out" "9 of 11 shards merged" "the others merge"
expect_eq "$(sqlite3 "$WORK/fresh/mvrl.sqlite" "select count(*) from runs")" "9" "runs of the nine good shards"
echo "ok"
