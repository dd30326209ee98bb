// host/runner — the host-owned loop of one run: load the dataset onto the device, train the model
// stage by stage on seeded shuffled batches from its last checkpoint (run_checkpoint.hpp), stop on
// NaN/Inf, record curves, checkpoint at the end of each stage and every train.checkpoint_every
// epochs, then encode the whole dataset, keep the representations beside the store
// (stored_representations.hpp), evaluate every [[evaluate]] and delete the checkpoint.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include "registry/plugin_registry.hpp"
#include "store/store.hpp"

namespace mvrl::host {

enum class RunOutcome { Finished, Failed, Interrupted };

struct RunResult {
    RunOutcome outcome = RunOutcome::Failed;
    std::string error;  // why it failed or was interrupted
    std::vector<MetricValue> metrics;
    RunTimings timings;
    std::vector<RunWarning> warnings;  // what the run's plugins (and the host) logged as warnings
};

// "auto" -> "cuda" when a CUDA device is usable, else "cpu". Throws when CUDA is asked for and absent.
std::string resolve_device(const std::string& requested);

// Executes a claimed run, writing curves and heartbeats to `store` as it goes (not the final
// status: the caller records the result). `stop` is polled between steps.
// `files_dir`: the folder of the store's run files: checkpoints/, artifacts/, cache/ (what dataset
// plugins decode once), metric-cache/ (what metrics train once). The store's own folder, except
// for a Slurm task's shard on node-local disk, whose files go beside the main store.
RunResult execute_run(const ClaimedRun& run, const PluginRegistry& registry, Store& store,
                      const std::atomic<bool>& stop, int default_threads, const std::filesystem::path& files_dir);

}  // namespace mvrl::host
