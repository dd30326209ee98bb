// mvrl/nn/distributions.hpp — the factorised Normal and Laplace distributions multimodal VAEs use
// for posteriors, priors and likelihoods (LibTorch has no torch.distributions), the scale
// parameterisations of the MMVAE+ and IDMVAE releases, and the mixture-of-experts log-density of
// MMVAE (Shi et al., NeurIPS 2019, arXiv:1911.03393) and MMVAE+ (Palumbo et al., ICLR 2023).
//
// Every distribution is elementwise: log_prob returns one value per element (sum over the latent
// or pixel dimensions yourself); loc and scale broadcast as in torch.distributions.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace mvrl::nn {

enum class Family { Normal, Laplace };

inline Family family_from_name(const std::string& name) {
    if (name == "normal" || name == "Normal") return Family::Normal;
    if (name == "laplace" || name == "Laplace") return Family::Laplace;
    throw std::invalid_argument("unknown distribution family '" + name + "' (normal or laplace)");
}

// The releases' floor on every scale (their Constants.eta).
constexpr double kScaleFloor = 1e-6;

// Normal scales in the IDMVAE release: softplus(raw) + eta.
inline torch::Tensor softplus_scale(const torch::Tensor& raw) { return torch::nn::functional::softplus(raw) + kScaleFloor; }

// Laplace scales in both releases: softmax over the last dimension times its size, + eta — the
// scales of one code sum to D, so the posterior cannot shrink all its dimensions at once.
inline torch::Tensor softmax_scale(const torch::Tensor& raw) { return torch::softmax(raw, -1) * double(raw.size(-1)) + kScaleFloor; }

// The scale parameterisation the releases pair with each family.
inline torch::Tensor scale_from_raw(Family family, const torch::Tensor& raw) {
    return family == Family::Laplace ? softmax_scale(raw) : softplus_scale(raw);
}

// The raw value whose scale is 1 under scale_from_raw: a prior that starts as N(0, 1) or
// Laplace(0, 1). (softmax_scale of zeros is 1 + eta; softplus_scale of log(e - 1) is 1 + eta.)
inline double raw_for_unit_scale(Family family) { return family == Family::Laplace ? 0.0 : std::log(std::exp(1.0) - 1.0); }

struct Distribution {
    Family family;
    torch::Tensor loc, scale;

    const torch::Tensor& mean() const { return loc; }

    // Standard deviation: sigma for a Normal, sqrt(2) b for a Laplace.
    torch::Tensor stddev() const { return family == Family::Normal ? scale : scale * std::sqrt(2.0); }

    // Elementwise log density.
    //   Normal:  -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
    //   Laplace: -|x - mu| / b - log(2 b)
    torch::Tensor log_prob(const torch::Tensor& x) const {
        if (family == Family::Normal)
            return -(x - loc).pow(2) / (2 * scale.pow(2)) - scale.log() - 0.5 * std::log(2 * M_PI);
        return -(x - loc).abs() / scale - (2 * scale).log();
    }

    // One reparameterised sample of loc's broadcast shape with `leading` sample dimensions in
    // front: gradients flow to loc and scale.
    torch::Tensor rsample(const std::vector<int64_t>& leading = {}) const {
        std::vector<int64_t> shape = leading;
        for (int64_t d : at::infer_size(loc.sizes(), scale.sizes())) shape.push_back(d);
        return loc + scale * standard_noise(shape);
    }

private:
    // Normal: eps ~ N(0, 1). Laplace: the inverse CDF at u ~ U(-1, 1), -sign(u) log(1 - |u|), with u
    // kept a float epsilon off ±1 (torch.distributions.Laplace keeps it off -1) so that no sample
    // is infinite.
    torch::Tensor standard_noise(const std::vector<int64_t>& shape) const {
        auto options = loc.options().requires_grad(false);
        if (family == Family::Normal) return torch::randn(shape, options);
        const double margin = std::numeric_limits<float>::epsilon();
        torch::Tensor u = (torch::rand(shape, options) * 2 - 1).clamp(margin - 1, 1 - margin);
        return -u.sign() * torch::log1p(-u.abs());
    }
};

// KL(q || p) elementwise in closed form, for two distributions of one family (sum over the latent
// dimensions yourself):
//   Normal:  log(s_p / s_q) + (s_q^2 + (m_q - m_p)^2) / (2 s_p^2) - 1/2
//   Laplace: log(b_p / b_q) + |m_q - m_p| / b_p + (b_q / b_p) exp(-|m_q - m_p| / b_q) - 1
inline torch::Tensor kl_divergence(const Distribution& q, const Distribution& p) {
    if (q.family != p.family) throw std::invalid_argument("kl_divergence: the two distributions are of different families");
    torch::Tensor ratio = p.scale.log() - q.scale.log();
    if (q.family == Family::Normal) return ratio + (q.scale.pow(2) + (q.loc - p.loc).pow(2)) / (2 * p.scale.pow(2)) - 0.5;
    torch::Tensor gap = (q.loc - p.loc).abs();
    return ratio + gap / p.scale + q.scale / p.scale * torch::exp(-gap / q.scale) - 1;
}

// log (1/K sum_k exp x_k) along `dim`, stably.
inline torch::Tensor log_mean_exp(const torch::Tensor& x, int64_t dim) {
    return torch::logsumexp(x, dim) - std::log(double(x.size(dim)));
}

// log p(x_i) under the uniform mixture of the A rows of `components` (its loc and scale are A×D),
// for each row x_i of x (N×D): logsumexp_a sum_d log p_a(x_id) - log A. A VampPrior (Tomczak &
// Welling, AISTATS 2018, Eq. 9) is this with the components an encoder's posteriors at A inputs.
inline torch::Tensor row_mixture_log_prob(const Distribution& components, const torch::Tensor& x) {
    Distribution broadcast{components.family, components.loc.unsqueeze(0), components.scale.unsqueeze(0)};  // 1×A×D
    return log_mean_exp(broadcast.log_prob(x.unsqueeze(1)).sum(-1), 1);                                   // N×A → N
}

// log q(x) for the uniform mixture q = 1/M sum_m q_m of factorised components, summed over the last
// dimension (the mixture-of-experts posterior of MMVAE, Shi et al. 2019; q(z|X) = 1/M sum_m q(z|x_m)
// in the MMVAE+ objective as Zhang, Shen & Wang, "Disentanglement of Variations with Multimodal
// Generative Modeling", §2.1, write it):
//   log q(x) = logsumexp_m sum_d log q_m(x_d) - log M.
// x broadcasts against each component (e.g. N×D samples against N×D parameters).
inline torch::Tensor mixture_log_prob(const std::vector<Distribution>& components, const torch::Tensor& x) {
    if (components.empty()) throw std::invalid_argument("mixture_log_prob: no components");
    std::vector<torch::Tensor> per_component;
    for (const auto& q : components) per_component.push_back(q.log_prob(x).sum(-1));
    return torch::logsumexp(torch::stack(per_component), 0) - std::log(double(components.size()));
}

// One sample per row from the uniform mixture of components whose parameters are N×D: row i takes
// a uniformly drawn component's reparameterised sample.
inline torch::Tensor mixture_rsample(const std::vector<Distribution>& components) {
    if (components.empty()) throw std::invalid_argument("mixture_rsample: no components");
    std::vector<torch::Tensor> samples;
    for (const auto& q : components) samples.push_back(q.rsample());
    torch::Tensor all = torch::stack(samples);  // M×N×D
    const int64_t n = all.size(1);
    torch::Tensor pick = torch::randint(int64_t(components.size()), {n}, all.options().dtype(torch::kLong));
    return all.index({pick, torch::arange(n, pick.options())});
}

}  // namespace mvrl::nn
