#!/usr/bin/env bash
# Ctrl-C (SIGINT to the sweep's process group, as a terminal sends it): running runs become
# 'interrupted', nothing is half-written, the exit code is 130, and the same command finishes the
# sweep keeping every finished run as it was.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/slow.toml

setsid "$MVRL_RUN" --plugin-path "$TEST_PLUGIN_DIR" sweep "$exp" --db "$DB" --jobs 2 > "$WORK/first.log" 2>&1 &
leader=$!
wait_until '[[ -f $DB ]] && [[ $(q "select count(*) from runs where status = '"'finished'"'") -ge 1 ]] && [[ $(q "select count(*) from runs where status = '"'running'"'") -ge 1 ]]' 90
kill -INT -- "-$leader"
set +e
wait "$leader"
code=$?
set -e
expect_eq "$code" 130 "exit code after Ctrl-C"
expect_match "$(cat "$WORK/first.log")" "interrupted: the same command resumes the sweep" "summary says how to resume"
expect_eq "$(q "select count(*) from runs where status in ('running', 'queued', 'failed')")" 0 "no run left running, queued or failed"
interrupted=$(q "select count(*) from runs where status = 'interrupted'")
((interrupted >= 1)) || fail "expected at least one interrupted run"
expect_match "$(q "select error from runs where status = 'interrupted' limit 1")" "interrupted \(stopped by a signal\) in stage 'train', epoch [0-9]+" "where it stopped"
expect_eq "$(q "select count(*) from metrics m join runs r on r.id = m.run_id where r.status = 'interrupted'")" 0 "no metrics of interrupted runs"
finished_before=$(q "select group_concat(id || '@' || finished_at) from (select id, finished_at from runs where status = 'finished' order by id)")
metrics_before=$(q "select group_concat(value) from (select m.value from metrics m join runs r on r.id = m.run_id where r.status = 'finished' order by m.run_id, m.name)")

out=$("$MVRL_RUN" --plugin-path "$TEST_PLUGIN_DIR" sweep "$exp" --db "$DB" 2>&1) || fail "resume failed: $out"
expect_match "$out" "$interrupted resumed" "resume runs the interrupted runs"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 3 "all runs finished after resuming"
after=$(q "select group_concat(id || '@' || finished_at) from (select id, finished_at from runs order by id)")
for pair in ${finished_before//,/ }; do
  [[ ",$after," == *",$pair,"* ]] || fail "finished run $pair was changed by the resume: $after"
done
expect_eq "$(q "select count(*) from curves c join runs r on r.id = c.run_id where c.name = 'reconstruction'")" 30 "curves: exactly one per epoch of each run"
echo "ok"
