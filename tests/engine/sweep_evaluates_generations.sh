#!/usr/bin/env bash
# [[evaluate]] representation = "generations": the host asks the model's generate for the fixed set
# (generated_views.hpp) and lends it with the dataset to the metric; coherence trains its
# classifiers once into metric-cache/ beside the store; a model without generate fails its run by
# name; samples is checked; a mean(...) column averages per run and headers rename columns.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/generations.toml

set +e
out=$(sweep "$exp" 2>&1)
code=$?
set -e
expect_eq "$code" 1 "exit code (the raw row fails): $out"
expect_eq "$(q "select status from runs where variant = 'baseline'")" finished "mmvae-plus run"
for name in self_zq_wp_digit self_zq_wp_quadrant self_zp_wq_digit self_zp_wq_quadrant cross_zq_wp_digit cross_zq_wp_quadrant \
            unconditional_digit classifier_digit_ACC classifier_quadrant_ACC; do
  expect_eq "$(q "select count(*) from metrics where representation = 'generations' and metric = 'coherence' and name = '$name'
                  and value between 0 and 1")" 1 "coherence $name in [0, 1]"
done
expect_eq "$(q "select count(*) from metrics where representation = 'z' and metric = 'linear-probe' and name = 'ACC'")" 1 "the probe beside it"
expect_match "$(q "select error from runs where variant = 'raw'")" \
  "representation = \"generations\" needs a model that generates; 'raw' has no generate call" "raw's error"

# The classifiers: trained once, beside the store; another seed reuses them.
cache=$WORK/results/metric-cache
[[ -d $cache ]] || fail "no metric-cache beside the store"
files=$(find "$cache" -type f | sort)
[[ -n $files ]] || fail "metric-cache is empty"
set +e
out=$(sweep "$exp" --set 'experiment.seeds=[1]' 2>&1)
set -e
expect_eq "$(find "$cache" -type f | sort)" "$files" "the second seed trains no new classifier"

# The table: the mean column is the per-run mean of its two parts; headers replace the column text.
table=$(mvrl table "$exp" --db "$DB" 2>&1) || fail "table failed: $table"
expect_match "$table" '\| variant \| self digit \| mean of self and cross digit \| n \|' "headers"
mean=$(q "select printf('%.3f', avg(value)) from metrics m join runs r on r.id = m.run_id
          where r.variant = 'baseline' and r.seed = 0 and m.metric = 'coherence' and m.name in ('self_zq_wp_digit', 'cross_zq_wp_digit')")
expect_match "$table" "\\| baseline \\| [0-9.]+ \\| $mean \\| 1 \\|" "the mean column is the run's mean of its parts"

# samples: only with generations, a whole number ≥ 1; checked before anything runs.
expect_rejected zero-samples "zero-samples\.toml:[0-9]+:[0-9]+: \[\[evaluate\]\] samples must be a whole number ≥ 1" 's/samples = 40/samples = 0/'
expect_rejected samples-elsewhere "samples-elsewhere\.toml:[0-9]+:[0-9]+: \[\[evaluate\]\] samples is for representation = \"generations\"" \
  's/^metric = "linear-probe"/metric = "linear-probe"\nsamples = 3/'
expect_rejected headers "headers\.toml:[0-9]+:[0-9]+: \[\[table\]\] 'coherence' has 1 headers for 2 columns" 's/^headers = .*/headers = ["one"]/'
[[ ! -e $WORK/bad.sqlite ]] || fail "a rejected experiment wrote a store"
echo "ok"
