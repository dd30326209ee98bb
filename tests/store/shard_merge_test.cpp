// Store::merge_shard: what a merge brings, what it never replaces, and what it refuses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace {

using namespace mvrl;
using namespace mvrl::host;

PlannedRun planned(const std::string& variant, int64_t seed) {
    PlannedRun r;
    r.experiment = "merge-test";
    r.variant = variant;
    r.seed = seed;
    r.config = {{"dataset", {{"plugin", "d"}, {"params", {{"n", 10}}}}}, {"model", {{"plugin", "m"}, {"params", {{"lr", 0.1}}}}},
                {"seed", seed}, {"variant", variant}};
    r.key = variant + "-" + std::to_string(seed);
    return r;
}

class ShardMerge : public testing::Test {
protected:
    std::string path(const std::string& name) {
        return testing::TempDir() + "/shard-merge-" + std::to_string(getpid()) + "-" + name + ".sqlite";
    }
    void SetUp() override {
        main_path = path("main");
        shard_path = path("shard");
        for (const auto& p : {main_path, shard_path})
            for (const char* suffix : {"", "-wal", "-shm"}) std::remove((p + suffix).c_str());
    }
    // A store with `runs` queued in one sweep.
    static int64_t queue(Store& store, const std::vector<PlannedRun>& runs) {
        const int64_t sweep = store.begin_sweep({"merge-test", "x.toml", "", "test", "host", "rev"});
        store.queue_runs(sweep, runs, false);
        return sweep;
    }
    // Claims the next run and ends it as `status` ("finished" with metric ACC = value, two curve
    // points and an artifact record; "failed"; "running": left claimed).
    static void end_next(Store& store, int64_t sweep, const std::string& status, double value = 0) {
        auto run = store.claim_next_run(sweep, "w", 1, "host");
        ASSERT_TRUE(run);
        if (status == "finished") {
            store.record_epoch(run->id, "train", 0, {{"loss", 2.0}});
            store.record_epoch(run->id, "train", 1, {{"loss", 1.0}});
            store.record_artifact(run->id, {"representations", "artifacts/" + run->key + "/representations.pt", 10, "abc"});
            store.record_warnings(run->id, {{"host", "a warning"}});
            RunTimings t;
            t.train_seconds = 1.5;
            store.finish_run(run->id, {{"z", "kmeans", "ACC", value}}, t);
        } else if (status == "failed") {
            store.fail_run(run->id, "it broke");
        }
    }
    std::string main_path, shard_path;
};

int count(const std::string& db, const std::string& sql) {
    std::string command = "sqlite3 '" + db + "' \"" + sql + "\"";
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[64] = {0};
    size_t n = fread(buffer, 1, sizeof buffer - 1, pipe);
    pclose(pipe);
    return n ? std::atoi(buffer) : -1;
}

std::string text(const std::string& db, const std::string& sql) {
    std::string command = "sqlite3 '" + db + "' \"" + sql + "\"";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    pclose(pipe);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

TEST_F(ShardMerge, NewRunsArriveWithEveryRowAndASecondMergeChangesNothing) {
    {
        Store shard = Store::open_for_writing(shard_path);
        const int64_t sweep = queue(shard, {planned("a", 0), planned("b", 0)});
        end_next(shard, sweep, "finished", 0.7);
        end_next(shard, sweep, "finished", 0.8);
    }
    Store main = Store::open_for_writing(main_path);
    MergeCounts first = main.merge_shard(shard_path);
    EXPECT_EQ(first.added, 2);
    for (const char* table : {"metrics", "curves", "artifacts", "run_warnings", "params", "run_memberships"})
        EXPECT_EQ(count(main_path, std::string("select count(*) from ") + table), count(shard_path, std::string("select count(*) from ") + table))
            << table;
    EXPECT_EQ(text(main_path, "select group_concat(key || ' ' || status || ' ' || train_seconds, ', ') from runs order by key"),
              "a-0 finished 1.5, b-0 finished 1.5");
    EXPECT_EQ(count(main_path, "select count(*) from sweeps"), 1) << "the shard's sweep, copied once";
    const std::string before = text(main_path, ".dump");
    MergeCounts second = main.merge_shard(shard_path);
    EXPECT_EQ(second.unchanged, 2);
    EXPECT_EQ(second.added + second.updated, 0);
    EXPECT_EQ(text(main_path, ".dump"), before);
}

TEST_F(ShardMerge, AFinishedRunIsNeverReplacedByAnUnfinishedOne) {
    {
        Store main = Store::open_for_writing(main_path);
        end_next(main, queue(main, {planned("a", 0)}), "finished", 0.9);
        Store shard = Store::open_for_writing(shard_path);
        end_next(shard, queue(shard, {planned("a", 0)}), "failed");
    }
    Store main = Store::open_existing(main_path);
    EXPECT_EQ(main.merge_shard(shard_path).kept_finished, 1);
    EXPECT_EQ(text(main_path, "select status || ' ' || coalesce(error, '') || (select value from metrics) from runs"), "finished 0.9");
}

TEST_F(ShardMerge, AShardsOutcomeReplacesAQueuedRunAndItsQueuedRunChangesNothing) {
    {
        Store main = Store::open_for_writing(main_path);
        const int64_t sweep = queue(main, {planned("a", 0), planned("b", 0)});
        end_next(main, sweep, "failed");  // a failed here; b still queued
        Store shard = Store::open_for_writing(shard_path);
        const int64_t shard_sweep = queue(shard, {planned("b", 0), planned("a", 0)});
        end_next(shard, shard_sweep, "finished", 0.6);  // b finished there; a never started
    }
    Store main = Store::open_existing(main_path);
    MergeCounts c = main.merge_shard(shard_path);
    EXPECT_EQ(c.updated, 1);
    EXPECT_EQ(c.unchanged, 1);
    EXPECT_EQ(text(main_path, "select group_concat(key || ' ' || status || ' ' || coalesce(error, '-'), ', ') from runs order by key"),
              "a-0 failed it broke, b-0 finished -");
    EXPECT_EQ(text(main_path, "select value from metrics m join runs r on r.id = m.run_id where r.key = 'b-0'"), "0.6");
    EXPECT_EQ(count(main_path, "select count(*) from curves c join runs r on r.id = c.run_id where r.key = 'b-0'"), 2);
}

TEST_F(ShardMerge, ARunStillRunningInAShardArrivesInterrupted) {
    {
        Store shard = Store::open_for_writing(shard_path);
        end_next(shard, queue(shard, {planned("a", 0)}), "running");
    }
    Store main = Store::open_for_writing(main_path);
    EXPECT_EQ(main.merge_shard(shard_path).added, 1);
    EXPECT_EQ(text(main_path, "select status from runs"), "interrupted");
    EXPECT_NE(text(main_path, "select error from runs").find("its worker stopped while it ran"), std::string::npos);
}

TEST_F(ShardMerge, MembershipsJoinTheSubmittingSweepNamedInTheShard) {
    int64_t submitting = 0;
    {
        Store main = Store::open_for_writing(main_path);
        submitting = queue(main, {planned("a", 0)});
        Store shard = Store::open_for_writing(shard_path);
        shard.set_meta("shard_of_sweep", std::to_string(submitting));
        end_next(shard, queue(shard, {planned("a", 0)}), "finished", 0.5);
    }
    Store main = Store::open_existing(main_path);
    EXPECT_EQ(main.merge_shard(shard_path).updated, 1);
    EXPECT_EQ(count(main_path, "select count(*) from sweeps"), 1) << "no sweep row per shard";
    EXPECT_EQ(text(main_path, "select group_concat(distinct sweep_id) from run_memberships"), std::to_string(submitting));
}

TEST_F(ShardMerge, RefusesAShardOfAnotherSchemaOrACorruptOneByNameAndLeavesTheStoreAsItWas) {
    {
        Store shard = Store::open_for_writing(shard_path);
        end_next(shard, queue(shard, {planned("a", 0)}), "finished", 0.5);
        shard.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    }
    Store main = Store::open_for_writing(main_path);
    try {
        main.merge_shard(shard_path);
        FAIL() << "a shard of schema version 2 was merged";
    } catch (const StoreError& e) {
        EXPECT_NE(std::string(e.what()).find("shard '" + shard_path + "' refused: it has schema version 2"), std::string::npos) << e.what();
    }
    const std::string garbage = path("garbage");
    std::ofstream(garbage) << std::string(8192, 'x');
    EXPECT_THROW(main.merge_shard(garbage), StoreError);
    EXPECT_THROW(main.merge_shard(path("absent")), StoreError);
    EXPECT_EQ(count(main_path, "select count(*) from runs"), 0);
    std::remove(garbage.c_str());
}

}  // namespace
