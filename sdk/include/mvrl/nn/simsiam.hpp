// mvrl/nn/simsiam.hpp — SimSiam's contrast without negatives (Chen & He, CVPR 2021, Eq. 1–2):
// the negative cosine similarity of one branch's output with the other's held constant (stop
// gradient), symmetrised. `simsiam_loss(p_a, q_a, p_b, q_b)` =
//   1/2 D(p_a, q_b) + 1/2 D(p_b, q_a),   D(p, q) = -cos(p, stopgrad(q)), averaged over the batch.
// Which output is held constant is the caller's choice: SimSiam stops the projection and trains
// the predictor; CONAN (Eq. 5) holds the predictor's output q(·) constant.
#pragma once

#include <torch/torch.h>

namespace mvrl::nn {

inline torch::Tensor negative_cosine_stop_gradient(const torch::Tensor& p, const torch::Tensor& held) {
    return -torch::nn::functional::cosine_similarity(p, held.detach(), torch::nn::functional::CosineSimilarityFuncOptions().dim(1))
                .mean();
}

inline torch::Tensor simsiam_loss(const torch::Tensor& p_a, const torch::Tensor& q_a, const torch::Tensor& p_b,
                                  const torch::Tensor& q_b) {
    return 0.5 * negative_cosine_stop_gradient(p_a, q_b) + 0.5 * negative_cosine_stop_gradient(p_b, q_a);
}

}  // namespace mvrl::nn
