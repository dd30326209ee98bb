// mvrl-run table FILE: an experiment's [[table]]s from the store.
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "report/table_report.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

int run_table_command(const std::vector<std::string>& args, const GlobalOptions&) {
    namespace po = boost::program_options;
    po::options_description options("mvrl-run table FILE [options]");
    options.add_options()
        ("help,h", "show this help")
        ("file", po::value<std::string>(), "the TOML experiment whose [[table]]s to render")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("name", po::value<std::string>(), "only the table with this name")
        ("format", po::value<std::string>()->default_value("markdown"), "markdown, latex, csv or html")
        ("set", po::value<std::vector<std::string>>()->composing(), "the same --set overrides the sweep was run with")
        ("output,o", po::value<std::string>(), "write to this file instead of standard output");
    po::variables_map vm;
    if (auto exit = parse_command_options("table", args, options, vm, "file")) return *exit;
    try {
        auto format = host::parse_table_format(vm["format"].as<std::string>());
        auto sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
        auto experiment = host::load_experiment(vm["file"].as<std::string>(), sets);
        auto store = host::Store::open_existing(vm["db"].as<std::string>());
        // The plugins as the sweep recorded them: resolving the experiment needs no plugin loaded.
        auto registry = host::registry_of_records(store.recorded_plugins());
        auto runs = host::expand_runs(experiment, registry);
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        auto metrics = store.metrics_of_keys(keys);
        auto final_losses = store.final_losses_of_keys(keys);

        std::string text;
        bool found = false;
        for (const auto& table : experiment.tables) {
            if (vm.count("name") && table.name != vm["name"].as<std::string>()) continue;
            text += (found ? "\n" : "") + host::render_table(table, runs, metrics, format, final_losses);
            found = true;
        }
        if (!found) {
            std::string names;
            for (const auto& t : experiment.tables) names += (names.empty() ? "" : ", ") + ("'" + t.name + "'");
            std::cerr << "mvrl-run table: " << experiment.path.string() << " has no [[table]]"
                      << (vm.count("name") ? " named '" + vm["name"].as<std::string>() + "'" : "")
                      << (names.empty() ? "" : "; its tables: " + names) << "\n";
            return kExitUsage;
        }
        if (vm.count("output")) {
            std::ofstream(vm["output"].as<std::string>()) << text;
        } else {
            std::cout << text;
        }
    } catch (const std::exception& e) {
        std::cerr << "mvrl-run table: " << e.what() << "\n";
        return kExitUsage;
    }
    return kExitOk;
}

}  // namespace mvrl::cli
