// host/cli — the mvrl-run subcommands. Each takes the arguments after its name and the global
// options; it returns the process exit code.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "registry/plugin_registry.hpp"

namespace mvrl::cli {

struct GlobalOptions {
    std::vector<std::string> plugin_paths;  // --plugin-path, in order
    std::filesystem::path executable;       // for the plugin folders beside it, and to start workers
};

// Exit codes: 0 success, 1 a run or check failed, 2 bad usage or input, 130 interrupted.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;

constexpr const char* kDefaultDatabase = "results/mvrl.sqlite";

// The plugins of the search path (--plugin-path, MVRL_PLUGIN_PATH, beside the executable).
host::PluginRegistry load_registry(const GlobalOptions& global);

int run_plugins_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_sweep_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_worker_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_runs_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_table_command(const std::vector<std::string>& args, const GlobalOptions& global);

}  // namespace mvrl::cli
