// The coordinator of `mvrl-run sweep`: starts worker processes, replaces a worker that crashed
// (its run is marked failed with the signal) or was killed (its run is queued again, up to
// max_attempts), waits for runs another sweep is running, forwards Ctrl-C, and shows progress.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host {

struct CoordinatorOptions {
    std::filesystem::path worker_executable;  // mvrl-worker, beside mvrl-run
    std::vector<std::string> worker_args;    // global options the workers need (--plugin-path ...)
    std::filesystem::path db;                // the store the workers claim runs from
    std::filesystem::path log_dir;           // one log file per worker
    int64_t sweep_id = 0;
    int jobs = 1;
    int threads_per_worker = 0;
    int max_attempts = 3;              // per run and pass, for workers killed from outside
    double stale_after_seconds = 120;  // a run of another host without heartbeat this long is orphaned
};

struct SweepOutcome {
    StatusCounts counts;
    bool interrupted = false;
    std::vector<RunRow> unfinished;  // failed or interrupted runs, with their errors
};

// `runs`: the sweep's distinct runs (one per key). Returns once none of them is queued or running,
// whoever runs them, or once interrupted.
SweepOutcome coordinate_sweep(Store& store, const std::vector<PlannedRun>& runs, const CoordinatorOptions& options);

}  // namespace mvrl::host
