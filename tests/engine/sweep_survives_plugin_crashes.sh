#!/usr/bin/env bash
# A segfault, an abort, a NaN loss and an exception each fail their own run; the others finish.
source "$(dirname "$0")/lib.sh"
set +e
out=$(sweep "$EXPERIMENTS/faults.toml" --jobs 2 2>&1)
code=$?
set -e
expect_eq "$code" 1 "exit code of a sweep with failed runs"
expect_eq "$(q "select status from runs where variant = 'baseline'")" finished "the healthy run"
expect_match "$(q "select status || ': ' || error from runs where variant = 'segfault'")" "^failed: worker crashed with signal 11 \(SIGSEGV" "segfault"
expect_match "$(q "select status || ': ' || error from runs where variant = 'abort'")" "^failed: worker crashed with signal 6 \(SIGABRT" "abort"
expect_eq "$(q "select status || ': ' || error from runs where variant = 'nan'")" "failed: loss 'reconstruction' is nan in stage 'train', epoch 1" "NaN loss"
expect_match "$(q "select status || ': ' || error from runs where variant = 'throw'")" "^failed: plugin 'test-faults' .* failed in train_step: runtime error: test-faults: failing on purpose" "exception"
expect_eq "$(q "select count(*) from metrics m join runs r on r.id = m.run_id where r.status != 'finished'")" 0 "no metrics of failed runs"
expect_match "$out" "failed segfault seed=0: worker crashed" "summary names the failed runs"

# Failed runs are kept on a re-run, and run again with --retry-failed.
set +e
out=$(sweep "$EXPERIMENTS/faults.toml" 2>&1)
set -e
expect_match "$out" "4 failed kept \(--retry-failed runs them again\)" "failed runs kept"
set +e
out=$(sweep "$EXPERIMENTS/faults.toml" --retry-failed 2>&1)
set -e
expect_match "$out" "5 runs: 0 new, 4 resumed, 1 already finished" "--retry-failed queues the failed runs"
expect_eq "$(q "select sum(attempts) from runs where variant != 'baseline'")" 8 "each failed run tried twice"
echo "ok"
