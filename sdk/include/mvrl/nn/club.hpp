// mvrl/nn/club.hpp — CLUB, the contrastive log-ratio upper bound of mutual information
// (Cheng et al., ICML 2020, Eq. 9 with the variational q of Sec. 3.2):
//   I(x; y) <= I_vCLUB = 1/N sum_i log q(y_i|x_i) - 1/N^2 sum_i sum_j log q(y_j|x_i)
// q(y|x) = N(mu(x), diag(exp(logvar(x)))). The bound holds when q is a good fit of p(y|x), so
// CLUB is used in two alternating steps: fit q by maximising log q(y_i|x_i) on paired samples
// (`learning_loss`), then read or minimise `upper_bound`. MRDD (Eq. 7) minimises it between the
// consistent code c and each specific code s_i; the `club` estimator plugin reads it.
#pragma once

#include <torch/torch.h>

namespace mvrl::nn {

struct ClubOptions {
    ClubOptions(int64_t x_dim, int64_t y_dim) : x_dim_(x_dim), y_dim_(y_dim) {}
    TORCH_ARG(int64_t, x_dim);
    TORCH_ARG(int64_t, y_dim);
    TORCH_ARG(int64_t, hidden) = 100;  // MRDD's released code: CLUB hidden size 100
};

struct ClubImpl : torch::nn::Module {
    explicit ClubImpl(const ClubOptions& o) : options(o) {
        mu = register_module("mu", torch::nn::Sequential(torch::nn::Linear(o.x_dim(), o.hidden()), torch::nn::ReLU(),
                                                         torch::nn::Linear(o.hidden(), o.y_dim())));
        // tanh keeps the log-variance in [-1, 1] as in the CLUB authors' code: a collapsing variance
        // would make the bound explode.
        logvar = register_module("logvar", torch::nn::Sequential(torch::nn::Linear(o.x_dim(), o.hidden()), torch::nn::ReLU(),
                                                                 torch::nn::Linear(o.hidden(), o.y_dim()), torch::nn::Tanh()));
    }

    // Mean Gaussian log-density log q(y_i|x_i) over paired samples, in nats (with its constants).
    torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& y) {
        torch::Tensor m = mu->forward(x), lv = logvar->forward(x);
        torch::Tensor per_dim = -0.5 * ((y - m).pow(2) / lv.exp() + lv + std::log(2 * M_PI));
        return per_dim.sum(1).mean();
    }

    // Fit q(y|x): minimise -log q(y_i|x_i).
    torch::Tensor learning_loss(const torch::Tensor& x, const torch::Tensor& y) { return -log_likelihood(x, y); }

    // I_vCLUB over all N^2 pairs (the log-variance and constant terms cancel between the two sums).
    torch::Tensor upper_bound(const torch::Tensor& x, const torch::Tensor& y) {
        torch::Tensor m = mu->forward(x), inv_var = (-logvar->forward(x)).exp();       // N×d
        torch::Tensor positive = -0.5 * ((y - m).pow(2) * inv_var).sum(1);             // log q(y_i|x_i) + const
        torch::Tensor diff = y.unsqueeze(0) - m.unsqueeze(1);                          // [i, j, d] = y_j - mu_i
        torch::Tensor negative = -0.5 * (diff.pow(2) * inv_var.unsqueeze(1)).sum(2).mean(1);  // mean_j log q(y_j|x_i)
        return (positive - negative).mean();
    }

    ClubOptions options;
    torch::nn::Sequential mu{nullptr}, logvar{nullptr};
};
TORCH_MODULE(Club);

}  // namespace mvrl::nn
