// Calling a built metric or estimator through the C ABI as the host does, with its named values
// returned as a map; and fixture rows as a matrix. Needs PLUGIN_DIR (support/built_plugins.hpp).
#pragma once

#include <map>
#include <string>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

inline std::map<std::string, double> values_of(const mvrl::ScalarList& list) {
    return std::map<std::string, double>(list.begin(), list.end());
}

inline std::map<std::string, double> metric_values(const std::string& plugin, const mvrl::TensorMap& inputs,
                                                   const std::string& params = "{}", uint64_t seed = 0) {
    mvrl::host::HostContext ctx("cpu", seed);
    return values_of(mvrl::host::evaluate_metric(built_plugins().require(plugin, MVRL_KIND_METRIC), params, inputs, ctx));
}

inline std::map<std::string, double> estimator_values(const std::string& plugin, const mvrl::TensorMap& inputs,
                                                      const std::string& params = "{}", uint64_t seed = 0) {
    mvrl::host::HostContext ctx("cpu", seed);
    return values_of(
        mvrl::host::estimate_mutual_information(built_plugins().require(plugin, MVRL_KIND_ESTIMATOR), params, inputs, ctx));
}

// A JSON list of equal-length rows as an N × D float64 tensor.
inline torch::Tensor fixture_matrix(const mvrl::json& rows) {
    auto values = rows.get<std::vector<std::vector<double>>>();
    torch::Tensor x = torch::empty({int64_t(values.size()), int64_t(values[0].size())}, torch::kFloat64);
    for (size_t i = 0; i < values.size(); ++i) x[i] = torch::tensor(values[i], torch::kFloat64);
    return x;
}

// The inputs with validation rows appended (split = 2): copies of every test row (split = 1) whose
// labels are deliberately wrong (the next class, cyclically). A metric that keeps validation rows
// out of both its parts scores these inputs exactly as the original ones; one that trains on them
// learns wrong classes, and one that tests on them counts them.
inline mvrl::TensorMap with_mislabelled_validation_rows(const mvrl::TensorMap& inputs) {
    const torch::Tensor& x = inputs.at("representation");
    const torch::Tensor y = inputs.at("label"), split = inputs.at("split");
    const torch::Tensor rows = torch::nonzero(split == 1).flatten();
    const int64_t classes = y.max().item<int64_t>() + 1;
    mvrl::TensorMap out = inputs;
    out["representation"] = torch::cat({x, x.index_select(0, rows)});
    out["label"] = torch::cat({y, (y.index_select(0, rows) + 1) % classes});
    out["split"] = torch::cat({split, torch::full({rows.numel()}, 2, split.options())});
    return out;
}
