// mvrl/eval/classification_split.hpp — the inputs of a classification metric (svc, linear-probe),
// checked, and the split it trains and tests on: the dataset's ("split": 0 train, 1 test,
// 2 validation) when it gives one, else a stratified random split seeded by the `seed` parameter or
// the run's seed (per class, round(test_fraction × members) go to the test part). MRDD's protocol:
// 80/20.
//
// Validation rows (split == 2) are in neither part: a supervised model chooses its epoch or its
// settings on them, so a metric that trained on them would score with what the model was tuned on,
// and one that tested on them would report the model's own selection score as held-out.
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "../plugin.hpp"

namespace mvrl::eval {

// The values of the dataset's "split" (mvrl/abi.h).
constexpr int64_t split_train = 0, split_test = 1, split_validation = 2;

// The "split" input as N int64 on the CPU, checked against the sample count `n`. Throws ParamError,
// prefixed with the metric's name, on another length or a value other than 0, 1, 2.
inline torch::Tensor dataset_split(const torch::Tensor& split, int64_t n, const std::string& metric) {
    torch::Tensor s = split.to(torch::kCPU, torch::kInt64).flatten();
    if (s.size(0) != n)
        throw ParamError(metric + ": 'split' has " + std::to_string(s.size(0)) + " rows, the labels " + std::to_string(n));
    if (s.numel() > 0 && (s.min().item<int64_t>() < split_train || s.max().item<int64_t>() > split_validation))
        throw ParamError(metric + ": 'split' holds values other than 0 (train), 1 (test) and 2 (validation)");
    return s;
}

inline ParamSchema& add_split_params(ParamSchema& schema) {
    return schema.add_float("test_fraction", 0.2, "share of each class held out when the dataset gives no split", 0.01, 0.99)
        .add_int("seed", -1, "seed of the split; -1 = the run's seed", -1, 2147483647);
}

struct ClassificationSplit {
    torch::Tensor x_train, y_train, x_test, y_test;  // x: N × D float64 on the CPU, contiguous; y: int64

    // Throws ParamError, prefixed with the metric's name, on NaN/Inf, unequal lengths, a bad split,
    // an empty part or a training part of one class.
    static ClassificationSplit from(const TensorMap& inputs, const Params& p, const Context& ctx, const std::string& metric) {
        torch::Tensor x = require_input(inputs, "representation");
        x = x.reshape({x.size(0), -1}).to(torch::kCPU, torch::kFloat64).contiguous();
        torch::Tensor y = require_input(inputs, "label").to(torch::kCPU, torch::kInt64).contiguous();
        if (!torch::isfinite(x).all().item<bool>()) throw ParamError(metric + ": the representation contains NaN or Inf");
        if (y.size(0) != x.size(0)) throw ParamError(metric + ": representation and label differ in length");
        auto [train, test] = train_and_test_masks(inputs, y, p, ctx, metric);
        torch::Tensor train_index = torch::nonzero(train).flatten(), test_index = torch::nonzero(test).flatten();
        if (train_index.numel() == 0 || test_index.numel() == 0)
            throw ParamError(metric + ": the split leaves no training or no test samples (" + std::to_string(train_index.numel()) +
                             " training, " + std::to_string(test_index.numel()) + " test; validation rows, split = 2, are in neither)");
        ClassificationSplit s{x.index_select(0, train_index), y.index_select(0, train_index), x.index_select(0, test_index),
                              y.index_select(0, test_index)};
        if (std::get<0>(at::_unique(s.y_train)).numel() < 2)
            throw ParamError(metric + ": the training part holds one class only");
        return s;
    }

    // The rows of each part: the dataset's split, else the stratified one.
    static std::pair<torch::Tensor, torch::Tensor> train_and_test_masks(const TensorMap& inputs, const torch::Tensor& y, const Params& p,
                                                                        const Context& ctx, const std::string& metric) {
        if (inputs.count("split")) {
            torch::Tensor split = dataset_split(inputs.at("split"), y.size(0), metric);
            return {split == split_train, split == split_test};
        }
        const uint64_t seed = p.get_int("seed") >= 0 ? uint64_t(p.get_int("seed")) : ctx.seed();
        torch::Tensor test = stratified_test_mask(y, p.get_float("test_fraction"), seed);
        return {~test, test};
    }

    static torch::Tensor stratified_test_mask(const torch::Tensor& y, double test_fraction, uint64_t seed) {
        torch::Generator gen = at::detail::createCPUGenerator(seed);
        torch::Tensor test = torch::zeros({y.size(0)}, torch::kBool);
        for (int64_t c : to_int64_vector(std::get<0>(at::_unique(y)))) {
            torch::Tensor members = torch::nonzero(y == c).flatten();
            int64_t held_out = int64_t(std::llround(test_fraction * double(members.numel())));
            torch::Tensor order = at::randperm(members.numel(), gen, torch::kInt64);
            test.index_put_({members.index_select(0, order.slice(0, 0, held_out))}, true);
        }
        return test;
    }
};

}  // namespace mvrl::eval
