#!/usr/bin/env bash
# What a plugin returned wrong fails its run with a message naming the plugin, its library file and
# the call; a table row is never labelled null (rows = "variant" in an experiment without
# [[ablation]] showed null), and a row key that cannot name a row is an error.
source "$(dirname "$0")/lib.sh"
cell='[^|]*[0-9]\.[0-9]+ ± [0-9.]+[^|]*'  # a table cell, bold or underlined or not
set +e
out=$(sweep "$EXPERIMENTS/bad-data.toml" --jobs 1 2>&1)
code=$?
set -e
expect_eq "$code" 1 "exit code of a sweep with failed runs"
expect_eq "$(q "select status from runs where variant = 'baseline'")" finished "the healthy dataset's run"
expect_match "$(q "select error from runs where variant = 'malformed info'")" \
  "^dataset 'test-bad-data' \(.*test-faults\.so\) info\(\): malformed JSON \(parse error at line 1, column [0-9]+: .*\); it returned: \{\"n\": 64" \
  "malformed info() JSON"
expect_eq "$(q "select error from runs where variant = 'short label'")" \
  "dataset 'test-bad-data' ($(q "select path from plugins where name = 'test-bad-data'")) load(): tensor 'label' has 32 rows, view0 has 64: every tensor needs one row per sample" \
  "label shorter than the views"

out=$(sweep "$EXPERIMENTS/no-ablation.toml" 2>&1) || fail "no-ablation sweep failed: $out"
[[ $out != *null* ]] || fail "a table row is labelled null: $out"
expect_match "$out" "\| baseline \| – \| $cell \| 2 \|" "the row of an experiment without ablations"
named=$WORK/named.toml
sed 's/^name = "engine-no-ablation"/&\nbaseline = "raw pixels"/' "$EXPERIMENTS/no-ablation.toml" > "$named"
out=$(mvrl table "$named" --db "$DB" 2>&1) || fail "table failed: $out"
expect_match "$out" "\| raw pixels \| – \| $cell \| 2 \|" "the baseline's label"
sed 's/^rows = .*/rows = "varaint"/' "$EXPERIMENTS/no-ablation.toml" > "$WORK/typo.toml"
set +e
out=$(mvrl table "$WORK/typo.toml" --db "$DB" 2>&1)
code=$?
set -e
expect_eq "$code" 2 "exit code of a bad row key"
expect_match "$out" "typo.toml:[0-9]+:[0-9]+: \[\[table\]\] 'accuracy' rows: 'varaint' is not a row key" "bad row key named"
echo "ok"
