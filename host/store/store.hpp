// host/store — the SQLite results store. Every SQL statement of mvrl lives in this folder.
// WAL mode, a busy timeout, BEGIN IMMEDIATE for every write transaction, schema version in meta.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "schema.hpp"

#include <mvrl/params.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace mvrl::host {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PlannedRun;

// The schema version this build writes: one past the last migration (schema.hpp).
constexpr int kStoreSchemaVersion = schema::kVersion;

struct SweepRecord {
    std::string experiment, experiment_path, experiment_toml, command_line, host, revision;
};

struct PluginRecord {
    std::string name, kind, version, abi, path, sha256, torch_version, params_schema;
    std::string description;  // for `mvrl-run plugins --describe`; not kept in the plugins table
};

struct QueueCounts {
    int added = 0;           // new runs
    int requeued = 0;        // interrupted, orphaned, still queued or (with retry) failed runs queued again
    int duplicates = 0;      // planned rows that resolve to a run another row of this call already holds
    int finished = 0;        // already finished: not run again
    int failed_kept = 0;     // failed, left alone (no --retry-failed)
    int running_elsewhere = 0;  // held by a live worker of another sweep
};

struct ClaimedRun {
    int64_t id = 0;
    std::string key, experiment, variant;
    int64_t seed = 0;
    json config;
    int64_t attempt = 1;  // 1 for the first claim of the run, 2 for the next, ...
};

struct MetricValue {
    std::string representation, metric, name;
    double value = 0;
};

// The metric column of a metric row: the metric's name, with "@label" when it scored a label other
// than the dataset's "label" (IDMVAE's z→digit and z→quadrant are two rows, not one overwritten).
inline std::string metric_row_name(const std::string& metric, const std::string& label) {
    return label == "label" ? metric : metric + "@" + label;
}

// The representation column of an [[estimate]]'s rows: "x;y", read I(x; y) (MRDD's I(c; s0) is
// "c;s0"); the metric column is the estimator's name and the name column each value it returned.
inline std::string estimate_row_name(const std::string& x, const std::string& y) { return x + ";" + y; }

// A file a run left beside the store (representations.pt), found again from the database. `path`
// is relative to the database's folder, so a results folder can be moved or copied as a whole.
struct ArtifactRecord {
    std::string name, path;
    int64_t bytes = 0;
    std::string sha256;
};

struct RunTimings {
    double train_seconds = 0, eval_seconds = 0, samples_per_second = 0;
    std::optional<double> final_loss;  // none for a model without training (stored NULL: nothing to select by)
    int64_t peak_memory_bytes = 0;
    std::string device;
    int threads = 0;  // intra-op threads the run used; 0: unknown (stored NULL)
};

// A line a plugin (or the host) logged as a warning during a run.
struct RunWarning {
    std::string source, message;
};

struct RunRow {
    int64_t id = 0, sweep_id = 0, seed = 0;
    std::string key, experiment, variant, status, error, device, grid_point, progress, started_at, finished_at;
    std::string resumed_from;  // empty: the last attempt started from scratch
    int64_t attempts = 0, warnings = 0;
    double train_seconds = 0, samples_per_second = 0;
    int64_t worker_pid = 0;
    std::string worker_host;
};

// One value of a run's training curve (curves table): a loss, epoch_seconds or samples_per_second.
struct CurvePoint {
    std::string key, stage, name;  // key: the run's
    int64_t epoch = 0;
    double value = 0;
};

// A sweep as recorded by begin_sweep, for a report's provenance.
struct SweepRow {
    int64_t id = 0;
    std::string experiment_path, command_line, host, revision, started_at;
};

struct RunFilter {
    std::optional<int64_t> sweep_id;  // the runs this sweep listed
    std::string experiment;  // empty: any; else runs that appear in this experiment
    std::string status;      // empty: any
};

// What merging one shard did to the main store, by run.
struct MergeCounts {
    int added = 0;          // runs the main store did not have
    int updated = 0;        // runs whose row the shard's replaced (queued there, finished or failed here)
    int unchanged = 0;      // the same as in the main store already (a second merge of one shard)
    int kept_finished = 0;  // finished in the main store: never replaced by the shard's other row
};

struct StatusCounts {
    int queued = 0, running = 0, finished = 0, failed = 0, interrupted = 0;
    int total() const { return queued + running + finished + failed + interrupted; }
    // Counts `n` runs of `status` (a runs.status value; any other is ignored).
    void add(const std::string& status, int n = 1);
};

// How many of `rows` are in each status.
StatusCounts count_statuses(const std::vector<RunRow>& rows);

class Store {
public:
    // Opens (creating the file and folder when needed) and brings the schema to the current version.
    // Throws StoreError when the file cannot be written or has a newer schema than this program.
    static Store open_for_writing(const std::filesystem::path& path);
    // Opens an existing store; refuses a newer schema too, and migrates an older one unless told
    // not to (a dry run writes nothing).
    static Store open_existing(const std::filesystem::path& path, bool migrate_older = true);

    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    const std::filesystem::path& path() const { return path_; }
    int schema_version();

    // ---- coordinator ----
    int64_t begin_sweep(const SweepRecord& sweep);
    QueueCounts queue_runs(int64_t sweep_id, const std::vector<PlannedRun>& runs, bool retry_failed);
    void record_plugins(const std::vector<PluginRecord>& plugins);
    // The newest record of each plugin: enough to resolve an experiment without loading plugins.
    std::vector<PluginRecord> recorded_plugins();
    // Runs left 'running' by a worker that no longer exists go back to the queue (or fail, after
    // max_attempts in this pass). `alive` says whether a pid on this host is alive; runs of other
    // hosts count as orphaned when their heartbeat is older than stale_after_seconds.
    int requeue_orphaned_runs(const std::string& this_host, const std::function<bool(int64_t)>& alive,
                              double stale_after_seconds, int max_attempts);
    // The run a worker was executing when it died, marked failed (a crash inside a plugin).
    void end_runs_of_worker(int64_t pid, const std::string& host, const std::string& status, const std::string& error);
    // The run of a worker killed from outside (SIGKILL: the OOM killer, a preemption): queued again
    // while it has had fewer than max_attempts attempts in this pass, else failed; `why` says what
    // happened and the attempt count is added. Returns how many were queued again.
    int requeue_runs_of_killed_worker(int64_t pid, const std::string& host, const std::string& why, int max_attempts);
    // One row per run (its experiment and variant: the latest sweep's membership).
    std::vector<RunRow> runs_of_keys(const std::vector<std::string>& keys);

    // ---- worker ----
    // The first queued run among those sweep `sweep_id` listed, whichever sweep queued it.
    std::optional<ClaimedRun> claim_next_run(int64_t sweep_id, const std::string& worker, int64_t pid,
                                             const std::string& host);
    // How the runs sweep `sweep_id` listed stand now.
    StatusCounts statuses_of_sweep(int64_t sweep_id);
    void heartbeat(int64_t run_id, const std::string& progress_json);
    // Deletes the run's curves except the epochs a checkpoint keeps: every epoch of
    // `finished_stages` and those before `epoch` of `stage` (nothing kept: an attempt from scratch).
    void keep_curves_before(int64_t run_id, const std::vector<std::string>& finished_stages, const std::string& stage, int epoch);
    void record_epoch(int64_t run_id, const std::string& stage, int epoch, const std::vector<std::pair<std::string, double>>& values);
    void finish_run(int64_t run_id, const std::vector<MetricValue>& metrics, const RunTimings& timings);
    void fail_run(int64_t run_id, const std::string& error);
    void record_artifact(int64_t run_id, const ArtifactRecord& artifact);
    // Appends to the run's warnings (kept across attempts).
    void record_warnings(int64_t run_id, const std::vector<RunWarning>& warnings);
    std::vector<RunWarning> warnings_of_run(int64_t run_id);
    // Says which checkpoint this attempt resumed from ("" : from scratch).
    void record_resumption(int64_t run_id, const std::string& checkpoint);
    void interrupt_run(int64_t run_id, const std::string& reason);

    // ---- queries ----
    // One row per run and place it appears (experiment, variant, grid point: its memberships).
    std::vector<RunRow> list_runs(const RunFilter& filter);
    // metric values of finished runs among `keys`: key -> values
    std::vector<std::pair<std::string, MetricValue>> metrics_of_keys(const std::vector<std::string>& keys);
    // final training loss (runs.final_loss) of finished runs among `keys`: key -> loss
    std::vector<std::pair<std::string, double>> final_losses_of_keys(const std::vector<std::string>& keys);

    // Curves of the finished runs among `keys`, by run, stage, epoch, name.
    std::vector<CurvePoint> curves_of_keys(const std::vector<std::string>& keys);
    // The latest sweep of this experiment (by name); none when it never ran here.
    std::optional<SweepRow> latest_sweep_of(const std::string& experiment);

    // ---- mvrl-run evaluate ----
    // The run with this id, else the run whose key starts with `id_or_key` (at least 6 characters);
    // none when nothing matches. Throws StoreError when a key prefix matches several runs.
    std::optional<RunRow> find_run(const std::string& id_or_key);
    std::optional<ArtifactRecord> artifact_of(int64_t run_id, const std::string& name);
    // How many metric rows the run has for this representation and metric.
    int count_metric_rows(int64_t run_id, const std::string& representation, const std::string& metric);
    // Adds (or replaces) metric rows of a finished run.
    void record_metrics(int64_t run_id, const std::vector<MetricValue>& metrics);

    // ---- shards (a Slurm array task's own store; store/shard_merge.cpp) ----
    // A consistent copy of the whole store in one new file (VACUUM INTO), even while it is open.
    void write_snapshot(const std::filesystem::path& file);
    void set_meta(const std::string& key, const std::string& value);
    std::optional<std::string> meta_value(const std::string& key);
    // Folds a shard into this store by run key, in one transaction: new runs are added (new ids)
    // with their params, memberships, metrics, curves, artifact records and warnings; a run the
    // shard holds in another state replaces this store's row, unless this one is finished or the
    // shard's is still queued. Idempotent. Throws StoreError naming the shard when it has another
    // schema version or fails `pragma integrity_check`; nothing of it is merged then.
    MergeCounts merge_shard(const std::filesystem::path& shard);

    // Direct access for tests and benchmarks that build stores by hand.
    void execute(const std::string& sql);

private:
    explicit Store(std::filesystem::path path, sqlite3* db);
    void migrate();
    void rekey_runs_by_config();
    void with_transaction(const std::function<void()>& body);
    void load_keys_table(const std::vector<std::string>& keys);

    std::filesystem::path path_;
    sqlite3* db_ = nullptr;
};

}  // namespace mvrl::host
