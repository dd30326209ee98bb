// `mvrl-run evaluate`, the part that needs libtorch (run inside mvrl-worker): score finished runs'
// stored representations (stored_representations.hpp) with a metric plugin through the C ABI and
// add the values to the store as metric rows, exactly as if an [[evaluate]] entry had asked for
// them. mvrl-run has already checked that each run is finished and has stored representations.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "registry/plugin_registry.hpp"

namespace mvrl::host {

struct StoredEvaluation {
    std::filesystem::path db;
    std::vector<int64_t> run_ids;
    std::string metric, representation, label = "label", params_json = "{}", device = "auto";
    int threads = 0;
};

// Returns 0 when every run was scored, 1 when a metric failed on some run (the others are still
// recorded), 2 on bad input (unknown metric, representation or label: nothing is recorded).
int evaluate_stored_runs(const StoredEvaluation& request, const PluginRegistry& registry);

}  // namespace mvrl::host
