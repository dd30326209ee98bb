#!/usr/bin/env bash
# A sweep keeps each run's representations beside the store; `mvrl-run evaluate` scores them with
# another metric without training, as new metric rows; bad requests are clear errors.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/evaluate.toml
evaluate() { mvrl evaluate --db "$DB" "$@"; }

out=$(sweep "$exp" 2>&1) || fail "sweep failed: $out"
expect_eq "$(q "select count(*) from artifacts where name = 'representations' and bytes > 0 and length(sha256) = 64")" 2 "artifact rows"
for path in $(q "select path from artifacts"); do
  file=$WORK/results/$path
  [[ -f $file ]] || fail "no file at $file"
  expect_eq "$(sha256sum "$file" | cut -d' ' -f1)" "$(q "select sha256 from artifacts where path = '$path'")" "SHA-256 of $path"
done
before=$(q "select group_concat(finished_at) from runs order by id")

# Another metric on every finished run of the sweep.
out=$(evaluate --sweep 1 --metric kmeans --representation z 2>&1) || fail "evaluate --sweep failed: $out"
expect_match "$out" "run 1 \(baseline seed=0\): z/kmeans.ACC=" "printed values"
expect_eq "$(q "select count(*) from metrics where metric = 'kmeans' and representation = 'z'")" 8 "kmeans rows (ACC, NMI, ARI, inertia per run)"
expect_eq "$(q "select count(*) from metrics where metric = 'kmeans' and name = 'ACC' and value between 0 and 1")" 2 "kmeans ACC"
expect_eq "$(q "select count(*) from summary where metric = 'kmeans' and n = 2")" 4 "kmeans in the summary view"
expect_eq "$(q "select count(*) from plugins where name = 'kmeans'")" 1 "metric plugin recorded"
expect_eq "$(q "select group_concat(finished_at) from runs order by id")" "$before" "runs untouched (no training)"

# By experiment file, and by run key prefix with parameters.
out=$(evaluate "$exp" --metric linear-probe --representation z 2>&1) || fail "evaluate FILE failed: $out"
expect_eq "$(q "select count(*) from metrics where metric = 'linear-probe' and name in ('ACC', 'F1')")" 4 "linear-probe rows"
key=$(q "select substr(key, 1, 10) from runs where seed = 1")
out=$(evaluate --run "$key" --metric svc --representation z --params '{"C": 10}' 2>&1) || fail "evaluate --run failed: $out"
expect_eq "$(q "select count(*) from metrics m join runs r on r.id = m.run_id where m.metric = 'svc' and r.seed = 1")" 3 "svc rows of one run"
expect_eq "$(q "select count(*) from metrics where metric = 'svc'")" 3 "only that run"
expect_match "$(q "select metrics from results where seed = 1")" '"z/svc.ACC":' "results view"

# Rows are not overwritten by accident.
out=$(evaluate --sweep 1 --metric kmeans --representation z 2>&1) && fail "second evaluate overwrote rows: $out"
expect_match "$out" "already has z/kmeans rows: --replace overwrites them" "refusal to overwrite"
out=$(evaluate --sweep 1 --metric kmeans --representation z --params '{"n_init": 2}' --replace 2>&1) || fail "--replace failed: $out"
expect_eq "$(q "select count(*) from metrics where metric = 'kmeans'")" 8 "replaced, not added"

# Bad requests.
out=$(evaluate --sweep 1 --metric kmeans --representation zz 2>&1) && fail "unknown representation accepted: $out"
expect_match "$out" "mvrl-run evaluate: run 1 \([0-9a-f]{12}\) has no stored representation 'zz'; stored: concat, z, z0, z1 \(kept are those of at most 1024 values per sample\)" "unknown representation"
expect_match "$out" "none of the 2 runs stores representation 'zz'" "no run has it"
out=$(evaluate --sweep 1 --metric kmeans --representation z --label digit --replace 2>&1) && fail "unknown label accepted: $out"
expect_match "$out" "has no stored label 'digit'; stored: factor_shared, .*, label" "unknown label"
out=$(evaluate --run 99 --metric kmeans --representation z 2>&1) && fail "unknown run accepted: $out"
expect_match "$out" "no run '99' in .*mvrl-run runs --db" "unknown run"
out=$(evaluate --sweep 1 --metric kmeanz --representation z --replace 2>&1) && fail "unknown metric accepted: $out"
expect_match "$out" "kmeanz" "unknown metric"
out=$(evaluate --sweep 1 --representation z 2>&1) && fail "missing --metric accepted: $out"
expect_match "$out" "--metric is required" "missing --metric"
out=$(evaluate --metric kmeans --representation z 2>&1) && fail "no run selection accepted: $out"
expect_match "$out" "say which runs to score" "no selection"
out=$(evaluate --sweep 1 --metric svc --representation z --params '{"C": -1}' --replace 2>&1) && fail "bad params accepted: $out"
expect_match "$out" "parameter 'C' of plugin 'svc'" "bad parameter named"
rm "$WORK/results/$(q "select path from artifacts where run_id = 2")"
out=$(evaluate --run 2 --metric kmeans --representation z --replace 2>&1) && fail "missing file accepted: $out"
expect_match "$out" "representations.pt are missing" "missing file"
expect_eq "$(q "select count(*) from metrics where metric = 'kmeans'")" 8 "failed requests wrote nothing"

# Wide representations (here the raw model's 2 × 600 concatenated pixels) are not kept.
out=$(sweep "$exp" --set model.plugin=raw --set 'model.params={}' --set dataset.params.view_dim=600 --set experiment.name=wide 2>&1) ||
  fail "raw sweep failed: $out"
out=$(evaluate --sweep 2 --metric kmeans --representation concat 2>&1) && fail "wide representation was kept: $out"
expect_match "$out" "has no stored representation 'concat'; stored: view0, view1 \\(kept are those of at most 1024" "wide ones not kept"
out=$(evaluate --sweep 2 --metric kmeans --representation view1 2>&1) || fail "evaluate of a narrow raw view failed: $out"

# A selection where only some runs store the representation (an ablation row without stage II has
# no s0): those that do are scored, the others are named as skipped, and the exit code is 0.
out=$(evaluate --run 1 --run 3 --metric kmeans --representation z0 2>&1) || fail "partly stored representation failed: $out"
expect_match "$out" "run 1 \\(baseline seed=0\\): z0/kmeans.ACC=" "the run that stores z0 scored"
expect_match "$out" "run 3 \\([0-9a-f]{12}\\) has no stored representation 'z0'.* \\(baseline seed=0\\): skipped" "the other one named"
expect_match "$out" "1 of 2 runs skipped \\(no 'z0'\\)" "skip count"
expect_eq "$(q "select count(*) from metrics where representation = 'z0' and metric = 'kmeans' and name = 'ACC'")" 1 "one z0 row"
echo "ok"
