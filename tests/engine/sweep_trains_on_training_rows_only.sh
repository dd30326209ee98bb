#!/usr/bin/env bash
# [train] rows = "train": test and validation rows, labels included, never reach training. Two
# runs that differ only in their held-out labels (one poisoned) record the same losses at every
# epoch and the same codes to the bit; without rows = "train", mv2d refuses to train; with the
# host's split, [train] split draws it per class.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/supervised.toml

sweep "$exp" > /dev/null 2> "$WORK/sweep.err" || fail "sweep: $(tail -5 "$WORK/sweep.err")"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 2 "finished runs"
curves() {
  q "select c.stage || ' ' || c.epoch || ' ' || c.name || ' ' || printf('%.17g', c.value) from curves c join runs r on r.id = c.run_id
     where r.variant = '$1' and c.name not in ('epoch_seconds', 'samples_per_second') order by 1"
}
clean=$(curves baseline)
[[ -n $clean ]] || fail "no curves recorded"
expect_eq "$(curves poisoned)" "$clean" "losses with poisoned held-out labels"
# The codes: each run's stored z, projected by the worker (PCA of identical inputs is identical).
project() {
  local id
  id=$(q "select id from runs where variant = '$1'")
  "$(dirname "$MVRL_RUN")/mvrl-worker" --db "$DB" --project "$id" --representation z --method pca --cap 300 |
    sed 's/"labels":\[[^]]*\],//'
}
expect_eq "$(project poisoned)" "$(project baseline)" "stored codes with poisoned held-out labels"
# ... while what is scored on those labels does change.
acc() { q "select value from metrics m join runs r on r.id = m.run_id where r.variant = '$1' and m.name = 'ACC'"; }
awk -v a="$(acc baseline)" -v b="$(acc poisoned)" 'BEGIN { exit !(a > 0.8 && b < 0.2) }' ||
  fail "test ACC should be high on true labels and low on poisoned ones: $(acc baseline) vs $(acc poisoned)"

# Without rows = "train" the supervised model refuses, naming the key.
sed '/^rows = "train"/d' "$exp" > "$WORK/all-rows.toml"
set +e
mvrl sweep "$WORK/all-rows.toml" --db "$WORK/all.sqlite" > /dev/null 2>&1
code=$?
set -e
expect_eq "$code" 1 "sweep of a supervised model on all rows"
expect_match "$(sqlite3 "$WORK/all.sqlite" "select error from runs limit 1")" 'rows = "train"' "the refusal names train.rows"

# rows = "train" over a dataset without a split: the host says to set train.split.
sed 's/plugin = "test-labelled-data"/plugin = "multiview-synthetic"\nparams = { n = 200, classes = 3 }/; /poison_held_out/d; /^\[\[ablation\]\]/,$d' "$exp" > "$WORK/no-split.toml"
set +e
mvrl sweep "$WORK/no-split.toml" --db "$WORK/no-split.sqlite" > /dev/null 2>&1
set -e
expect_match "$(sqlite3 "$WORK/no-split.sqlite" "select error from runs limit 1")" 'set \[train\] split = \[0.7, 0.2, 0.1\]' "no split"
# ... and with train.split the host draws one per class: 70/20/10 of 200 samples of 3 classes.
sed 's/^rows = "train"/rows = "train"\nsplit = [0.7, 0.2, 0.1]/' "$WORK/no-split.toml" > "$WORK/host-split.toml"
mvrl sweep "$WORK/host-split.toml" --db "$WORK/host-split.sqlite" > /dev/null 2>&1 || fail "sweep with train.split failed"
expect_eq "$(sqlite3 "$WORK/host-split.sqlite" "select value from metrics where name = 'n_test'")" 39.0 "test rows of a 70/20/10 split of 67/67/66"
# train.split over a dataset that gives its own split: replaced, with a warning the report shows.
sed 's/^rows = "train"/rows = "train"\nsplit = [0.8, 0.2]/; /^\[\[ablation\]\]/,$d' "$exp" > "$WORK/replaced.toml"
mvrl sweep "$WORK/replaced.toml" --db "$WORK/replaced.sqlite" > /dev/null 2>&1 || fail "sweep replacing the dataset's split failed"
expect_match "$(sqlite3 "$WORK/replaced.sqlite" "select source || ': ' || message from run_warnings")" \
  '^host: train.split replaces the split the dataset gave$' "the replacement's warning"
mvrl report "$WORK/replaced.toml" --db "$WORK/replaced.sqlite" -o "$WORK/replaced.html" > /dev/null 2>&1 || fail "report failed"
grep -q '<details class="warnings"><summary>1 warning</summary><ul><li>host: train.split replaces the split the dataset gave</li>' \
  "$WORK/replaced.html" || fail "the report does not show the run's warning"
echo "ok: supervised protocol"
