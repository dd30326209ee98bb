#!/usr/bin/env bash
# A store written before runs were keyed by what they compute (tests/fixtures/old-store, schema 1)
# migrates: every finished run is kept and found under its new key — re-running its experiments
# trains nothing — and the 6 runs that two experiment names held twice are merged.
source "$(dirname "$0")/lib.sh"
fixture=$EXPERIMENTS/../../fixtures/old-store/store-v1.sql
mkdir -p "$(dirname "$DB")"
sqlite3 "$DB" < "$fixture"  # the store file, rebuilt from its committed SQL dump
expect_eq "$(q "select value from meta where key = 'schema_version'")" 1 "the fixture is schema 1"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 19 "finished runs before (12 + 6 duplicates + 1)"
finished_configs=$(q "select count(distinct config_json) from runs where status = 'finished'")
expect_eq "$finished_configs" 13 "distinct finished computations before"
metrics_before=$(q "select group_concat(v, ';') from (select r.config_json || m.metric || m.name || m.value as v from runs r join metrics m on m.run_id = r.id where r.status = 'finished' and r.experiment = 'engine-twelve' order by v)")

out=$(mvrl runs --db "$DB" 2>&1) || fail "runs on the old store failed: $out"
expect_eq "$(q "select value from meta where key = 'schema_version'")" 3 "migrated to schema 3 (2: run memberships; 3: warnings, resumed_from)"
expect_eq "$(q "select count(*) from run_warnings") $(q "select count(*) from runs where resumed_from is not null")" "0 0" "schema 3's table and column"
expect_eq "$(q "pragma integrity_check")" ok "integrity after migration"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 13 "each finished computation kept once"
expect_eq "$(q "select count(*) from run_memberships m join runs r on r.id = m.run_id where m.experiment = 'engine-twelve-renamed' and r.status = 'finished'")" 6 "merged runs keep the renamed experiment's memberships"
metrics_after=$(q "select group_concat(v, ';') from (select r.config_json || m.metric || m.name || m.value as v from runs r join metrics m on m.run_id = r.id join run_memberships mb on mb.run_id = r.id where r.status = 'finished' and mb.experiment = 'engine-twelve' order by v)")
expect_eq "$metrics_after" "$metrics_before" "every metric of the finished runs kept"

out=$(sweep "$EXPERIMENTS/twelve-runs.toml" --jobs 2 2>&1) || fail "re-run failed: $out"
expect_match "$out" "12 runs: 0 new, 0 resumed, 12 already finished" "old runs found under their new keys"
out=$(sweep "$EXPERIMENTS/twelve-runs.toml" --set experiment.name=engine-twelve-renamed --set 'experiment.seeds=[0]' 2>&1) ||
  fail "renamed re-run failed: $out"
expect_match "$out" "6 runs: 0 new, 0 resumed, 6 already finished" "the merged runs are found by the other name too"
set +e
out=$(sweep "$EXPERIMENTS/faults.toml" 2>&1)
code=$?
set -e
expect_eq "$code" 1 "the fixture's failed runs are kept as failed"
expect_match "$out" "5 runs: 0 new, 0 resumed, 1 already finished, 4 failed kept" "faults: finished found, failed kept"
expect_eq "$(q "select count(*) from runs")" 17 "no run added"
echo "ok"
