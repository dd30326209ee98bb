// The store's schema, one migration per version. Append a migration; never edit a shipped one.
#pragma once

namespace mvrl::host::schema {

// migrations[i] brings a store from version i to version i + 1.
inline const char* const kMigrations[] = {
    // ---- version 1 ----
    R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY,
  experiment TEXT NOT NULL,
  experiment_path TEXT,
  experiment_toml TEXT,            -- the file as it was read
  command_line TEXT,
  host TEXT,
  revision TEXT,
  started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,        -- SHA-256 of experiment, variant, resolved config, seed
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  experiment TEXT NOT NULL,
  variant TEXT NOT NULL,
  grid_point TEXT NOT NULL,        -- JSON: dotted key -> value
  seed INTEGER NOT NULL,
  dataset TEXT NOT NULL,
  model TEXT NOT NULL,
  config_json TEXT NOT NULL,       -- the resolved truth the worker runs from
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'interrupted')),
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  worker_pid INTEGER,
  worker_host TEXT,
  heartbeat_at REAL,               -- unix seconds
  progress TEXT,                   -- JSON: stage, epoch, epochs, loss, eta_seconds
  device TEXT,
  queued_at TEXT,
  started_at TEXT,
  finished_at TEXT,
  train_seconds REAL,
  eval_seconds REAL,
  samples_per_second REAL,
  final_loss REAL,
  peak_memory_bytes INTEGER
);
CREATE INDEX runs_by_sweep_status ON runs(sweep_id, status);
CREATE INDEX runs_by_experiment ON runs(experiment, variant);
CREATE TABLE params (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key TEXT NOT NULL,               -- dotted: model.params.lr, train.batch_size, seed
  value,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX params_by_key ON params(key, value);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  representation TEXT NOT NULL,
  metric TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (run_id, representation, metric, name)
) WITHOUT ROWID;
CREATE TABLE curves (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  name TEXT NOT NULL,              -- a loss, or epoch_seconds, samples_per_second
  value REAL,
  PRIMARY KEY (run_id, stage, epoch, name)
) WITHOUT ROWID;
CREATE TABLE plugins (
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  version TEXT NOT NULL,
  abi TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  torch_version TEXT NOT NULL,
  params_schema TEXT NOT NULL,     -- JSON, as the plugin published it
  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (name, version, sha256)
);
CREATE TABLE artifacts (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER,
  sha256 TEXT,
  PRIMARY KEY (run_id, name)
);
-- One row per run with its metrics as a JSON object {"representation/metric.name": value}.
CREATE VIEW results AS
SELECT r.id AS run_id, r.experiment, r.variant, r.grid_point, r.seed, r.dataset, r.model, r.status,
       r.device, r.train_seconds, r.samples_per_second,
       (SELECT json_group_object(m.representation || '/' || m.metric || '.' || m.name, m.value)
          FROM metrics m WHERE m.run_id = r.id) AS metrics
  FROM runs r;
-- Mean, sample standard deviation and n over seeds, per variant and grid point.
CREATE VIEW summary AS
SELECT r.experiment, r.variant, r.grid_point, r.dataset, m.representation, m.metric, m.name,
       avg(m.value) AS mean,
       CASE WHEN count(*) > 1 THEN
         sqrt(max(0.0, (sum(m.value * m.value) - sum(m.value) * sum(m.value) / count(*)) / (count(*) - 1)))
       END AS std,
       count(*) AS n
  FROM runs r JOIN metrics m ON m.run_id = r.id
 WHERE r.status = 'finished'
 GROUP BY r.experiment, r.variant, r.grid_point, r.dataset, m.representation, m.metric, m.name;
)sql",
    // ---- version 2 ----
    // Runs are keyed by what they compute (config + seed, no labels); where a run appears — an
    // experiment's row — is a membership, one per sweep that listed it. The C++ step after this
    // script (Store::rekey_runs_by_config) recomputes every key and merges runs that now collide.
    R"sql(
CREATE TABLE run_memberships (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  experiment TEXT NOT NULL,
  variant TEXT NOT NULL,           -- the row label: the ablation's name or the baseline's
  grid_point TEXT NOT NULL,        -- JSON: dotted key -> value
  PRIMARY KEY (sweep_id, run_id, experiment, variant, grid_point)
) WITHOUT ROWID;
CREATE INDEX run_memberships_by_run ON run_memberships(run_id);
CREATE INDEX run_memberships_by_experiment ON run_memberships(experiment, variant);
INSERT INTO run_memberships(sweep_id, run_id, experiment, variant, grid_point)
  SELECT sweep_id, id, experiment, variant, grid_point FROM runs;
-- runs.experiment, variant, grid_point and sweep_id now only say which sweep first queued a run.
ALTER TABLE runs ADD COLUMN threads INTEGER;          -- intra-op threads the run used; NULL: unknown
ALTER TABLE runs ADD COLUMN attempts_at_queue INTEGER NOT NULL DEFAULT 0;  -- attempts before this pass
DROP VIEW results;
DROP VIEW summary;
-- One row per run and place it appears (experiment, variant, grid point), with its metrics.
CREATE VIEW results AS
SELECT r.id AS run_id, mb.experiment, mb.variant, mb.grid_point, r.seed, r.dataset, r.model, r.status,
       r.device, r.train_seconds, r.samples_per_second,
       (SELECT json_group_object(m.representation || '/' || m.metric || '.' || m.name, m.value)
          FROM metrics m WHERE m.run_id = r.id) AS metrics
  FROM (SELECT DISTINCT run_id, experiment, variant, grid_point FROM run_memberships) mb
  JOIN runs r ON r.id = mb.run_id;
-- Mean, sample standard deviation and n over seeds, per experiment, variant and grid point.
CREATE VIEW summary AS
SELECT mb.experiment, mb.variant, mb.grid_point, r.dataset, m.representation, m.metric, m.name,
       avg(m.value) AS mean,
       CASE WHEN count(*) > 1 THEN
         sqrt(max(0.0, (sum(m.value * m.value) - sum(m.value) * sum(m.value) / count(*)) / (count(*) - 1)))
       END AS std,
       count(*) AS n
  FROM (SELECT DISTINCT run_id, experiment, variant, grid_point FROM run_memberships) mb
  JOIN runs r ON r.id = mb.run_id JOIN metrics m ON m.run_id = r.id
 WHERE r.status = 'finished'
 GROUP BY mb.experiment, mb.variant, mb.grid_point, r.dataset, m.representation, m.metric, m.name;
)sql",
    // ---- version 3 ----
    // What plugins logged as warnings (ABI 1.1's log callback), and where a run resumed from.
    R"sql(
CREATE TABLE run_warnings (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,            -- order of logging, across the run's attempts
  source TEXT NOT NULL,            -- "model 'mrdd'", "host"
  message TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
ALTER TABLE runs ADD COLUMN resumed_from TEXT;  -- the checkpoint the last attempt started from; NULL: from scratch
)sql",
};

constexpr int kVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

}  // namespace mvrl::host::schema
