// mvrl/nn/mmvae_plus.hpp — the networks and objective of MMVAE+ (Palumbo, Daunhawer & Vogt,
// "MMVAE+: Enhancing the Generative Quality of Multimodal VAEs without Compromises", ICLR 2023),
// shared by the mmvae-plus plugin and the models built on it (IDMVAE).
//
// Per modality m: q(w_m|x_m) and q(z|x_m) from two separate encoder branches, a decoder
// p(x_m|z, w_m), a fixed prior p(w_m) and a learnable auxiliary prior r(w_m); one fixed prior p(z).
// The objective, as the IDMVAE paper (Zhang, Shen & Wang, "Disentanglement of Variations with
// Multimodal Generative Modeling", §2.1, the unnumbered L_MMVAE+) writes it with K = 1:
//   L = -1/M sum_m E[ log p(x_m|z, w_m) + sum_{n≠m} log p(x_n|z, w̃_n)
//                     + β (log p(z) + log p(w_m) - log q(z|X) - log q(w_m|x_m)) ],
//   z ~ q(z|x_m), w_m ~ q(w_m|x_m), w̃_n ~ r(w̃_n), q(z|X) = 1/M sum_n q(z|x_n).
// β multiplies the whole prior/posterior ratio as the release's m_elbo does (lpu - lqz_x - lqw_x).
#pragma once

#include <torch/torch.h>

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

    ModalityPosterior posterior(const torch::Tensor& x) {
        torch::Tensor hw = w_body(x), hz = z_body(x);
        const Family f = options.latent_family();
        return {{f, w_loc(hw), scale_from_raw(f, w_raw_scale(hw))}, {f, z_loc(hz), scale_from_raw(f, z_raw_scale(hz))}};
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

// The objective's parts, each a per-sample mean over the batch and a mean over the M source
// modalities m, so that loss = reconstruction + cross_reconstruction + β kl.
struct MmvaePlusTerms {
    torch::Tensor loss;
    torch::Tensor reconstruction;        // -E log p(x_m|z, w_m), z and w_m from x_m
    torch::Tensor cross_reconstruction;  // -sum_{n≠m} E log p(x_n|z, w̃_n), z from x_m, w̃_n ~ r
    torch::Tensor kl;                    // E[log q(z|X) + log q(w_m|x_m) - log p(z) - log p(w_m)]
    std::vector<ModalityPosterior> posteriors;
    std::vector<torch::Tensor> z, w;     // the reparameterised samples, per source modality
};

// The MMVAE+ objective with K = 1 (see the top of this file). Each decoder runs once, on the
// codes of all M source modalities stacked (M·B rows).
inline MmvaePlusTerms mmvae_plus_objective(std::vector<ModalityVae>& vaes, const std::vector<torch::Tensor>& views, double beta) {
    const int64_t M = int64_t(vaes.size()), B = views.at(0).size(0);
    const auto& o = vaes[0]->options;
    MmvaePlusTerms t;
    std::vector<Distribution> shared_posteriors;
    for (int64_t m = 0; m < M; ++m) {
        t.posteriors.push_back(vaes[m]->posterior(views[m]));
        shared_posteriors.push_back(t.posteriors[m].z);
        t.z.push_back(t.posteriors[m].z.rsample());
        t.w.push_back(t.posteriors[m].w.rsample());
    }
    // Decoder n reads z from every source m; w is q(w_n|x_n)'s sample for m = n, r(w_n)'s otherwise.
    torch::Tensor all_z = torch::cat(t.z, 0);  // (M·B)×z_dim, source-major
    torch::Tensor self_sum = torch::zeros({}, views[0].options()), cross_sum = torch::zeros({}, views[0].options());
    for (int64_t n = 0; n < M; ++n) {
        std::vector<torch::Tensor> w_for_n;
        for (int64_t m = 0; m < M; ++m) w_for_n.push_back(m == n ? t.w[n] : vaes[n]->auxiliary_prior().rsample({B}).squeeze(1));
        torch::Tensor log_lik = vaes[n]->log_likelihood(vaes[n]->decode(all_z, torch::cat(w_for_n, 0)), views[n].repeat({M, 1, 1, 1})).view({M, B});
        torch::Tensor self_part = log_lik[n].sum();
        self_sum = self_sum + self_part;
        cross_sum = cross_sum + (log_lik.sum() - self_part);
    }
    Distribution p_z = unit_prior(o.latent_family(), o.z_dim(), views[0].options());
    Distribution p_w = unit_prior(o.latent_family(), o.w_dim(), views[0].options());
    torch::Tensor kl_sum = torch::zeros({}, views[0].options());
    for (int64_t m = 0; m < M; ++m) {
        torch::Tensor log_ratio = mixture_log_prob(shared_posteriors, t.z[m]) + t.posteriors[m].w.log_prob(t.w[m]).sum(1) -
                                  p_z.log_prob(t.z[m]).sum(1) - p_w.log_prob(t.w[m]).sum(1);
        kl_sum = kl_sum + log_ratio.sum();
    }
    const double per_sample = 1.0 / double(M * B);
    t.reconstruction = -self_sum * per_sample;
    t.cross_reconstruction = -cross_sum * per_sample;
    t.kl = kl_sum * per_sample;
    t.loss = t.reconstruction + t.cross_reconstruction + beta * t.kl;
    return t;
}

}  // namespace mvrl::nn
