// host/store — what every file of the store shares: a prepared statement with typed binds and
// reads, exec, and opening a database with the busy timeout. Internal to host/store.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "store.hpp"

namespace mvrl::host::store_detail {

constexpr int kBusyTimeoutMs = 120000;  // writers wait their turn instead of failing
constexpr const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
constexpr const char* kUnixNow = "((julianday('now') - 2440587.5) * 86400.0)";

class Statement {
public:
    Statement(sqlite3* db, const std::string& sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
            throw StoreError(std::string("SQL error: ") + sqlite3_errmsg(db) + " in: " + sql);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v), i); }
    Statement& bind(int i, int v) { return bind(i, int64_t(v)); }
    Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v), i); }
    Statement& bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i), i); }
    Statement& bind(int i, const std::optional<int64_t>& v) { return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i), i); }
    Statement& bind(int i, const std::string& v) {
        return check(sqlite3_bind_text(stmt_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT), i);
    }
    Statement& bind_json(int i, const json& v) {  // a JSON scalar as its native SQLite type
        if (v.is_boolean()) return bind(i, int64_t(v.get<bool>()));
        if (v.is_number_integer()) return bind(i, v.get<int64_t>());
        if (v.is_number()) return bind(i, v.get<double>());
        if (v.is_string()) return bind(i, v.get<std::string>());
        if (v.is_null()) return check(sqlite3_bind_null(stmt_, i), i);
        return bind(i, v.dump());
    }
    // True while there is a row.
    bool step() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreError(std::string("SQLite: ") + sqlite3_errmsg(db_));
    }
    void run() {
        while (step()) {
        }
        sqlite3_reset(stmt_);
    }
    void reset() { sqlite3_reset(stmt_); }
    int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
    double real(int i) const { return sqlite3_column_double(stmt_, i); }
    std::string text(int i) const {
        auto* t = sqlite3_column_text(stmt_, i);
        return t ? reinterpret_cast<const char*>(t) : "";
    }
    bool is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

private:
    Statement& check(int rc, int index) {
        if (rc != SQLITE_OK)
            throw StoreError("SQLite: cannot bind parameter " + std::to_string(index) + " of: " + sqlite3_sql(stmt_) +
                             ": " + sqlite3_errstr(rc));
        return *this;
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

inline void exec(sqlite3* db, const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw StoreError("SQLite: " + text);
    }
}

// Switches a store to WAL. SQLite does not call the busy handler for a journal-mode change that
// races another connection's (two sweeps creating one new store at once get SQLITE_BUSY at
// once), so this waits its turn itself, within the same timeout as every other write.
inline void enable_wal(sqlite3* db) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
        const int rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL;", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) return;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) throw StoreError(std::string("SQLite: ") + sqlite3_errmsg(db));
        if (std::chrono::steady_clock::now() > deadline) throw StoreError("SQLite: database is locked (waited for WAL mode)");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

inline sqlite3* open_database(const std::filesystem::path& path, int flags) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        throw StoreError("cannot open database '" + path.string() + "': " + why);
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db, 1);
    return db;
}

}  // namespace mvrl::host::store_detail
