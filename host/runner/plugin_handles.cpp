#include "plugin_handles.hpp"

#include <iostream>

namespace mvrl::host {

namespace {

// The JSON text a plugin call returned; malformed text is an error naming the plugin and call.
json parse_returned_json(const char* text, const char* fallback, const Plugin& plugin, const char* call) {
    const std::string returned = text ? text : fallback;
    try {
        return json::parse(returned);
    } catch (const json::parse_error& e) {
        std::string why = e.what();
        auto tag = why.find("] ");  // "[json.exception.parse_error.101] parse error at line 1, column 38: ..."
        if (tag != std::string::npos) why = why.substr(tag + 2);
        const std::string shown = returned.size() > 200 ? returned.substr(0, 200) + "..." : returned;
        throw PluginResultError(plugin, call, "malformed JSON (" + why + "); it returned: " + shown);
    }
}

// A plugin without torch can only read contiguous host memory; a torch plugin gets the tensor on the run's device.
torch::Tensor placed_for(const Plugin& plugin, const torch::Device& device, const torch::Tensor& t) {
    return plugin.torch_version.empty() ? t.cpu().contiguous() : t.to(device);
}

// A call ABI 1.1 makes optional, asked of a plugin that left it NULL: the same error as a plugin
// that answered MVRL_ERR_UNSUPPORTED.
void require_optional_call(const Plugin& plugin, bool present, const char* call, const std::string& why) {
    if (!present) throw failed_call(plugin, call, MVRL_ERR_UNSUPPORTED, why + " (ABI 1.1)");
}

}  // namespace

void RunLog::write(const std::string& source, int32_t level, const std::string& message) {
    const char* tag = level >= MVRL_LOG_WARNING ? "warning" : level == MVRL_LOG_INFO ? "info" : "debug";
    std::cerr << "[" << source << "] " << tag << ": " << message << "\n";
    if (level >= MVRL_LOG_WARNING) warnings_.push_back({source, message});
}

HostContext::HostContext(std::string device, uint64_t seed, int threads, std::string cache_dir, RunLog* log)
    : device_(std::move(device)), cache_dir_(std::move(cache_dir)), log_(log) {
    context_ = {sizeof(mvrl_context), device_.c_str(), seed, threads,
                cache_dir_.empty() ? nullptr : cache_dir_.c_str(), &HostContext::log_line, this};
}

HostContext::HostContext(const HostContext& run, const Plugin& plugin)
    : HostContext(run.device_, run.context_.seed, run.context_.threads, run.cache_dir_, run.log_) {
    source_ = std::string(kind_name(plugin.kind)) + " '" + plugin.name + "'";
}

void HostContext::log_line(void* host_data, int32_t level, const char* message) {
    auto* self = static_cast<HostContext*>(host_data);
    const std::string text = message ? message : "";
    if (self->log_) self->log_->write(self->source_, level, text);
    else RunLog().write(self->source_, level, text);
}

DatasetHandle::DatasetHandle(const Plugin& plugin, const std::string& params_json, const HostContext& ctx)
    : plugin_(plugin), ctx_(ctx, plugin) {
    check_call(plugin.dataset()->open(params_json.c_str(), ctx_.get(), &handle_, err_.get()), err_, plugin, "open");
}

DatasetHandle::~DatasetHandle() {
    if (handle_) plugin_.dataset()->close(handle_);
}

json DatasetHandle::info() {
    const char* text = nullptr;
    check_call(plugin_.dataset()->info(handle_, &text, err_.get()), err_, plugin_, "info");
    return parse_returned_json(text, "{}", plugin_, "info");
}

TensorMap DatasetHandle::load() {
    mvrl_tensor_list out{};
    check_call(plugin_.dataset()->load(handle_, &out, err_.get()), err_, plugin_, "load");
    return take_tensors(&out);
}

ModelHandle::ModelHandle(const Plugin& plugin, const std::string& params_json, const json& dataset_info,
                         const HostContext& ctx)
    : plugin_(plugin), ctx_(ctx, plugin) {
    std::string info = dataset_info.dump();
    check_call(plugin.model()->create(params_json.c_str(), info.c_str(), ctx_.get(), &handle_, err_.get()), err_,
               plugin, "create");
}

ModelHandle::~ModelHandle() {
    if (handle_) plugin_.model()->destroy(handle_);
}

json ModelHandle::stages() {
    if (!trains()) return json::array();
    const char* text = nullptr;
    check_call(plugin_.model()->stages(handle_, &text, err_.get()), err_, plugin_, "stages");
    return parse_returned_json(text, "[]", plugin_, "stages");
}

ScalarList ModelHandle::train_step(const std::string& stage, const TensorMap& batch) {
    require_optional_call(plugin_, trains(), "train_step", "it has nothing to train: stages/train_step are NULL");
    LentTensors lent(batch);
    mvrl_scalar_list out{};
    check_call(plugin_.model()->train_step(handle_, stage.c_str(), lent.list(), &out, err_.get()), err_, plugin_,
               "train_step");
    return take_scalars(&out);
}

void ModelHandle::end_epoch(const std::string& stage, int epoch) {
    require_optional_call(plugin_, trains(), "end_epoch", "it has nothing to train: stages/train_step are NULL");
    check_call(plugin_.model()->end_epoch(handle_, stage.c_str(), epoch, err_.get()), err_, plugin_, "end_epoch");
}

TensorMap ModelHandle::encode(const TensorMap& batch) {
    LentTensors lent(batch);
    mvrl_tensor_list out{};
    check_call(plugin_.model()->encode(handle_, lent.list(), &out, err_.get()), err_, plugin_, "encode");
    return take_tensors(&out);
}

void ModelHandle::save(const std::string& path) {
    require_optional_call(plugin_, checkpoints(), "save", "it cannot checkpoint: save/load are NULL");
    check_call(plugin_.model()->save(handle_, path.c_str(), err_.get()), err_, plugin_, "save");
}

void ModelHandle::load(const std::string& path) {
    require_optional_call(plugin_, checkpoints(), "load", "it cannot checkpoint: save/load are NULL");
    check_call(plugin_.model()->load(handle_, path.c_str(), err_.get()), err_, plugin_, "load");
}

TensorMap ModelHandle::generate(const json& request, const TensorMap& inputs) {
    require_optional_call(plugin_, generates(), "generate", "it does not generate: generate is NULL");
    LentTensors lent(inputs);
    mvrl_tensor_list out{};
    const std::string text = request.dump();
    check_call(plugin_.model()->generate(handle_, text.c_str(), lent.list(), &out, err_.get()), err_, plugin_, "generate");
    return take_tensors(&out);
}

TensorMap placed_inputs(const Plugin& plugin, const torch::Device& device, const TensorMap& tensors) {
    TensorMap inputs;
    for (const auto& [name, t] : tensors) inputs[name] = placed_for(plugin, device, t);
    return inputs;
}

TensorMap metric_inputs(const Plugin& plugin, const torch::Device& device, const torch::Tensor& representation,
                        const torch::Tensor& label, const torch::Tensor& split) {
    TensorMap inputs{{"representation", representation}, {"label", label}};
    if (split.defined()) inputs["split"] = split;
    return placed_inputs(plugin, device, inputs);
}

TensorMap estimator_inputs(const Plugin& plugin, const torch::Device& device, const torch::Tensor& x, const torch::Tensor& y) {
    return placed_inputs(plugin, device, {{"x", x}, {"y", y}});
}

ScalarList evaluate_metric(const Plugin& plugin, const std::string& params_json, const TensorMap& inputs,
                           const HostContext& ctx) {
    LentTensors lent(inputs);
    mvrl_scalar_list out{};
    ErrorBuffer err;
    HostContext plugin_ctx(ctx, plugin);
    check_call(plugin.metric()->evaluate(params_json.c_str(), lent.list(), plugin_ctx.get(), &out, err.get()), err, plugin,
               "evaluate");
    return take_scalars(&out);
}

ScalarList estimate_mutual_information(const Plugin& plugin, const std::string& params_json,
                                       const TensorMap& inputs, const HostContext& ctx) {
    LentTensors lent(inputs);
    mvrl_scalar_list out{};
    ErrorBuffer err;
    HostContext plugin_ctx(ctx, plugin);
    check_call(plugin.estimator()->estimate(params_json.c_str(), lent.list(), plugin_ctx.get(), &out, err.get()), err,
               plugin, "estimate");
    return take_scalars(&out);
}

}  // namespace mvrl::host
