#!/usr/bin/env bash
# Checkpoints: an MRDD run killed (kill -9) in stage II is retried within the same pass, resumes
# from its stage-I checkpoint, and ends with the same losses and metrics as the same run
# uninterrupted, in another store; its checkpoint is deleted when it finishes. A run interrupted
# (Ctrl-C) in stage II writes a checkpoint at the step where it stopped and the next command
# resumes there, inside the epoch, again equal. A model that cannot checkpoint says so and trains again from scratch.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/mrdd-checkpoint.toml
reference=$WORK/reference/mvrl.sqlite
mvrl sweep --db "$reference" "$exp" > "$WORK/reference.log" 2>&1 || fail "reference run: $(tail -5 "$WORK/reference.log")"
[[ ! -e $WORK/reference/checkpoints/$(sqlite3 "$reference" "select key from runs") ]] || fail "checkpoint kept after the run finished"

# Losses of every epoch and the metrics, as text, for comparing two stores.
results_of() {
  sqlite3 "$1" "select stage, epoch, name, value from curves where name not in ('epoch_seconds', 'samples_per_second')
                order by stage, epoch, name;
                select representation, metric, name, value from metrics order by 1, 2, 3"
}
expected=$(results_of "$reference")
[[ $(wc -l <<< "$expected") -gt 40 ]] || fail "reference run recorded too little: $expected"

# kill -9 in stage II, before its first epoch ends: the retry starts from the end of stage I.
sweep "$exp" > "$WORK/killed.log" 2>&1 &
coordinator=$!
in_stage_two="select worker_pid from runs where status = 'running' and attempts = 1 and json_extract(progress, '\$.stage') = 'specific'"
wait_until '[[ -f $DB ]] && victim=$(q "$in_stage_two" 2>/dev/null) && [[ -n $victim ]]' 120
kill -KILL "$victim"
wait_for_exit "$coordinator"
expect_eq "$code" 0 "exit code of the sweep whose run was killed and resumed: $(tail -5 "$WORK/killed.log")"
expect_eq "$(q "select attempts || ' ' || status || ' from ' || resumed_from from runs")" \
  "2 finished from the end of stage 'consistent'" "resumed from the stage-I checkpoint"
grep -q "resumed from its checkpoint at the end of stage 'consistent'" "$DB_LOGS"/*.log || fail "no resume line in the worker logs"
expect_eq "$(results_of "$DB")" "$expected" "losses and metrics of the resumed run equal the uninterrupted run's"
[[ ! -e $WORK/results/checkpoints/$(q "select key from runs") ]] || fail "checkpoint kept after the resumed run finished"

# Ctrl-C in stage II: a checkpoint at the step it stopped at; the next command resumes there.
rm -rf "$WORK/results"
setsid "$MVRL_RUN" --plugin-path "$TEST_PLUGIN_DIR" sweep --db "$DB" "$exp" > "$WORK/interrupted.log" 2>&1 &
coordinator=$!
past_third="select count(*) from runs where json_extract(progress, '\$.stage') = 'specific' and json_extract(progress, '\$.epoch') >= 3"
wait_until '[[ -f $DB ]] && [[ $(q "$past_third" 2>/dev/null) == 1 ]]' 120
kill -INT -- "-$coordinator"  # as a terminal sends Ctrl-C: to the sweep's process group
wait_for_exit "$coordinator"
expect_eq "$code" 130 "exit code of the interrupted sweep"
expect_eq "$(q "select status from runs")" "interrupted" "run interrupted"
sweep "$exp" --set train.checkpoint_every=1 > "$WORK/resumed.log" 2>&1 || fail "resuming: $(tail -5 "$WORK/resumed.log")"
expect_match "$(q "select resumed_from from runs")" "^stage 'specific', epoch [3-7] of 8, after [0-9]+ rows$" "resumed inside a stage-II epoch"
expect_eq "$(q "select key from runs")" "$(sqlite3 "$reference" "select key from runs")" "checkpoint_every is not part of the run key"
expect_eq "$(results_of "$DB")" "$expected" "losses and metrics after Ctrl-C and resume equal the uninterrupted run's"

# test-faults has no save/load: a killed run of it trains again from scratch, and says so.
rm -rf "$WORK/results"
sweep "$EXPERIMENTS/slow.toml" --set 'experiment.seeds=[0]' > "$WORK/no-checkpoint.log" 2>&1 &
coordinator=$!
wait_until '[[ -f $DB ]] && victim=$(q "select worker_pid from runs where attempts = 1 and json_extract(progress, '"'\$.epoch'"') >= 2" 2>/dev/null) && [[ -n $victim ]]' 60
kill -KILL "$victim"
wait "$coordinator" || fail "sweep of a killed model without checkpoints: $(tail -5 "$WORK/no-checkpoint.log")"
expect_eq "$(q "select attempts || ' ' || status || ' ' || coalesce(resumed_from, 'from scratch') from runs")" "2 finished from scratch" \
  "a model without checkpoints restarts"
expect_match "$(q "select source || ': ' || message from run_warnings")" \
  "^host: model 'test-faults' cannot checkpoint \(its save/load are NULL, ABI 1.1\): attempt 2 trains from scratch$" \
  "the restart is a warning in the run's record"

# What a plugin logs as a warning (ABI 1.1's log callback) goes to the worker log and the run's record.
rm -rf "$WORK/results"
sweep "$EXPERIMENTS/slow.toml" --set 'experiment.seeds=[0]' --set model.params.step_sleep_ms=0 --set model.params.fault=warn \
  > "$WORK/warn.log" 2>&1 || fail "sweep of a warning model: $(tail -5 "$WORK/warn.log")"
expect_eq "$(q "select count(*) from run_warnings where source = 'model ''test-faults''' and message like 'test-faults: warning on purpose after epoch %'")" \
  10 "one warning per epoch in the run's record"
grep -q "^\[model 'test-faults'\] warning: test-faults: warning on purpose after epoch 9$" "$DB_LOGS"/*.log || fail "the warning is not in the worker log"
expect_match "$(mvrl runs --db "$DB")" "\[10 warnings: --format json\]" "mvrl-run runs points at the warnings"
echo "ok"
