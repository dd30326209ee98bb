// mrdd: Multi-view Representation learning via Distilled Disentangling (Ke et al., CVPR 2024,
// arXiv:2403.10897). Two stages:
//   I  "consistent": masked cross-view prediction (MCP). One consistent encoder E_c reads every
//      view with a share of its patches zeroed; the per-view latent maps are concatenated into
//      q(c | {x̂_i}) = N(mu_c, sigma_c^2) (Eq. 2) and per-view decoders rebuild the UNMASKED views
//      from c: the ELBO L_c of Eq. 3.
//   II "specific": E_c is frozen (weights and BatchNorm statistics: eval mode) and gives c from the
//      unmasked views. Per view, a specific VAE encodes s_i ~ g(s_i | x_i); L_d is the CLUB upper
//      bound on I(s_i; c) (Eq. 5) and L_r the ELBO of x_i decoded from [c, s_i] (Eq. 6);
//      L_s = 1/v sum_i (L_d^i + L_r^i) (Eq. 7). The CLUB network q(s_i | c) is fitted by its own
//      likelihood step before each update (Cheng et al. 2020, Alg. 1).
// Readings (see shared/REFERENCES.md): the paper's stage II objective is implemented (the released
// code trains only the CLUB likelihood there); q is q(s_i | c) as Eq. 5 writes it (the code
// conditions on s); the ELBOs are per-sample expectations (squared error summed over pixels,
// averaged over the batch); reconstruction_sum = "batch" gives the code's mse_loss(sum), which
// also sums over the batch and so weakens every KL and L_d term ~batch-fold; the released stage I
// scales that sum by 0.5 (ConsistencyAE's alpha, whose default its training script never
// overrides: the configs' consistency.alpha = 1.0 is not passed), i.e. a unit-variance Gaussian
// likelihood where our default weight 1 is one of variance 1/2 (reconstruction_weight); the networks, mask
// construction and the specific KL weight 0.5 (applied once) follow the released code; Adam as the
// paper says, AdamW with the code's settings as an option; the cosine schedule decays once over a
// stage unless cosine_period sets the code's shorter period.
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/nn/club.hpp>
#include <mvrl/nn/gaussian.hpp>
#include <mvrl/nn/residual_conv.hpp>
#include <mvrl/nn/training.hpp>
#include <mvrl/plugin.hpp>

#include <cmath>

#include "patch_masks.hpp"

namespace {

using mvrl::nn::ConvAutoencoderOptions;

struct Posterior {
    torch::Tensor mu, logvar;
};

Posterior split_posterior(const torch::Tensor& both, int64_t dim) {
    auto halves = both.split(dim, 1);
    return {halves[0], halves[1]};
}

// The encoders' latent map, channels × side/2^(L-1) × side/2^(L-1), and its flat size.
struct LatentMap {
    LatentMap(const ConvAutoencoderOptions& o, int64_t side)
        : shape{o.latent_channels(), side / mvrl::nn::downsampling(o), side / mvrl::nn::downsampling(o)} {}
    int64_t size() const { return shape[0] * shape[1] * shape[2]; }
    // A batch of flat codes (from the Linear before a decoder) as latent maps.
    torch::Tensor of(const torch::Tensor& flat) const { return flat.view({flat.size(0), shape[0], shape[1], shape[2]}); }
    std::vector<int64_t> shape;
};

// Stage I network: E_c shared by all views, one decoder per view.
struct ConsistentVaeImpl : torch::nn::Module {
    ConsistentVaeImpl(const ConvAutoencoderOptions& o, int64_t views, int64_t side, int64_t c_dim) : c_dim(c_dim), latent(o, side) {
        encoder = register_module("encoder", mvrl::nn::ConvEncoder(o));
        to_posterior = register_module("to_posterior", torch::nn::Linear(views * latent.size(), 2 * c_dim));
        to_decoder_input = register_module("to_decoder_input", torch::nn::Linear(c_dim, latent.size()));
        for (int64_t v = 0; v < views; ++v) decoders.push_back(register_module("decoder" + std::to_string(v), mvrl::nn::ConvDecoder(o)));
    }

    // q(c | {x_i}) of Eq. 2: every view through the same encoder, latents concatenated.
    Posterior posterior(const std::vector<torch::Tensor>& views) {
        std::vector<torch::Tensor> latents;
        for (const auto& x : views) latents.push_back(encoder->forward(x).flatten(1));
        return split_posterior(to_posterior->forward(torch::cat(latents, 1)), c_dim);
    }

    torch::Tensor decode(size_t view, const torch::Tensor& c) { return decoders[view]->forward(latent.of(to_decoder_input->forward(c))); }

    int64_t c_dim;
    LatentMap latent;
    mvrl::nn::ConvEncoder encoder{nullptr};
    torch::nn::Linear to_posterior{nullptr}, to_decoder_input{nullptr};
    std::vector<mvrl::nn::ConvDecoder> decoders;
};
TORCH_MODULE(ConsistentVae);

// Stage II network for one view: g(s_i | x_i) and the decoder of [c, s_i] (of s_i alone when
// there is no c: the "only stage II" ablation).
struct SpecificVaeImpl : torch::nn::Module {
    SpecificVaeImpl(const ConvAutoencoderOptions& o, int64_t side, int64_t s_dim, int64_t c_dim) : s_dim(s_dim), latent(o, side) {
        encoder = register_module("encoder", mvrl::nn::ConvEncoder(o));
        to_posterior = register_module("to_posterior", torch::nn::Linear(latent.size(), 2 * s_dim));
        to_decoder_input = register_module("to_decoder_input", torch::nn::Linear(s_dim + c_dim, latent.size()));
        decoder = register_module("decoder", mvrl::nn::ConvDecoder(o));
    }

    Posterior posterior(const torch::Tensor& x) { return split_posterior(to_posterior->forward(encoder->forward(x).flatten(1)), s_dim); }

    torch::Tensor decode(const torch::Tensor& code) { return decoder->forward(latent.of(to_decoder_input->forward(code))); }

    int64_t s_dim;
    LatentMap latent;
    mvrl::nn::ConvEncoder encoder{nullptr};
    torch::nn::Linear to_posterior{nullptr}, to_decoder_input{nullptr};
    mvrl::nn::ConvDecoder decoder{nullptr};
};
TORCH_MODULE(SpecificVae);

// The squared error summed over pixels, averaged over the batch (the per-sample expectation of
// Eqs. 3 and 6), or summed over the batch too as the released code's F.mse_loss(reduction='sum')
// — which makes every KL and L_d term about batch-size times weaker. Times a weight w it is
// -log N(x; x̂, σ²I) up to a constant for σ² = 1/(2w): the papers leave σ open (Ke et al.,
// "Rethinking Multi-view Representation Learning via Distilled Disentangling", CVPR 2024,
// arXiv:2403.10897, Eqs. 3 and 6 write only log p(x|c)).
torch::Tensor reconstruction_error(const torch::Tensor& reconstruction, const torch::Tensor& x, bool per_sample) {
    torch::Tensor total = (reconstruction - x).pow(2).sum();
    return per_sample ? total / double(x.size(0)) : total;
}

struct Switches {
    bool stage_one, stage_two, mcp, ld, lr;
};

Switches read_switches(const mvrl::Params& p) {
    const std::string stages = p.get_string("train_stages");
    return {stages != "specific", stages != "consistent", p.get_bool("mcp"), p.get_bool("ld"), p.get_bool("lr")};
}

// The loss weights and the clip, read once rather than from the parameters' JSON every step.
struct LossWeights {
    explicit LossWeights(const mvrl::Params& p)
        : reconstruction(p.get_float("reconstruction_weight")), kl(p.get_float("kl_weight")), specific_kl(p.get_float("specific_kl_weight")),
          ld(p.get_float("ld_weight")), grad_clip(p.get_float("grad_clip")) {}
    double reconstruction, kl, specific_kl, ld, grad_clip;
};

class Mrdd : public mvrl::Model {
public:
    static constexpr const char* name = "mrdd";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "MRDD (Ke et al., CVPR 2024): masked cross-view prediction VAE (stage I) + CLUB-distilled view-specific VAEs "
        "(stage II). encode gives c, s0..s{V-1}, c+s0, concat and z (MRDD-cs = c+s0; c or s0 when a stage is ablated)";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_string("train_stages", "both", "stages trained: both, consistent (only stage I), specific (only stage II)",
                        {"both", "consistent", "specific"})
            .add_int("stage1_epochs", 200, "epochs of stage I (consistent)", 0, 100000)
            .add_int("stage2_epochs", 200, "epochs of stage II (specific)", 0, 100000)
            .add_bool("mcp", true, "masked cross-view prediction in stage I (false: the views are not masked; 'w/o MCP')")
            .add_bool("ld", true, "CLUB disentangling loss L_d in stage II (false: 'w/o Ld')")
            .add_bool("lr", true, "reconstruction of x_i from [c, s_i] in L_r, stage II (false: 'w/o Lr'; the KL to p(s_i) stays)")
            .add_float("mask_ratio", 0.7, "share of patches zeroed per view and step", 0.0, 0.99)
            .add_string("mask_strategy", "random", "random, block (BEiT) or grid (ordered dither)", {"random", "block", "grid"})
            .add_int("mask_patch", 2, "patch side in pixels (released code: 2 at 32 px, 4 at 64 px)", 1, 64)
            .add_int("c_dim", 10, "dimension of the consistent code c", 1, 4096)
            .add_int("s_dim", 10, "dimension of each view-specific code s_i", 1, 4096)
            .add_int("channels", 16, "base channels of the convolutional encoders/decoders", 1, 1024)
            .add_int_list("channel_multipliers", {1, 2, 4}, "channel multiplier per resolution level (3 levels at 32 px, 4 at 64 px)")
            .add_int("res_blocks", 3, "residual blocks per level (decoders use one more)", 0, 16)
            .add_int("latent_channels", 8, "channels of the encoders' latent map", 1, 1024)
            .add_string("reconstruction_sum", "sample", "squared error summed per sample and averaged over the batch (sample: the "
                        "paper's ELBO) or summed over the batch too (batch: released code)", {"sample", "batch"})
            .add_float("reconstruction_weight", 1.0, "weight of stage I's squared error in Eq. 3 (1: -log N(x; x̂, I/2) up to a "
                       "constant; released code: 0.5, its ConsistencyAE alpha, i.e. N(x; x̂, I))", 0.0, 1000.0)
            .add_float("kl_weight", 1.0, "weight of KL(q(c|x)||p(c)) in Eq. 3", 0.0, 1000.0)
            .add_float("specific_kl_weight", 0.5, "weight of the specific VAE's KL in Eq. 6 (released code: 0.5)", 0.0, 1000.0)
            .add_float("ld_weight", 1.0, "weight of L_d in Eq. 7", 0.0, 1000.0)
            .add_int("club_hidden", 100, "hidden units of the CLUB network q(s_i|c)", 1, 100000)
            .add_float("learning_rate", 5e-4, "initial learning rate of both stages", 0.0, 10.0)
            .add_string("optimizer", "adam", "adam (paper) or adamw (released code: weight decay 1e-4, betas 0.9/0.95)", {"adam", "adamw"})
            .add_int("cosine_period", 0, "epochs of the cosine schedule's half period; 0 = the stage (paper); code: epochs/10", 0, 100000)
            .add_float("grad_clip", 1.0, "gradient-norm clip in stage I (released code: 1); 0 = off", 0.0, 1e9);
    }

    Mrdd(const mvrl::Params& p, const mvrl::DatasetInfo& dataset_info, const mvrl::Context& ctx)
        : p_(p), on_(read_switches(p)), weights_(p), per_sample_(p.get_string("reconstruction_sum") == "sample"), device_(ctx.device()) {
        torch::manual_seed(int64_t(ctx.seed()));
        read_views(dataset_info);
        ConvAutoencoderOptions arch = architecture();
        if (side_ % mvrl::nn::downsampling(arch) != 0)
            throw mvrl::ParamError("mrdd: " + std::to_string(arch.multipliers().size()) + " resolution levels need a view side divisible by " +
                                   std::to_string(mvrl::nn::downsampling(arch)) + "; the views are " + std::to_string(side_) + " px");
        const int64_t c_dim = p.get_int("c_dim"), s_dim = p.get_int("s_dim");
        consistent_ = register_net("consistent", ConsistentVae(arch, views_, side_, c_dim));
        for (int64_t v = 0; v < views_; ++v) {
            specific_.push_back(register_net("specific" + std::to_string(v), SpecificVae(arch, side_, s_dim, on_.stage_one ? c_dim : 0)));
            club_.push_back(register_net("club" + std::to_string(v), mvrl::nn::Club(mvrl::nn::ClubOptions(c_dim, s_dim).hidden(p.get_int("club_hidden")))));
        }
        net_->to(device_);
        mvrl::nn::use_channels_last_on_cpu(*net_, device_);
        masker_ = std::make_unique<mrdd::PatchMasker>(mrdd::mask_strategy_from_name(p.get_string("mask_strategy")),
                                                      on_.mcp ? p.get_float("mask_ratio") : 0.0, p.get_int("mask_patch"), side_, side_,
                                                      ctx.seed(), device_);
        stage_one_optimizer_ = make_optimizer(consistent_->parameters());
        std::vector<torch::Tensor> specific_params, club_params;
        for (int64_t v = 0; v < views_; ++v) {
            for (auto& t : specific_[v]->parameters()) specific_params.push_back(t);
            for (auto& t : club_[v]->parameters()) club_params.push_back(t);
        }
        stage_two_optimizer_ = make_optimizer(specific_params);
        club_optimizer_ = make_optimizer(club_params);
        checkpoint_.add("net", net_)
            .add("stage_one_optimizer", *stage_one_optimizer_)
            .add("stage_two_optimizer", *stage_two_optimizer_)
            .add("club_optimizer", *club_optimizer_);
    }

    std::vector<mvrl::Stage> stages() {
        std::vector<mvrl::Stage> plan;
        if (on_.stage_one) plan.push_back({"consistent", p_.get_int("stage1_epochs")});
        if (on_.stage_two) plan.push_back({"specific", p_.get_int("stage2_epochs")});
        return plan;
    }

    mvrl::ScalarList train_step(const std::string& stage, const mvrl::TensorMap& batch) {
        auto views = input_views(batch);
        return stage == "consistent" ? consistent_step(views) : specific_step(views);
    }

    // The cosine schedule, per stage: lr_e = lr/2 (1 + cos(pi e / T)) (CosineAnnealingLR's closed form).
    void end_epoch(const std::string& stage, int epoch) {
        const bool first = stage == "consistent";
        const int64_t stage_epochs = p_.get_int(first ? "stage1_epochs" : "stage2_epochs");
        const int64_t period = p_.get_int("cosine_period") > 0 ? p_.get_int("cosine_period") : stage_epochs;
        const double lr = 0.5 * p_.get_float("learning_rate") * (1 + std::cos(M_PI * double(epoch + 1) / double(period)));
        for (auto* optimizer : first ? std::vector<torch::optim::Optimizer*>{stage_one_optimizer_.get()}
                                     : std::vector<torch::optim::Optimizer*>{stage_two_optimizer_.get(), club_optimizer_.get()})
            for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        torch::NoGradGuard no_grad;
        net_->eval();
        auto views = input_views(batch);
        mvrl::TensorMap out;
        std::vector<torch::Tensor> all;
        if (on_.stage_one) all.push_back(out["c"] = consistent_->posterior(views).mu);
        if (on_.stage_two)
            for (int64_t v = 0; v < views_; ++v) all.push_back(out["s" + std::to_string(v)] = specific_[v]->posterior(views[v]).mu);
        if (on_.stage_one && on_.stage_two) out["c+s0"] = torch::cat({out["c"], out["s0"]}, 1);
        out["concat"] = torch::cat(all, 1);
        out["z"] = out.count("c+s0") ? out["c+s0"] : on_.stage_one ? out["c"] : out["s0"];
        net_->train();
        return out;
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

private:
    // Stage I: the negative ELBO of Eq. 3 on masked inputs, reconstructing the unmasked views.
    mvrl::ScalarList consistent_step(const std::vector<torch::Tensor>& views) {
        std::vector<torch::Tensor> masked;
        for (const auto& x : views) masked.push_back(masker_->apply(x));
        Posterior q = consistent_->posterior(masked);
        torch::Tensor c = mvrl::nn::reparameterize(q.mu, q.logvar);
        torch::Tensor reconstruction = torch::zeros({}, c.options());
        for (size_t v = 0; v < views.size(); ++v) reconstruction = reconstruction + reconstruction_error(consistent_->decode(v, c), views[v], per_sample_);
        torch::Tensor kl = mvrl::nn::kl_to_standard_normal(q.mu, q.logvar).mean();
        torch::Tensor loss = weights_.reconstruction * reconstruction + weights_.kl * kl;  // "reconstruction" reports the unweighted error
        stage_one_optimizer_->zero_grad();
        loss.backward();
        if (weights_.grad_clip > 0) mvrl::nn::clip_grad_norm(consistent_->parameters(), weights_.grad_clip);
        stage_one_optimizer_->step();
        return mvrl::nn::step_scalars({{"loss", loss}, {"reconstruction", reconstruction}, {"kl", kl}});
    }

    // Stage II: fit each q(s_i|c) on this batch, then minimise L_s of Eq. 7 over the specific VAEs.
    mvrl::ScalarList specific_step(const std::vector<torch::Tensor>& views) {
        torch::Tensor c = frozen_consistent_code(views);
        std::vector<Posterior> g;
        std::vector<torch::Tensor> s;
        for (int64_t v = 0; v < views_; ++v) {
            g.push_back(specific_[v]->posterior(views[v]));
            s.push_back(mvrl::nn::reparameterize(g[v].mu, g[v].logvar));
        }
        const bool disentangle = c.defined() && on_.ld;
        torch::Tensor club_fit = disentangle ? fit_club(c, s) : torch::zeros({}, views[0].options());
        torch::Tensor ld = torch::zeros({}, views[0].options()), lr = torch::zeros({}, views[0].options());
        for (int64_t v = 0; v < views_; ++v) {
            if (disentangle) ld = ld + club_[v]->upper_bound(c, s[v]);  // Eq. 5
            // Eq. 6. 'w/o Lr' drops the reconstruction of [c, s_i] but keeps the prior p(s_i) = N(0, I):
            // without it nothing bounds s_i and minimising the CLUB bound alone diverges.
            if (on_.lr) {
                torch::Tensor code = c.defined() ? torch::cat({c, s[v]}, 1) : s[v];
                lr = lr + reconstruction_error(specific_[v]->decode(code), views[v], per_sample_);
            }
            lr = lr + weights_.specific_kl * mvrl::nn::kl_to_standard_normal(g[v].mu, g[v].logvar).mean();
        }
        torch::Tensor loss = (weights_.ld * ld + lr) / double(views_);  // Eq. 7
        stage_two_optimizer_->zero_grad();
        if (loss.requires_grad()) loss.backward();
        stage_two_optimizer_->step();
        return mvrl::nn::step_scalars({{"loss", loss}, {"ld", ld}, {"lr", lr}, {"club_fit", club_fit}});
    }

    // One likelihood step of every q(s_i|c) on the current codes (s detached: this step trains q only).
    torch::Tensor fit_club(const torch::Tensor& c, const std::vector<torch::Tensor>& s) {
        torch::Tensor fit = torch::zeros({}, c.options());
        for (int64_t v = 0; v < views_; ++v) fit = fit + club_[v]->learning_loss(c, s[v].detach());
        club_optimizer_->zero_grad();
        fit.backward();
        club_optimizer_->step();
        club_optimizer_->zero_grad();  // L_d's gradient below reaches q too; only this step moves q
        return fit.detach();
    }

    // c from the frozen stage I encoder (eval mode: BatchNorm statistics do not drift; the mean,
    // not a sample). Undefined when stage I is ablated.
    torch::Tensor frozen_consistent_code(const std::vector<torch::Tensor>& views) {
        if (!on_.stage_one) return {};
        torch::NoGradGuard no_grad;
        consistent_->eval();
        return consistent_->posterior(views).mu;
    }

    std::vector<torch::Tensor> input_views(const mvrl::TensorMap& batch) const {
        std::vector<torch::Tensor> views;
        for (int64_t v = 0; v < views_; ++v)
            views.push_back(mvrl::require_input(batch, "view" + std::to_string(v)).to(device_, torch::kFloat32).view({-1, channels_, side_, side_}));
        return views;
    }

    void read_views(const mvrl::DatasetInfo& info) {
        views_ = int64_t(info.views.size());
        if (views_ < 1) throw mvrl::ParamError("mrdd needs a dataset with at least one view");
        const auto shape = info.views[0].shape;
        for (const auto& view : info.views)
            if (view.shape != shape || shape.size() != 3 || shape[1] != shape[2])
                throw mvrl::ParamError("mrdd needs views that are square images of one shape C×S×S (one consistent encoder reads them all); got " +
                                       info.shapes());
        channels_ = shape[0];
        side_ = shape[1];
    }

    ConvAutoencoderOptions architecture() const {
        auto multipliers = p_.get_int_list("channel_multipliers");
        if (multipliers.empty()) throw mvrl::ParamError("mrdd: channel_multipliers needs at least one level");
        return ConvAutoencoderOptions(channels_)
            .channels(p_.get_int("channels"))
            .multipliers(multipliers)
            .res_blocks(p_.get_int("res_blocks"))
            .latent_channels(p_.get_int("latent_channels"));
    }

    std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params) const {
        const double lr = p_.get_float("learning_rate");
        if (p_.get_string("optimizer") == "adamw")
            return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(lr).weight_decay(1e-4).betas({0.9, 0.95}));
        return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr));
    }

    template <class Net>
    Net register_net(const std::string& name, Net net) {
        return net_->register_module(name, net);
    }

    mvrl::Params p_;
    Switches on_;
    LossWeights weights_;
    bool per_sample_;
    torch::Device device_;
    int64_t views_ = 0, channels_ = 1, side_ = 0;
    std::shared_ptr<torch::nn::Module> net_ = std::make_shared<torch::nn::Module>();
    ConsistentVae consistent_{nullptr};
    std::vector<SpecificVae> specific_;
    std::vector<mvrl::nn::Club> club_;
    std::unique_ptr<mrdd::PatchMasker> masker_;
    std::unique_ptr<torch::optim::Optimizer> stage_one_optimizer_, stage_two_optimizer_, club_optimizer_;
    mvrl::nn::Checkpoint checkpoint_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Mrdd>())
