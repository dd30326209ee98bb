// mvrl/models/mmvae_plus.hpp — the MMVAE+ model plugin class (Palumbo, Daunhawer & Vogt, "MMVAE+:
// Enhancing the Generative Quality of Multimodal VAEs without Compromises", ICLR 2023), written so
// that models built on it (IDMVAE) derive from it and change only what they add: their losses
// (`losses`), their priors for generation (`sample_shared_prior`, `sample_private_prior`), their
// parameters (`schema` plus their own). The networks and the objective are mvrl/nn/mmvae_plus.hpp.
//
// Readings (paper vs the epalu/mmvaeplus and chatzikon/IDMVAE releases):
//  - K = 1 (default): the ELBO as the paper writes it. k > 1: the release's IWAE estimate (m_elbo,
//    log-mean-exp over the K samples, mean over modalities outside the log). The release's DReG
//    gradient estimator (m_dreg) is not implemented.
//  - The loss is a per-sample mean over the batch; the release sums over the batch (same optimum,
//    Adam is almost invariant to the scale).
//  - Networks, scale parameterisations (Laplace: softmax·D + 1e-6; Normal: softplus + 1e-6), the
//    fixed prior p(z, w) of scale 1 and r(w)'s zero location with a learnable scale follow the
//    releases; r(w) starts at scale 1 for both families (the IDMVAE release's Normal starts at
//    softplus(0) ≈ 0.69). The decoder ends with a sigmoid as IDMVAE's 64 px PolyMNIST code does
//    (decoder_sigmoid = false: the MMVAE+ release's unbounded mean).
//  - Defaults follow IDMVAE's PolyMNIST-Quadrant runs of MMVAE+ (z 32, w 128, β 2.5, Adam 5e-4,
//    100 epochs, plain Adam); amsgrad = true gives the MMVAE+ release's optimiser.
//
// generate(request, inputs) returns decoder means "view<m>" (clamped to [0, 1]); "prior" below is
// the model's prior for generation (MMVAE+: the fixed p(z), p(w_m); IDMVAE: its diffusion priors
// when trained with them):
//   {"mode": "cross", "given": [i, ...]}  inputs view<i> for the given modalities: every modality
//       decoded from z ~ q(z|X_given) (the uniform mixture of the given posteriors) and w ~ p(w)
//       (the prior, as both releases' cross-generation; "w": "auxiliary" draws from r(w));
//   {"mode": "private", "given": [i, ...]} inputs view<i>: view<i> decoded from z ~ p(z) and
//       w_i ~ q(w_i|x_i) (IDMVAE Table 2's Gen(z_p, w_q));
//   {"mode": "unconditional", "n": N}   z ~ p(z), w_m ~ p(w_m): one z for all M images of a sample;
//   {"mode": "decode"}                  inputs "z" and any "w<m>": view<m> from (z, w_m) as given
//       (for coherence checks that pair the z of one sample with the w of another).
#pragma once

#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/nn/mmvae_plus.hpp>
#include <mvrl/nn/training.hpp>
#include <mvrl/plugin.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mvrl::models {

// A step's named losses, "loss" (what the step minimises) first.
using NamedLosses = std::vector<std::pair<std::string, torch::Tensor>>;

// One modality's networks (mvrl/nn/mmvae_plus.hpp) from a model's parameters width, max_width,
// levels, z_dim, w_dim and likelihood_scale, for a C×S×S view: an image side that does not halve
// `levels` times is an error naming `model`. mmvae-plus, idmvae and dcmem build theirs with it.
inline mvrl::nn::MmvaePlusOptions modality_vae_options(const std::string& model, const mvrl::Params& p, const std::vector<int64_t>& shape,
                                                       mvrl::nn::Family family, bool decoder_sigmoid) {
    auto network = mvrl::nn::LeakyResNetOptions(shape[0], shape[1]).width(p.get_int("width")).max_width(p.get_int("max_width")).levels(p.get_int("levels"));
    try {
        network.check();
    } catch (const std::invalid_argument& e) {
        throw mvrl::ParamError(model + ": " + e.what());
    }
    return mvrl::nn::MmvaePlusOptions(network, p.get_int("z_dim"), p.get_int("w_dim"))
        .latent_family(family)
        .likelihood_scale(p.get_float("likelihood_scale"))
        .decoder_sigmoid(decoder_sigmoid);
}

// View m of a batch as float32 images of `shape` (C×S×S) on `device`; flat rows (N×C·S·S) are
// reshaped too. mmvae-plus, idmvae and dcmem read their modalities with these.
inline torch::Tensor image_view(const mvrl::TensorMap& batch, size_t m, const std::vector<int64_t>& shape, const torch::Device& device) {
    return mvrl::require_input(batch, "view" + std::to_string(m)).to(device, torch::kFloat32).view({-1, shape[0], shape[1], shape[2]});
}

inline std::vector<torch::Tensor> image_views(const mvrl::TensorMap& batch, const std::vector<std::vector<int64_t>>& shapes,
                                              const torch::Device& device) {
    std::vector<torch::Tensor> views;
    for (size_t m = 0; m < shapes.size(); ++m) views.push_back(image_view(batch, m, shapes[m], device));
    return views;
}

class MmvaePlusModel : public mvrl::Model {
public:
    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("epochs", 100, "training epochs (IDMVAE's PolyMNIST-Quadrant runs: 100)", 0, 100000)
            .add_int("z_dim", 32, "dimension of the shared code z", 1, 4096)
            .add_int("w_dim", 128, "dimension of each private code w_m", 1, 4096)
            .add_int("k", 1, "posterior samples K per step: 1 = the ELBO (paper); > 1 = the release's IWAE bound (m_elbo)", 1, 1024)
            .add_float("beta", 2.5, "β on the prior/posterior log-ratio of the ELBO (IDMVAE: 2.5; MMVAE+ release: 1-2.5)", 0.0, 1000.0)
            .add_string("latent_distribution", "laplace", "family of posteriors and priors (release: laplace)", {"laplace", "normal"})
            .add_float("likelihood_scale", 0.75, "fixed scale of the Laplace likelihood p(x|z, w) (release: 0.75)", 1e-3, 100.0)
            .add_bool("decoder_sigmoid", true, "sigmoid on the decoder's mean (IDMVAE's PolyMNIST code; MMVAE+ release: none)")
            .add_int("width", 64, "channels of the ResNets' first level, doubling per level (release: 64; small for CPU runs)", 1, 1024)
            .add_int("max_width", 512, "cap on the ResNets' channels (release: 512)", 1, 4096)
            .add_int("levels", 0, "halvings of the image in the ResNets; 0: as released by size (28 px: 2, else 3)", 0, 8)
            .add_float("learning_rate", 5e-4, "Adam learning rate (IDMVAE: 5e-4; MMVAE+ release: 1e-3)", 0.0, 10.0)
            .add_bool("amsgrad", false, "AMSGrad variant of Adam (MMVAE+ release: true; IDMVAE release: false)");
    }

    // `model` names the plugin in error messages.
    MmvaePlusModel(std::string model, const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx)
        : model_(std::move(model)), p_(p), beta_(p.get_float("beta")), samples_(p.get_int("k")),
          family_(mvrl::nn::family_from_name(p.get_string("latent_distribution"))), device_(ctx.device()) {
        torch::manual_seed(int64_t(ctx.seed()));
        if (info.views.size() < 2) throw mvrl::ParamError(model_ + " needs at least two views (modalities); got " + info.shapes());
        for (size_t m = 0; m < info.views.size(); ++m) {
            const auto& shape = info.views[m].shape;
            if (shape.size() != 3 || shape[1] != shape[2])
                throw mvrl::ParamError(model_ + " needs views that are square images C×S×S; got " + info.shapes());
            shapes_.push_back(shape);
            vaes_.push_back(net_->register_module("vae" + std::to_string(m), mvrl::nn::ModalityVae(modality_vae_options(model_, p_, shape, family_, p_.get_bool("decoder_sigmoid")))));
        }
        net_->to(device_);
        mvrl::nn::use_channels_last_on_cpu(*net_, device_);
        optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), adam_options());
        checkpoint_.add("net", net_).add("adam", *optimizer_);
    }

    std::vector<mvrl::Stage> stages() { return {{"elbo", p_.get_int("epochs")}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        NamedLosses named = losses(input_views(batch));
        optimizer_->zero_grad();
        named.front().second.backward();
        optimizer_->step();
        return mvrl::nn::step_scalars(named);
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        torch::NoGradGuard no_grad;
        auto views = input_views(batch);
        mvrl::TensorMap out;
        std::vector<torch::Tensor> shared, parts;
        for (size_t m = 0; m < vaes_.size(); ++m) {
            auto q = vaes_[m]->posterior(views[m]);
            shared.push_back(out["z" + std::to_string(m)] = q.z.mean());
            out["w" + std::to_string(m)] = q.w.mean();
        }
        parts.push_back(out["z"] = torch::stack(shared).mean(0));
        for (size_t m = 0; m < vaes_.size(); ++m) parts.push_back(out["w" + std::to_string(m)]);
        out["concat"] = torch::cat(parts, 1);
        return out;
    }

    mvrl::TensorMap generate(const mvrl::json& request, const mvrl::TensorMap& inputs) {
        torch::NoGradGuard no_grad;
        const std::string mode = request.value("mode", std::string("cross"));
        if (mode == "cross") return cross_generation(request, inputs);
        if (mode == "private") return private_generation(request, inputs);
        if (mode == "unconditional") return unconditional_generation(request);
        if (mode == "decode") return decode_given_codes(inputs);
        throw mvrl::ParamError(model_ + " generate: unknown mode '" + mode + "' (cross, private, unconditional or decode)");
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

protected:
    // The step's losses on the batch's views; "loss" first. MMVAE+: its objective's terms.
    virtual NamedLosses losses(const std::vector<torch::Tensor>& views) {
        return objective_losses(mvrl::nn::mmvae_plus_objective(vaes_, views, beta_, samples_));
    }

    // The objective's terms as reported: "loss" and its parts.
    static NamedLosses objective_losses(const mvrl::nn::MmvaePlusTerms& terms) {
        return {{"loss", terms.loss},
                {"reconstruction", terms.reconstruction},
                {"cross_reconstruction", terms.cross_reconstruction},
                {"kl", terms.kl}};
    }

    // n samples of the shared code from the prior used for generation (MMVAE+: the fixed p(z)).
    virtual torch::Tensor sample_shared_prior(int64_t n) {
        return mvrl::nn::unit_prior(family_, p_.get_int("z_dim"), latent_options()).rsample({n}).squeeze(1);
    }

    // n samples of modality m's private code from the prior used for generation (the fixed p(w_m)).
    virtual torch::Tensor sample_private_prior(size_t /*m*/, int64_t n) {
        return mvrl::nn::unit_prior(family_, p_.get_int("w_dim"), latent_options()).rsample({n}).squeeze(1);
    }

    // Parameters a derived model adds after construction, trained by the same Adam (their own
    // param group, saved with the optimiser's state); they must be registered under net_ too.
    void add_trained_parameters(const std::vector<torch::Tensor>& parameters) {
        optimizer_->add_param_group(torch::optim::OptimizerParamGroup(parameters, std::make_unique<torch::optim::AdamOptions>(adam_options())));
    }

    torch::TensorOptions latent_options() const { return torch::TensorOptions().device(device_); }
    int64_t modalities() const { return int64_t(vaes_.size()); }

    std::string model_;
    mvrl::Params p_;
    double beta_;
    int64_t samples_;  // K
    mvrl::nn::Family family_;
    torch::Device device_;
    std::vector<std::vector<int64_t>> shapes_;
    std::shared_ptr<torch::nn::Module> net_ = std::make_shared<torch::nn::Module>();
    std::vector<mvrl::nn::ModalityVae> vaes_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    mvrl::nn::Checkpoint checkpoint_;

private:
    torch::optim::AdamOptions adam_options() const {
        return torch::optim::AdamOptions(p_.get_float("learning_rate")).amsgrad(p_.get_bool("amsgrad"));
    }

    // The request's "given" modality indices, checked.
    std::vector<size_t> given_modalities(const mvrl::json& request, const std::string& mode) const {
        if (!request.contains("given") || !request.at("given").is_array() || request.at("given").empty())
            throw mvrl::ParamError(model_ + " generate: mode '" + mode + "' needs \"given\": a non-empty list of modality indices");
        std::vector<size_t> given;
        for (const auto& index : request.at("given")) {
            const int64_t m = index.is_number_integer() ? index.get<int64_t>() : -1;
            if (m < 0 || m >= modalities())
                throw mvrl::ParamError(model_ + " generate: modality " + index.dump() + " does not exist (0.." + std::to_string(modalities() - 1) + ")");
            given.push_back(size_t(m));
        }
        return given;
    }

    // z from the uniform mixture of the given modalities' posteriors, w from p(w) or r(w).
    mvrl::TensorMap cross_generation(const mvrl::json& request, const mvrl::TensorMap& inputs) {
        std::vector<mvrl::nn::Distribution> experts;
        for (size_t m : given_modalities(request, "cross")) experts.push_back(vaes_[m]->posterior(view_input(inputs, m)).z);
        const std::string w_source = request.value("w", std::string("prior"));
        if (w_source != "prior" && w_source != "auxiliary")
            throw mvrl::ParamError(model_ + " generate: \"w\" is 'prior' or 'auxiliary', not '" + w_source + "'");
        return decode_all(mvrl::nn::mixture_rsample(experts), w_source == "auxiliary");
    }

    // Each given modality from its own w ~ q(w_m|x_m) and a z ~ p(z).
    mvrl::TensorMap private_generation(const mvrl::json& request, const mvrl::TensorMap& inputs) {
        mvrl::TensorMap out;
        for (size_t m : given_modalities(request, "private")) {
            torch::Tensor w = vaes_[m]->posterior(view_input(inputs, m)).w.rsample();
            out["view" + std::to_string(m)] = vaes_[m]->decode(sample_shared_prior(w.size(0)), w).clamp(0, 1);
        }
        return out;
    }

    mvrl::TensorMap unconditional_generation(const mvrl::json& request) {
        const int64_t n = request.value("n", int64_t(0));
        if (n < 1) throw mvrl::ParamError(model_ + " generate: mode 'unconditional' needs \"n\" ≥ 1, the number of samples");
        return decode_all(sample_shared_prior(n), false);
    }

    mvrl::TensorMap decode_all(const torch::Tensor& z, bool auxiliary_w) {
        mvrl::TensorMap out;
        const int64_t n = z.size(0);
        for (size_t m = 0; m < vaes_.size(); ++m) {
            torch::Tensor w = auxiliary_w ? vaes_[m]->auxiliary_prior().rsample({n}).squeeze(1) : sample_private_prior(m, n);
            out["view" + std::to_string(m)] = vaes_[m]->decode(z, w).clamp(0, 1);
        }
        return out;
    }

    mvrl::TensorMap decode_given_codes(const mvrl::TensorMap& inputs) {
        torch::Tensor z = mvrl::require_input(inputs, "z").to(device_, torch::kFloat32);
        mvrl::TensorMap out;
        for (size_t m = 0; m < vaes_.size(); ++m) {
            auto w = inputs.find("w" + std::to_string(m));
            if (w != inputs.end()) out["view" + std::to_string(m)] = vaes_[m]->decode(z, w->second.to(device_, torch::kFloat32)).clamp(0, 1);
        }
        if (out.empty()) throw mvrl::ParamError(model_ + " generate: mode 'decode' needs at least one \"w<m>\" beside \"z\"");
        return out;
    }

protected:
    torch::Tensor view_input(const mvrl::TensorMap& batch, size_t m) const { return image_view(batch, m, shapes_[m], device_); }

    std::vector<torch::Tensor> input_views(const mvrl::TensorMap& batch) const { return image_views(batch, shapes_, device_); }
};

}  // namespace mvrl::models
