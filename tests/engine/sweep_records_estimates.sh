#!/usr/bin/env bash
# [[estimate]]: an estimator between two of the model's representations runs after encoding; each
# value it returns is a metric row of representation "x;y", the table shows it as a column, its
# resolved parameters are part of the run key, and bad entries fail with messages naming their source.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/estimate.toml

# The dry run shows each entry as resolved, defaults included.
out=$(sweep "$exp" --dry-run 2>&1) || fail "dry run failed: $out"
expect_match "$out" 'estimate z0;z1/gaussian-mi \(I\(z0; z1\)\) in 2 runs: params \{"ridge":1e-06\}' "dry run: gaussian-mi"
expect_match "$out" 'estimate z0;z1/mine \(I\(z0; z1\)\) in 2 runs: params \{.*"moving_average_rate":0.01.*"steps":60' "dry run: mine with defaults"
keys=$(sed -n 's/^[0-9]\+ \+\([0-9a-f]\{12\}\) .*/\1/p' <<< "$out" | sort | tr '\n' ' ')
expect_eq "$(wc -w <<< "$keys")" 2 "run keys in the dry run"

out=$(sweep "$exp" 2>&1) || fail "sweep failed: $out"
for estimator in gaussian-mi mine; do
  expect_eq "$(q "select count(*) from metrics where representation = 'z0;z1' and metric = '$estimator' and name = 'mi'
                  and value between -100 and 100")" 2 "finite $estimator estimates of both runs"
done
expect_eq "$(q "select group_concat(name, ' ') from (select name from metrics where metric = 'mine' and run_id = 1 order by name)")" \
  "batch_size loss mi mi_sd mi_train n_test n_train steps" "every value mine returns"
expect_eq "$(q "select count(*) from metrics where metric = 'nearest-centroid' and name = 'ACC'")" 2 "metrics beside them"
expect_match "$(q "select config_json from runs where id = 1")" '"estimate":\[\{"estimator":"gaussian-mi","params":\{"ridge":1e-06\}' \
  "resolved estimates in the run's config"
expect_eq "$(q "select count(*) from summary where representation = 'z0;z1' and metric = 'mine' and name = 'mi' and n = 2")" 1 \
  "estimates in the summary view"

# The table: estimates are columns like metric values (mean ± std over the 2 seeds).
table=$(mvrl table "$exp" --db "$DB" 2>&1) || fail "table failed: $table"
expect_match "$table" '\| variant \| z/nearest-centroid.ACC \| z0;z1/gaussian-mi.mi \| z0;z1/mine.mi \| n \|' "table header"
expect_match "$table" '\| baseline \| [0-9.]+ ± [0-9.]+ \| -?[0-9.]+ ± [0-9.]+ \| -?[0-9.]+ ± [0-9.]+ \| 2 \|' "table row"
gaussian=$(q "select printf('%.3f', avg(value)) from metrics where metric = 'gaussian-mi' and name = 'mi'")
expect_match "$table" "\\| $gaussian ± " "the table's gaussian-mi mean is the stored one"

# Another estimator parameter is another run: the key follows the resolved config.
changed=$WORK/changed.toml
sed 's/steps = 60/steps = 61/' "$exp" > "$changed"
out=$(sweep "$changed" --dry-run 2>&1) || fail "dry run of changed params failed: $out"
changed_keys=$(sed -n 's/^[0-9]\+ \+\([0-9a-f]\{12\}\) .*/\1/p' <<< "$out" | sort | tr '\n' ' ')
expect_eq "$(wc -w <<< "$keys")" 2 "run keys in the dry run"
expect_eq "$(wc -w <<< "$changed_keys")" 2 "run keys in the changed dry run"
[[ $changed_keys != "$keys" ]] || fail "estimator params did not change the run keys ($keys)"
expect_match "$out" " new " "changed params: new runs"
out=$(sweep "$exp" --dry-run 2>&1) || fail "second dry run failed: $out"
expect_eq "$(grep -c ' finished ' <<< "$out")" 2 "unchanged file: both runs finished"

# Bad entries found before anything runs: exit 2, the file and the key or plugin named.
expect_rejected unknown-estimator "unknown-estimator\.toml: variant 'baseline': \[\[estimate\]\] x = \"z0\", y = \"z1\", estimator = \"gaussian-mx\": no estimator plugin named 'gaussian-mx'; estimator plugins found:.* mine" \
  's/estimator = "gaussian-mi"/estimator = "gaussian-mx"/'
expect_rejected metric-as-estimator "plugin 'kmeans' is a metric, not a estimator" 's/estimator = "gaussian-mi"/estimator = "kmeans"/'
expect_rejected bad-param "bad-param\.toml: .*estimator = \"mine\": .*'steps'.*mine" 's/steps = 60/steps = 0/'
expect_rejected unknown-param "unknown-param\.toml: .*estimator = \"mine\": .*'hiden'.*did you mean 'hidden'" 's/hidden = 16/hiden = 16/'
expect_rejected unknown-key "unknown-key\.toml:[0-9]+:[0-9]+: unknown key 'estimater' in \[\[estimate\]\] \(did you mean 'estimator'\?\)" \
  '0,/estimator = "gaussian-mi"/s//estimater = "gaussian-mi"/'
expect_rejected missing-y "missing-y\.toml:[0-9]+:[0-9]+: missing key 'y' in \[\[estimate\]\]" '0,/^y = "z1"/{/^y = "z1"/d}'
expect_rejected twice "twice\.toml: .*estimator = \"mine\" appears twice" 's/estimator = "gaussian-mi"/estimator = "mine"/'
[[ ! -e $WORK/bad.sqlite ]] || fail "a rejected experiment wrote a store"

# Failures at run time fail the run, naming what the model gives or the plugin, its file and the call.
runs_fail() {  # runs_fail NAME REGEX SED-EXPRESSION
  local file=$WORK/$1.toml db=$WORK/$1.sqlite out code
  sed -e "$3" -e 's/seeds = \[0, 1\]/seeds = [0]/' "$exp" > "$file"
  set +e
  out=$(mvrl sweep "$file" --db "$db" 2>&1)
  code=$?
  set -e
  expect_eq "$code" 1 "$1: exit code"
  expect_match "$(sqlite3 "$db" "select status || ': ' || error from runs")" "^failed: $2" "$1: the run's error"
}
runs_fail unknown-representation "\[\[estimate\]\] of gaussian-mi between x = 'z0' and y = 'zz' asks for representation 'zz', model 'linear-ae' gives: concat, z, z0, z1" \
  '0,/^y = "z1"/s//y = "zz"/'
runs_fail failing-estimator "plugin 'mine' \(/[^)]*mine[^)]*\) failed in estimate: invalid argument: mine: 300 samples give 240 to train on and 60 held out .* batch_size = 100" \
  's/batch_size = 32/batch_size = 100/'
echo "ok"
