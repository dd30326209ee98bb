// A fixture for multimodal VAE plugins (mmvae-plus, idmvae, dcmem) through the C ABI on
// PolyMNIST-Quadrant: 100 samples × M modalities (SmallPolymnist: 3) at 16 px (2 ResNet levels) and a slim network (width 4), batches of
// 50: a step takes about a tenth of a second on one core. Needs PLUGIN_DIR (built_plugins.hpp).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

template <int64_t M>
struct SmallPolymnistOf : ::testing::Test {
    static constexpr int64_t kModalities = M, kZ = 6, kW = 5, kSide = 16;

    static const mvrl::host::HostContext& ctx() {
        static mvrl::host::HostContext c("cpu", 0, 1);
        return c;
    }
    // Loaded once per test binary.
    static const mvrl::TensorMap& data() { return loaded().first; }
    static const mvrl::json& info() { return loaded().second; }

    // The plugin with the slim network; `params` override the base ones.
    static std::unique_ptr<mvrl::host::ModelHandle> model(const std::string& plugin, mvrl::json params = mvrl::json::object()) {
        mvrl::json base = {{"width", 4}, {"levels", 2}, {"z_dim", kZ}, {"w_dim", kW}, {"learning_rate", 3e-3}, {"epochs", 1}};
        base.update(params);
        return std::make_unique<mvrl::host::ModelHandle>(built_plugins().require(plugin, MVRL_KIND_MODEL), base.dump(), info(), ctx());
    }
    static mvrl::TensorMap batch(int64_t n = 50) {
        mvrl::TensorMap b;
        for (int64_t m = 0; m < kModalities; ++m) b["view" + std::to_string(m)] = data().at("view" + std::to_string(m)).narrow(0, 0, n);
        return b;
    }
    // Each reported term per step, over `steps` steps of stage `stage` on the first batch.
    static std::map<std::string, std::vector<double>> train(mvrl::host::ModelHandle& m, int steps, const std::string& stage = "elbo") {
        std::map<std::string, std::vector<double>> terms;
        for (int i = 0; i < steps; ++i)
            for (const auto& [name, value] : m.train_step(stage, batch())) terms[name].push_back(value);
        return terms;
    }
    static double mean_of(const std::vector<double>& v, size_t from, size_t count) {
        return std::accumulate(v.begin() + from, v.begin() + from + count, 0.0) / double(count);
    }

private:
    static const std::pair<mvrl::TensorMap, mvrl::json>& loaded() {
        static const std::pair<mvrl::TensorMap, mvrl::json> d = [] {
            mvrl::host::DatasetHandle dataset(built_plugins().require("polymnist-quadrant", MVRL_KIND_DATASET),
                                              "{\"per_class\": 10, \"modalities\": " + std::to_string(M) + ", \"size\": 16}", ctx());
            return std::make_pair(dataset.load(), dataset.info());
        }();
        return d;
    }
};

using SmallPolymnist = SmallPolymnistOf<3>;
