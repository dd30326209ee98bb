// mvrl/nn/mmvae_plus.hpp — the networks and objective of MMVAE+ (Palumbo, Daunhawer & Vogt,
// "MMVAE+: Enhancing the Generative Quality of Multimodal VAEs without Compromises", ICLR 2023),
// shared by the mmvae-plus plugin and the models built on it (IDMVAE).
//
// Per modality m: q(w_m|x_m) and q(z|x_m) from two separate encoder branches, a decoder
// p(x_m|z, w_m), a fixed prior p(w_m) and a learnable auxiliary prior r(w_m); one fixed prior p(z).
// The objective, as the IDMVAE paper (Zhang, Shen & Wang, "Disentanglement of Variations with
// Multimodal Generative Modeling", §2.1, the unnumbered L_MMVAE+) writes it (one sample, K = 1):
//   L = -1/M sum_m E[ log p(x_m|z, w_m) + sum_{n≠m} log p(x_n|z, w̃_n)
//                     + β (log p(z) + log p(w_m) - log q(z|X) - log q(w_m|x_m)) ],
//   z ~ q(z|x_m), w_m ~ q(w_m|x_m), w̃_n ~ r(w̃_n), q(z|X) = 1/M sum_n q(z|x_n).
// β multiplies the whole prior/posterior ratio as the release's m_elbo does (lpu - lqz_x - lqw_x).
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "distributions.hpp"
#include "leaky_resnet.hpp"

namespace mvrl::nn {

struct MmvaePlusOptions {
    MmvaePlusOptions(LeakyResNetOptions network, int64_t z_dim, int64_t w_dim) : network_(network), z_dim_(z_dim), w_dim_(w_dim) {}
    TORCH_ARG(LeakyResNetOptions, network);
    TORCH_ARG(int64_t, z_dim);
    TORCH_ARG(int64_t, w_dim);
    TORCH_ARG(Family, latent_family) = Family::Laplace;  // posteriors and priors (release: Laplace)
    TORCH_ARG(double, likelihood_scale) = 0.75;          // fixed Laplace scale of p(x|z, w), as released
    TORCH_ARG(bool, decoder_sigmoid) = true;             // IDMVAE's PolyMNIST decoder (MMVAE+: none)
};

struct ModalityPosterior {
    Distribution w, z;
};

// One modality: encoder branches for w and z (each a ResNet and two linear heads, loc and raw
// scale), the decoder of [w, z] (the release's order), and r(w)'s learnable raw scale.
struct ModalityVaeImpl : torch::nn::Module {
    explicit ModalityVaeImpl(const MmvaePlusOptions& o) : options(o) {
        const int64_t features = o.network().feature_size();
        w_body = register_module("w_body", LeakyResNetEncoder(o.network()));
        z_body = register_module("z_body", LeakyResNetEncoder(o.network()));
        w_loc = register_module("w_loc", torch::nn::Linear(features, o.w_dim()));
        w_raw_scale = register_module("w_raw_scale", torch::nn::Linear(features, o.w_dim()));
        z_loc = register_module("z_loc", torch::nn::Linear(features, o.z_dim()));
        z_raw_scale = register_module("z_raw_scale", torch::nn::Linear(features, o.z_dim()));
        decoder = register_module("decoder", LeakyResNetDecoder(o.network(), o.w_dim() + o.z_dim(), o.decoder_sigmoid()));
        auxiliary_raw_scale = register_parameter("auxiliary_raw_scale",
                                                 torch::full({1, o.w_dim()}, raw_for_unit_scale(o.latent_family())));
    }

    ModalityPosterior posterior(const torch::Tensor& x) { return {private_posterior(x), shared_posterior(x)}; }

    // q(w|x) alone and q(z|x) alone: each runs one branch (IDMVAE's cycle loss needs only one).
    Distribution private_posterior(const torch::Tensor& x) {
        torch::Tensor h = w_body(x);
        return {options.latent_family(), w_loc(h), scale_from_raw(options.latent_family(), w_raw_scale(h))};
    }
    Distribution shared_posterior(const torch::Tensor& x) {
        torch::Tensor h = z_body(x);
        return {options.latent_family(), z_loc(h), scale_from_raw(options.latent_family(), z_raw_scale(h))};
    }

    // The mean of p(x|z, w).
    torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& w) { return decoder(torch::cat({w, z}, 1)); }

    torch::Tensor log_likelihood(const torch::Tensor& mean, const torch::Tensor& x) const {
        return Distribution{Family::Laplace, mean, torch::full({}, options.likelihood_scale(), mean.options())}.log_prob(x).flatten(1).sum(1);
    }

    // r(w): zero location, learnable scale (the release's pw_params; starts at scale 1).
    Distribution auxiliary_prior() const {
        return {options.latent_family(), torch::zeros_like(auxiliary_raw_scale), scale_from_raw(options.latent_family(), auxiliary_raw_scale)};
    }

    MmvaePlusOptions options;
    LeakyResNetEncoder w_body{nullptr}, z_body{nullptr};
    torch::nn::Linear w_loc{nullptr}, w_raw_scale{nullptr}, z_loc{nullptr}, z_raw_scale{nullptr};
    LeakyResNetDecoder decoder{nullptr};
    torch::Tensor auxiliary_raw_scale;
};
TORCH_MODULE(ModalityVae);

// The fixed priors p(z) and p(w_m): zero location, unit scale, of the latent family. (The IDMVAE
// release's Normal prior has scale softplus(0) ≈ 0.69; we keep N(0, 1), the paper's Gaussian.)
inline Distribution unit_prior(Family family, int64_t dim, const torch::TensorOptions& options) {
    return {family, torch::zeros({1, dim}, options), torch::ones({1, dim}, options)};
}

// The objective's parts, each a mean over the batch, the K samples and the M source modalities m;
// with K = 1, loss = reconstruction + cross_reconstruction + β kl.
struct MmvaePlusTerms {
    torch::Tensor loss;
    torch::Tensor reconstruction;        // -E log p(x_m|z, w_m), z and w_m from x_m
    torch::Tensor cross_reconstruction;  // -sum_{n≠m} E log p(x_n|z, w̃_n), z from x_m, w̃_n ~ r
    torch::Tensor kl;                    // E[log q(z|X) + log q(w_m|x_m) - log p(z) - log p(w_m)] (fixed_prior)
    std::vector<ModalityPosterior> posteriors;
    std::vector<torch::Tensor> z, w;     // the reparameterised samples per source modality, K×B×dim
};

// Per source modality m and sample: the log weight inside the objective's expectation, K×B.
//   log w_m = log p(x_m|z, w_m) + sum_{n≠m} log p(x_n|z, w̃_n) - β log-ratio_m
// K = 1 gives the ELBO at the top of this file; K > 1 the release's looser IWAE bound (m_elbo:
// log-mean-exp over the K samples inside, the mean over modalities outside the log). Each decoder
// runs once, on the codes of all M source modalities and K samples stacked (M·K·B rows).
// fixed_prior = false leaves log p(z) and log p(w_m) out of the log-ratio (kl is then the negative
// entropy term of the KL's split E[log q] - E[log p]): for a model whose own prior supplies
// -E log p, e.g. IDMVAE's diffusion prior (Zhang, Shen & Wang, Eq. 3).
inline MmvaePlusTerms mmvae_plus_objective(std::vector<ModalityVae>& vaes, const std::vector<torch::Tensor>& views, double beta,
                                           int64_t K = 1, bool fixed_prior = true) {
    const int64_t M = int64_t(vaes.size()), B = views.at(0).size(0);
    const auto& o = vaes[0]->options;
    MmvaePlusTerms t;
    std::vector<Distribution> shared_posteriors;
    for (int64_t m = 0; m < M; ++m) {
        t.posteriors.push_back(vaes[m]->posterior(views[m]));
        shared_posteriors.push_back(t.posteriors[m].z);
        t.z.push_back(t.posteriors[m].z.rsample({K}));
        t.w.push_back(t.posteriors[m].w.rsample({K}));
    }
    // log p(x_n | z from source m, w) for every decoder n, as n×m×K×B. w is q(w_n|x_n)'s sample for
    // m = n and r(w_n)'s otherwise.
    std::vector<torch::Tensor> flat_z;
    for (const auto& z : t.z) flat_z.push_back(z.reshape({K * B, o.z_dim()}));
    torch::Tensor all_z = torch::cat(flat_z, 0);  // source-major, then sample, then batch
    std::vector<torch::Tensor> by_decoder;
    for (int64_t n = 0; n < M; ++n) {
        std::vector<torch::Tensor> w_for_n;
        for (int64_t m = 0; m < M; ++m)
            w_for_n.push_back(m == n ? t.w[n].reshape({K * B, o.w_dim()}) : vaes[n]->auxiliary_prior().rsample({K * B}).squeeze(1));
        torch::Tensor mean = vaes[n]->decode(all_z, torch::cat(w_for_n, 0));
        by_decoder.push_back(vaes[n]->log_likelihood(mean, views[n].repeat({M * K, 1, 1, 1})).view({M, K, B}));
    }
    torch::Tensor log_lik = torch::stack(by_decoder);  // n×m×K×B

    Distribution p_z = unit_prior(o.latent_family(), o.z_dim(), views[0].options());
    Distribution p_w = unit_prior(o.latent_family(), o.w_dim(), views[0].options());
    std::vector<torch::Tensor> self_terms, cross_terms, ratios;
    for (int64_t m = 0; m < M; ++m) {
        self_terms.push_back(log_lik[m][m]);
        cross_terms.push_back(log_lik.select(1, m).sum(0) - log_lik[m][m]);
        torch::Tensor ratio = mixture_log_prob(shared_posteriors, t.z[m]) + t.posteriors[m].w.log_prob(t.w[m]).sum(-1);
        if (fixed_prior) ratio = ratio - p_z.log_prob(t.z[m]).sum(-1) - p_w.log_prob(t.w[m]).sum(-1);
        ratios.push_back(ratio);
    }
    torch::Tensor self_lik = torch::stack(self_terms), cross_lik = torch::stack(cross_terms), ratio = torch::stack(ratios);  // M×K×B
    t.reconstruction = -self_lik.mean();
    t.cross_reconstruction = -cross_lik.mean();
    t.kl = ratio.mean();
    if (K == 1) {
        t.loss = t.reconstruction + t.cross_reconstruction + beta * t.kl;
    } else {
        torch::Tensor log_weights = self_lik + cross_lik - beta * ratio;
        t.loss = -(torch::logsumexp(log_weights, 1) - std::log(double(K))).mean();
    }
    return t;
}

}  // namespace mvrl::nn
