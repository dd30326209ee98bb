#include "run_executor.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "plugin_handles.hpp"
#include "processes.hpp"
#include "stored_representations.hpp"

namespace mvrl::host {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t peak_resident_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return int64_t(usage.ru_maxrss) * 1024;
}

// Thrown inside the loop to end the run with a status other than 'finished'.
struct RunStopped {
    RunOutcome outcome;
    std::string reason;
};

// Every tensor the dataset gave, on the device, with one sample count N.
TensorMap load_to_device(DatasetHandle& dataset, const torch::Device& device, int64_t& n) {
    TensorMap data = dataset.load();
    auto fail = [&](const std::string& why) { throw PluginResultError(dataset.plugin(), "load", why); };
    if (!data.count("view0")) fail("gave no tensor 'view0'");
    if (data["view0"].dim() == 0) fail("tensor 'view0' has no rows (a scalar)");
    n = data["view0"].size(0);
    for (auto& [name, t] : data) {
        if (t.dim() == 0 || t.size(0) != n)
            fail("tensor '" + name + "' has " + (t.dim() ? std::to_string(t.size(0)) : "no") + " rows, view0 has " +
                 std::to_string(n) + ": every tensor needs one row per sample");
        t = t.to(device);
    }
    return data;
}

TensorMap rows_of(const TensorMap& data, const torch::Tensor& index) {
    TensorMap batch;
    for (const auto& [name, t] : data) batch[name] = t.index_select(0, index);
    return batch;
}

struct StagePlan {
    std::string name;
    int epochs;
};

std::vector<StagePlan> read_stages(ModelHandle& model) {
    const json stages = model.stages();
    auto fail = [&](const std::string& why) { throw PluginResultError(model.plugin(), "stages", why); };
    std::vector<StagePlan> plan;
    if (!stages.is_array()) fail("not a JSON list of {name, epochs}: " + stages.dump());
    for (const auto& s : stages) {
        if (!s.is_object() || !s.contains("name") || !s.contains("epochs") || !s["name"].is_string() ||
            !s["epochs"].is_number_integer() || s["epochs"].get<int64_t>() < 0)
            fail("entry " + s.dump() + " needs a string name and a non-negative integer epochs");
        plan.push_back({s["name"].get<std::string>(), s["epochs"].get<int>()});
    }
    return plan;
}

class Trainer {
public:
    Trainer(const ClaimedRun& run, Store& store, const std::atomic<bool>& stop) : run_(run), store_(store), stop_(stop) {}

    // Trains every stage; fills train_seconds, samples_per_second and final_loss (the last epoch's first loss).
    void train(ModelHandle& model, const TensorMap& data, int64_t n, const torch::Device& device, RunTimings& timings) {
        const json& train = run_.config["train"];
        const int64_t batch_size = train["batch_size"].get<int64_t>();
        const bool shuffle = train["shuffle"].get<bool>();
        auto stages = read_stages(model);
        int total_epochs = 0, done_epochs = 0;
        for (const auto& s : stages) total_epochs += s.epochs;
        torch::Generator shuffle_gen = at::detail::createCPUGenerator(uint64_t(run_.seed));
        auto start = Clock::now();
        int64_t samples = 0;
        for (size_t stage_index = 0; stage_index < stages.size(); ++stage_index) {
            const auto& stage = stages[stage_index];
            for (int epoch = 0; epoch < stage.epochs; ++epoch) {
                auto epoch_start = Clock::now();
                torch::Tensor order = shuffle ? at::randperm(n, shuffle_gen, torch::kInt64) : torch::arange(n, torch::kInt64);
                order = order.to(device);
                std::vector<std::pair<std::string, double>> sums;
                int64_t seen = 0;
                for (int64_t begin = 0; begin < n; begin += batch_size) {
                    int64_t size = std::min(batch_size, n - begin);
                    if (size == 1 && n > 1) continue;  // BatchNorm cannot train on one sample
                    auto losses = model.train_step(stage.name, rows_of(data, order.slice(0, begin, begin + size)));
                    check_finite(losses, stage.name, epoch);
                    accumulate(sums, losses, double(size));
                    seen += size;
                    if (stop_) throw RunStopped{RunOutcome::Interrupted, "interrupted (SIGINT) in stage '" + stage.name +
                                                                             "', epoch " + std::to_string(epoch)};
                    maybe_heartbeat(stage.name, epoch, stage.epochs, begin + size, n);
                }
                model.end_epoch(stage.name, epoch);
                samples += seen;
                double epoch_seconds = seconds_since(epoch_start);
                for (auto& [name, sum] : sums) sum /= double(std::max<int64_t>(seen, 1));
                if (!sums.empty()) timings.final_loss = sums.front().second;
                auto curve = sums;
                curve.emplace_back("epoch_seconds", epoch_seconds);
                curve.emplace_back("samples_per_second", seen / std::max(epoch_seconds, 1e-9));
                store_.record_epoch(run_.id, stage.name, epoch, curve);
                ++done_epochs;
                double eta = seconds_since(start) / done_epochs * (total_epochs - done_epochs);
                store_.heartbeat(run_.id, json{{"stage", stage.name}, {"epoch", epoch + 1}, {"epochs", stage.epochs},
                                               {"loss", sums.empty() ? 0.0 : sums.front().second}, {"eta_seconds", eta}}
                                              .dump());
                last_heartbeat_ = Clock::now();
            }
        }
        timings.train_seconds = seconds_since(start);
        timings.samples_per_second = samples / std::max(timings.train_seconds, 1e-9);
    }

private:
    void check_finite(const ScalarList& losses, const std::string& stage, int epoch) const {
        for (const auto& [name, value] : losses)
            if (!std::isfinite(value)) {
                std::ostringstream why;
                why << "loss '" << name << "' is " << value << " in stage '" << stage << "', epoch " << epoch;
                throw RunStopped{RunOutcome::Failed, why.str()};
            }
    }

    static void accumulate(std::vector<std::pair<std::string, double>>& sums, const ScalarList& losses, double weight) {
        for (const auto& [name, value] : losses) {
            auto it = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == name; });
            if (it == sums.end()) sums.emplace_back(name, value * weight);
            else it->second += value * weight;
        }
    }

    // Within long epochs, say every few seconds that the worker is alive and where it is.
    void maybe_heartbeat(const std::string& stage, int epoch, int epochs, int64_t done, int64_t n) {
        if (seconds_since(last_heartbeat_) < 5.0) return;
        store_.heartbeat(run_.id, json{{"stage", stage}, {"epoch", epoch}, {"epochs", epochs},
                                       {"samples", done}, {"of", n}}.dump());
        last_heartbeat_ = Clock::now();
    }

    const ClaimedRun& run_;
    Store& store_;
    const std::atomic<bool>& stop_;
    Clock::time_point last_heartbeat_ = Clock::now();
};

// The model's representations of every sample, in dataset order.
TensorMap encode_all(ModelHandle& model, const TensorMap& data, int64_t n, int64_t batch_size) {
    std::map<std::string, std::vector<torch::Tensor>> parts;
    for (int64_t begin = 0; begin < n; begin += batch_size) {
        TensorMap batch;
        for (const auto& [name, t] : data) batch[name] = t.slice(0, begin, std::min(n, begin + batch_size));
        for (auto& [name, rep] : model.encode(batch)) parts[name].push_back(rep);
    }
    TensorMap reps;
    for (auto& [name, list] : parts) reps[name] = torch::cat(list, 0);
    return reps;
}

std::string names_of(const TensorMap& m) {
    std::string out;
    for (const auto& kv : m) out += (out.empty() ? "" : ", ") + kv.first;
    return out;
}

std::vector<MetricValue> evaluate_all(const ClaimedRun& run, const PluginRegistry& registry, const TensorMap& data,
                                      const TensorMap& reps, const HostContext& ctx) {
    std::vector<MetricValue> values;
    for (const auto& spec : run.config["evaluate"]) {
        const std::string rep = spec["representation"], metric = spec["metric"], label = spec["label"];
        if (!reps.count(rep))
            throw RunStopped{RunOutcome::Failed, "[[evaluate]] asks for representation '" + rep + "', model '" +
                                                     run.config["model"]["plugin"].get<std::string>() + "' gives: " + names_of(reps)};
        if (!data.count(label))
            throw RunStopped{RunOutcome::Failed, "[[evaluate]] asks for label '" + label + "', the dataset gives: " + names_of(data)};
        const Plugin& plugin = registry.require(metric, MVRL_KIND_METRIC);
        const torch::Tensor& rep_tensor = reps.at(rep);
        TensorMap inputs = metric_inputs(plugin, rep_tensor.device(), rep_tensor, data.at(label),
                                         data.count("split") ? data.at("split") : torch::Tensor());
        for (const auto& [name, value] : evaluate_metric(plugin, spec["params"].dump(), inputs, ctx))
            values.push_back({rep, metric_row_name(metric, label), name, value});
    }
    return values;
}

// Every [[estimate]] of the run: the estimator between two of the model's representations, each
// value it returns stored as a metric row of representation "x;y" (estimate_row_name).
std::vector<MetricValue> estimate_all(const ClaimedRun& run, const PluginRegistry& registry, const TensorMap& reps,
                                      const HostContext& ctx) {
    std::vector<MetricValue> values;
    if (!run.config.contains("estimate")) return values;
    for (const auto& spec : run.config["estimate"]) {
        const std::string x = spec["x"], y = spec["y"], estimator = spec["estimator"];
        for (const std::string& rep : {x, y})
            if (!reps.count(rep))
                throw RunStopped{RunOutcome::Failed, "[[estimate]] of " + estimator + " between x = '" + x + "' and y = '" + y +
                                                         "' asks for representation '" + rep + "', model '" +
                                                         run.config["model"]["plugin"].get<std::string>() + "' gives: " + names_of(reps)};
        const Plugin& plugin = registry.require(estimator, MVRL_KIND_ESTIMATOR);
        const torch::Tensor& x_tensor = reps.at(x);
        TensorMap inputs = estimator_inputs(plugin, x_tensor.device(), x_tensor, reps.at(y));
        for (const auto& [name, value] : estimate_mutual_information(plugin, spec["params"].dump(), inputs, ctx))
            values.push_back({estimate_row_name(x, y), estimator, name, value});
    }
    return values;
}

}  // namespace

std::string resolve_device(const std::string& requested) {
    bool cuda = torch::cuda::is_available();
    if (requested == "auto") return cuda ? "cuda" : "cpu";
    if (requested.rfind("cuda", 0) == 0 && !cuda)
        throw std::runtime_error("device '" + requested + "' was asked for, but this machine has no usable CUDA device"
                                 " (or libtorch was built without CUDA); use device = \"auto\" or \"cpu\"");
    return requested;
}

RunResult execute_run(const ClaimedRun& run, const PluginRegistry& registry, Store& store,
                      const std::atomic<bool>& stop, int default_threads, const std::string& cache_dir) {
    RunResult result;
    try {
        const json& config = run.config;
        std::string device_name = resolve_device(config["device"].get<std::string>());
        int threads = config["train"]["threads"].get<int>();
        torch::set_num_threads(threads > 0 ? threads : std::max(1, default_threads));
        result.timings.threads = torch::get_num_threads();
        const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
        std::cerr << "run " << run.id << ": " << result.timings.threads << " intra-op threads, BLAS "
                  << loaded_library_path("libblas.so") << ", OMP_WAIT_POLICY=" << (wait_policy ? wait_policy : "(unset)") << "\n";
        torch::manual_seed(uint64_t(run.seed));
        HostContext ctx(device_name, uint64_t(run.seed), result.timings.threads, cache_dir);
        torch::Device device(device_name);
        result.timings.device = device_name;

        DatasetHandle dataset(registry.require(config["dataset"]["plugin"], MVRL_KIND_DATASET),
                              config["dataset"]["params"].dump(), ctx);
        int64_t n = 0;
        TensorMap data = load_to_device(dataset, device, n);
        ModelHandle model(registry.require(config["model"]["plugin"], MVRL_KIND_MODEL), config["model"]["params"].dump(),
                          dataset.info(), ctx);
        Trainer(run, store, stop).train(model, data, n, device, result.timings);

        auto eval_start = Clock::now();
        TensorMap reps = encode_all(model, data, n, config["train"]["eval_batch_size"].get<int64_t>());
        // Kept for `mvrl-run evaluate` (stored_representations.hpp) before any metric can fail the run.
        store.record_artifact(run.id, save_representations(store.path(), run.key, reps, data));
        result.metrics = evaluate_all(run, registry, data, reps, ctx);
        for (auto& value : estimate_all(run, registry, reps, ctx)) result.metrics.push_back(std::move(value));
        result.timings.eval_seconds = seconds_since(eval_start);
        result.timings.peak_memory_bytes = peak_resident_bytes();
        result.outcome = RunOutcome::Finished;
    } catch (const RunStopped& stopped) {
        result.outcome = stopped.outcome;
        result.error = stopped.reason;
    } catch (const c10::Error& e) {
        result.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    return result;
}

}  // namespace mvrl::host
