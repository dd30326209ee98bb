#!/usr/bin/env bash
# A run is what it computes: renaming the baseline and an ablation runs nothing again, another
# experiment with the same baseline trains it once, and two rows that resolve to one run are
# named by --dry-run and share its values in the table.
source "$(dirname "$0")/lib.sh"
cell='[^|]*[0-9]\.[0-9]+ ± [0-9.]+[^|]*'  # a table cell, bold or underlined or not
exp=$EXPERIMENTS/twelve-runs.toml
out=$(sweep "$exp" --jobs 2 2>&1) || fail "first sweep failed: $out"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 12 "finished runs"

# The same file with its baseline and one ablation renamed.
renamed=$WORK/renamed.toml
sed -e 's/^name = "engine-twelve"/name = "engine-twelve"\nbaseline = "plain"/' -e 's/^name = "slow lr"/name = "lr 1e-3"/' "$exp" > "$renamed"
out=$(sweep "$renamed" --jobs 2 2>&1) || fail "renamed sweep failed: $out"
expect_match "$out" "12 runs: 0 new, 0 resumed, 12 already finished" "renaming rows trains nothing"
expect_eq "$(q "select count(*) from runs")" 12 "no new runs"
expect_match "$out" "\| lr 1e-3 \| $cell \| 4 \|" "the renamed row has its values"
expect_match "$out" "\| plain \| $cell \| 4 \|" "the renamed baseline has its values"
expect_eq "$(q "select count(distinct variant) from run_memberships where variant in ('plain', 'baseline')")" 2 "both names are memberships"

# Another experiment sharing the baseline: its 4 runs are found, the ablations' 8 are new, of which
# the 'default lr' rows are the baseline's runs again (lr = 0.01 is linear-ae's default).
shared=$EXPERIMENTS/shared-baseline.toml
out=$(sweep "$shared" --dry-run 2>&1) || fail "dry run failed: $out"
expect_eq "$(grep -c "^note: rows 'linear AE'.* and 'default lr'.* resolve to the same run" <<<"$out")" 4 "dry run names the rows that share a run"
expect_match "$out" "8 runs \(dry run" "dry run counts distinct runs"
out=$(sweep "$shared" --jobs 2 2>&1) || fail "shared-baseline sweep failed: $out"
expect_match "$out" "8 runs: 4 new, 0 resumed, 4 already finished" "the shared baseline is not trained again"
expect_eq "$(q "select count(*) from runs")" 16 "one run per computation"
expect_eq "$(q "select max(attempts) from runs")" 1 "every run trained once"
baseline_row=$(grep '^| linear AE |' <<<"$out")
default_row=$(grep '^| default lr |' <<<"$out")
[[ -n $baseline_row ]] || fail "no baseline row in: $out"
expect_eq "${default_row#| default lr }" "${baseline_row#| linear AE }" "a row that resolves to the baseline's runs shows their values"
expect_eq "$(q "select count(distinct m2.experiment) from run_memberships m1 join run_memberships m2 on m2.run_id = m1.run_id
               where m1.variant = 'linear AE'")" 2 "the baseline's runs belong to both experiments"
out=$("$MVRL_RUN" runs --db "$DB" --experiment engine-shared-baseline 2>&1)
expect_eq "$(grep -c 'engine-shared-baseline' <<<"$out")" 12 "runs lists the experiment's 12 rows"
expect_eq "$(q "select count(*) from summary where experiment = 'engine-shared-baseline' and name = 'ACC'")" 6 "summary by membership (3 rows × 2 grid points)"

# The table of the first experiment is unchanged by the second.
out=$(mvrl table "$exp" --db "$DB" 2>&1) || fail "table failed: $out"
expect_match "$out" "\| slow lr \| $cell \| 4 \|" "first experiment's labels from its own file"
echo "ok"
