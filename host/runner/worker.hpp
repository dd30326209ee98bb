// A worker process: claims queued runs of one sweep from the store, one at a time, executes them
// and records the outcome. SIGINT/SIGTERM finish the current step and mark the run interrupted.
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
};

// Returns 0 when the queue is empty, 130 when stopped by a signal.
int run_worker(const WorkerOptions& options, const PluginRegistry& registry);



}  // namespace mvrl::host
