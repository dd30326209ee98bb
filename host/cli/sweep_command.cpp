// mvrl-run sweep FILE: expand, queue, run with --jobs workers, summarise, print the tables.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <cstdio>
#include <map>
#include <set>
#include <fstream>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "report/table_report.hpp"
#include "runner/coordinator.hpp"
#include "runner/processes.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;
using namespace host;

std::string row_name(const PlannedRun& r) {
    return "'" + r.variant + "'" + (r.grid_point == json::object() ? "" : " " + r.grid_point.dump()) + " seed " +
           std::to_string(r.seed);
}

// "rows 'a' seed 0 and 'b' seed 0 resolve to the same run 1a2b3c4d5e6f", one line per shared run.
std::vector<std::string> shared_run_notes(const std::vector<PlannedRun>& runs) {
    std::map<std::string, std::vector<const PlannedRun*>> rows_of_key;
    std::vector<std::string> order;
    for (const auto& r : runs) {
        auto& rows = rows_of_key[r.key];
        if (rows.empty()) order.push_back(r.key);
        rows.push_back(&r);
    }
    std::vector<std::string> notes;
    for (const auto& key : order) {
        const auto& rows = rows_of_key[key];
        if (rows.size() < 2) continue;
        std::string names;
        for (size_t i = 0; i < rows.size(); ++i)
            names += (i == 0 ? "" : i + 1 == rows.size() ? " and " : ", ") + row_name(*rows[i]);
        notes.push_back("rows " + names + " resolve to the same run " + key.substr(0, 12) +
                        ": it runs once and appears in each of them");
    }
    return notes;
}

// The runs' [[estimate]] entries as resolved (every parameter, defaults filled in: part of the run
// key), one line per distinct entry, named as their metric rows will be.
void print_estimates(const std::vector<PlannedRun>& runs) {
    std::vector<std::pair<json, int>> entries;  // entry, how many runs have it
    for (const auto& run : distinct_runs(runs))
        for (const auto& entry : run.config.value("estimate", json::array())) {
            auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == entry; });
            if (it == entries.end()) entries.emplace_back(entry, 1);
            else ++it->second;
        }
    for (const auto& [entry, count] : entries) {
        const std::string x = entry["x"], y = entry["y"], estimator = entry["estimator"];
        std::printf("estimate %s/%s (I(%s; %s)) in %d run%s: params %s\n", estimate_row_name(x, y).c_str(),
                    estimator.c_str(), x.c_str(), y.c_str(), count, count == 1 ? "" : "s", entry["params"].dump().c_str());
    }
}

void print_dry_run(const std::vector<PlannedRun>& runs, const std::filesystem::path& db) {
    std::map<std::string, std::string> status;
    if (std::filesystem::exists(db)) {
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        Store store = Store::open_existing(db, false);
        if (store.schema_version() == kStoreSchemaVersion)
            for (const auto& row : store.runs_of_keys(keys)) status[row.key] = row.status;
        else
            std::printf("note: %s has an older schema (version %d): the next sweep migrates it; statuses not shown\n",
                        db.c_str(), store.schema_version());
    }
    std::printf("%-5s %-12s %-11s %-20s %-5s %s\n", "#", "KEY", "STATUS", "VARIANT", "SEED", "GRID POINT");
    for (size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        std::string s = status.count(r.key) ? status[r.key] : "new";
        std::printf("%-5zu %-12s %-11s %-20s %-5lld %s\n", i + 1, r.key.substr(0, 12).c_str(), s.c_str(),
                    r.variant.c_str(), (long long)r.seed, r.grid_point == json::object() ? "" : r.grid_point.dump().c_str());
    }
    for (const auto& note : shared_run_notes(runs)) std::printf("note: %s\n", note.c_str());
    print_estimates(runs);
    std::printf("%zu runs (dry run: nothing was written)\n", distinct_runs(runs).size());
}

std::string describe_run(const RunRow& row) {
    return row.variant + " seed=" + std::to_string(row.seed) + (row.grid_point != "{}" ? " " + row.grid_point : "");
}

// CUDA is only known to libtorch, which lives in mvrl-worker: ask it before queueing anything.
void check_device(const std::string& device, const GlobalOptions& global) {
    if (device == "auto" || device == "cpu") return;
    std::string command = "'" + worker_executable(global).string() + "' --check-device '" + device + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buffer[512];
    while (pipe && fgets(buffer, sizeof buffer, pipe)) out += buffer;
    int status = pipe ? pclose(pipe) : -1;
    if (status != 0) throw std::runtime_error(out.empty() ? "cannot check device '" + device + "'" : out.substr(0, out.size() - 1));
}

}  // namespace

int run_sweep_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("mvrl-run sweep FILE [options]");
    options.add_options()
        ("help,h", "show this help")
        ("file", po::value<std::string>(), "the TOML experiment")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("jobs,j", po::value<int>()->default_value(1), "worker processes (several share one GPU)")
        ("set", po::value<std::vector<std::string>>()->composing(), "override a key: --set model.params.lr=0.001 (repeatable)")
        ("dry-run", "print the runs, their keys and stored status; run and write nothing")
        ("queue-only", "write the runs as queued and exit; `mvrl-run worker --sweep ID` runs them later")
        ("retry-failed", "run failed runs again (they are otherwise kept as failed)")
        ("threads", po::value<int>()->default_value(0), "intra-op threads per worker (0: cores / jobs)")
        ("max-attempts", po::value<int>()->default_value(3),
         "attempts per run when its worker is killed from outside (SIGKILL, a vanished worker); a crash inside a "
         "plugin fails the run at once")
        ("stale-after", po::value<double>()->default_value(120.0),
         "seconds without heartbeat after which a run of a worker on another host counts as vanished");
    po::variables_map vm;
    if (auto exit = parse_command_options("sweep", args, options, vm, "file")) return *exit;
    const int jobs = vm["jobs"].as<int>();
    if (jobs < 1) {
        std::cerr << "mvrl-run sweep: --jobs must be at least 1\n";
        return kExitUsage;
    }
    const int max_attempts = vm["max-attempts"].as<int>();
    if (max_attempts < 1) {
        std::cerr << "mvrl-run sweep: --max-attempts must be at least 1\n";
        return kExitUsage;
    }
    const std::filesystem::path db = vm["db"].as<std::string>();
    std::vector<std::string> sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};

    // Everything that can be wrong with the input is found before anything is written.
    PluginRegistry registry = load_registry(global);
    std::vector<PlannedRun> runs;
    Experiment experiment;
    try {
        experiment = load_experiment(vm["file"].as<std::string>(), sets);
        runs = expand_runs(experiment, registry);
        check_device(experiment.device, global);
    } catch (const std::exception& e) {
        std::cerr << "mvrl-run sweep: " << e.what() << "\n";
        return kExitUsage;
    }
    if (vm.count("dry-run")) {
        print_dry_run(runs, db);
        return kExitOk;
    }

    Store store = [&] {
        try {
            return Store::open_for_writing(db);
        } catch (const StoreError& e) {
            std::cerr << "mvrl-run sweep: " << e.what() << "\n";
            std::exit(kExitUsage);
        }
    }();
    const std::string host = this_host_name();
    const double stale_after = vm["stale-after"].as<double>();
    int orphans = store.requeue_orphaned_runs(host, worker_process_alive, stale_after, max_attempts);
    int64_t sweep_id = store.begin_sweep({experiment.name, std::filesystem::absolute(experiment.path).string(),
                                          experiment.source_text, command_line_of("sweep", args), host, MVRL_REVISION});
    store.record_plugins(records_of_plugins_used(runs, registry));
    QueueCounts q = store.queue_runs(sweep_id, runs, vm.count("retry-failed") > 0);
    for (const auto& note : shared_run_notes(runs)) std::fprintf(stderr, "note: %s\n", note.c_str());
    const std::vector<PlannedRun> distinct = distinct_runs(runs);
    std::fprintf(stderr, "sweep '%s' (#%lld, %s): %zu runs: %d new, %d resumed%s, %d already finished", experiment.name.c_str(),
                 (long long)sweep_id, db.c_str(), distinct.size(), q.added, q.requeued,
                 orphans ? (" (" + std::to_string(orphans) + " from vanished workers)").c_str() : "", q.finished);
    if (q.failed_kept) std::fprintf(stderr, ", %d failed kept (--retry-failed runs them again)", q.failed_kept);
    if (q.running_elsewhere) std::fprintf(stderr, ", %d running in another sweep", q.running_elsewhere);
    std::fprintf(stderr, "\n");

    if (vm.count("queue-only")) {
        std::fprintf(stderr, "queued: run them with `mvrl-run worker --db %s --sweep %lld`\n", db.c_str(), (long long)sweep_id);
        return kExitOk;
    }

    CoordinatorOptions c;
    c.worker_executable = worker_executable(global);
    for (const auto& p : global.plugin_paths) c.worker_args.insert(c.worker_args.end(), {"--plugin-path", p});
    c.db = db;
    c.log_dir = db.parent_path() / "logs";
    c.sweep_id = sweep_id;
    c.jobs = jobs;
    c.max_attempts = max_attempts;
    c.stale_after_seconds = stale_after;
    int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    c.threads_per_worker = vm["threads"].as<int>() > 0 ? vm["threads"].as<int>() : std::max(1, cores / jobs);
    SweepOutcome outcome = coordinate_sweep(store, distinct, c);

    const auto& n = outcome.counts;
    std::fprintf(stderr, "sweep '%s': %d/%zu finished, %d failed, %d interrupted, %d queued\n", experiment.name.c_str(),
                 n.finished, distinct.size(), n.failed, n.interrupted, n.queued);
    for (const auto& row : outcome.unfinished)
        std::fprintf(stderr, "  %s %s: %s\n", row.status.c_str(), describe_run(row).c_str(), row.error.c_str());
    if (outcome.interrupted || n.interrupted) {
        std::fprintf(stderr, "interrupted: the same command resumes the sweep\n");
        return kExitInterrupted;
    }
    if (n.finished > 0 && !experiment.tables.empty()) {
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        auto metrics = store.metrics_of_keys(keys);
        auto final_losses = store.final_losses_of_keys(keys);
        for (const auto& table : experiment.tables)
            std::cout << "\n" << render_table(table, runs, metrics, TableFormat::Markdown, final_losses);
    }
    std::cout.flush();  // the tables before the line below, in a log that holds both
    if (n.finished > 0) {
        std::string command = "mvrl-run report " + experiment.path.string();
        if (db != kDefaultDatabase) command += " --db " + db.string();
        for (const auto& s : sets) command += " --set '" + s + "'";
        std::fprintf(stderr, "\nreport (tables, figures, curves, runs as one HTML page): %s\n", command.c_str());
    }
    return n.finished == int(distinct.size()) ? kExitOk : kExitFailure;
}

// `mvrl-run worker ...` is mvrl-worker, which holds libtorch.
int run_worker_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    std::vector<std::string> argv = {worker_executable(global).string()};
    for (const auto& p : global.plugin_paths) argv.insert(argv.end(), {"--plugin-path", p});
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    execv(c_argv[0], c_argv.data());
    std::cerr << "mvrl-run worker: cannot start " << argv[0] << ": " << strerror(errno) << "\n";
    return kExitFailure;
}

}  // namespace mvrl::cli
