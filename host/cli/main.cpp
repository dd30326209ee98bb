// mvrl-run: the one program a researcher calls. Global options may appear anywhere; everything
// after the subcommand's name that is not a global option goes to the subcommand.
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/program_options.hpp>

#include <mvrl/abi.h>

#include "commands.hpp"
#include "registry/plugin_registry.hpp"

namespace po = boost::program_options;
using namespace mvrl::cli;

namespace {

struct Command {
    const char* name;
    const char* summary;
    std::function<int(const std::vector<std::string>&, const GlobalOptions&)> run;  // empty: not yet built
    const char* tracked_in;                                                         // the issue that brings it
};

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"plugins", "list loaded plugins and refused libraries; --describe NAME for one plugin's parameters",
         run_plugins_command, nullptr},
        {"sweep", "expand a TOML experiment into runs, train and evaluate them, record them in SQLite",
         run_sweep_command, nullptr},
        {"runs", "list runs in a store, filtered by experiment or status", run_runs_command, nullptr},
        {"table", "render an experiment's [[table]] from the store as markdown, latex, csv or html", run_table_command, nullptr},
        {"report", "write one self-contained HTML page of an experiment: tables, figures, curves, runs", run_report_command,
         nullptr},
        {"worker", "claim and execute queued runs of a sweep (started by sweep)", run_worker_command, nullptr},
        {"evaluate", "score finished runs' stored representations with a metric; adds metric rows", run_evaluate_command,
         nullptr},
        {"slurm", "queue a sweep as Slurm job arrays (one SQLite shard per task, merged after); --status to watch it",
         run_slurm_command, nullptr},
        {"slurm-task", "", run_slurm_task_command, nullptr},  // what a Slurm array task runs (not listed)
        {"merge", "fold SQLite shards (e.g. from Slurm array tasks) into one store, by run key", run_merge_command, nullptr},
    };
    return table;
}

void print_usage(const po::options_description& global) {
    std::cout << "usage: mvrl-run [--plugin-path DIR]... <command> [args]\n\n"
                 "Multi-view representation learning experiments: TOML in, SQLite and tables out.\n\n"
                 "commands:\n";
    for (const auto& c : commands()) {
        if (!*c.summary) continue;
        std::printf("  %-9s %s%s\n", c.name, c.summary, c.run ? "" : "  [not yet available]");
    }
    std::cout << "\n" << global
              << "\nexamples:\n"
                 "  mvrl-run plugins\n"
                 "  mvrl-run plugins --describe multiview-synthetic\n"
                 "  mvrl-run sweep experiments/ablation.toml --jobs 2\n"
                 "  mvrl-run sweep experiments/ablation.toml --set experiment.seeds=[0] --dry-run\n"
                 "  mvrl-run table experiments/ablation.toml --format latex\n"
                 "  mvrl-run report experiments/ablation.toml -o ablation.html\n"
                 "  mvrl-run evaluate experiments/ablation.toml --metric linear-probe --representation c\n"
                 "  mvrl-run runs --status failed\n";
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description global("global options");
    global.add_options()
        ("help,h", "show this help")
        ("version", "show the version, ABI and libtorch version")
        ("plugin-path", po::value<std::vector<std::string>>()->composing(),
         "folder or file to load plugins from (repeatable, searched before MVRL_PLUGIN_PATH and the built-in plugins)");
    po::options_description positional_only;
    positional_only.add_options()
        ("command", po::value<std::string>())
        ("args", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(global).add(positional_only);
    po::positional_options_description positions;
    positions.add("command", 1).add("args", -1);

    po::variables_map vm;
    std::vector<std::string> command_args;
    try {
        auto parsed = po::command_line_parser(argc, argv)
                          .options(all)
                          .positional(positions)
                          .allow_unregistered()
                          .run();
        po::store(parsed, vm);
        po::notify(vm);
        command_args = po::collect_unrecognized(parsed.options, po::include_positional);
        if (!command_args.empty()) command_args.erase(command_args.begin());  // the command's name
    } catch (const po::error& e) {
        std::cerr << "mvrl-run: " << e.what() << "\n(see mvrl-run --help)\n";
        return kExitUsage;
    }

    if (vm.count("version")) {
        std::cout << "mvrl-run " << MVRL_VERSION << " (mvrl ABI " << MVRL_ABI_VERSION_MAJOR << "."
                  << MVRL_ABI_VERSION_MINOR << ", libtorch " << mvrl::host::host_torch_version() << ")\n";
        return kExitOk;
    }
    if (!vm.count("command")) {
        print_usage(global);
        return vm.count("help") ? kExitOk : kExitUsage;
    }
    const std::string name = vm["command"].as<std::string>();
    if (vm.count("help")) command_args.push_back("--help");

    GlobalOptions options;
    if (vm.count("plugin-path")) options.plugin_paths = vm["plugin-path"].as<std::vector<std::string>>();
    options.executable = boost::dll::program_location().string();

    for (const auto& c : commands()) {
        if (name != c.name) continue;
        if (!c.run) {
            std::cerr << "mvrl-run " << name << ": not available in this build yet (tracked in " << c.tracked_in
                      << ")\n";
            return kExitUsage;
        }
        try {
            return c.run(command_args, options);
        } catch (const std::exception& e) {
            std::cerr << "mvrl-run " << name << ": " << e.what() << "\n";
            return kExitFailure;
        }
    }
    std::cerr << "mvrl-run: unknown command '" << name << "' (see mvrl-run --help)\n";
    return kExitUsage;
}
