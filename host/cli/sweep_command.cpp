// mvrl-run sweep FILE: expand, queue, run with --jobs workers, summarise, print the tables.
#include <signal.h>

#include <cstdio>
#include <set>
#include <fstream>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "report/table_report.hpp"
#include "runner/coordinator.hpp"
#include "runner/run_executor.hpp"
#include "runner/worker.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;
using namespace host;

std::string file_sha256(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return sha256_hex(bytes);
}

std::vector<PluginRecord> plugins_used(const std::vector<PlannedRun>& runs, const PluginRegistry& registry) {
    std::set<std::string> names;
    for (const auto& r : runs) {
        names.insert(r.config["dataset"]["plugin"]);
        names.insert(r.config["model"]["plugin"]);
        for (const auto& e : r.config["evaluate"]) names.insert(e["metric"]);
    }
    std::vector<PluginRecord> records;
    for (const auto& name : names) {
        const Plugin* p = registry.find(name);
        records.push_back({p->name, kind_name(p->kind), p->version,
                           std::to_string(p->abi_major) + "." + std::to_string(p->abi_minor), p->path.string(),
                           file_sha256(p->path), p->torch_version});
    }
    return records;
}

void print_dry_run(const std::vector<PlannedRun>& runs, const std::filesystem::path& db) {
    std::map<std::string, std::string> status;
    if (std::filesystem::exists(db)) {
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        for (const auto& row : Store::open_existing(db).runs_of_keys(keys)) status[row.key] = row.status;
    }
    std::printf("%-5s %-12s %-11s %-20s %-5s %s\n", "#", "KEY", "STATUS", "VARIANT", "SEED", "GRID POINT");
    for (size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        std::string s = status.count(r.key) ? status[r.key] : "new";
        std::printf("%-5zu %-12s %-11s %-20s %-5lld %s\n", i + 1, r.key.substr(0, 12).c_str(), s.c_str(),
                    r.variant.c_str(), (long long)r.seed, r.grid_point == json::object() ? "" : r.grid_point.dump().c_str());
    }
    std::printf("%zu runs (dry run: nothing was written)\n", runs.size());
}

std::string describe_run(const RunRow& row) {
    return row.variant + " seed=" + std::to_string(row.seed) + (row.grid_point != "{}" ? " " + row.grid_point : "");
}

std::string command_line_of(const std::vector<std::string>& args) {
    std::string text = "mvrl-run sweep";
    for (const auto& a : args) text += " " + a;
    return text;
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
        ("retry-failed", "run failed runs again (they are otherwise kept as failed)")
        ("threads", po::value<int>()->default_value(0), "intra-op threads per worker (0: cores / jobs)")
        ("stale-after", po::value<double>()->default_value(120.0),
         "seconds without heartbeat after which a run of a worker on another host counts as vanished");
    po::positional_options_description positional;
    positional.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mvrl-run sweep: " << e.what() << "\n" << options;
        return kExitUsage;
    }
    if (vm.count("help") || !vm.count("file")) {
        std::cout << options;
        return vm.count("help") ? kExitOk : kExitUsage;
    }
    const int jobs = vm["jobs"].as<int>();
    if (jobs < 1) {
        std::cerr << "mvrl-run sweep: --jobs must be at least 1\n";
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
        resolve_device(experiment.device);
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
    int orphans = store.requeue_orphaned_runs(host, worker_process_alive, vm["stale-after"].as<double>());
    int64_t sweep_id = store.begin_sweep({experiment.name, std::filesystem::absolute(experiment.path).string(),
                                          experiment.source_text, command_line_of(args), host, MVRL_REVISION});
    store.record_plugins(plugins_used(runs, registry));
    QueueCounts q = store.queue_runs(sweep_id, runs, vm.count("retry-failed") > 0);
    std::fprintf(stderr, "sweep '%s' (#%lld, %s): %zu runs: %d new, %d resumed%s, %d already finished", experiment.name.c_str(),
                 (long long)sweep_id, db.c_str(), runs.size(), q.added, q.requeued,
                 orphans ? (" (" + std::to_string(orphans) + " from vanished workers)").c_str() : "", q.finished);
    if (q.failed_kept) std::fprintf(stderr, ", %d failed kept (--retry-failed runs them again)", q.failed_kept);
    if (q.running_elsewhere) std::fprintf(stderr, ", %d running in another sweep", q.running_elsewhere);
    std::fprintf(stderr, "\n");

    CoordinatorOptions c;
    c.executable = global.executable;
    for (const auto& p : global.plugin_paths) c.worker_args.insert(c.worker_args.end(), {"--plugin-path", p});
    c.db = db;
    c.log_dir = db.parent_path() / "logs";
    c.sweep_id = sweep_id;
    c.jobs = jobs;
    int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    c.threads_per_worker = vm["threads"].as<int>() > 0 ? vm["threads"].as<int>() : std::max(1, cores / jobs);
    SweepOutcome outcome = coordinate_sweep(store, runs, c);

    const auto& n = outcome.counts;
    std::fprintf(stderr, "sweep '%s': %d/%zu finished, %d failed, %d interrupted, %d queued\n", experiment.name.c_str(),
                 n.finished, runs.size(), n.failed, n.interrupted, n.queued);
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
        for (const auto& table : experiment.tables)
            std::cout << "\n" << render_table(table, runs, metrics, TableFormat::Markdown);
    }
    return n.finished == int(runs.size()) ? kExitOk : kExitFailure;
}

int run_worker_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("mvrl-run worker --db PATH --sweep ID [options]  (started by mvrl-run sweep)");
    options.add_options()
        ("help,h", "show this help")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("sweep", po::value<int64_t>(), "the sweep whose queued runs to execute")
        ("name", po::value<std::string>()->default_value("w"), "worker name shown in the store")
        ("threads", po::value<int>()->default_value(0), "intra-op threads per run (0: all cores)");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(options).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mvrl-run worker: " << e.what() << "\n" << options;
        return kExitUsage;
    }
    if (vm.count("help") || !vm.count("sweep")) {
        std::cout << options;
        return vm.count("help") ? kExitOk : kExitUsage;
    }
    PluginRegistry registry = load_registry(global);
    WorkerOptions w;
    w.db = vm["db"].as<std::string>();
    w.sweep_id = vm["sweep"].as<int64_t>();
    w.name = vm["name"].as<std::string>();
    int threads = vm["threads"].as<int>();
    w.threads = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    return run_worker(w, registry);
}

}  // namespace mvrl::cli
