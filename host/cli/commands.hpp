// host/cli — the mvrl-run subcommands. Each takes the arguments after its name and the global
// options; it returns the process exit code.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mvrl::cli {

struct GlobalOptions {
    std::vector<std::string> plugin_paths;  // --plugin-path, in order
    std::filesystem::path executable;       // for the plugin folders beside it
};

// Exit codes: 0 success, 1 a run or check failed, 2 bad usage or input.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int run_plugins_command(const std::vector<std::string>& args, const GlobalOptions& global);

}  // namespace mvrl::cli
