// The images a generative model makes for an [[evaluate]] entry with representation =
// "generations" (IDMVAE's coherence, Zhang, Shen & Wang, §4.1, Table 2): the host asks the model's
// generate for a fixed set and lends it, with the dataset's own tensors, to the metric.
#pragma once

#include <cstdint>
#include <string>

#include "plugin_handles.hpp"

namespace mvrl::host {

// The representation name that asks for generated images instead of an encoding.
inline const std::string kGenerationsRepresentation = "generations";

// For `samples` rows drawn (seeded) from the test split when the dataset has one, else from every
// row, generated in batches of batch_size with the model's generate (mvrl/models/mmvae_plus.hpp
// documents the modes):
//   "generated/index"                  the rows, int64;
//   "generated/cross<s>/view<t>"       mode cross, given [s]: z ~ q(z|x_s), w_t ~ p(w_t), every t;
//   "generated/private<s>/view<s>"     mode private, given [s]: z ~ p(z), w_s ~ q(w_s|x_s);
//   "generated/unconditional/view<t>"  mode unconditional: one z ~ p(z) per row, w_t ~ p(w_t).
// Throws std::runtime_error naming the model when it does not generate or returns other views.
TensorMap generate_for_evaluation(ModelHandle& model, const std::string& model_name, const TensorMap& data, int64_t views,
                                  int64_t samples, int64_t batch_size, uint64_t seed);

}  // namespace mvrl::host
