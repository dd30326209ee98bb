// idmvae: IDMVAE (Zhang, Shen & Wang, "Disentanglement of Variations with Multimodal Generative
// Modeling"), MMVAE+ (mvrl/models/mmvae_plus.hpp) with three additions, Eq. 2:
//   L_IDMVAE = L_MMVAE+ + λ1 L_CrossMI + λ2 L_GenAug  (+ λ3 L_diffusion, §2 "Diffusion Priors")
//  - L_CrossMI: NT-Xent (cosine, temperature 1) between the posterior means of z of two modalities,
//    the contrastive MI bound that pulls the shared code towards what the views share (§2.2).
//  - L_GenAug: generative augmentation (§2.3). Per modality m, decode [z, roll(w_m)] (w from
//    another sample of the batch), re-encode, and contrast the new z with the original z; decode
//    [roll(z), w_m], re-encode, contrast the new w_m with the original: z must not depend on w and
//    w not on z. Contrastive (NT-Xent, weight 20) or least squares on the means (weight 0.75).
//  - Latent diffusion priors (mvrl/nn/latent_diffusion.hpp): one for z, one per w_m, trained on the
//    posterior means; they replace the fixed Gaussian priors when the model generates.
//
// Where the authors' release (chatzikon/IDMVAE at 5695781, src/objectives.py) departs from the
// paper, each is a parameter; the defaults follow the release, whose weights were tuned with it:
//  - cross_mi_reduction: the release sums the NT-Xent over ordered pairs (i, j), i ≠ j, and divides
//    by M - 1 ("release", M× the paper's average over pairs, "paper");
//  - gen_aug_reduction: the release sums 0.5 (roll-w term + roll-z term) over modalities
//    ("release"); the paper writes 1/(2M) ("paper": the mean over modalities);
//  - diffusion_replaces_prior: the release adds the diffusion loss to the ELBO's Gaussian prior
//    terms (false); the paper's Eq. 3 replaces -E log p(z) (and -E log p(w)) with it (true).
// Not implemented: the release's gen_aug_sampling_scheme other than "posterior" (its default).
// The cycle loss re-encodes each augmented image with only the branch it contrasts (the release
// runs the whole encoder and drops the other half: the same gradients, less work).
#include <mvrl/models/mmvae_plus.hpp>
#include <mvrl/nn/infonce.hpp>
#include <mvrl/nn/latent_diffusion.hpp>

namespace {

using mvrl::models::NamedLosses;

class Idmvae : public mvrl::models::MmvaePlusModel {
public:
    static constexpr const char* name = "idmvae";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "IDMVAE (Zhang, Shen & Wang): MMVAE+ plus cross-view MI (NT-Xent on z, weight 80), generative-augmentation cycle loss "
        "(contrastive, weight 20; or least squares) and latent diffusion priors for z and each w (weight 1, used to generate). "
        "encode and generate as mmvae-plus";

    static mvrl::ParamSchema schema() {
        return MmvaePlusModel::schema()
            .add_float("cross_mi_weight", 80.0, "λ1 on the cross-view MI loss (paper: 80; 0 = MMVAE+ without it)", 0.0, 1e6)
            .add_string("cross_mi_reduction", "release", "release: NT-Xent summed over ordered pairs / (M-1); paper: mean over pairs",
                        {"release", "paper"})
            .add_bool("cross_mi_centered", false, "subtract the batch mean from the z means before the NT-Xent (not in the release or paper; "
                                                   "at small scale the contrast otherwise settles where all codes are alike)")
            .add_float("temperature", 1.0, "NT-Xent temperature of both contrastive terms (release: 1)", 1e-3, 100.0)
            .add_float("gen_aug_weight", 20.0, "λ2 on the generative-augmentation loss (contrastive: 20; least squares: 0.75; 0 = off)", 0.0, 1e6)
            .add_string("gen_aug_loss", "contrastive", "contrastive (NT-Xent, L_GenAug^contrast) or least_squares (L_GenAug^lsq)",
                        {"contrastive", "least_squares"})
            .add_string("gen_aug_reduction", "release", "release: summed over modalities; paper: 1/(2M), the mean over modalities",
                        {"release", "paper"})
            .add_float("diffusion_weight", 1.0, "weight on the latent diffusion priors' loss (release: 1; 0 = Gaussian priors only)", 0.0, 1e6)
            .add_bool("diffusion_replaces_prior", false, "drop the Gaussian log p(z), log p(w) from the ELBO (paper Eq. 3) instead of adding to them (release)")
            .add_int("diffusion_hidden", 512, "width of the diffusion denoiser MLPs (release: 512)", 1, 8192);
    }

    Idmvae(const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx)
        : MmvaePlusModel(name, p, info, ctx), cross_mi_weight_(p.get_float("cross_mi_weight")), temperature_(p.get_float("temperature")),
          gen_aug_weight_(p.get_float("gen_aug_weight")), diffusion_weight_(p.get_float("diffusion_weight")),
          contrastive_cycle_(p.get_string("gen_aug_loss") == "contrastive"), paper_cross_mi_(p.get_string("cross_mi_reduction") == "paper"),
          paper_gen_aug_(p.get_string("gen_aug_reduction") == "paper"), centered_cross_mi_(p.get_bool("cross_mi_centered")), fixed_prior_(!p.get_bool("diffusion_replaces_prior")) {
        if (!fixed_prior_ && diffusion_weight_ <= 0)
            throw mvrl::ParamError("idmvae: diffusion_replaces_prior = true needs diffusion_weight > 0 (else nothing stands for the prior)");
        if (!fixed_prior_ && samples_ > 1)
            throw mvrl::ParamError("idmvae: diffusion_replaces_prior = true is the K = 1 ELBO; set k = 1");
        if (diffusion_weight_ > 0) add_diffusion_priors();
    }

protected:
    NamedLosses losses(const std::vector<torch::Tensor>& views) override {
        auto terms = mvrl::nn::mmvae_plus_objective(vaes_, views, beta_, samples_, fixed_prior_);
        NamedLosses named = objective_losses(terms);
        torch::Tensor loss = terms.loss;
        if (cross_mi_weight_ > 0) {
            torch::Tensor cross_mi = cross_view_mi_loss(terms.posteriors);
            loss = loss + cross_mi_weight_ * cross_mi;
            named.emplace_back("cross_mi", cross_mi);
        }
        if (gen_aug_weight_ > 0) {
            torch::Tensor gen_aug = generative_augmentation_loss(terms.posteriors);
            loss = loss + gen_aug_weight_ * gen_aug;
            named.emplace_back("gen_aug", gen_aug);
        }
        if (diffusion_weight_ > 0) {
            torch::Tensor diffusion = diffusion_prior_loss(terms.posteriors);
            loss = loss + diffusion_weight_ * diffusion;
            named.emplace_back("diffusion", diffusion);
        }
        named.front().second = loss;
        return named;
    }

    torch::Tensor sample_shared_prior(int64_t n) override {
        return shared_diffusion_ ? shared_diffusion_->sample(n) : MmvaePlusModel::sample_shared_prior(n);
    }

    torch::Tensor sample_private_prior(size_t m, int64_t n) override {
        return private_diffusion_.empty() ? MmvaePlusModel::sample_private_prior(m, n) : private_diffusion_[m]->sample(n);
    }

private:
    void add_diffusion_priors() {
        auto prior = [&](int64_t dim) { const int64_t width = p_.get_int("diffusion_hidden");
            return mvrl::nn::LatentDiffusionOptions(dim).hidden(width).time_embedding(width); };
        shared_diffusion_ = net_->register_module("z_diffusion", mvrl::nn::LatentDiffusionPrior(prior(p_.get_int("z_dim"))));
        for (int64_t m = 0; m < modalities(); ++m)
            private_diffusion_.push_back(
                net_->register_module("w" + std::to_string(m) + "_diffusion", mvrl::nn::LatentDiffusionPrior(prior(p_.get_int("w_dim")))));
        std::vector<torch::Tensor> parameters = shared_diffusion_->parameters();
        for (auto& d : private_diffusion_)
            for (auto& parameter : d->parameters()) parameters.push_back(parameter);
        net_->to(device_);
        add_trained_parameters(parameters);
    }

    // L_CrossMI: NT-Xent of the posterior means of z over every ordered pair of modalities.
    torch::Tensor cross_view_mi_loss(const std::vector<mvrl::nn::ModalityPosterior>& q) const {
        const int64_t M = modalities();
        std::vector<torch::Tensor> means, pairs;
        for (const auto& posterior : q) means.push_back(centered_cross_mi_ ? posterior.z.mean() - posterior.z.mean().mean(0, true) : posterior.z.mean());
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < M; ++j)
                if (i != j) pairs.push_back(mvrl::nn::nt_xent(means[size_t(i)], means[size_t(j)], temperature_));
        torch::Tensor sum = torch::stack(pairs).sum();
        return paper_cross_mi_ ? sum / double(M * (M - 1)) : sum / double(M - 1);
    }

    // L_GenAug: per modality, 0.5 (roll-w term + roll-z term); both decodes and both re-encodings
    // share one batch each.
    torch::Tensor generative_augmentation_loss(const std::vector<mvrl::nn::ModalityPosterior>& q) {
        std::vector<torch::Tensor> per_modality;
        for (int64_t m = 0; m < modalities(); ++m) {
            auto& vae = vaes_[size_t(m)];
            const auto& posterior = q[size_t(m)];
            torch::Tensor z = posterior.z.rsample(), w = posterior.w.rsample();
            const int64_t B = z.size(0);
            torch::Tensor augmented = vae->decode(torch::cat({z, z.roll(1, 0)}), torch::cat({w.roll(1, 0), w}));
            torch::Tensor z_back = vae->shared_posterior(augmented.slice(0, 0, B)).mean();
            torch::Tensor w_back = vae->private_posterior(augmented.slice(0, B)).mean();
            per_modality.push_back(0.5 * (cycle_term(posterior.z.mean(), z_back) + cycle_term(posterior.w.mean(), w_back)));
        }
        torch::Tensor sum = torch::stack(per_modality).sum();
        return paper_gen_aug_ ? sum / double(modalities()) : sum;
    }

    // The cycle's match between the original posterior means and those of the re-encoded image.
    torch::Tensor cycle_term(const torch::Tensor& original, const torch::Tensor& reencoded) const {
        if (contrastive_cycle_) return mvrl::nn::nt_xent(original, reencoded, temperature_);
        return (original - reencoded).pow(2).sum(-1).mean();
    }

    // The diffusion priors' loss on the posterior means, averaged over modalities (z's prior sees
    // every modality's z).
    torch::Tensor diffusion_prior_loss(const std::vector<mvrl::nn::ModalityPosterior>& q) {
        std::vector<torch::Tensor> shared;
        torch::Tensor private_sum;
        for (int64_t m = 0; m < modalities(); ++m) {
            shared.push_back(q[size_t(m)].z.mean());
            torch::Tensor term = private_diffusion_[size_t(m)]->loss(q[size_t(m)].w.mean());
            private_sum = private_sum.defined() ? private_sum + term : term;
        }
        return shared_diffusion_->loss(torch::cat(shared)) + private_sum / double(modalities());
    }

    double cross_mi_weight_, temperature_, gen_aug_weight_, diffusion_weight_;
    bool contrastive_cycle_, paper_cross_mi_, paper_gen_aug_, centered_cross_mi_, fixed_prior_;
    mvrl::nn::LatentDiffusionPrior shared_diffusion_{nullptr};
    std::vector<mvrl::nn::LatentDiffusionPrior> private_diffusion_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Idmvae>())
