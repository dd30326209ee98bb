#include "run_executor.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <iostream>
#include <sstream>

#include <mvrl/data/missing_views.hpp>

#include "plugin_handles.hpp"
#include "processes.hpp"
#include "generated_views.hpp"
#include "missing_view.hpp"
#include "run_checkpoint.hpp"
#include "stored_representations.hpp"
#include "stratified_split.hpp"

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

// [train] split and rows (runner/stratified_split.hpp): the host draws the dataset's "split" from
// its labels, and with rows = "train" the model trains on the training rows only — the test and
// validation rows, their labels included, never reach train_step, and encode sees the views alone.
struct SupervisedData {
    TensorMap training;  // what train_step's batches are drawn from
    int64_t training_rows = 0;
    TensorMap encoding;  // what encode is given
};

SupervisedData apply_supervised_protocol(const json& train, TensorMap& data, json& dataset_info, int64_t n, RunLog& log) {
    if (train.contains("split")) {
        if (!data.count("label"))
            throw std::invalid_argument("train.split draws a split per class of the dataset's 'label', and the dataset gives none");
        if (data.count("split"))
            log.write("host", MVRL_LOG_WARNING, "train.split replaces the split the dataset gave");
        torch::Tensor labels = data.at("label").to(torch::kCPU, torch::kInt64).contiguous();
        std::vector<int64_t> values(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
        auto split = stratified_split(values, train["split"].get<std::vector<double>>(),
                                      train.value("split_seed", kDefaultSplitSeed));
        data["split"] = torch::tensor(split, torch::kInt64).to(data.at("view0").device());
        dataset_info["has_split"] = true;
    }
    if (train.value("rows", std::string("all")) != "train") return {data, n, data};
    if (!data.count("split"))
        throw std::invalid_argument("train.rows = \"train\" trains on the split's training rows, and the dataset gives no "
                                    "split: set [train] split = [0.7, 0.2, 0.1] (train, test, validation per class)");
    torch::Tensor rows = torch::nonzero(data.at("split") == kTrainRow).flatten();
    if (rows.numel() == 0) throw std::invalid_argument("train.rows = \"train\": the split has no training row");
    SupervisedData out{rows_of(data, rows), rows.numel(), {}};
    for (const auto& [name, t] : data)
        if (is_view_tensor(name) || name == "present") out.encoding[name] = t;
    return out;
}

// [train] missing_view and missing_share (runner/missing_view.hpp): view v of the drawn rows is
// zeroed and "present" says so; the model sees has_missing and picks its terms per sample.
void apply_missing_protocol(const json& train, TensorMap& data, json& dataset_info, int64_t n, RunLog& log) {
    if (!train.contains("missing_view")) return;
    const int64_t views = int64_t(dataset_info.value("views", json::array()).size());
    const int64_t view = train["missing_view"].get<int64_t>();
    if (view >= views)
        throw std::invalid_argument("train.missing_view = " + std::to_string(view) + ", but the dataset has " + std::to_string(views) +
                                    " views (0.." + std::to_string(views - 1) + ")");
    if (data.count("present"))
        throw std::invalid_argument("train.missing_view drops a view, and the dataset already drops views (its missing_rate): "
                                    "use one of the two");
    auto rows = rows_missing_a_view(n, train["missing_share"].get<double>(), train.value("missing_seed", kDefaultMissingSeed));
    torch::Device device = data.at("view0").device();
    torch::Tensor dropped = torch::tensor(rows, torch::kInt64).to(device);
    torch::Tensor present = torch::ones({n, views}, torch::TensorOptions().dtype(torch::kBool).device(device));
    present.select(1, view).index_fill_(0, dropped, false);
    mvrl::data::mask_missing_views(data, present);
    dataset_info["has_missing"] = true;
    log.write("host", MVRL_LOG_INFO, "train.missing_view: view " + std::to_string(view) + " dropped from " + std::to_string(rows.size()) +
                                         " of " + std::to_string(n) + " samples");
}

struct StagePlan {
    std::string name;
    int epochs;
    std::optional<std::string> objective;  // the loss the stage minimises; none: it optimises nothing
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
        StagePlan stage{s["name"].get<std::string>(), s["epochs"].get<int>(), std::string("loss")};
        if (s.contains("objective")) {
            if (s["objective"].is_null()) stage.objective.reset();
            else if (s["objective"].is_string()) stage.objective = s["objective"].get<std::string>();
            else fail("entry " + s.dump() + ": objective must be the name of a loss, or null for a stage that optimises nothing");
        }
        plan.push_back(std::move(stage));
    }
    return plan;
}

std::string loss_names(const ScalarList& losses) {
    std::string out;
    for (const auto& [name, value] : losses) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "none" : out;
}

// "the end of stage 'consistent'" or "stage 'specific', epoch 3 of 5": where a checkpoint stands.
std::string describe_position(const TrainingPosition& position, const std::vector<StagePlan>& stages) {
    if (position.epoch == 0 && position.stage > 0 && position.next_row == 0)
        return "the end of stage '" + stages[position.stage - 1].name + "'";
    return "stage '" + stages[position.stage].name + "', epoch " + std::to_string(position.epoch) + " of " +
           std::to_string(stages[position.stage].epochs) + (position.next_row > 0 ? ", after " + std::to_string(position.next_row) + " rows" : "");
}

class Trainer {
public:
    Trainer(const ClaimedRun& run, Store& store, const std::atomic<bool>& stop, const RunCheckpoint& checkpoint, RunLog& log)
        : run_(run), store_(store), stop_(stop), checkpoint_(checkpoint), log_(log) {}

    // Trains every stage from where the last checkpoint stood (or from the start); fills
    // train_seconds, samples_per_second and final_loss (the last epoch's objective).
    void train(ModelHandle& model, const TensorMap& data, int64_t n, const torch::Device& device, RunTimings& timings) {
        const json& train = run_.config["train"];
        const int64_t batch_size = train["batch_size"].get<int64_t>();
        const bool shuffle = train["shuffle"].get<bool>();
        const int checkpoint_every = train.value("checkpoint_every", 0);
        auto stages = read_stages(model);
        torch::Generator shuffle_gen = at::detail::createCPUGenerator(uint64_t(run_.seed));
        TrainingPosition position = resume(model, stages, shuffle_gen, device);
        int total_epochs = 0, done_epochs = 0;
        for (size_t i = 0; i < stages.size(); ++i) {
            total_epochs += stages[i].epochs;
            if (i < position.stage) done_epochs += stages[i].epochs;
        }
        done_epochs += position.epoch;
        const int first_done = done_epochs;
        auto start = Clock::now();
        for (size_t stage_index = position.stage; stage_index < stages.size(); ++stage_index) {
            const auto& stage = stages[stage_index];
            for (int epoch = stage_index == position.stage ? position.epoch : 0; epoch < stage.epochs; ++epoch) {
                auto epoch_start = Clock::now();
                const torch::Generator order_gen = shuffle_gen.clone();  // what a checkpoint inside this epoch saves
                torch::Tensor order = shuffle ? at::randperm(n, shuffle_gen, torch::kInt64) : torch::arange(n, torch::kInt64);
                order = order.to(device);
                // Resumed inside this epoch: its order is drawn again, its first rows and their losses are done.
                std::vector<std::pair<std::string, double>> sums = std::move(position.epoch_sums);
                int64_t seen = position.epoch_rows, first_row = position.next_row;
                position.epoch_sums.clear();
                position.epoch_rows = position.next_row = 0;
                for (int64_t begin = first_row; begin < n; begin += batch_size) {
                    int64_t size = std::min(batch_size, n - begin);
                    if (size == 1 && n > 1) continue;  // BatchNorm cannot train on one sample
                    auto losses = model.train_step(stage.name, rows_of(data, order.slice(0, begin, begin + size)));
                    check_finite(losses, stage.name, epoch);
                    if (seen == 0) check_objective(model, stage, losses);
                    accumulate(sums, losses, double(size));
                    seen += size;
                    if (stop_) {
                        // Stopped between two steps (Ctrl-C, a preemption's signal): the next attempt
                        // goes on from this step, not from the last epoch's or stage's checkpoint.
                        if (model.checkpoints()) {
                            TrainingPosition here = position;
                            here.stage = stage_index;
                            here.epoch = epoch;
                            here.stage_name = stage.name;
                            here.train_seconds = position.train_seconds + seconds_since(start);
                            here.next_row = begin + size;
                            here.epoch_rows = seen;
                            here.epoch_sums = sums;
                            write_checkpoint(model, here, stages, order_gen, device);
                        }
                        throw RunStopped{RunOutcome::Interrupted, "interrupted (stopped by a signal) in stage '" + stage.name + "', epoch " + std::to_string(epoch)};
                    }
                    maybe_heartbeat(stage.name, epoch, stage.epochs, begin + size, n);
                }
                model.end_epoch(stage.name, epoch);
                position.samples += seen;
                double epoch_seconds = seconds_since(epoch_start);
                for (auto& [name, sum] : sums) sum /= double(std::max<int64_t>(seen, 1));
                std::optional<double> objective = objective_of(stage, sums);
                if (objective) position.final_loss = objective;
                auto curve = sums;
                curve.emplace_back("epoch_seconds", epoch_seconds);
                curve.emplace_back("samples_per_second", seen / std::max(epoch_seconds, 1e-9));
                store_.record_epoch(run_.id, stage.name, epoch, curve);
                ++done_epochs;
                double eta = seconds_since(start) / (done_epochs - first_done) * (total_epochs - done_epochs);
                store_.heartbeat(run_.id, json{{"stage", stage.name}, {"epoch", epoch + 1}, {"epochs", stage.epochs},
                                               {"loss", objective ? json(*objective) : json()}, {"eta_seconds", eta}}
                                              .dump());
                last_heartbeat_ = Clock::now();
                const bool stage_done = epoch + 1 == stage.epochs;
                if (model.checkpoints() && (stage_done || (checkpoint_every > 0 && (epoch + 1) % checkpoint_every == 0))) {
                    TrainingPosition next = position;
                    next.stage = stage_done ? stage_index + 1 : stage_index;
                    next.epoch = stage_done ? 0 : epoch + 1;
                    next.stage_name = stages[std::min(next.stage, stages.size() - 1)].name;
                    next.train_seconds = position.train_seconds + seconds_since(start);
                    write_checkpoint(model, next, stages, shuffle_gen, device);
                }
            }
        }
        timings.train_seconds = position.train_seconds + seconds_since(start);
        timings.samples_per_second = position.samples / std::max(timings.train_seconds, 1e-9);
        timings.final_loss = position.final_loss;
    }

private:
    // Where this attempt starts: the last checkpoint's position (model and generators restored),
    // or the beginning. Curves of epochs after that position are dropped; they are trained again.
    TrainingPosition resume(ModelHandle& model, const std::vector<StagePlan>& stages, torch::Generator& shuffle_gen,
                            const torch::Device& device) {
        TrainingPosition position;
        std::string why_not;
        std::optional<TrainingPosition> found = checkpoint_.find(why_not);
        if (found && (!model.checkpoints() || found->stage > stages.size() ||
                      (found->stage < stages.size() && stages[found->stage].name != found->stage_name))) {
            why_not = "the checkpoint in " + checkpoint_.folder().string() + " does not fit this model's stages: starting from scratch";
            found.reset();
        }
        if (!why_not.empty()) log_.write("host", MVRL_LOG_WARNING, why_not);
        if (found) {
            checkpoint_.restore(model, shuffle_gen, device);
            position = *found;
            const std::string where = describe_position(position, stages);
            log_.write("host", MVRL_LOG_INFO, "run " + std::to_string(run_.id) + " resumed from its checkpoint at " + where);
            store_.record_resumption(run_.id, where);
        } else {
            if (run_.attempt > 1 && model.trains() && !model.checkpoints())
                log_.write("host", MVRL_LOG_WARNING, "model '" + model.plugin().name + "' cannot checkpoint (its save/load are NULL, ABI 1.1): attempt " +
                                                         std::to_string(run_.attempt) + " trains from scratch");
            store_.record_resumption(run_.id, "");
        }
        std::vector<std::string> finished;
        for (size_t i = 0; i < position.stage && i < stages.size(); ++i) finished.push_back(stages[i].name);
        store_.keep_curves_before(run_.id, finished, position.stage < stages.size() ? stages[position.stage].name : "", position.epoch);
        return position;
    }

    // A checkpoint that cannot be written (full disk, a plugin's save failing) costs only the
    // ability to resume from it: the run goes on, and says so.
    void write_checkpoint(ModelHandle& model, const TrainingPosition& position, const std::vector<StagePlan>& stages,
                          const torch::Generator& shuffle_gen, const torch::Device& device) {
        try {
            checkpoint_.write(model, position, shuffle_gen, device);
        } catch (const std::exception& e) {
            log_.write("host", MVRL_LOG_WARNING, "no checkpoint at " + describe_position(position, stages) + ": " + e.what());
        }
    }

    // The stage's objective must be among the losses, by name (ABI 1.1). A 1.0 plugin's is its first.
    void check_objective(const ModelHandle& model, const StagePlan& stage, const ScalarList& losses) {
        if (!stage.objective) return;
        for (const auto& [name, value] : losses)
            if (name == *stage.objective) return;
        if (model.plugin().abi_minor == 0 && !losses.empty()) return;
        throw PluginResultError(model.plugin(), "train_step",
                                "stage '" + stage.name + "' returned no loss named '" + *stage.objective + "' (its objective; it returned: " +
                                    loss_names(losses) + "): name the objective 'loss', or name it in the stage's \"objective\"");
    }

    std::optional<double> objective_of(const StagePlan& stage, const std::vector<std::pair<std::string, double>>& means) const {
        if (!stage.objective || means.empty()) return std::nullopt;
        for (const auto& [name, value] : means)
            if (name == *stage.objective) return value;
        return means.front().second;  // an ABI 1.0 plugin (check_objective let it through)
    }

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
    const RunCheckpoint& checkpoint_;
    RunLog& log_;
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


// What an [[evaluate]] entry lends its metric: a representation with its label, or, for
// representation = "generations", the generated images with every dataset tensor (generated_views.hpp).
struct EvaluationInputs {
    ModelHandle& model;
    const TensorMap& data;
    const TensorMap& reps;
    int64_t views, batch_size;
    std::map<int64_t, TensorMap> generations;  // by sample count, made once per run

    TensorMap for_entry(const ClaimedRun& run, const json& spec, const Plugin& plugin) {
        const std::string rep = spec["representation"], label = spec["label"];
        const std::string model_name = run.config["model"]["plugin"];
        if (rep == kGenerationsRepresentation) {
            const int64_t samples = spec.value("samples", int64_t(1000));
            if (!generations.count(samples))
                generations[samples] = generate_for_evaluation(model, model_name, data, views, samples, batch_size, uint64_t(run.seed));
            TensorMap lent = data;
            for (const auto& [name, t] : generations.at(samples)) lent[name] = t;
            return placed_inputs(plugin, data.at("view0").device(), lent);
        }
        if (!reps.count(rep))
            throw RunStopped{RunOutcome::Failed, "[[evaluate]] asks for representation '" + rep + "', model '" + model_name +
                                                     "' gives: " + names_of(reps) + " (or \"" + kGenerationsRepresentation + "\": its generated images)"};
        if (!data.count(label))
            throw RunStopped{RunOutcome::Failed, "[[evaluate]] asks for label '" + label + "', the dataset gives: " + names_of(data)};
        const torch::Tensor& rep_tensor = reps.at(rep);
        return metric_inputs(plugin, rep_tensor.device(), rep_tensor, data.at(label), data.count("split") ? data.at("split") : torch::Tensor());
    }
};

std::vector<MetricValue> evaluate_all(const ClaimedRun& run, const PluginRegistry& registry, EvaluationInputs& sources,
                                      const HostContext& ctx) {
    std::vector<MetricValue> values;
    for (const auto& spec : run.config["evaluate"]) {
        const std::string rep = spec["representation"], metric = spec["metric"], label = spec["label"];
        const Plugin& plugin = registry.require(metric, MVRL_KIND_METRIC);
        TensorMap inputs = sources.for_entry(run, spec, plugin);
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
                      const std::atomic<bool>& stop, int default_threads, const std::filesystem::path& files_dir) {
    RunResult result;
    RunLog log;
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
        HostContext ctx(device_name, uint64_t(run.seed), result.timings.threads, (files_dir / "cache").string(), &log);
        torch::Device device(device_name);
        result.timings.device = device_name;

        DatasetHandle dataset(registry.require(config["dataset"]["plugin"], MVRL_KIND_DATASET),
                              config["dataset"]["params"].dump(), ctx);
        int64_t n = 0;
        TensorMap data = load_to_device(dataset, device, n);
        json dataset_info = dataset.info();
        apply_missing_protocol(config["train"], data, dataset_info, n, log);
        SupervisedData supervised = apply_supervised_protocol(config["train"], data, dataset_info, n, log);
        ModelHandle model(registry.require(config["model"]["plugin"], MVRL_KIND_MODEL), config["model"]["params"].dump(),
                          dataset_info, ctx);
        RunCheckpoint checkpoint(files_dir, run.key);
        Trainer(run, store, stop, checkpoint, log).train(model, supervised.training, supervised.training_rows, device, result.timings);

        auto eval_start = Clock::now();
        TensorMap reps = encode_all(model, supervised.encoding, n, config["train"]["eval_batch_size"].get<int64_t>());
        // Kept for `mvrl-run evaluate` (stored_representations.hpp) before any metric can fail the run.
        store.record_artifact(run.id, save_representations(files_dir, run.key, reps, data));
        // Metrics cache what they train (e.g. coherence's classifiers) with the store's files, not per user.
        HostContext metric_ctx(device_name, uint64_t(run.seed), result.timings.threads, (files_dir / "metric-cache").string(), &log);
        EvaluationInputs sources{model, data, reps, int64_t(dataset_info["views"].size()), config["train"]["eval_batch_size"].get<int64_t>(), {}};
        result.metrics = evaluate_all(run, registry, sources, metric_ctx);
        for (auto& value : estimate_all(run, registry, reps, ctx)) result.metrics.push_back(std::move(value));
        result.timings.eval_seconds = seconds_since(eval_start);
        result.timings.peak_memory_bytes = peak_resident_bytes();
        result.outcome = RunOutcome::Finished;
        checkpoint.remove();
    } catch (const RunStopped& stopped) {
        result.outcome = stopped.outcome;
        result.error = stopped.reason;
    } catch (const c10::Error& e) {
        result.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    result.warnings = log.warnings();
    return result;
}

}  // namespace mvrl::host
