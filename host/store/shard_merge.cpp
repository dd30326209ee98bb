// Shards: a Slurm array task writes its runs into its own store on node-local disk (SQLite's
// locking over NFS is not to be trusted), publishes a snapshot of it, and `mvrl-run merge` folds
// the snapshots into the main store by run key.
#include <map>
#include <memory>
#include <vector>

#include "sqlite_statement.hpp"
#include "store.hpp"

namespace mvrl::host {

namespace {

using namespace store_detail;

// runs' columns that say how a run went (not which sweep first queued it): what a merge replaces.
constexpr const char* kOutcomeColumns =
    "status, error, attempts, worker, worker_pid, worker_host, heartbeat_at, progress, device, started_at, finished_at, "
    "train_seconds, eval_seconds, samples_per_second, final_loss, peak_memory_bytes, threads, resumed_from";
constexpr const char* kLabelColumns = "experiment, variant, grid_point, seed, dataset, model, config_json, queued_at, attempts_at_queue";

// A run's rows in the tables that hang off it, by their columns after run_id.
const std::pair<const char*, const char*> kRunChildren[] = {
    {"metrics", "representation, metric, name, value"},
    {"curves", "stage, epoch, name, value"},
    {"artifacts", "name, path, bytes, sha256"},
    {"run_warnings", "seq, source, message"},
};

// The shard's schema version after `pragma integrity_check`, on a connection of its own (so a
// malformed file is refused before it is attached).
int checked_shard_version(const std::filesystem::path& shard) {
    if (!std::filesystem::is_regular_file(shard)) throw StoreError("no such file");
    sqlite3* db = open_database(shard, SQLITE_OPEN_READONLY);
    try {
        Statement check(db, "PRAGMA integrity_check");
        std::string problems;
        while (check.step())
            if (check.text(0) != "ok") problems += (problems.empty() ? "" : "; ") + check.text(0);
        if (!problems.empty()) throw StoreError("integrity_check failed: " + problems.substr(0, 300));
        Statement has_meta(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
        has_meta.step();
        if (has_meta.integer(0) == 0) throw StoreError("not an mvrl store (no meta table)");
        Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
        const int v = version.step() ? std::stoi(version.text(0)) : 0;
        sqlite3_close(db);
        return v;
    } catch (...) {
        sqlite3_close(db);
        throw;
    }
}

struct ShardRun {
    int64_t id = 0;
    std::string key, status, started_at, finished_at;
    int64_t attempts = 0;
};

// Statements are prepared once per shard: a shard of 1,000 runs would otherwise prepare ~15,000.
class ShardMerger {
public:
    ShardMerger(sqlite3* db, const std::string& shard_name)
        : db_(db),
          shard_name_(shard_name),
          find_(db, "SELECT id, status, coalesce(started_at, ''), coalesce(finished_at, ''), attempts FROM main.runs WHERE key = ?"),
          insert_run_(db, std::string("INSERT INTO main.runs(key, sweep_id, ") + kLabelColumns + ", " + kOutcomeColumns +
                              ") SELECT key, ?, " + kLabelColumns + ", " + kOutcomeColumns + " FROM shard.runs WHERE id = ?"),
          copy_params_(db, "INSERT INTO main.params(run_id, key, value) SELECT ?, key, value FROM shard.params WHERE run_id = ?"),
          replace_outcome_(db, std::string("UPDATE main.runs SET (") + kOutcomeColumns + ") = (SELECT " + kOutcomeColumns +
                                   " FROM shard.runs WHERE id = ?) WHERE id = ?"),
          members_(db, "SELECT sweep_id, experiment, variant, grid_point FROM shard.run_memberships WHERE run_id = ?"),
          insert_member_(db, "INSERT OR IGNORE INTO main.run_memberships(sweep_id, run_id, experiment, variant, grid_point) "
                             "VALUES (?, ?, ?, ?, ?)"),
          mark_interrupted_(db, "UPDATE main.runs SET status = 'interrupted', error = ? WHERE id = ?") {
        for (const auto& [table, columns] : kRunChildren) {
            delete_children_.emplace_back(std::make_unique<Statement>(db, std::string("DELETE FROM main.") + table + " WHERE run_id = ?"));
            copy_children_.emplace_back(std::make_unique<Statement>(
                db, std::string("INSERT INTO main.") + table + "(run_id, " + columns + ") SELECT ?, " + columns + " FROM shard." + table +
                        " WHERE run_id = ?"));
        }
    }

    MergeCounts merge() {
        map_sweeps();
        exec(db_, "INSERT OR IGNORE INTO main.plugins SELECT * FROM shard.plugins");
        MergeCounts counts;
        Statement runs(db_, "SELECT id, key, status, coalesce(started_at, ''), coalesce(finished_at, ''), attempts, sweep_id "
                            "FROM shard.runs ORDER BY id");
        while (runs.step()) {
            ShardRun s{runs.integer(0), runs.text(1), runs.text(2), runs.text(3), runs.text(4), runs.integer(5)};
            // A shard published after its worker was killed holds the run as running: it is not.
            const bool stopped_running = s.status == "running";
            if (stopped_running) s.status = "interrupted";
            find_.bind(1, s.key);
            if (!find_.step()) {
                find_.reset();
                add_run(s, sweep_of_.at(runs.integer(6)), stopped_running);
                ++counts.added;
                continue;
            }
            const int64_t id = find_.integer(0);
            const std::string status = find_.text(1);
            const bool same = status == s.status && find_.text(2) == s.started_at && find_.text(3) == s.finished_at &&
                              find_.integer(4) == s.attempts;
            find_.reset();
            add_memberships(s.id, id);
            if (same) ++counts.unchanged;
            else if (status == "finished") ++counts.kept_finished;
            else if (s.status == "queued") ++counts.unchanged;  // never started there: nothing to bring
            else {
                replace_outcome_.bind(1, s.id).bind(2, id).run();
                copy_children(s.id, id);
                if (stopped_running) mark_interrupted(id);
                ++counts.updated;
            }
        }
        return counts;
    }

private:
    // The shard's sweeps in the main store: the submitting sweep (meta shard_of_sweep, written by
    // the task) when the main store has it, else copies of the shard's own sweep rows.
    void map_sweeps() {
        Statement meta(db_, "SELECT value FROM shard.meta WHERE key = 'shard_of_sweep'");
        std::optional<int64_t> submitting;
        if (meta.step()) {
            Statement exists(db_, "SELECT count(*) FROM main.sweeps WHERE id = ?");
            exists.bind(1, int64_t(std::stoll(meta.text(0))));
            exists.step();
            if (exists.integer(0) > 0) submitting = std::stoll(meta.text(0));
        }
        constexpr const char* kColumns = "experiment, experiment_path, experiment_toml, command_line, host, revision, started_at";
        Statement sweeps(db_, "SELECT id FROM shard.sweeps");
        Statement same(db_, std::string("SELECT m.id FROM main.sweeps m, shard.sweeps s WHERE s.id = ? AND ") +
                                "(m.experiment, m.started_at, coalesce(m.host, '')) = (s.experiment, s.started_at, coalesce(s.host, ''))");
        Statement copy(db_, std::string("INSERT INTO main.sweeps(") + kColumns + ") SELECT " + kColumns + " FROM shard.sweeps WHERE id = ?");
        while (sweeps.step()) {
            const int64_t shard_id = sweeps.integer(0);
            if (submitting) {
                sweep_of_[shard_id] = *submitting;
                continue;
            }
            same.bind(1, shard_id);
            if (same.step()) {
                sweep_of_[shard_id] = same.integer(0);
                same.reset();
                continue;
            }
            same.reset();
            copy.bind(1, shard_id).run();
            sweep_of_[shard_id] = sqlite3_last_insert_rowid(db_);
        }
    }

    void add_run(const ShardRun& s, int64_t sweep_id, bool stopped_running) {
        insert_run_.bind(1, sweep_id).bind(2, s.id).run();
        const int64_t id = sqlite3_last_insert_rowid(db_);
        copy_params_.bind(1, id).bind(2, s.id).run();
        add_memberships(s.id, id);
        copy_children(s.id, id);
        if (stopped_running) mark_interrupted(id);
    }

    void copy_children(int64_t shard_id, int64_t id) {
        for (size_t i = 0; i < delete_children_.size(); ++i) {
            delete_children_[i]->bind(1, id).run();
            copy_children_[i]->bind(1, id).bind(2, shard_id).run();
        }
    }

    void add_memberships(int64_t shard_id, int64_t id) {
        members_.bind(1, shard_id);
        while (members_.step())
            insert_member_.bind(1, sweep_of_.at(members_.integer(0))).bind(2, id).bind(3, members_.text(1)).bind(4, members_.text(2))
                .bind(5, members_.text(3))
                .run();
        members_.reset();
    }

    void mark_interrupted(int64_t id) {
        mark_interrupted_.bind(1, "its worker stopped while it ran (shard " + shard_name_ + " was published after it was killed)")
            .bind(2, id)
            .run();
    }

    sqlite3* db_;
    std::string shard_name_;
    std::map<int64_t, int64_t> sweep_of_;  // shard sweep id -> main sweep id
    Statement find_, insert_run_, copy_params_, replace_outcome_, members_, insert_member_, mark_interrupted_;
    std::vector<std::unique_ptr<Statement>> delete_children_, copy_children_;
};

}  // namespace

void Store::write_snapshot(const std::filesystem::path& file) {
    std::error_code ec;
    std::filesystem::remove(file, ec);  // VACUUM INTO refuses an existing file
    Statement(db_, "VACUUM INTO ?").bind(1, file.string()).run();
}

void Store::set_meta(const std::string& key, const std::string& value) {
    Statement(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)").bind(1, key).bind(2, value).run();
}

std::optional<std::string> Store::meta_value(const std::string& key) {
    Statement s(db_, "SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return s.text(0);
}

MergeCounts Store::merge_shard(const std::filesystem::path& shard) {
    const std::string name = shard.string();
    try {
        const int version = checked_shard_version(shard);
        if (version != schema::kVersion)
            throw StoreError("it has schema version " + std::to_string(version) + ", this mvrl writes " +
                             std::to_string(schema::kVersion) + ": merge it with the mvrl that wrote it, or open it once with " +
                             (version < schema::kVersion ? "this one (any command that writes migrates it)" : "a newer one"));
    } catch (const StoreError& e) {
        throw StoreError("shard '" + name + "' refused: " + e.what());
    }
    Statement(db_, "ATTACH DATABASE ? AS shard").bind(1, name).run();
    MergeCounts counts;
    try {
        with_transaction([&] { counts = ShardMerger(db_, shard.filename().string()).merge(); });
    } catch (const StoreError& e) {
        exec(db_, "DETACH DATABASE shard");
        throw StoreError("shard '" + name + "' not merged: " + e.what());
    }
    exec(db_, "DETACH DATABASE shard");
    return counts;
}

}  // namespace mvrl::host
