// A worker process: claims queued runs among those one sweep listed (whichever sweep queued them),
// one at a time, executes them and records the outcome. When none is queued but some are running
// in another process, it waits for them (and queues again those whose worker vanished).
// SIGINT/SIGTERM finish the current step and mark the run interrupted.
#pragma once

#include <filesystem>
#include <string>

#include "registry/plugin_registry.hpp"

namespace mvrl::host {

struct WorkerOptions {
    std::filesystem::path db;
    int64_t sweep_id = 0;
    std::string name;
    int threads = 0;  // intra-op threads per run when the experiment does not say
    int max_attempts = 3;
    double stale_after_seconds = 120;
    std::filesystem::path files_dir;  // checkpoints, artifacts, caches (run_executor.hpp); empty: beside db
};

// Returns once none of the sweep's runs is queued or running: 0 when all finished, 1 when some
// failed or were interrupted; 130 when stopped by a signal.
int run_worker(const WorkerOptions& options, const PluginRegistry& registry);

}  // namespace mvrl::host
