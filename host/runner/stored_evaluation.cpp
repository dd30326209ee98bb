#include "stored_evaluation.hpp"

#include <cstdio>
#include <iostream>

#include "plugin_handles.hpp"
#include "run_executor.hpp"
#include "store/plugin_records.hpp"
#include "stored_representations.hpp"

namespace mvrl::host {

namespace {

// A mistake in what was asked for: the same for every run, so the command stops at the first.
struct BadRequest : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A run that does not store the representation asked for (an ablation row without stage II has no
// s0): skipped and reported, so one command can score every run that has it.
struct MissingRepresentation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string names_of(const TensorMap& m) {
    std::string out;
    for (const auto& kv : m) out += (out.empty() ? "" : ", ") + kv.first;
    return out.empty() ? "none" : out;
}

std::vector<MetricValue> evaluate_run(const StoredEvaluation& r, const RunRow& run, const ArtifactRecord& artifact,
                                      const Plugin& plugin, const std::string& device) {
    StoredRepresentations stored = load_representations(r.db, artifact);
    const std::string which = "run " + std::to_string(run.id) + " (" + run.key.substr(0, 12) + ")";
    if (!stored.representations.count(r.representation))
        throw MissingRepresentation(which + " has no stored representation '" + r.representation +
                         "'; stored: " + names_of(stored.representations) + " (kept are those of at most " +
                         std::to_string(kMaxStoredWidth) + " values per sample)");
    if (!stored.labels.count(r.label))
        throw BadRequest(which + " has no stored label '" + r.label + "'; stored: " + names_of(stored.labels));
    // As in a sweep: the run's seed, and the split when the dataset gave one.
    TensorMap inputs = metric_inputs(plugin, torch::Device(device), stored.representations.at(r.representation),
                                     stored.labels.at(r.label), stored.labels.count("split") ? stored.labels.at("split") : torch::Tensor());
    HostContext ctx(device, uint64_t(run.seed), torch::get_num_threads());
    std::vector<MetricValue> values;
    for (const auto& [name, value] : evaluate_metric(plugin, r.params_json, inputs, ctx))
        values.push_back({r.representation, metric_row_name(r.metric, r.label), name, value});
    return values;
}

}  // namespace

int evaluate_stored_runs(const StoredEvaluation& r, const PluginRegistry& registry) {
    const std::string device = resolve_device(r.device);
    if (r.threads > 0) torch::set_num_threads(r.threads);
    const Plugin* plugin = nullptr;
    try {
        plugin = &registry.require(r.metric, MVRL_KIND_METRIC);
    } catch (const PluginNotFound& e) {
        std::cerr << "mvrl-run evaluate: " << e.what() << "\n";
        return 2;
    }
    Store store = Store::open_existing(r.db);
    store.record_plugins({record_of(*plugin)});
    int failed = 0, skipped = 0;
    for (int64_t id : r.run_ids) {
        auto run = store.find_run(std::to_string(id));
        auto artifact = store.artifact_of(id, "representations");
        if (!run || !artifact) throw std::runtime_error("run " + std::to_string(id) + " or its stored representations vanished");
        try {
            auto values = evaluate_run(r, *run, *artifact, *plugin, device);
            store.record_metrics(id, values);
            std::printf("run %lld (%s seed=%lld):", (long long)id, run->variant.c_str(), (long long)run->seed);
            for (const auto& v : values) std::printf(" %s/%s.%s=%.6g", v.representation.c_str(), v.metric.c_str(), v.name.c_str(), v.value);
            std::printf("\n");
            std::fflush(stdout);
        } catch (const MissingRepresentation& e) {
            std::cerr << "mvrl-run evaluate: " << e.what() << " (" << run->variant << " seed=" << run->seed << "): skipped\n";
            ++skipped;
        } catch (const BadRequest& e) {
            std::cerr << "mvrl-run evaluate: " << e.what() << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "mvrl-run evaluate: run " << id << ": " << e.what() << "\n";
            ++failed;
        }
    }
    if (skipped == int(r.run_ids.size())) {
        std::cerr << "mvrl-run evaluate: none of the " << skipped << " runs stores representation '" << r.representation << "'\n";
        return 2;
    }
    if (skipped) std::cerr << "mvrl-run evaluate: " << skipped << " of " << r.run_ids.size() << " runs skipped (no '" << r.representation << "')\n";
    if (failed)
        std::cerr << "mvrl-run evaluate: " << failed << " of " << r.run_ids.size() << " runs failed; the others are recorded\n";
    return failed ? 1 : 0;
}

}  // namespace mvrl::host
