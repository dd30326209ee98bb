// mvrl/plugin.hpp — write a LibTorch plugin as one small class plus one export macro.
//
//   struct MyMetric : mvrl::Metric {
//       static constexpr const char* name = "my-metric";
//       static constexpr const char* version = "1.0.0";
//       static constexpr const char* description = "What it measures, in one line";
//       static mvrl::ParamSchema schema() { return mvrl::ParamSchema().add_int("k", 10, "..."); }
//       MyMetric(const mvrl::Params& params, const mvrl::Context& ctx);
//       mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override;
//   };
//   MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<MyMetric>())
//
// Every call is wrapped: parameters are validated against schema() before the constructor runs,
// tensors are converted without copies, and every exception becomes a status + message.
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>
#include <torch/version.h>

#include "abi.h"
#include "model_types.hpp"
#include "params.hpp"
#include "status.hpp"
#include "tensor.hpp"

namespace mvrl {

// The host's mvrl_context, read with struct_size respected.
class Context {
public:
    Context() = default;
    explicit Context(const mvrl_context* c) : raw_(c) {
        if (!c) return;
        if (c->device) device_ = c->device;
        seed_ = c->seed;
        threads_ = c->threads;
        if (c->struct_size >= MVRL_SIZE_THROUGH(mvrl_context, cache_dir) && c->cache_dir)
            cache_dir_ = c->cache_dir;
    }
    torch::Device device() const { return torch::Device(device_); }
    const std::string& device_name() const { return device_; }
    uint64_t seed() const { return seed_; }
    int threads() const { return threads_; }
    const std::string& cache_dir() const { return cache_dir_; }
    void log(mvrl_log_level level, const std::string& message) const {
        if (raw_ && raw_->struct_size >= MVRL_SIZE_THROUGH(mvrl_context, host_data) && raw_->log)
            raw_->log(raw_->host_data, level, message.c_str());
    }

private:
    const mvrl_context* raw_ = nullptr;
    std::string device_ = "cpu";
    uint64_t seed_ = 0;
    int threads_ = 0;
    std::string cache_dir_;
};

// Base classes, one per kind. The constructor of a concrete class takes (const Params&, const
// Context&); a model's also takes the dataset's info (const json&).
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual json info() = 0;
    virtual TensorMap load() = 0;
};

// A model writes only what it does. Its constructor takes (const Params&, const DatasetInfo&,
// const Context&) (mvrl/model_types.hpp; the dataset's raw info JSON also works). Beside encode,
// model_plugin<T>() fills the ABI's optional calls from the members T declares:
//   std::vector<Stage> stages();  ScalarList train_step(const std::string& stage, const TensorMap& batch);
//       — a model that trains (without them: nothing to train, stages/train_step NULL);
//   void end_epoch(const std::string& stage, int epoch);  — optional, for schedules;
//   void save(const std::string& path);  void load(const std::string& path);
//       — a model that can checkpoint (mvrl/nn/checkpoint.hpp; without them: save/load NULL);
//   TensorMap generate(const json& request, const TensorMap& inputs);
//       — a generative model (the request's keys are the model's to define; without it: NULL).
class Model {
public:
    virtual ~Model() = default;
    virtual TensorMap encode(const TensorMap& batch) = 0;
};

class Estimator {
public:
    virtual ~Estimator() = default;
    virtual ScalarList estimate(const TensorMap& inputs) = 0;
};

class Metric {
public:
    virtual ~Metric() = default;
    virtual ScalarList evaluate(const TensorMap& inputs) = 0;
};

namespace detail {

// guarded() plus torch's own exception type, whose what() carries a C++ backtrace.
template <class Body>
mvrl_status guarded_torch(mvrl_error* err, Body&& body) noexcept {
    return guarded(err, [&] {
        try {
            body();
        } catch (const c10::Error& e) {
            throw std::runtime_error(e.what_without_backtrace());
        }
    });
}

template <class T>
const std::string& schema_json() {
    static const std::string s = T::schema().to_json();
    return s;
}

template <class T>
Params resolve_params(const char* params_json) {
    return T::schema().resolve(params_json ? params_json : "", T::name);
}

// A handle: the plugin object plus the storage for strings it returns through the ABI.
template <class T>
struct Handle {
    std::unique_ptr<T> impl;
    std::string returned_json;
};

template <class T>
Handle<T>* handle_of(void* h) { return static_cast<Handle<T>*>(h); }

template <class T>
const mvrl_plugin_info* make_info(mvrl_kind kind, const void* api) {
    static const mvrl_plugin_info info = {sizeof(mvrl_plugin_info), kind, T::name, T::version,
                                          T::description, schema_json<T>().c_str(), TORCH_VERSION,
                                          api};
    return &info;
}

}  // namespace detail

template <class T>
const mvrl_plugin_info* dataset_plugin() {
    using H = detail::Handle<T>;
    static const mvrl_dataset_api api = {
        sizeof(mvrl_dataset_api),
        /*open*/ [](const char* params, const mvrl_context* ctx, void** out, mvrl_error* err) {
            return detail::guarded_torch(err, [&] {
                auto p = detail::resolve_params<T>(params);
                *out = new H{std::make_unique<T>(p, Context(ctx)), {}};
            });
        },
        /*close*/ [](void* h) { delete detail::handle_of<T>(h); },
        /*info*/ [](void* h, const char** out, mvrl_error* err) {
            return detail::guarded_torch(err, [&] {
                auto* handle = detail::handle_of<T>(h);
                handle->returned_json = handle->impl->info().dump();
                *out = handle->returned_json.c_str();
            });
        },
        /*load*/ [](void* h, mvrl_tensor_list* out, mvrl_error* err) {
            return detail::guarded_torch(err, [&] { export_tensors(detail::handle_of<T>(h)->impl->load(), out); });
        },
    };
    return detail::make_info<T>(MVRL_KIND_DATASET, &api);
}

namespace detail {

template <class T, class = void>
struct trains : std::false_type {};
template <class T>
struct trains<T, std::void_t<decltype(std::declval<T&>().stages()),
                             decltype(std::declval<T&>().train_step(std::string(), std::declval<const TensorMap&>()))>>
    : std::true_type {};

template <class T, class = void>
struct has_end_epoch : std::false_type {};
template <class T>
struct has_end_epoch<T, std::void_t<decltype(std::declval<T&>().end_epoch(std::string(), 0))>> : std::true_type {};

template <class T, class = void>
struct checkpoints : std::false_type {};
template <class T>
struct checkpoints<T, std::void_t<decltype(std::declval<T&>().save(std::string())), decltype(std::declval<T&>().load(std::string()))>>
    : std::true_type {};

template <class T, class = void>
struct generates : std::false_type {};
template <class T>
struct generates<T, std::void_t<decltype(std::declval<T&>().generate(std::declval<const json&>(), std::declval<const TensorMap&>()))>>
    : std::true_type {};

// A model that trains on samples with a view missing (the dataset's "present" mask) declares
//   static constexpr bool handles_missing_views = true;
// every other model refuses a dataset whose info says has_missing, by name, at create.
template <class T, class = void>
struct handles_missing_views : std::false_type {};
template <class T>
struct handles_missing_views<T, std::void_t<decltype(T::handles_missing_views)>> : std::bool_constant<T::handles_missing_views> {};

template <class T>
struct ModelCalls {
    using H = Handle<T>;
    static mvrl_status create(const char* params, const char* dataset_info, const mvrl_context* ctx, void** out, mvrl_error* err) {
        return guarded_torch(err, [&] {
            auto p = resolve_params<T>(params);
            json info = json::parse(dataset_info ? dataset_info : "{}");
            if (!handles_missing_views<T>::value && info.is_object() && info.value("has_missing", false))
                throw ParamError(std::string("model '") + T::name + "' needs every view of every sample, and this dataset has samples "
                                 "with a view missing (its missing_rate, or [train] missing_view): use a model that trains on "
                                 "missing views (e.g. dcmem) or drop those settings");
            if constexpr (std::is_constructible_v<T, const Params&, const DatasetInfo&, const Context&>)
                *out = new H{std::make_unique<T>(p, DatasetInfo::from_json(info), Context(ctx)), {}};
            else
                *out = new H{std::make_unique<T>(p, info, Context(ctx)), {}};
        });
    }
    static void destroy(void* h) { delete handle_of<T>(h); }
    static mvrl_status stages(void* h, const char** out, mvrl_error* err) {
        return guarded_torch(err, [&] {
            auto* handle = handle_of<T>(h);
            if constexpr (std::is_same_v<decltype(handle->impl->stages()), std::vector<Stage>>)
                handle->returned_json = stages_to_json(handle->impl->stages()).dump();
            else
                handle->returned_json = handle->impl->stages().dump();
            *out = handle->returned_json.c_str();
        });
    }
    static mvrl_status train_step(void* h, const char* stage, const mvrl_tensor_list* batch, mvrl_scalar_list* out, mvrl_error* err) {
        return guarded_torch(err, [&] { export_scalars(handle_of<T>(h)->impl->train_step(stage, borrow_tensors(batch)), out); });
    }
    static mvrl_status end_epoch(void* h, const char* stage, int32_t epoch, mvrl_error* err) {
        return guarded_torch(err, [&] {
            if constexpr (has_end_epoch<T>::value) handle_of<T>(h)->impl->end_epoch(stage, epoch);
        });
    }
    static mvrl_status encode(void* h, const mvrl_tensor_list* batch, mvrl_tensor_list* out, mvrl_error* err) {
        return guarded_torch(err, [&] {
            torch::NoGradGuard no_grad;
            export_tensors(handle_of<T>(h)->impl->encode(borrow_tensors(batch)), out);
        });
    }
    static mvrl_status save(void* h, const char* path, mvrl_error* err) {
        return guarded_torch(err, [&] { handle_of<T>(h)->impl->save(path); });
    }
    static mvrl_status load(void* h, const char* path, mvrl_error* err) {
        return guarded_torch(err, [&] { handle_of<T>(h)->impl->load(path); });
    }
    static mvrl_status generate(void* h, const char* request_json, const mvrl_tensor_list* inputs, mvrl_tensor_list* out, mvrl_error* err) {
        return guarded_torch(err, [&] {
            torch::NoGradGuard no_grad;
            json request = json::parse(request_json && *request_json ? request_json : "{}");
            export_tensors(handle_of<T>(h)->impl->generate(request, borrow_tensors(inputs)), out);
        });
    }
};

}  // namespace detail

// The table of T's calls; an optional call T does not declare stays NULL (discarded branches are
// not instantiated, so T need not have the member).
template <class T>
const mvrl_plugin_info* model_plugin() {
    using Calls = detail::ModelCalls<T>;
    static_assert(detail::trains<T>::value || !detail::has_end_epoch<T>::value,
                  "a model with end_epoch also needs stages() and train_step()");
    static const mvrl_model_api api = [] {
        mvrl_model_api table{};
        table.struct_size = sizeof(mvrl_model_api);
        table.create = &Calls::create;
        table.destroy = &Calls::destroy;
        table.encode = &Calls::encode;
        if constexpr (detail::trains<T>::value) {
            table.stages = &Calls::stages;
            table.train_step = &Calls::train_step;
            table.end_epoch = &Calls::end_epoch;
        }
        if constexpr (detail::checkpoints<T>::value) {
            table.save = &Calls::save;
            table.load = &Calls::load;
        }
        if constexpr (detail::generates<T>::value) table.generate = &Calls::generate;
        return table;
    }();
    return detail::make_info<T>(MVRL_KIND_MODEL, &api);
}

// Estimators and metrics are stateless at the ABI: one object per call.
template <class T>
const mvrl_plugin_info* estimator_plugin() {
    static const mvrl_estimator_api api = {
        sizeof(mvrl_estimator_api),
        /*estimate*/ [](const char* params, const mvrl_tensor_list* inputs, const mvrl_context* ctx,
                        mvrl_scalar_list* out, mvrl_error* err) {
            return detail::guarded_torch(err, [&] {
                T estimator(detail::resolve_params<T>(params), Context(ctx));
                export_scalars(estimator.estimate(borrow_tensors(inputs)), out);
            });
        },
    };
    return detail::make_info<T>(MVRL_KIND_ESTIMATOR, &api);
}

template <class T>
const mvrl_plugin_info* metric_plugin() {
    static const mvrl_metric_api api = {
        sizeof(mvrl_metric_api),
        /*evaluate*/ [](const char* params, const mvrl_tensor_list* inputs, const mvrl_context* ctx,
                        mvrl_scalar_list* out, mvrl_error* err) {
            return detail::guarded_torch(err, [&] {
                T metric(detail::resolve_params<T>(params), Context(ctx));
                export_scalars(metric.evaluate(borrow_tensors(inputs)), out);
            });
        },
    };
    return detail::make_info<T>(MVRL_KIND_METRIC, &api);
}

// The input a plugin requires, with an error naming it when the host did not pass it.
inline const torch::Tensor& require_input(const TensorMap& inputs, const std::string& name) {
    auto it = inputs.find(name);
    if (it == inputs.end()) {
        std::string given;
        for (const auto& kv : inputs) given += (given.empty() ? "" : ", ") + kv.first;
        throw ParamError("missing input tensor '" + name + "' (given: " + (given.empty() ? "none" : given) + ")");
    }
    return it->second;
}

}  // namespace mvrl

// The library's one exported symbol, listing the plugins it holds:
//   MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<A>(), mvrl::model_plugin<B>())
#define MVRL_EXPORT_PLUGINS(...)                                                                   \
    extern "C" MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void) {                 \
        static const mvrl_plugin_info* const plugins[] = {__VA_ARGS__};                            \
        static const mvrl_plugin_descriptor descriptor = {                                         \
            sizeof(mvrl_plugin_descriptor), MVRL_ABI_VERSION_MAJOR, MVRL_ABI_VERSION_MINOR,        \
            static_cast<uint32_t>(sizeof(plugins) / sizeof(plugins[0])), plugins};                 \
        return &descriptor;                                                                        \
    }
