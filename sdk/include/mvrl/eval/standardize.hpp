// mvrl/eval/standardize.hpp — z-scoring features as scikit-learn's StandardScaler does when fitted
// on a training part: each column minus the training mean, over the training (population)
// deviation; a constant column is only centred.
#pragma once

#include <torch/torch.h>

namespace mvrl::eval {

// Standardises both parts (N × D each) with the statistics of `train`.
inline void standardize_columns(torch::Tensor& train, torch::Tensor& test) {
    torch::Tensor mean = train.mean(0, true), sd = train.std(0, /*unbiased=*/false, /*keepdim=*/true);
    sd = torch::where(sd > 0, sd, torch::ones_like(sd));
    train = (train - mean) / sd;
    test = (test - mean) / sd;
}

}  // namespace mvrl::eval
