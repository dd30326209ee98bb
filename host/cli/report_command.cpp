// mvrl-run report FILE: one self-contained HTML page of an experiment (host/report/html_report.hpp).
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "report/html_report.hpp"
#include "runner/processes.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

// results/<experiment>.html beside the store; a name's path separators and spaces become '-'.
std::filesystem::path default_report_path(const std::filesystem::path& db, const std::string& experiment) {
    std::string file;
    for (char ch : experiment) file += (std::isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-') ? ch : '-';
    return db.parent_path() / (file + ".html");
}

std::string utc_now() {
    std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return text;
}

// The store's records of the plugins (name and version) the runs' configurations name.
std::vector<host::PluginRecord> plugins_of_runs(host::Store& store, const std::vector<host::PlannedRun>& runs) {
    const auto used = host::plugin_versions_used(runs);
    std::vector<host::PluginRecord> out;
    for (auto& p : store.recorded_plugins())
        if (used.count({p.name, p.version})) out.push_back(std::move(p));
    return out;
}

// Each embedding from mvrl-worker --project, which holds libtorch.
void project_embeddings(host::ReportInputs& in, const std::filesystem::path& db, const GlobalOptions& global) {
    for (auto& job : in.embeddings) {
        const host::FigureSpec& f = in.experiment->figures[job.figure];
        auto captured = host::run_capturing_stdout({worker_executable(global).string(), "--db", db.string(), "--project",
                                                     std::to_string(job.run_id), "--representation", f.representation,
                                                     "--label", f.label, "--method", f.method, "--cap", std::to_string(f.cap)});
        try {
            job.projection = json::parse(captured.out);
        } catch (const std::exception&) {
            throw host::ReportError(in.experiment->path.string() + ":" + std::to_string(f.line) + ": [[figure]] '" + f.name +
                                    "': mvrl-worker --project " + std::to_string(job.run_id) + " " + captured.how_it_ended() +
                                    " without a projection (its messages are above)");
        }
    }
}

}  // namespace

int run_report_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    namespace po = boost::program_options;
    po::options_description options("mvrl-run report FILE [options]");
    options.add_options()
        ("help,h", "show this help")
        ("file", po::value<std::string>(), "the TOML experiment to report on")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("set", po::value<std::vector<std::string>>()->composing(), "the same --set overrides the sweep was run with")
        ("output,o", po::value<std::string>(), "the HTML file to write (default: <store folder>/<experiment>.html)");
    po::variables_map vm;
    if (auto exit = parse_command_options("report", args, options, vm, "file")) return *exit;
    try {
        auto sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
        auto experiment = host::load_experiment(vm["file"].as<std::string>(), sets);
        const std::filesystem::path db = vm["db"].as<std::string>();
        auto store = host::Store::open_existing(db);
        auto registry = host::registry_of_records(store.recorded_plugins());

        host::ReportInputs in;
        in.experiment = &experiment;
        in.runs = host::expand_runs(experiment, registry);
        std::vector<std::string> keys;
        for (const auto& r : in.runs) keys.push_back(r.key);
        in.run_rows = store.runs_of_keys(keys);
        if (host::count_statuses(in.run_rows).finished == 0) {
            std::cerr << "mvrl-run report: " << db.string() << " has no finished run of experiment '" << experiment.name
                      << "' (" << experiment.path.string() << "); run `mvrl-run sweep " << experiment.path.string()
                      << " --db " << db.string() << "` first, with the same --set overrides\n";
            return kExitUsage;
        }
        for (const auto& r : in.run_rows)
            if (r.warnings > 0) in.warnings[r.id] = store.warnings_of_run(r.id);
        in.metrics = store.metrics_of_keys(keys);
        in.final_losses = store.final_losses_of_keys(keys);
        in.curves = store.curves_of_keys(keys);
        in.sweep = store.latest_sweep_of(experiment.name);
        in.plugins = plugins_of_runs(store, in.runs);
        in.generated_at = utc_now();
        in.embeddings = host::plan_embeddings(experiment, in.runs, in.run_rows);
        project_embeddings(in, db, global);

        const std::string page = host::render_report(in);
        const std::filesystem::path out =
            vm.count("output") ? std::filesystem::path(vm["output"].as<std::string>()) : default_report_path(db, experiment.name);
        if (!out.parent_path().empty()) std::filesystem::create_directories(out.parent_path());
        // Written beside and renamed: a full disk leaves the previous report, not half of one.
        const std::filesystem::path partial = out.string() + ".partial";
        {
            std::ofstream file(partial, std::ios::binary);
            file << page;
            file.close();
            if (!file) {
                std::filesystem::remove(partial);
                std::cerr << "mvrl-run report: cannot write " << out.string() << " (disk full, or no permission?)\n";
                return kExitFailure;
            }
        }
        std::filesystem::rename(partial, out);
        std::cout << out.string() << "\n";
        std::cerr << "report: " << out.string() << " (" << page.size() / 1024 << " KiB; open it in a browser, it needs no network)\n";
    } catch (const std::exception& e) {
        std::cerr << "mvrl-run report: " << e.what() << "\n";
        return kExitUsage;
    }
    return kExitOk;
}

}  // namespace mvrl::cli
