// mmvae-plus: MMVAE+ (Palumbo, Daunhawer & Vogt, "MMVAE+: Enhancing the Generative Quality of
// Multimodal VAEs without Compromises", ICLR 2023). Per modality m a shared code z and a private
// code w_m from separate encoder branches, a decoder p(x_m|z, w_m) with a Laplace likelihood of
// fixed scale 0.75, and the mixture-of-experts ELBO in which cross-reconstructions draw w from a
// learnable auxiliary prior r(w) (mvrl/nn/mmvae_plus.hpp has the objective and its equation).
//
// Readings (see shared/REFERENCES.md; paper vs the epalu/mmvaeplus and chatzikon/IDMVAE releases):
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
// generate(request, inputs) returns decoder means "view<m>" (clamped to [0, 1]):
//   {"mode": "cross", "given": [i, ...]}  inputs view<i> for the given modalities: every modality
//       decoded from z ~ q(z|X_given) (the uniform mixture of the given posteriors) and w ~ p(w)
//       (the fixed prior, as both releases' cross-generation; "w": "auxiliary" draws from r(w));
//   {"mode": "unconditional", "n": N}   z ~ p(z), w_m ~ p(w_m): one z for all M images of a sample;
//   {"mode": "decode"}                  inputs "z" and any "w<m>": view<m> from (z, w_m) as given
//       (for coherence checks that pair the z of one sample with the w of another).
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/nn/mmvae_plus.hpp>
#include <mvrl/nn/training.hpp>
#include <mvrl/plugin.hpp>

namespace {

using mvrl::nn::Distribution;
using mvrl::nn::ModalityVae;

class MmvaePlus : public mvrl::Model {
public:
    static constexpr const char* name = "mmvae-plus";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "MMVAE+ (Palumbo et al., ICLR 2023): per-modality shared z and private w encoders, Laplace likelihood (scale 0.75), "
        "mixture-of-experts ELBO with cross-reconstruction from an auxiliary prior r(w) (K = 1; IWAE for k > 1). encode gives z0..z{M-1}, "
        "w0..w{M-1} (posterior means), z (their mean over modalities) and concat = [z, w0, ..., w{M-1}]; generate: cross, "
        "unconditional, decode";

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

    MmvaePlus(const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx)
        : p_(p), beta_(p.get_float("beta")), samples_(p.get_int("k")), family_(mvrl::nn::family_from_name(p.get_string("latent_distribution"))), device_(ctx.device()) {
        torch::manual_seed(int64_t(ctx.seed()));
        if (info.views.size() < 2) throw mvrl::ParamError("mmvae-plus needs at least two views (modalities); got " + info.shapes());
        for (size_t m = 0; m < info.views.size(); ++m) {
            const auto& shape = info.views[m].shape;
            if (shape.size() != 3 || shape[1] != shape[2])
                throw mvrl::ParamError("mmvae-plus needs views that are square images C×S×S; got " + info.shapes());
            shapes_.push_back(shape);
            vaes_.push_back(net_->register_module("vae" + std::to_string(m), ModalityVae(options_for(shape))));
        }
        net_->to(device_);
        optimizer_ = std::make_unique<torch::optim::Adam>(
            net_->parameters(), torch::optim::AdamOptions(p.get_float("learning_rate")).amsgrad(p.get_bool("amsgrad")));
        checkpoint_.add("net", net_).add("adam", *optimizer_);
    }

    std::vector<mvrl::Stage> stages() { return {{"elbo", p_.get_int("epochs")}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        auto terms = mvrl::nn::mmvae_plus_objective(vaes_, input_views(batch), beta_, samples_);
        optimizer_->zero_grad();
        terms.loss.backward();
        optimizer_->step();
        return mvrl::nn::step_scalars({{"loss", terms.loss},
                                       {"reconstruction", terms.reconstruction},
                                       {"cross_reconstruction", terms.cross_reconstruction},
                                       {"kl", terms.kl}});
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
        const std::string mode = request.value("mode", std::string("cross"));
        if (mode == "cross") return cross_generation(request, inputs);
        if (mode == "unconditional") return unconditional_generation(request);
        if (mode == "decode") return decode_given_codes(inputs);
        throw mvrl::ParamError("mmvae-plus generate: unknown mode '" + mode + "' (cross, unconditional or decode)");
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

private:
    mvrl::nn::MmvaePlusOptions options_for(const std::vector<int64_t>& shape) const {
        auto network = mvrl::nn::LeakyResNetOptions(shape[0], shape[1])
                           .width(p_.get_int("width"))
                           .max_width(p_.get_int("max_width"))
                           .levels(p_.get_int("levels"));
        try {
            network.check();
        } catch (const std::invalid_argument& e) {
            throw mvrl::ParamError(std::string("mmvae-plus: ") + e.what());
        }
        return mvrl::nn::MmvaePlusOptions(network, p_.get_int("z_dim"), p_.get_int("w_dim"))
            .latent_family(family_)
            .likelihood_scale(p_.get_float("likelihood_scale"))
            .decoder_sigmoid(p_.get_bool("decoder_sigmoid"));
    }

    // z from the uniform mixture of the given modalities' posteriors, w from p(w) or r(w).
    mvrl::TensorMap cross_generation(const mvrl::json& request, const mvrl::TensorMap& inputs) {
        if (!request.contains("given") || !request.at("given").is_array() || request.at("given").empty())
            throw mvrl::ParamError("mmvae-plus generate: mode 'cross' needs \"given\": a non-empty list of modality indices");
        std::vector<Distribution> experts;
        for (const auto& index : request.at("given")) {
            const int64_t m = index.get<int64_t>();
            if (m < 0 || m >= int64_t(vaes_.size()))
                throw mvrl::ParamError("mmvae-plus generate: modality " + std::to_string(m) + " does not exist (0.." + std::to_string(vaes_.size() - 1) + ")");
            experts.push_back(vaes_[size_t(m)]->posterior(view_input(inputs, m)).z);
        }
        const std::string w_source = request.value("w", std::string("prior"));
        if (w_source != "prior" && w_source != "auxiliary")
            throw mvrl::ParamError("mmvae-plus generate: \"w\" is 'prior' or 'auxiliary', not '" + w_source + "'");
        return decode_all(mvrl::nn::mixture_rsample(experts), w_source == "auxiliary");
    }

    mvrl::TensorMap unconditional_generation(const mvrl::json& request) {
        const int64_t n = request.value("n", int64_t(0));
        if (n < 1) throw mvrl::ParamError("mmvae-plus generate: mode 'unconditional' needs \"n\" ≥ 1, the number of samples");
        auto options = torch::TensorOptions().device(device_);
        return decode_all(mvrl::nn::unit_prior(family_, p_.get_int("z_dim"), options).rsample({n}).squeeze(1), false);
    }

    mvrl::TensorMap decode_all(const torch::Tensor& z, bool auxiliary_w) {
        mvrl::TensorMap out;
        const int64_t n = z.size(0);
        for (size_t m = 0; m < vaes_.size(); ++m) {
            Distribution w_prior = auxiliary_w ? vaes_[m]->auxiliary_prior() : mvrl::nn::unit_prior(family_, p_.get_int("w_dim"), z.options());
            out["view" + std::to_string(m)] = vaes_[m]->decode(z, w_prior.rsample({n}).squeeze(1)).clamp(0, 1);
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
        if (out.empty()) throw mvrl::ParamError("mmvae-plus generate: mode 'decode' needs at least one \"w<m>\" beside \"z\"");
        return out;
    }

    torch::Tensor view_input(const mvrl::TensorMap& batch, int64_t m) const {
        const auto& shape = shapes_[size_t(m)];
        return mvrl::require_input(batch, "view" + std::to_string(m)).to(device_, torch::kFloat32).view({-1, shape[0], shape[1], shape[2]});
    }

    std::vector<torch::Tensor> input_views(const mvrl::TensorMap& batch) const {
        std::vector<torch::Tensor> views;
        for (size_t m = 0; m < vaes_.size(); ++m) views.push_back(view_input(batch, int64_t(m)));
        return views;
    }

    mvrl::Params p_;
    double beta_;
    int64_t samples_;  // K
    mvrl::nn::Family family_;
    torch::Device device_;
    std::vector<std::vector<int64_t>> shapes_;
    std::shared_ptr<torch::nn::Module> net_ = std::make_shared<torch::nn::Module>();
    std::vector<ModalityVae> vaes_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    mvrl::nn::Checkpoint checkpoint_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<MmvaePlus>())
