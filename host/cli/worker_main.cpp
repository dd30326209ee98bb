// mvrl-worker: the process that trains. Started by `mvrl-run sweep` (or `mvrl-run worker`); the
// only executable that links libtorch, so that mvrl-run itself starts in milliseconds.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/program_options.hpp>

#include "registry/plugin_registry.hpp"
#include "runner/embedding_projection.hpp"
#include "runner/run_executor.hpp"
#include "runner/stored_evaluation.hpp"
#include "runner/worker.hpp"
#include "store/plugin_records.hpp"

namespace {

// Prints describe_libraries() on stdout. Whatever a library prints while it loads goes to stderr,
// so that stdout holds the JSON alone.
int print_library_descriptions(const std::vector<std::string>& files) {
    FILE* json_out = fdopen(dup(STDOUT_FILENO), "w");
    dup2(STDERR_FILENO, STDOUT_FILENO);
    try {
        std::string text = mvrl::host::describe_libraries({files.begin(), files.end()}).dump();
        std::fputs(text.c_str(), json_out);
        return std::fclose(json_out) == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "mvrl-worker --describe-plugins: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    namespace po = boost::program_options;
    using namespace mvrl::host;
    po::options_description options("mvrl-worker --db PATH --sweep ID [options]  (started by mvrl-run sweep)");
    options.add_options()
        ("help,h", "show this help")
        ("plugin-path", po::value<std::vector<std::string>>()->composing(), "folder or file to load plugins from")
        ("db", po::value<std::string>()->default_value("results/mvrl.sqlite"), "SQLite store")
        ("sweep", po::value<int64_t>(), "the sweep whose queued runs to execute")
        ("name", po::value<std::string>()->default_value("w"), "worker name shown in the store")
        ("files-dir", po::value<std::string>(), "folder of checkpoints/, artifacts/ and caches (default: the store's folder)")
        ("threads", po::value<int>()->default_value(0), "intra-op threads per run (0: all cores)")
        ("max-attempts", po::value<int>()->default_value(3), "attempts per run for workers killed from outside (SIGKILL)")
        ("stale-after", po::value<double>()->default_value(120.0),
         "seconds without heartbeat after which a run of a worker on another host counts as vanished")
        ("check-device", po::value<std::string>(), "only check that a device (auto, cpu, cuda, cuda:N) is usable")
        ("describe-plugins", po::value<std::vector<std::string>>()->multitoken()->composing(),
         "only print, as JSON, the plugins and refusals of these libraries (files or folders; started by mvrl-run)")
        ("evaluate", "score stored representations of finished runs instead (started by mvrl-run evaluate)")
        ("run", po::value<std::vector<int64_t>>()->composing(), "evaluate: a run id (repeatable)")
        ("metric", po::value<std::string>(), "evaluate: the metric plugin")
        ("representation", po::value<std::string>(), "evaluate: the stored representation")
        ("label", po::value<std::string>()->default_value("label"), "evaluate: the stored label tensor")
        ("params", po::value<std::string>()->default_value("{}"), "evaluate: the metric's parameters (JSON)")
        ("device", po::value<std::string>()->default_value("auto"), "evaluate: auto, cpu, cuda or cuda:N")
        ("project", po::value<int64_t>(), "only print, as JSON, a run's stored --representation projected to 2-D "
                                          "(started by mvrl-run report)")
        ("method", po::value<std::string>()->default_value("pca"), "project: pca or tsne")
        ("cap", po::value<int64_t>()->default_value(1000), "project: at most this many samples");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mvrl-worker: " << e.what() << "\n" << options;
        return 2;
    }
    if (vm.count("check-device")) {
        try {
            std::cout << resolve_device(vm["check-device"].as<std::string>()) << "\n";
            return 0;
        } catch (const std::exception& e) {
            std::cerr << e.what() << "\n";
            return 2;
        }
    }
    if (vm.count("describe-plugins")) return print_library_descriptions(vm["describe-plugins"].as<std::vector<std::string>>());
    if (vm.count("project") && vm.count("representation")) {
        EmbeddingRequest request{vm["db"].as<std::string>(), vm["project"].as<int64_t>(), vm["representation"].as<std::string>(),
                                 vm["label"].as<std::string>(), vm["method"].as<std::string>(), vm["cap"].as<int64_t>()};
        if (int threads = vm["threads"].as<int>(); threads > 0) torch::set_num_threads(threads);
        try {
            std::cout << project_stored_representation(request).dump() << "\n";
            return 0;
        } catch (const std::invalid_argument& e) {  // the error as JSON too: mvrl-run names the figure with it
            std::cout << mvrl::json{{"error", e.what()}}.dump() << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cout << mvrl::json{{"error", e.what()}}.dump() << "\n";
            return 1;
        }
    }
    PluginRegistry registry;
    auto load_plugins = [&] {
        auto paths = vm.count("plugin-path") ? vm["plugin-path"].as<std::vector<std::string>>() : std::vector<std::string>{};
        registry.load(plugin_search_path(paths, std::getenv("MVRL_PLUGIN_PATH"), boost::dll::program_location().string()));
    };
    if (vm.count("evaluate") && vm.count("run") && vm.count("metric") && vm.count("representation")) {
        load_plugins();
        StoredEvaluation e;
        e.db = vm["db"].as<std::string>();
        e.run_ids = vm["run"].as<std::vector<int64_t>>();
        e.metric = vm["metric"].as<std::string>();
        e.representation = vm["representation"].as<std::string>();
        e.label = vm["label"].as<std::string>();
        e.params_json = vm["params"].as<std::string>();
        e.device = vm["device"].as<std::string>();
        e.threads = vm["threads"].as<int>();
        try {
            return evaluate_stored_runs(e, registry);
        } catch (const std::exception& ex) {
            std::cerr << "mvrl-run evaluate: " << ex.what() << "\n";
            return 1;
        }
    }
    if (vm.count("help") || !vm.count("sweep")) {
        std::cout << options;
        return vm.count("help") ? 0 : 2;
    }
    load_plugins();
    WorkerOptions w;
    w.db = vm["db"].as<std::string>();
    w.sweep_id = vm["sweep"].as<int64_t>();
    w.name = vm["name"].as<std::string>();
    w.max_attempts = vm["max-attempts"].as<int>();
    w.stale_after_seconds = vm["stale-after"].as<double>();
    if (vm.count("files-dir")) w.files_dir = vm["files-dir"].as<std::string>();
    if (w.max_attempts < 1) {
        std::cerr << "mvrl-worker: --max-attempts must be at least 1\n";
        return 2;
    }
    int threads = vm["threads"].as<int>();
    w.threads = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    if (!std::filesystem::exists(w.db)) {
        std::cerr << "mvrl-worker: no database at '" << w.db.string() << "' (queue runs first with mvrl-run sweep --queue-only)\n";
        return 2;
    }
    try {
        return run_worker(w, registry);
    } catch (const std::exception& e) {
        std::cerr << "mvrl-worker: " << e.what() << "\n";
        return 1;
    }
}
