// mvrl/data/missing_views.hpp — the partially-missing-views setting (DCMEM): each view of each
// sample is dropped with probability `rate`, but every sample keeps at least one view. Dropped
// views are zeroed, so a model that ignores the mask cannot read them, and the mask is exposed as
// "present" (N × V, uint8 0/1: DLPack 0.6 has no bool type, so it crosses the ABI as bytes).
#pragma once

#include <string>

#include <torch/torch.h>

#include "../params.hpp"
#include "../tensor.hpp"

namespace mvrl::data {

// The two parameters every dataset that supports missing views declares.
inline ParamSchema& add_missing_view_params(ParamSchema& schema) {
    return schema.add_float("missing_rate", 0.0, "probability that a view of a sample is missing (each sample keeps one)", 0.0, 0.99)
        .add_int("missing_seed", 0, "seed of the missing-view draw", 0, 2147483647);
}

// Zeroes view v of each sample whose present[i][v] is false (present: N × V bool) and exposes the
// mask as data["present"]. A dataset's missing_rate and the host's [train] missing_view both end here.
inline void mask_missing_views(TensorMap& data, const torch::Tensor& present) {
    const int64_t n = present.size(0);
    for (int64_t v = 0; v < present.size(1); ++v) {
        torch::Tensor& view = data.at("view" + std::to_string(v));
        std::vector<int64_t> shape(size_t(view.dim()), 1);
        shape[0] = n;
        view = view * present.select(1, v).to(view.scalar_type()).reshape(shape);
    }
    data["present"] = present.to(torch::kUInt8);
}

inline void drop_views(TensorMap& data, int64_t views, double rate, uint64_t seed) {
    const int64_t n = data.at("view0").size(0);
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    torch::Tensor present = at::rand({n, views}, gen, torch::kFloat32) >= rate;
    // A sample that lost every view gets one back, chosen uniformly.
    torch::Tensor none = present.sum(1) == 0;
    torch::Tensor keep = at::randint(views, {n}, gen, torch::kInt64);
    present.index_put_({none, keep.index({none})}, true);
    mask_missing_views(data, present);
}

}  // namespace mvrl::data
