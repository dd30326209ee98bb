#!/usr/bin/env bash
# 12 runs recorded exactly; a re-run runs nothing; adding a seed runs only the new seed's runs.
source "$(dirname "$0")/lib.sh"
exp=$EXPERIMENTS/twelve-runs.toml

out=$(sweep "$exp" --dry-run 2>&1) || fail "dry run failed: $out"
expect_eq "$(grep -c ' new ' <<<"$out")" 12 "dry run lists 12 new runs"
[[ ! -e $DB ]] || fail "dry run wrote a database"

out=$(sweep "$exp" --jobs 2 2>&1) || fail "first sweep failed: $out"
expect_eq "$(q "select count(*) from runs")" 12 "runs"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 12 "finished runs"
expect_eq "$(q "select count(distinct variant) || ',' || count(distinct seed) || ',' || count(distinct grid_point) from runs")" "3,2,2" "variants, seeds, grid points"
expect_eq "$(q "select count(*) from metrics")" 24 "metric rows (ACC and n_test per run)"
expect_eq "$(q "select count(*) from metrics where metric = 'nearest-centroid' and name = 'ACC' and value between 0 and 1")" 12 "ACC values"
expect_eq "$(q "select count(*) from curves where name = 'reconstruction'")" 36 "loss curve rows (3 epochs × 12 runs)"
expect_eq "$(q "select count(*) from params where key = 'model.params.latent_dim'")" 12 "params rows for the grid key"
expect_eq "$(q "select count(*) from params p join runs r on r.id = p.run_id where p.key = 'model.params.lr' and p.value = 0.001 and r.variant = 'slow lr'")" 4 "ablation override recorded"
expect_eq "$(q "select count(*) from params where key = 'dataset.params.views' and value = 3")" 4 "dataset override recorded"
expect_eq "$(q "select count(*) from summary where name = 'ACC'")" 6 "summary rows (3 variants × 2 grid points)"
expect_eq "$(q "select min(n) from summary")" 2 "seeds per summary row"
expect_eq "$(q "select count(*) from plugins")" 3 "plugins used, with their SHA-256"
expect_eq "$(q "select count(*) from runs where samples_per_second > 0 and train_seconds > 0")" 12 "timings"
# --jobs 2 on this machine: each worker gets max(1, cores / 2) threads, records them, and its idle
# OpenMP threads sleep (the coordinator exported OMP_WAIT_POLICY=PASSIVE before starting it).
threads=$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))
expect_eq "$(q "select count(*) from runs where threads = $threads")" 12 "threads recorded per run"
expect_eq "$(cat "$WORK"/results/logs/*.log | grep -c "$threads intra-op threads, BLAS .*OMP_WAIT_POLICY=PASSIVE")" 12 \
  "each run's log line: threads, BLAS, wait policy"
expect_match "$out" "\| variant \| nearest-centroid.ACC \| n \|" "table printed after the sweep"

before=$(q "select group_concat(finished_at) from runs order by id")
out=$(sweep "$exp" --jobs 2 2>&1) || fail "re-run failed: $out"
expect_match "$out" "12 runs: 0 new, 0 resumed, 12 already finished" "re-run summary"
expect_eq "$(q "select group_concat(finished_at) from runs order by id")" "$before" "finished runs untouched by the re-run"
expect_eq "$(q "select count(*) from curves where name = 'reconstruction'")" 36 "no new curves"

out=$(sweep "$exp" --set 'experiment.seeds=[0, 1, 2]' 2>&1) || fail "sweep with a third seed failed: $out"
expect_match "$out" "18 runs: 6 new, 0 resumed, 12 already finished" "only the new seed runs"
expect_eq "$(q "select count(*) from runs where status = 'finished'")" 18 "runs after adding a seed"
expect_eq "$(q "select group_concat(finished_at) from (select finished_at from runs where seed < 2 order by id)")" "$before" "earlier runs untouched"

out=$(mvrl runs --db "$DB" --status finished --format csv) || fail "runs listing failed"
expect_eq "$(grep -c ',finished,' <<<"$out")" 18 "mvrl-run runs lists the finished runs"
expect_eq "$(sweep "$exp" --dry-run 2>&1 | grep -c ' finished ')" 12 "dry run shows stored status"

# Queue only, then a worker started by hand (as on a cluster node) runs the queue.
out=$(sweep "$exp" --set experiment.name=queued --set 'experiment.seeds=[7]' --queue-only 2>&1) || fail "queue-only failed: $out"
sweep_id=$(q "select max(id) from sweeps")
expect_eq "$(q "select count(*) from runs where experiment = 'queued' and status = 'queued'")" 6 "queued, not run"
mvrl worker --db "$DB" --sweep "$sweep_id" --name by-hand > "$WORK/worker.log" 2>&1 || fail "worker failed: $(cat "$WORK/worker.log")"
expect_eq "$(q "select count(*) from runs where experiment = 'queued' and status = 'finished' and worker = 'by-hand'")" 6 "worker ran the queue"
echo "ok"
