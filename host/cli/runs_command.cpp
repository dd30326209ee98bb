// mvrl-run runs: what the store holds.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

int run_runs_command(const std::vector<std::string>& args, const GlobalOptions&) {
    namespace po = boost::program_options;
    po::options_description options("mvrl-run runs [options]");
    options.add_options()
        ("help,h", "show this help")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("experiment", po::value<std::string>()->default_value(""), "only this experiment")
        ("status", po::value<std::string>()->default_value(""), "only queued|running|finished|failed|interrupted")
        ("sweep", po::value<int64_t>(), "only runs this sweep listed")
        ("format", po::value<std::string>()->default_value("text"), "text, csv or json");
    po::variables_map vm;
    if (auto exit = parse_command_options("runs", args, options, vm)) return *exit;
    const std::string status = vm["status"].as<std::string>(), format = vm["format"].as<std::string>();
    if (!status.empty() && status != "queued" && status != "running" && status != "finished" && status != "failed" &&
        status != "interrupted") {
        std::cerr << "mvrl-run runs: unknown status '" << status << "' (queued, running, finished, failed, interrupted)\n";
        return kExitUsage;
    }
    if (format != "text" && format != "csv" && format != "json") {
        std::cerr << "mvrl-run runs: unknown format '" << format << "' (text, csv or json)\n";
        return kExitUsage;
    }
    host::RunFilter filter;
    filter.experiment = vm["experiment"].as<std::string>();
    filter.status = status;
    if (vm.count("sweep")) filter.sweep_id = vm["sweep"].as<int64_t>();
    std::vector<host::RunRow> rows;
    json out = json::array();
    try {
        host::Store store = host::Store::open_existing(vm["db"].as<std::string>());
        rows = store.list_runs(filter);
        if (format == "json")
            for (const auto& r : rows) {
                json warnings = json::array();
                for (const auto& w : store.warnings_of_run(r.id)) warnings.push_back({{"source", w.source}, {"message", w.message}});
                out.push_back({{"id", r.id}, {"key", r.key}, {"experiment", r.experiment}, {"variant", r.variant},
                               {"grid_point", json::parse(r.grid_point)}, {"seed", r.seed}, {"status", r.status},
                               {"error", r.error}, {"device", r.device}, {"train_seconds", r.train_seconds},
                               {"samples_per_second", r.samples_per_second}, {"attempts", r.attempts},
                               {"resumed_from", r.resumed_from.empty() ? json() : json(r.resumed_from)}, {"warnings", warnings}});
            }
    } catch (const host::StoreError& e) {
        std::cerr << "mvrl-run runs: " << e.what() << "\n";
        return kExitUsage;
    }

    if (format == "json") {
        std::cout << out.dump(2) << "\n";
        return kExitOk;
    }
    const char* fmt = format == "csv" ? "%s,%s,%s,%s,%s,%s,%s,%s,%s\n" : "%-6s %-12s %-20s %-20s %-5s %-11s %-8s %-9s %s\n";
    std::printf(fmt, "ID", "KEY", "EXPERIMENT", "VARIANT", "SEED", "STATUS", "SECONDS", "DEVICE", "GRID POINT / ERROR");
    for (const auto& r : rows) {
        std::string detail = r.error.empty() ? (r.grid_point == "{}" ? "" : r.grid_point) : r.error;
        if (r.warnings > 0) detail += std::string(detail.empty() ? "" : " ") + "[" + std::to_string(r.warnings) + " warning" +
                                      (r.warnings > 1 ? "s" : "") + ": --format json]";
        if (format == "csv") detail = "\"" + detail + "\"";  // errors may hold commas
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", r.train_seconds);
        std::printf(fmt, std::to_string(r.id).c_str(), r.key.substr(0, 12).c_str(), r.experiment.c_str(), r.variant.c_str(),
                    std::to_string(r.seed).c_str(), r.status.c_str(), seconds, r.device.c_str(), detail.c_str());
    }
    return kExitOk;
}

}  // namespace mvrl::cli
