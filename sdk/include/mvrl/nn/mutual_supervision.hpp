// mvrl/nn/mutual_supervision.hpp — the paired bound of DCMEM ("Disentangled Cross-Modal
// Representation Learning with Enhanced Mutual Supervision", NeurIPS 2025 poster), which extends
// MEME's (Joy, Shi, Torr, Rainforth & Siddharth, "Learning Multimodal VAEs through Mutual
// Supervision", ICLR 2022, Eq. 4) with a private code w_s per modality. For the direction s → t:
//
//   log p(t, s) >= E_{q(z_s|s) q(w_s|s)} [ q(t|z_s) / q(t|s) · log ( p(z_s|t) p(w_s) p(s|z_s, w_s)
//                                          / (q(z_s|s) q(w_s|s) q(t|z_s)) ) ] + λ log q(t|s) + log p(t)
//
// where p(z_s|t) is t's shared encoder (t supervises s), q(t|z_s) t's decoder on z_s (the
// cross-modal term), and q(t|s) = E_{q(z_s|s)} q(t|z_s) is estimated from the same K samples by
// log-mean-exp (MEME's release, thwjoy/meme). The importance weight ω_k = q(t|z_k) / q̂(t|s) is a
// constant in the gradient (MEME: `.detach()`); its K values sum to K, so each is at most K. λ = 1
// is the bound; λ is the poster's weight on the cross-modal reconstruction. log p(t) is the data's
// and drops out.
//
// Readings (the poster gives no code and no equation numbers):
//  - w_s's part of the expectation, E[ω (log p(w_s) - log q(w_s|s))], is -KL(q(w_s|s) || p(w_s))
//    in closed form: w_s is drawn independently of z_s and the K weights average to 1, so the
//    closed form is the expectation the sample estimates, without its variance.
//  - z_s's part stays a sample: p(z_s|t) is another encoder's posterior and ω depends on z_s.
//  - t's decoder needs a private code for q(t|z_s): the caller passes it (the prior's draw, t's
//    posterior's, or zeros: a model parameter).
//  - With ω held constant, the gradients of -1/K sum_k ω_k log q(t|z_k) and of log q̂(t|s) cancel
//    exactly at λ = 1: in the bound itself q(t|z_s) only reweights the samples. What trains the
//    cross-modal path is λ > 1 and DCMEM's information-bottleneck term (cross_likelihood).
#pragma once

#include <torch/torch.h>

#include "distributions.hpp"
#include "mmvae_plus.hpp"  // ModalityVae, ModalityPosterior, unit_prior

namespace mvrl::nn {

// Per sample of the batch (B values each), for one direction s → t.
struct MutualSupervisionTerms {
    torch::Tensor elbo;              // the bound above without log p(t): the loss is -elbo
    torch::Tensor reconstruction;    // -1/K sum_k log p(s|z_k, w_k)
    torch::Tensor cross;             // -log q̂(t|s)
    torch::Tensor shared_kl;         // 1/K sum_k ω_k (log q(z_k|s) - log p(z_k|t))
    torch::Tensor private_kl;        // KL(q(w_s|s) || p(w_s)), closed form
    torch::Tensor cross_likelihood;  // 1/K sum_k log q(t|z_k), unweighted (DCMEM's I(z_s; t) bound)
    torch::Tensor weights;           // K×B: ω_k, without gradient
    torch::Tensor z, w;              // K×B×D: the samples of z_s and w_s
};

// x_s, x_t: B images of each modality; q_s: s's posteriors at x_s; t_prior: t's shared posterior at
// x_t (p(z_s|t)); target_w: K·B private codes for t's decoder (sample-major, as z.reshape).
inline MutualSupervisionTerms mutual_supervision(ModalityVae& source, ModalityVae& target, const ModalityPosterior& q_s,
                                                 const Distribution& t_prior, const torch::Tensor& x_s, const torch::Tensor& x_t,
                                                 const torch::Tensor& target_w, int64_t K, double lambda) {
    const int64_t B = x_s.size(0);
    MutualSupervisionTerms t;
    t.z = q_s.z.rsample({K});
    t.w = q_s.w.rsample({K});
    torch::Tensor z = t.z.reshape({K * B, -1}), w = t.w.reshape({K * B, -1});
    torch::Tensor log_self = source->log_likelihood(source->decode(z, w), x_s.repeat({K, 1, 1, 1})).view({K, B});
    torch::Tensor log_cross = target->log_likelihood(target->decode(z, target_w), x_t.repeat({K, 1, 1, 1})).view({K, B});
    torch::Tensor log_q_t_given_s = log_mean_exp(log_cross, 0);  // B
    t.weights = (log_cross - log_q_t_given_s).exp().detach();
    torch::Tensor log_ratio_z = q_s.z.log_prob(t.z).sum(-1) - t_prior.log_prob(t.z).sum(-1);  // K×B
    const auto& o = source->options;
    t.private_kl = kl_divergence(q_s.w, unit_prior(o.latent_family(), o.w_dim(), x_s.options())).sum(-1);
    t.elbo = (t.weights * (log_self - log_ratio_z - log_cross)).mean(0) - t.private_kl + lambda * log_q_t_given_s;
    t.reconstruction = -log_self.mean(0);
    t.cross = -log_q_t_given_s;
    t.shared_kl = (t.weights * log_ratio_z).mean(0);
    t.cross_likelihood = log_cross.mean(0);
    return t;
}

}  // namespace mvrl::nn
