// mvrl/nn/mine.hpp — MINE (Belghazi et al., ICML 2018): the Donsker–Varadhan lower bound
//   I(x; y) >= E_p(x,y)[T(x,y)] - log E_p(x)p(y)[exp T(x,y)]                  (Eq. 6 / Thm. 1)
// with a statistics network T; product-of-marginals samples pair x_i with a shuffled y. The
// gradient of the log term is biased on mini-batches; `loss` applies the paper's correction
// (Sec. 3.2): the denominator's gradient uses a moving average of E[exp T].
// Default network: MRDD's MI probe, 20-100-100-100-1 with ReLU (for 10 + 10 input dimensions).
#pragma once

#include <torch/torch.h>

namespace mvrl::nn {

struct MineOptions {
    MineOptions(int64_t x_dim, int64_t y_dim) : x_dim_(x_dim), y_dim_(y_dim) {}
    TORCH_ARG(int64_t, x_dim);
    TORCH_ARG(int64_t, y_dim);
    TORCH_ARG(int64_t, hidden) = 100;
    TORCH_ARG(int64_t, layers) = 3;               // hidden layers
    TORCH_ARG(double, moving_average_rate) = 0.01;
};

struct MineImpl : torch::nn::Module {
    explicit MineImpl(const MineOptions& o) : options(o) {
        torch::nn::Sequential t;
        int64_t in = o.x_dim() + o.y_dim();
        for (int64_t l = 0; l < o.layers(); ++l) {
            t->push_back(torch::nn::Linear(in, o.hidden()));
            t->push_back(torch::nn::ReLU());
            in = o.hidden();
        }
        t->push_back(torch::nn::Linear(in, 1));
        statistics = register_module("statistics", t);
    }

    // Donsker–Varadhan bound on one batch (nats); `y_shuffled` pairs each x with another sample's y.
    torch::Tensor lower_bound(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& y_shuffled) {
        torch::Tensor joint = T(x, y), marginal = T(x, y_shuffled);
        return joint.mean() - (torch::logsumexp(marginal, 0) - std::log(double(marginal.size(0)))).squeeze();
    }

    // Negative bound with the bias-corrected gradient of Sec. 3.2; updates the moving average.
    torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& y_shuffled) {
        torch::Tensor joint = T(x, y), exp_marginal = T(x, y_shuffled).exp().mean();
        double rate = options.moving_average_rate();
        double batch_value = exp_marginal.item<double>();
        moving_average_ = moving_average_ < 0 ? batch_value : (1 - rate) * moving_average_ + rate * batch_value;
        return -(joint.mean() - exp_marginal / moving_average_);
    }

    torch::Tensor T(const torch::Tensor& x, const torch::Tensor& y) { return statistics->forward(torch::cat({x, y}, 1)); }

    MineOptions options;
    torch::nn::Sequential statistics{nullptr};

private:
    double moving_average_ = -1;
};
TORCH_MODULE(Mine);

}  // namespace mvrl::nn
