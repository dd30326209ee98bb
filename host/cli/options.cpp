// What every subcommand shares: option parsing, the plugin search path and mvrl-worker.
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "plugin_scan.hpp"

namespace mvrl::cli {

namespace po = boost::program_options;

std::optional<int> parse_command_options(const char* command, const std::vector<std::string>& args,
                                         const po::options_description& options, po::variables_map& vm,
                                         const char* file_option, bool file_required) {
    po::positional_options_description positional;
    if (file_option) positional.add(file_option, 1);
    try {
        po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mvrl-run " << command << ": " << e.what() << "\n" << options;
        return kExitUsage;
    }
    if (vm.count("help") || (file_option && file_required && !vm.count(file_option))) {
        std::cout << options;
        return vm.count("help") ? kExitOk : kExitUsage;
    }
    return std::nullopt;
}

std::string command_line_of(const char* command, const std::vector<std::string>& args) {
    std::string text = std::string("mvrl-run ") + command;
    for (const auto& a : args) text += " " + a;
    return text;
}

std::filesystem::path worker_executable(const GlobalOptions& global) {
    return global.executable.parent_path() / "mvrl-worker";
}

host::PluginRegistry load_registry(const GlobalOptions& global) {
    return scan_plugins(host::plugin_search_path(global.plugin_paths, std::getenv("MVRL_PLUGIN_PATH"), global.executable),
                        {worker_executable(global), user_cache_dir()});
}

}  // namespace mvrl::cli
