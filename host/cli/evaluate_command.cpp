// mvrl-run evaluate: score finished runs' stored representations with a metric, without training
// again, and add the values to the store as metric rows (as if an [[evaluate]] entry had asked).
//
// Design. Every finished run leaves its representations beside the store
// (<db folder>/artifacts/<run key>/representations.pt, recorded in the `artifacts` table; see
// host/runner/stored_representations.hpp). This command, which has no libtorch, picks the runs
// and checks everything the store can answer — the runs exist and are finished, their files are
// recorded, no rows would be overwritten without --replace — then hands over to mvrl-worker
// (`--evaluate`), which loads the tensors, calls the metric plugin through the C ABI with the
// run's seed, and inserts the rows (host/runner/stored_evaluation.hpp).
#include <iostream>
#include <set>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;
using namespace host;

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string describe(const RunRow& r) {
    return "run " + std::to_string(r.id) + " (" + r.key.substr(0, 12) + ", " + r.experiment + " / " + r.variant +
           ", seed " + std::to_string(r.seed) + ")";
}

// The runs to score: --run, else --sweep, else the experiment FILE's runs.
std::vector<RunRow> selected_runs(const po::variables_map& vm, Store& store, const std::string& db) {
    std::vector<RunRow> rows;
    if (vm.count("run")) {
        for (const auto& wanted : vm["run"].as<std::vector<std::string>>()) {
            auto row = store.find_run(wanted);
            if (!row) throw UsageError("no run '" + wanted + "' in " + db + " (give an id or at least 6 characters of a key; "
                                       "`mvrl-run runs --db " + db + "` lists them)");
            rows.push_back(*row);
        }
        for (const auto& r : rows)
            if (r.status != "finished")
                throw UsageError(describe(r) + " is " + r.status + ", not finished: only finished runs have representations to score");
        return rows;
    }
    std::string from;
    if (vm.count("sweep")) {
        RunFilter filter;
        filter.sweep_id = vm["sweep"].as<int64_t>();
        std::set<int64_t> seen;  // a run listed in two rows of the sweep is scored once
        for (auto& r : store.list_runs(filter))
            if (seen.insert(r.id).second) rows.push_back(std::move(r));
        from = "sweep " + std::to_string(*filter.sweep_id);
    } else if (vm.count("file")) {
        auto sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
        Experiment experiment = load_experiment(vm["file"].as<std::string>(), sets);
        std::vector<std::string> keys;
        for (const auto& r : expand_runs(experiment, registry_of_records(store.recorded_plugins()))) keys.push_back(r.key);
        rows = store.runs_of_keys(keys);
        from = "experiment '" + experiment.name + "'";
    } else {
        throw UsageError("say which runs to score: an experiment FILE, --sweep ID or --run ID|KEY");
    }
    std::vector<RunRow> finished;
    for (const auto& r : rows)
        if (r.status == "finished") finished.push_back(r);
    if (finished.empty()) throw UsageError("no finished runs of " + from + " in " + db);
    return finished;
}

}  // namespace

int run_evaluate_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options(
        "mvrl-run evaluate (FILE | --sweep ID | --run ID|KEY) --metric NAME --representation REP [options]");
    options.add_options()
        ("help,h", "show this help")
        ("file", po::value<std::string>(), "score the finished runs of this TOML experiment")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "SQLite store")
        ("run", po::value<std::vector<std::string>>()->composing(), "a run id or key prefix (repeatable)")
        ("sweep", po::value<int64_t>(), "the finished runs last queued by this sweep")
        ("set", po::value<std::vector<std::string>>()->composing(), "the --set overrides the sweep was run with (with FILE)")
        ("metric", po::value<std::string>(), "metric plugin (mvrl-run plugins lists them)")
        ("representation", po::value<std::string>(), "stored representation to score, e.g. z, c, concat")
        ("label", po::value<std::string>()->default_value("label"), "dataset tensor the metric scores against")
        ("params", po::value<std::string>()->default_value("{}"), "the metric's parameters as JSON, e.g. '{\"C\": 10}'")
        ("device", po::value<std::string>()->default_value("auto"), "auto, cpu, cuda or cuda:N")
        ("threads", po::value<int>()->default_value(0), "intra-op threads (0: all cores)")
        ("replace", "overwrite metric rows the runs already have for this representation and metric");
    po::variables_map vm;
    if (auto exit = parse_command_options("evaluate", args, options, vm, "file", /*file_required=*/false)) return *exit;
    const std::string db = vm["db"].as<std::string>();
    std::vector<std::string> worker_args = {"--evaluate", "--db", db};
    try {
        for (const char* required : {"metric", "representation"})
            if (!vm.count(required)) throw UsageError(std::string("--") + required + " is required");
        const std::string metric = vm["metric"].as<std::string>(), representation = vm["representation"].as<std::string>();
        const json params = json::parse(vm["params"].as<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (!params.is_object()) throw UsageError("--params must be a JSON object, e.g. '{\"C\": 10}'");

        Store store = Store::open_existing(db);
        for (const auto& r : selected_runs(vm, store, db)) {
            if (!store.artifact_of(r.id, "representations"))
                throw UsageError(describe(r) + " has no stored representations (it was recorded by an mvrl that did not "
                                 "keep them): run it again in a fresh store to score it");
            const std::string row_metric = metric_row_name(metric, vm["label"].as<std::string>());
            if (!vm.count("replace") && store.count_metric_rows(r.id, representation, row_metric) > 0)
                throw UsageError(describe(r) + " already has " + representation + "/" + row_metric +
                                 " rows: --replace overwrites them");
            worker_args.insert(worker_args.end(), {"--run", std::to_string(r.id)});
        }
        worker_args.insert(worker_args.end(), {"--metric", metric, "--representation", representation, "--label",
                                               vm["label"].as<std::string>(), "--params", params.dump(), "--device",
                                               vm["device"].as<std::string>(), "--threads", std::to_string(vm["threads"].as<int>())});
    } catch (const std::exception& e) {
        std::cerr << "mvrl-run evaluate: " << e.what() << "\n";
        return kExitUsage;
    }
    return run_worker_command(worker_args, global);  // libtorch lives in mvrl-worker
}

}  // namespace mvrl::cli
