// mvrl/nn/infonce.hpp — InfoNCE (van den Oord et al. 2018; the bound of Poole et al. 2019, Eq. 12):
//   I(x; y) >= log N + 1/N sum_i [ f(x_i, y_i) - log sum_j exp f(x_i, y_j) ]
// for any critic f. The estimate can never exceed log N (the batch size), which is why it tracks
// the truth only while the true MI is small. `info_nce_loss` takes the N×N score matrix
// scores[i][j] = f(x_i, y_j) so models with their own critic (CONAN's fused-vs-view contrast,
// IDMVAE) share the loss; `nt_xent` is SimCLR's two-view form (Chen et al. 2020, Eq. 1).
#pragma once

#include <torch/torch.h>

#include <cmath>

namespace mvrl::nn {

// Cross-entropy of each row against its diagonal: the negative InfoNCE bound minus log N.
inline torch::Tensor info_nce_loss(const torch::Tensor& scores) {
    torch::Tensor target = torch::arange(scores.size(0), scores.options().dtype(torch::kLong));
    return torch::nn::functional::cross_entropy(scores, target);
}

// The InfoNCE lower bound in nats from a score matrix.
inline torch::Tensor info_nce_bound(const torch::Tensor& scores) {
    return std::log(double(scores.size(0))) - info_nce_loss(scores);
}

// SimCLR's NT-Xent between two batches of representations a_i and b_i (positives), with every
// other one of the 2N vectors as negatives; cosine similarity over temperature tau.
inline torch::Tensor nt_xent(const torch::Tensor& a, const torch::Tensor& b, double tau) {
    const int64_t n = a.size(0);
    torch::Tensor z = torch::nn::functional::normalize(torch::cat({a, b}, 0), torch::nn::functional::NormalizeFuncOptions().dim(1));
    torch::Tensor sim = z.matmul(z.t()) / tau;
    sim = sim.masked_fill(torch::eye(2 * n, sim.options().dtype(torch::kBool)), -1e9);  // a vector is not its own negative
    torch::Tensor target = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)}).to(sim.device());
    return torch::nn::functional::cross_entropy(sim, target);
}

struct InfoNceCriticOptions {
    InfoNceCriticOptions(int64_t x_dim, int64_t y_dim) : x_dim_(x_dim), y_dim_(y_dim) {}
    TORCH_ARG(int64_t, x_dim);
    TORCH_ARG(int64_t, y_dim);
    TORCH_ARG(int64_t, hidden) = 256;
    TORCH_ARG(int64_t, embedding) = 32;
};

// Separable critic f(x, y) = g(x)^T h(y) (Poole et al. 2019, Sec. 2.2): all N^2 scores in one matmul.
struct InfoNceCriticImpl : torch::nn::Module {
    explicit InfoNceCriticImpl(const InfoNceCriticOptions& o) {
        g = register_module("g", mlp(o.x_dim(), o.hidden(), o.embedding()));
        h = register_module("h", mlp(o.y_dim(), o.hidden(), o.embedding()));
    }
    torch::Tensor scores(const torch::Tensor& x, const torch::Tensor& y) { return g->forward(x).matmul(h->forward(y).t()); }

    static torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
        return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, hidden),
                                     torch::nn::ReLU(), torch::nn::Linear(hidden, out));
    }
    torch::nn::Sequential g{nullptr}, h{nullptr};
};
TORCH_MODULE(InfoNceCritic);

}  // namespace mvrl::nn
