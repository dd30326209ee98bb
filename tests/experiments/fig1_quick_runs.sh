#!/usr/bin/env bash
# experiments/mrdd-fig1-mine-quick.toml runs end to end: MRDD with and without L_d trains, and MINE
# gives a finite I(c; s_i) for both views of both runs, shown in the experiment's table.
#   fig1_quick_runs.sh MVRL_RUN EXPERIMENT_FILE
set -euo pipefail
mvrl_run=$1 experiment=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/fig1.sqlite
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { sqlite3 "$db" "$1"; }

start=$SECONDS
out=$("$mvrl_run" sweep "$experiment" --db "$db" 2>&1) || fail "sweep failed: $out"
echo "sweep: $((SECONDS - start)) s"
[[ $(q "select count(*) from runs where status = 'finished'") == 2 ]] || fail "expected 2 finished runs: $(q "select status, error from runs")"
for rep in 'c;s0' 'c;s1'; do
  finite=$(q "select count(*) from metrics where representation = '$rep' and metric = 'mine' and name = 'mi' and value between -50 and 50")
  [[ $finite == 2 ]] || fail "$rep: $finite of 2 runs have a finite MINE estimate"
done
[[ $(q "select count(distinct json_extract(config_json, '$.model.params.ld')) from runs") == 2 ]] || fail "runs with and without L_d"
table=$("$mvrl_run" table "$experiment" --db "$db" 2>&1) || fail "table failed: $table"
grep -Eq '^\| w/o Ld \| [^|]*[0-9][^|]* \| [^|]*[0-9][^|]* \| 1 \|$' <<< "$table" || fail "no w/o Ld row with both estimates: $table"
echo "$table"
