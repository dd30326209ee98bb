// mvrl/nn/gaussian.hpp — the diagonal-Gaussian pieces every VAE-style model repeats
// (Kingma & Welling 2014): the reparameterised sample and the KL divergence to N(0, I).
#pragma once

#include <torch/torch.h>

namespace mvrl::nn {

// z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling 2014, Eq. 10).
inline torch::Tensor reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar) {
    return mu + (0.5 * logvar).exp() * torch::randn_like(mu);
}

// KL(N(mu, sigma^2) || N(0, I)) per sample, summed over dimensions (Kingma & Welling 2014, App. B).
inline torch::Tensor kl_to_standard_normal(const torch::Tensor& mu, const torch::Tensor& logvar) {
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1);
}

}  // namespace mvrl::nn
