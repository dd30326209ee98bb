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
