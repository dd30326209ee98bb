// host/cli — the mvrl-run subcommands. Each takes the arguments after its name and the global
// options; it returns the process exit code.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "registry/plugin_registry.hpp"
#include "store/store.hpp"

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

// Parses a subcommand's options, with its FILE positional when `file_option` is given (a usage
// error when missing, unless !file_required). Returns an exit code when the command should stop
// here: usage error (printed), or --help (printed).
std::optional<int> parse_command_options(const char* command, const std::vector<std::string>& args,
                                         const boost::program_options::options_description& options,
                                         boost::program_options::variables_map& vm, const char* file_option = nullptr,
                                         bool file_required = true);

// "mvrl-run <command> <args...>", as a sweep records how it was started.
std::string command_line_of(const char* command, const std::vector<std::string>& args);

// The mvrl-worker beside mvrl-run: it trains, and it is the only process that loads plugin
// libraries (and so libtorch).
std::filesystem::path worker_executable(const GlobalOptions& global);

// The plugins of the search path (--plugin-path, MVRL_PLUGIN_PATH, beside the executable), as
// mvrl-worker describes them (see plugin_scan.hpp): enough to list them and to expand experiments.
host::PluginRegistry load_registry(const GlobalOptions& global);

// Merges each shard into `store` (Store::merge_shard), saying on stderr what each did; a refused
// shard is named and the others still merge.
struct MergeSummary {
    int merged = 0;
    std::vector<std::filesystem::path> refused;
};
MergeSummary merge_shards(host::Store& store, const std::vector<std::filesystem::path>& shards, const char* command);

int run_plugins_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_sweep_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_worker_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_runs_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_table_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_evaluate_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_report_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_merge_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_slurm_command(const std::vector<std::string>& args, const GlobalOptions& global);
int run_slurm_task_command(const std::vector<std::string>& args, const GlobalOptions& global);

}  // namespace mvrl::cli
