#include "store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "config/experiment.hpp"
#include "schema.hpp"
#include "sqlite_statement.hpp"

namespace mvrl::host {

namespace {

using namespace store_detail;

RunRow read_run_row(const Statement& s) {
    RunRow r;
    r.id = s.integer(0);
    r.sweep_id = s.integer(1);
    r.key = s.text(2);
    r.experiment = s.text(3);
    r.variant = s.text(4);
    r.grid_point = s.text(5);
    r.seed = s.integer(6);
    r.status = s.text(7);
    r.error = s.text(8);
    r.device = s.text(9);
    r.progress = s.text(10);
    r.started_at = s.text(11);
    r.finished_at = s.text(12);
    r.train_seconds = s.real(13);
    r.samples_per_second = s.real(14);
    r.worker_pid = s.integer(15);
    r.worker_host = s.text(16);
    r.resumed_from = s.text(17);
    r.attempts = s.integer(18);
    r.warnings = s.integer(19);
    return r;
}

void insert_metrics(sqlite3* db, int64_t run_id, const std::vector<MetricValue>& metrics) {
    Statement insert(db, "INSERT OR REPLACE INTO metrics(run_id, representation, metric, name, value) VALUES (?, ?, ?, ?, ?)");
    for (const auto& m : metrics)
        insert.bind(1, run_id).bind(2, m.representation).bind(3, m.metric).bind(4, m.name).bind(5, m.value).run();
}

// Columns read_run_row reads, from `r` (runs) and `mb` (one membership of the run).
constexpr const char* kRunRowColumns =
    "r.id, mb.sweep_id, r.key, mb.experiment, mb.variant, mb.grid_point, r.seed, r.status, r.error, r.device, "
    "r.progress, r.started_at, r.finished_at, r.train_seconds, r.samples_per_second, r.worker_pid, r.worker_host, "
    "r.resumed_from, r.attempts, (SELECT count(*) FROM run_warnings w WHERE w.run_id = r.id)";
// `mb` for a query of one row per run: a membership of the latest sweep that listed it.
constexpr const char* kLatestMembership =
    " LEFT JOIN run_memberships mb ON mb.run_id = r.id AND (mb.sweep_id, mb.experiment, mb.variant, mb.grid_point) = "
    "(SELECT sweep_id, experiment, variant, grid_point FROM run_memberships WHERE run_id = r.id "
    "ORDER BY sweep_id DESC, experiment, variant, grid_point LIMIT 1)";

}  // namespace

Store::Store(std::filesystem::path path, sqlite3* db) : path_(std::move(path)), db_(db) {}
Store::Store(Store&& other) noexcept : path_(std::move(other.path_)), db_(other.db_) { other.db_ = nullptr; }
Store& Store::operator=(Store&& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(db_, other.db_);
    return *this;
}
Store::~Store() {
    if (db_) sqlite3_close(db_);
}

Store Store::open_for_writing(const std::filesystem::path& path) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw StoreError("cannot create the folder of database '" + path.string() + "': " + ec.message());
    Store store(path, open_database(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
    try {
        enable_wal(store.db_);
        exec(store.db_, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        store.migrate();
    } catch (const StoreError& e) {
        throw StoreError("database '" + path.string() + "' is not usable for writing: " + e.what());
    }
    return store;
}

Store Store::open_existing(const std::filesystem::path& path, bool migrate_older) {
    if (!std::filesystem::exists(path))
        throw StoreError("no database at '" + path.string() + "' (run a sweep first, or pass --db)");
    Store store(path, open_database(path, SQLITE_OPEN_READWRITE));
    exec(store.db_, "PRAGMA foreign_keys = ON;");
    int version = store.schema_version();
    if (version > schema::kVersion)
        throw StoreError("database '" + path.string() + "' has schema version " + std::to_string(version) +
                         ", newer than this mvrl-run knows (" + std::to_string(schema::kVersion) + "): upgrade mvrl");
    // An older store is brought up to date (one transaction), so that every command reads one schema.
    if (version < schema::kVersion && migrate_older) store.migrate();
    return store;
}

int Store::schema_version() {
    Statement exists(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
    exists.step();
    if (exists.integer(0) == 0) return 0;
    Statement s(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
    return s.step() ? std::stoi(s.text(0)) : 0;
}

void Store::migrate() {
    with_transaction([&] {
        int version = schema_version();
        if (version > schema::kVersion)
            throw StoreError("schema version " + std::to_string(version) + " is newer than this mvrl-run knows (" +
                             std::to_string(schema::kVersion) + "): upgrade mvrl, or use another --db");
        for (int v = version; v < schema::kVersion; ++v) {
            exec(db_, schema::kMigrations[v]);
            if (v + 1 == 2) rekey_runs_by_config();
        }
        if (version != schema::kVersion)
            Statement(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
                .bind(1, std::to_string(schema::kVersion))
                .run();
    });
}

// Version 2: a run's key becomes the hash of its resolved config alone (run_key_of), so the
// same computation listed under two experiment names or variant labels is one run. Runs that
// collapse onto one key are merged: the survivor is the finished one (of several, the first
// queued: the lowest id), else the lowest id; the others' memberships move to it and
// their rows (and params, metrics, curves, artifacts records, by cascade) are deleted — they
// computed the same thing. Their artifact files stay on disk.
void Store::rekey_runs_by_config() {
    std::map<std::string, std::vector<std::pair<int64_t, bool>>> runs_of_key;  // new key -> (id, finished)
    Statement all(db_, "SELECT id, config_json, status = 'finished' FROM runs ORDER BY id");
    while (all.step()) runs_of_key[run_key_of(json::parse(all.text(1)))].emplace_back(all.integer(0), all.integer(2) != 0);
    Statement move_memberships(db_, "INSERT OR IGNORE INTO run_memberships(sweep_id, run_id, experiment, variant, grid_point) "
                                    "SELECT sweep_id, ?, experiment, variant, grid_point FROM run_memberships WHERE run_id = ?");
    Statement remove(db_, "DELETE FROM runs WHERE id = ?");
    Statement rekey(db_, "UPDATE runs SET key = ? WHERE id = ?");
    for (auto& [key, ids] : runs_of_key) {
        auto survivor = std::find_if(ids.begin(), ids.end(), [](const auto& r) { return r.second; });
        const int64_t keep = survivor != ids.end() ? survivor->first : ids.front().first;
        for (const auto& [id, finished] : ids) {
            if (id == keep) continue;
            move_memberships.bind(1, keep).bind(2, id).run();
            remove.bind(1, id).run();
        }
        rekey.bind(1, key).bind(2, keep).run();
    }
}

void Store::with_transaction(const std::function<void()>& body) {
    exec(db_, "BEGIN IMMEDIATE");
    try {
        body();
        exec(db_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void Store::execute(const std::string& sql) { exec(db_, sql); }

int64_t Store::begin_sweep(const SweepRecord& s) {
    int64_t id = 0;
    with_transaction([&] {
        Statement(db_, "INSERT INTO sweeps(experiment, experiment_path, experiment_toml, command_line, host, revision) "
                       "VALUES (?, ?, ?, ?, ?, ?)")
            .bind(1, s.experiment).bind(2, s.experiment_path).bind(3, s.experiment_toml)
            .bind(4, s.command_line).bind(5, s.host).bind(6, s.revision)
            .run();
        id = sqlite3_last_insert_rowid(db_);
    });
    return id;
}

QueueCounts Store::queue_runs(int64_t sweep_id, const std::vector<PlannedRun>& runs, bool retry_failed) {
    QueueCounts counts;
    with_transaction([&] {
        Statement find(db_, "SELECT id, status FROM runs WHERE key = ?");
        Statement member(db_, "INSERT OR IGNORE INTO run_memberships(sweep_id, run_id, experiment, variant, grid_point) "
                              "VALUES (?, ?, ?, ?, ?)");
        auto add_membership = [&](int64_t id, const PlannedRun& run) {
            member.bind(1, sweep_id).bind(2, id).bind(3, run.experiment).bind(4, run.variant).bind(5, run.grid_point.dump()).run();
        };
        std::set<std::string> seen;  // keys this call has already counted: two rows, one run
        Statement insert(db_, std::string("INSERT INTO runs(key, sweep_id, experiment, variant, grid_point, seed, dataset, "
                                          "model, config_json, status, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ") +
                                  kNow + ")");
        Statement insert_param(db_, "INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)");
        // A new pass: --max-attempts counts the attempts from here.
        Statement requeue(db_, std::string("UPDATE runs SET status = 'queued', attempts_at_queue = attempts, queued_at = ") +
                                   kNow + " WHERE id = ?");
        for (const auto& run : runs) {
            const bool counted = !seen.insert(run.key).second;
            find.bind(1, run.key);
            if (find.step()) {
                int64_t id = find.integer(0);
                std::string status = find.text(1);
                find.reset();
                add_membership(id, run);
                if (counted) {
                    ++counts.duplicates;
                } else if (status == "finished") {
                    ++counts.finished;
                } else if (status == "failed" && !retry_failed) {
                    ++counts.failed_kept;
                } else if (status == "running") {
                    ++counts.running_elsewhere;
                } else {  // interrupted, queued by a sweep that has not run it yet, or orphaned
                    requeue.bind(1, id).run();
                    ++counts.requeued;
                }
                continue;
            }
            find.reset();
            insert.bind(1, run.key).bind(2, sweep_id).bind(3, run.experiment).bind(4, run.variant)
                .bind(5, run.grid_point.dump()).bind(6, run.seed)
                .bind(7, run.config["dataset"]["plugin"].get<std::string>())
                .bind(8, run.config["model"]["plugin"].get<std::string>()).bind(9, run.config.dump())
                .run();
            int64_t id = sqlite3_last_insert_rowid(db_);
            add_membership(id, run);
            json without_evaluate = run.config;
            without_evaluate.erase("evaluate");
            const json params = flatten(without_evaluate);
            for (auto& [key, value] : params.items())
                insert_param.bind(1, id).bind(2, key).bind_json(3, value).run();
            ++counts.added;
        }
    });
    return counts;
}

void Store::record_plugins(const std::vector<PluginRecord>& plugins) {
    with_transaction([&] {
        Statement insert(db_, "INSERT OR IGNORE INTO plugins(name, kind, version, abi, path, sha256, torch_version, "
                              "params_schema) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto& p : plugins)
            insert.bind(1, p.name).bind(2, p.kind).bind(3, p.version).bind(4, p.abi).bind(5, p.path)
                .bind(6, p.sha256).bind(7, p.torch_version).bind(8, p.params_schema).run();
    });
}

std::vector<PluginRecord> Store::recorded_plugins() {
    Statement s(db_, "SELECT name, kind, version, abi, path, sha256, torch_version, params_schema FROM plugins p "
                     "WHERE rowid = (SELECT rowid FROM plugins q WHERE q.name = p.name ORDER BY first_seen DESC, rowid DESC LIMIT 1) "
                     "ORDER BY name");
    std::vector<PluginRecord> records;
    while (s.step())
        records.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)});
    return records;
}

namespace {

// A run whose worker died from outside: queued again while it has attempts left in this pass,
// else failed, the attempt count named either way. True when queued again.
bool requeue_or_fail(sqlite3* db, int64_t run_id, const std::string& why, int max_attempts) {
    Statement attempts(db, "SELECT attempts - attempts_at_queue FROM runs WHERE id = ?");
    attempts.bind(1, run_id);
    const int64_t tried = attempts.step() ? attempts.integer(0) : 0;
    const std::string count = "attempt " + std::to_string(tried) + " of " + std::to_string(max_attempts);
    if (tried < max_attempts) {
        Statement(db, "UPDATE runs SET status = 'queued', error = ?, progress = NULL WHERE id = ?")
            .bind(1, why + " on " + count + "; queued again").bind(2, run_id).run();
        return true;
    }
    Statement(db, std::string("UPDATE runs SET status = 'failed', error = ?, progress = NULL, finished_at = ") + kNow +
                      " WHERE id = ?")
        .bind(1, why + " on " + count + "; not retried (--max-attempts)").bind(2, run_id).run();
    return false;
}

}  // namespace

int Store::requeue_orphaned_runs(const std::string& this_host, const std::function<bool(int64_t)>& alive,
                                 double stale_after_seconds, int max_attempts) {
    // Read first, outside a write transaction: many waiting processes poll this, and almost
    // always nothing is orphaned.
    struct Orphan {
        int64_t id, pid;
        std::string host;
    };
    std::vector<Orphan> orphans;
    {
        Statement running(db_, std::string("SELECT id, worker_pid, worker_host, ") + kUnixNow +
                                   " - coalesce(heartbeat_at, 0) FROM runs WHERE status = 'running'");
        while (running.step()) {
            int64_t pid = running.integer(1);
            std::string host = running.text(2);
            if (host == this_host ? !alive(pid) : running.real(3) > stale_after_seconds)
                orphans.push_back({running.integer(0), pid, host});
        }
    }
    if (orphans.empty()) return 0;
    int requeued = 0;
    with_transaction([&] {
        Statement still(db_, "SELECT count(*) FROM runs WHERE id = ? AND status = 'running' AND worker_pid = ? AND worker_host = ?");
        for (const auto& o : orphans) {
            still.bind(1, o.id).bind(2, o.pid).bind(3, o.host);
            still.step();
            const bool unchanged = still.integer(0) == 1;
            still.reset();
            if (unchanged)
                requeued += requeue_or_fail(db_, o.id, "its worker (pid " + std::to_string(o.pid) + " on " + o.host +
                                                           ") vanished mid-run", max_attempts);
        }
    });
    return requeued;
}

int Store::requeue_runs_of_killed_worker(int64_t pid, const std::string& host, const std::string& why, int max_attempts) {
    int requeued = 0;
    with_transaction([&] {
        Statement running(db_, "SELECT id FROM runs WHERE status = 'running' AND worker_pid = ? AND worker_host = ?");
        running.bind(1, pid).bind(2, host);
        std::vector<int64_t> ids;
        while (running.step()) ids.push_back(running.integer(0));
        for (int64_t id : ids) requeued += requeue_or_fail(db_, id, why, max_attempts);
    });
    return requeued;
}

void Store::end_runs_of_worker(int64_t pid, const std::string& host, const std::string& status, const std::string& error) {
    with_transaction([&] {
        Statement(db_, std::string("UPDATE runs SET status = ?, error = ?, progress = NULL, finished_at = ") + kNow +
                           " WHERE status = 'running' AND worker_pid = ? AND worker_host = ?")
            .bind(1, status).bind(2, error).bind(3, pid).bind(4, host)
            .run();
    });
}

void Store::load_keys_table(const std::vector<std::string>& keys) {
    exec(db_, "CREATE TEMP TABLE IF NOT EXISTS wanted_keys (key TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM wanted_keys;");
    Statement insert(db_, "INSERT OR IGNORE INTO wanted_keys(key) VALUES (?)");
    exec(db_, "SAVEPOINT load_keys");
    for (const auto& k : keys) insert.bind(1, k).run();
    exec(db_, "RELEASE load_keys");
}

void StatusCounts::add(const std::string& status, int n) {
    if (status == "queued") queued += n;
    else if (status == "running") running += n;
    else if (status == "finished") finished += n;
    else if (status == "failed") failed += n;
    else if (status == "interrupted") interrupted += n;
}

StatusCounts count_statuses(const std::vector<RunRow>& rows) {
    StatusCounts counts;
    for (const auto& r : rows) counts.add(r.status);
    return counts;
}

std::vector<RunRow> Store::runs_of_keys(const std::vector<std::string>& keys) {
    load_keys_table(keys);
    std::vector<RunRow> rows;
    Statement s(db_, std::string("SELECT ") + kRunRowColumns + " FROM runs r JOIN wanted_keys w ON w.key = r.key" +
                         kLatestMembership + " ORDER BY r.id");
    while (s.step()) rows.push_back(read_run_row(s));
    return rows;
}

std::optional<ClaimedRun> Store::claim_next_run(int64_t sweep_id, const std::string& worker, int64_t pid,
                                                const std::string& host) {
    std::optional<ClaimedRun> claimed;
    with_transaction([&] {
        Statement next(db_, "SELECT r.id, r.key, mb.experiment, mb.variant, r.seed, r.config_json, r.attempts FROM runs r "
                            "JOIN run_memberships mb ON mb.run_id = r.id AND mb.sweep_id = ?1 "
                            "WHERE r.status = 'queued' ORDER BY r.id LIMIT 1");
        next.bind(1, sweep_id);
        if (!next.step()) return;
        ClaimedRun run{next.integer(0), next.text(1), next.text(2), next.text(3), next.integer(4), json::parse(next.text(5)), next.integer(6) + 1};
        Statement(db_, std::string("UPDATE runs SET status = 'running', worker = ?, worker_pid = ?, worker_host = ?, "
                                   "heartbeat_at = ") + kUnixNow + ", started_at = " + kNow +
                           ", finished_at = NULL, attempts = attempts + 1, error = NULL, progress = NULL WHERE id = ?")
            .bind(1, worker).bind(2, pid).bind(3, host).bind(4, run.id)
            .run();
        // A re-run starts clean: nothing of an interrupted attempt is mixed into its records. Its
        // curves stay until the run knows where it resumes (keep_curves_before).
        Statement(db_, "DELETE FROM metrics WHERE run_id = ?").bind(1, run.id).run();
        Statement(db_, "DELETE FROM artifacts WHERE run_id = ?").bind(1, run.id).run();
        claimed = std::move(run);
    });
    return claimed;
}

StatusCounts Store::statuses_of_sweep(int64_t sweep_id) {
    Statement s(db_, "SELECT status, count(*) FROM runs WHERE id IN (SELECT run_id FROM run_memberships WHERE sweep_id = ?) "
                     "GROUP BY status");
    s.bind(1, sweep_id);
    StatusCounts counts;
    while (s.step()) counts.add(s.text(0), int(s.integer(1)));
    return counts;
}

void Store::heartbeat(int64_t run_id, const std::string& progress_json) {
    with_transaction([&] {
        Statement(db_, std::string("UPDATE runs SET heartbeat_at = ") + kUnixNow + ", progress = ? WHERE id = ?")
            .bind(1, progress_json).bind(2, run_id)
            .run();
    });
}

void Store::record_epoch(int64_t run_id, const std::string& stage, int epoch,
                         const std::vector<std::pair<std::string, double>>& values) {
    with_transaction([&] {
        Statement insert(db_, "INSERT OR REPLACE INTO curves(run_id, stage, epoch, name, value) VALUES (?, ?, ?, ?, ?)");
        for (const auto& [name, value] : values) insert.bind(1, run_id).bind(2, stage).bind(3, epoch).bind(4, name).bind(5, value).run();
        Statement(db_, std::string("UPDATE runs SET heartbeat_at = ") + kUnixNow + " WHERE id = ?").bind(1, run_id).run();
    });
}

void Store::finish_run(int64_t run_id, const std::vector<MetricValue>& metrics, const RunTimings& t) {
    with_transaction([&] {
        insert_metrics(db_, run_id, metrics);
        Statement(db_, std::string("UPDATE runs SET status = 'finished', error = NULL, progress = NULL, finished_at = ") + kNow +
                           ", train_seconds = ?, eval_seconds = ?, samples_per_second = ?, final_loss = ?, "
                           "peak_memory_bytes = ?, device = ?, threads = ? WHERE id = ?")
            .bind(1, t.train_seconds).bind(2, t.eval_seconds).bind(3, t.samples_per_second).bind(4, t.final_loss)
            .bind(5, t.peak_memory_bytes).bind(6, t.device)
            .bind(7, t.threads > 0 ? std::optional<int64_t>(t.threads) : std::nullopt).bind(8, run_id)
            .run();
    });
}

void Store::fail_run(int64_t run_id, const std::string& error) {
    with_transaction([&] {
        Statement(db_, std::string("UPDATE runs SET status = 'failed', error = ?, progress = NULL, finished_at = ") + kNow +
                           " WHERE id = ?")
            .bind(1, error).bind(2, run_id)
            .run();
    });
}

void Store::record_artifact(int64_t run_id, const ArtifactRecord& a) {
    with_transaction([&] {
        Statement(db_, "INSERT OR REPLACE INTO artifacts(run_id, name, path, bytes, sha256) VALUES (?, ?, ?, ?, ?)")
            .bind(1, run_id).bind(2, a.name).bind(3, a.path).bind(4, a.bytes).bind(5, a.sha256)
            .run();
    });
}

void Store::keep_curves_before(int64_t run_id, const std::vector<std::string>& finished_stages, const std::string& stage,
                               int epoch) {
    json finished = finished_stages;
    with_transaction([&] {
        Statement(db_, "DELETE FROM curves WHERE run_id = ? AND NOT (stage IN (SELECT value FROM json_each(?)) OR (stage = ? AND epoch < ?))")
            .bind(1, run_id).bind(2, finished.dump()).bind(3, stage).bind(4, epoch)
            .run();
    });
}

void Store::record_warnings(int64_t run_id, const std::vector<RunWarning>& warnings) {
    if (warnings.empty()) return;
    with_transaction([&] {
        Statement insert(db_, "INSERT INTO run_warnings(run_id, seq, source, message) "
                              "SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3 FROM run_warnings WHERE run_id = ?1");
        for (const auto& w : warnings) insert.bind(1, run_id).bind(2, w.source).bind(3, w.message).run();
    });
}

std::vector<RunWarning> Store::warnings_of_run(int64_t run_id) {
    Statement s(db_, "SELECT source, message FROM run_warnings WHERE run_id = ? ORDER BY seq");
    s.bind(1, run_id);
    std::vector<RunWarning> out;
    while (s.step()) out.push_back({s.text(0), s.text(1)});
    return out;
}

void Store::record_resumption(int64_t run_id, const std::string& checkpoint) {
    with_transaction([&] {
        Statement(db_, "UPDATE runs SET resumed_from = NULLIF(?, '') WHERE id = ?").bind(1, checkpoint).bind(2, run_id).run();
    });
}

void Store::interrupt_run(int64_t run_id, const std::string& reason) {
    with_transaction([&] {
        Statement(db_, std::string("UPDATE runs SET status = 'interrupted', error = ?, progress = NULL, finished_at = ") +
                           kNow + " WHERE id = ?")
            .bind(1, reason).bind(2, run_id)
            .run();
    });
}

std::vector<RunRow> Store::list_runs(const RunFilter& f) {
    // One row per place a run appears; with a sweep, the places that sweep listed it in.
    std::string places = f.sweep_id ? "SELECT sweep_id, run_id, experiment, variant, grid_point FROM run_memberships WHERE sweep_id = ?1"
                                    : "SELECT max(sweep_id) AS sweep_id, run_id, experiment, variant, grid_point FROM run_memberships "
                                      "GROUP BY run_id, experiment, variant, grid_point";
    std::string sql = std::string("SELECT ") + kRunRowColumns + " FROM runs r " + (f.sweep_id ? "" : "LEFT ") + "JOIN (" + places +
                      ") mb ON mb.run_id = r.id WHERE 1 = 1";
    if (!f.experiment.empty()) sql += " AND mb.experiment = ?2";
    if (!f.status.empty()) sql += " AND r.status = ?3";
    sql += " ORDER BY r.id, mb.experiment, mb.variant, mb.grid_point";
    Statement s(db_, sql);
    if (f.sweep_id) s.bind(1, *f.sweep_id);
    if (!f.experiment.empty()) s.bind(2, f.experiment);
    if (!f.status.empty()) s.bind(3, f.status);
    std::vector<RunRow> rows;
    while (s.step()) rows.push_back(read_run_row(s));
    return rows;
}

std::vector<std::pair<std::string, MetricValue>> Store::metrics_of_keys(const std::vector<std::string>& keys) {
    load_keys_table(keys);
    Statement s(db_, "SELECT r.key, m.representation, m.metric, m.name, m.value FROM runs r "
                     "JOIN wanted_keys w ON w.key = r.key JOIN metrics m ON m.run_id = r.id WHERE r.status = 'finished'");
    std::vector<std::pair<std::string, MetricValue>> out;
    while (s.step()) out.push_back({s.text(0), {s.text(1), s.text(2), s.text(3), s.real(4)}});
    return out;
}

std::vector<std::pair<std::string, double>> Store::final_losses_of_keys(const std::vector<std::string>& keys) {
    load_keys_table(keys);
    Statement s(db_, "SELECT r.key, r.final_loss FROM runs r JOIN wanted_keys w ON w.key = r.key "
                     "WHERE r.status = 'finished' AND r.final_loss IS NOT NULL");
    std::vector<std::pair<std::string, double>> out;
    while (s.step()) out.emplace_back(s.text(0), s.real(1));
    return out;
}

std::vector<CurvePoint> Store::curves_of_keys(const std::vector<std::string>& keys) {
    load_keys_table(keys);
    Statement s(db_, "SELECT r.key, c.stage, c.epoch, c.name, c.value FROM curves c JOIN runs r ON r.id = c.run_id "
                     "JOIN wanted_keys w ON w.key = r.key WHERE r.status = 'finished' AND c.value IS NOT NULL "
                     "ORDER BY r.key, c.stage, c.epoch, c.name");
    std::vector<CurvePoint> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(3), s.integer(2), s.real(4)});
    return out;
}

std::optional<SweepRow> Store::latest_sweep_of(const std::string& experiment) {
    Statement s(db_, "SELECT id, coalesce(experiment_path, ''), coalesce(command_line, ''), coalesce(host, ''), "
                     "coalesce(revision, ''), started_at FROM sweeps WHERE experiment = ? ORDER BY id DESC LIMIT 1");
    s.bind(1, experiment);
    if (!s.step()) return std::nullopt;
    return SweepRow{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5)};
}

std::optional<RunRow> Store::find_run(const std::string& id_or_key) {
    const bool numeric = !id_or_key.empty() && id_or_key.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && id_or_key.size() < 18) {
        Statement s(db_, std::string("SELECT ") + kRunRowColumns + " FROM runs r" + kLatestMembership + " WHERE r.id = ?");
        s.bind(1, int64_t(std::stoll(id_or_key)));
        if (s.step()) return read_run_row(s);
    }
    if (id_or_key.size() < 6) return std::nullopt;
    Statement s(db_, std::string("SELECT ") + kRunRowColumns + " FROM runs r" + kLatestMembership +
                         " WHERE substr(r.key, 1, ?) = ? ORDER BY r.id LIMIT 2");
    s.bind(1, int64_t(id_or_key.size())).bind(2, id_or_key);
    if (!s.step()) return std::nullopt;
    RunRow row = read_run_row(s);
    if (s.step()) throw StoreError("run key prefix '" + id_or_key + "' matches several runs: give more of the key");
    return row;
}

std::optional<ArtifactRecord> Store::artifact_of(int64_t run_id, const std::string& name) {
    Statement s(db_, "SELECT name, path, coalesce(bytes, 0), coalesce(sha256, '') FROM artifacts WHERE run_id = ? AND name = ?");
    s.bind(1, run_id).bind(2, name);
    if (!s.step()) return std::nullopt;
    return ArtifactRecord{s.text(0), s.text(1), s.integer(2), s.text(3)};
}

int Store::count_metric_rows(int64_t run_id, const std::string& representation, const std::string& metric) {
    Statement s(db_, "SELECT count(*) FROM metrics WHERE run_id = ? AND representation = ? AND metric = ?");
    s.bind(1, run_id).bind(2, representation).bind(3, metric);
    s.step();
    return int(s.integer(0));
}

void Store::record_metrics(int64_t run_id, const std::vector<MetricValue>& metrics) {
    with_transaction([&] { insert_metrics(db_, run_id, metrics); });
}

}  // namespace mvrl::host
