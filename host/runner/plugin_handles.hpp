// Typed, RAII handles over the ABI for the host: every failed call throws PluginCallError naming
// the plugin, its file and the call. Tensors cross without copies (mvrl/tensor.hpp).
#pragma once

#include <string>

#include <mvrl/params.hpp>
#include <mvrl/status.hpp>
#include <mvrl/tensor.hpp>

#include "registry/plugin_call.hpp"
#include "registry/plugin_registry.hpp"
#include "store/store.hpp"

namespace mvrl::host {

// Where the log lines of a run's plugins go: every line to the worker's log (stderr), prefixed
// with the plugin; warnings are also kept, for the run's record (Store::record_warnings).
class RunLog {
public:
    void write(const std::string& source, int32_t level, const std::string& message);
    const std::vector<RunWarning>& warnings() const { return warnings_; }

private:
    std::vector<RunWarning> warnings_;
};

// The mvrl_context of one run, as one plugin sees it (its log lines name it). It owns the strings
// it points to and is the logger's host_data, so it is neither copied nor moved.
class HostContext {
public:
    HostContext(std::string device, uint64_t seed, int threads = 0, std::string cache_dir = "", RunLog* log = nullptr);
    // The same run's context for `plugin`.
    HostContext(const HostContext& run, const Plugin& plugin);
    HostContext(const HostContext&) = delete;
    HostContext& operator=(const HostContext&) = delete;
    const mvrl_context* get() const { return &context_; }

private:
    static void log_line(void* host_data, int32_t level, const char* message);

    std::string device_, cache_dir_, source_ = "host";
    RunLog* log_ = nullptr;
    mvrl_context context_{};
};

// A dataset's views are its tensors view0, view1, ...; every other tensor it gives ("label",
// "split", "present", further labels) is not one.
inline bool is_view_tensor(const std::string& name) {
    return name.size() > 4 && name.compare(0, 4, "view") == 0 && name.find_first_not_of("0123456789", 4) == std::string::npos;
}

class DatasetHandle {
public:
    DatasetHandle(const Plugin& plugin, const std::string& params_json, const HostContext& ctx);
    ~DatasetHandle();
    DatasetHandle(const DatasetHandle&) = delete;
    DatasetHandle& operator=(const DatasetHandle&) = delete;

    json info();
    TensorMap load();
    const Plugin& plugin() const { return plugin_; }

private:
    const Plugin& plugin_;
    HostContext ctx_;
    void* handle_ = nullptr;
    ErrorBuffer err_;
};

class ModelHandle {
public:
    ModelHandle(const Plugin& plugin, const std::string& params_json, const json& dataset_info, const HostContext& ctx);
    ~ModelHandle();
    ModelHandle(const ModelHandle&) = delete;
    ModelHandle& operator=(const ModelHandle&) = delete;

    // False for a model with nothing to train (ABI 1.1: no stages/train_step); stages() is then [].
    bool trains() const { return plugin_.model()->stages != nullptr; }
    // False for a model that cannot checkpoint (ABI 1.1: no save/load).
    bool checkpoints() const { return plugin_.model()->save != nullptr; }
    // False for a model without the optional generate call.
    bool generates() const { return plugin_.model()->generate != nullptr; }

    json stages();
    ScalarList train_step(const std::string& stage, const TensorMap& batch);
    void end_epoch(const std::string& stage, int epoch);
    TensorMap encode(const TensorMap& batch);
    void save(const std::string& path);
    void load(const std::string& path);
    // The model's generate(request, inputs); the request's keys are the model's (its description).
    TensorMap generate(const json& request, const TensorMap& inputs);
    const Plugin& plugin() const { return plugin_; }

private:
    const Plugin& plugin_;
    HostContext ctx_;
    void* handle_ = nullptr;
    ErrorBuffer err_;
};

// A metric's inputs "representation", "label" and (when defined) "split": on `device` for a torch
// plugin, in contiguous host memory for a plugin without torch, which can only read that.
TensorMap metric_inputs(const Plugin& plugin, const torch::Device& device, const torch::Tensor& representation,
                        const torch::Tensor& label, const torch::Tensor& split = {});
// Any named tensors placed as metric_inputs places a metric's (e.g. generated images, coherence.hpp).
TensorMap placed_inputs(const Plugin& plugin, const torch::Device& device, const TensorMap& tensors);
// An estimator's inputs "x" and "y", placed as metric_inputs places a metric's.
TensorMap estimator_inputs(const Plugin& plugin, const torch::Device& device, const torch::Tensor& x, const torch::Tensor& y);
ScalarList evaluate_metric(const Plugin& plugin, const std::string& params_json, const TensorMap& inputs,
                           const HostContext& ctx);
ScalarList estimate_mutual_information(const Plugin& plugin, const std::string& params_json,
                                       const TensorMap& inputs, const HostContext& ctx);

}  // namespace mvrl::host
