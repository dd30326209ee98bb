// mv2d: Multi-View Variational Distillation and its special cases (Tian et al., "Variational
// Distillation for Multi-View Learning", TPAMI 2023; VSD, VCD and VMD first in "Farewell to Mutual
// Information: Variational Distillation for Cross-Modal Person Re-Identification", CVPR 2021).
// Supervised: it trains on labelled training rows only (the host's [train] rows = "train").
//
// Per view i: an observation v_i = E_θ(x_i) (vector views: FC d→512→256 with ReLU, the paper's
// classification backbone, Sec. 5.2.2; image views: the SDK's conv encoder, then FC→256), an
// information bottleneck z_i ~ E_φ(z_i|v_i) = N(μ(v_i), diag σ²(v_i)) (reparameterised while
// training, the mean at evaluation), label heads P_{v_i} = p(y|v_i) and P_{z_i} = p(y|z_i), a joint
// head P_Z = p(y|z_1..n) and leave-one-out heads P_{Z\i}. The objective: cross-entropy on every
// head plus, by `variant`,
//   mv2d     Eq. 9:  Σ_i KL(P_{v_i} ‖ P_{z_i}) + Σ_i KL(P_Z ‖ P_{Z\i})
//   vsd      Eq. 13: Σ_i KL(P_{v_i} ‖ P_{z_i})                    (per view; P_Z only predicts)
//   vcd      Eq. 18: Σ_{i≠j} KL(P_{v_j} ‖ P_{z_i})                (for n = 2: both directions)
//   vmd      Eq. 17: Σ_{i≠j} KL(P_{z_i} ‖ P_{z_j})                (symmetric: both orders)
//   vcd+vmd  both
//   encoder  E_θ alone (Table 7's Eθ): CE on P_{v_i} and on a joint head over the v's
//   encoder+ib  E_θ + E_φ (Table 7's Eθ+Eφ): CE only
//   cib      E_θ + E_φ + β·I(v_i; z_i) (Eq. 3, the conventional IB): I bounded by the VIB
//            KL(q(z|v) ‖ N(0, I)) or estimated by CLUB (sdk mvrl/nn/club.hpp)
// Readings the paper leaves open are parameters (defaults in the schema): how P_Z and P_{Z\i} are
// built (own heads on concatenated z, or averaged z-head logits), whether the teacher side of a KL
// is detached (the authors' released VSD code detaches it), the KL's direction, stochastic or
// deterministic z, the loss weights and a temperature. With n = 1 there is no Z\i and P_Z is
// P_{z_1}, so MV2D is VSD exactly (Sec. 4.4). The paper's baseline also has a rank (metric
// learning) loss; it is not part of MV2D and is not implemented.
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/nn/club.hpp>
#include <mvrl/nn/distillation.hpp>
#include <mvrl/nn/gaussian.hpp>
#include <mvrl/nn/residual_conv.hpp>
#include <mvrl/plugin.hpp>

namespace {

namespace nn = torch::nn;

// E_θ for one view: the paper's FC d→hidden→feature with ReLU, or for an image the SDK's conv
// encoder (no residual blocks) and one FC to the feature width.
struct ViewEncoderImpl : nn::Module {
    ViewEncoderImpl(const mvrl::ViewInfo& view, int64_t hidden, int64_t feature, int64_t conv_channels) {
        if (view.shape.size() == 3) {
            auto o = mvrl::nn::ConvAutoencoderOptions(view.shape[0]).channels(conv_channels).res_blocks(0).latent_channels(conv_channels);
            conv = register_module("conv", mvrl::nn::ConvEncoder(o));
            const int64_t side = mvrl::nn::downsampling(o);
            in_width = conv_channels * (view.shape[1] / side) * (view.shape[2] / side);
        } else {
            in_width = view.size();
        }
        // Built one by one: a call's arguments are evaluated in an unspecified order (GCC: right to
        // left), and the initial weights would then depend on the compiler.
        nn::Linear first(in_width, hidden);
        nn::Linear second(hidden, feature);
        mlp = register_module("mlp", nn::Sequential(first, nn::ReLU(), second, nn::ReLU()));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor flat = conv ? conv->forward(x).flatten(1) : x.flatten(1);
        return mlp->forward(flat);
    }
    mvrl::nn::ConvEncoder conv{nullptr};
    nn::Sequential mlp{nullptr};
    int64_t in_width = 0;
};
TORCH_MODULE(ViewEncoder);

// E_φ: a diagonal Gaussian over z given v.
struct BottleneckImpl : nn::Module {
    BottleneckImpl(int64_t feature, int64_t z_dim)
        : mu(register_module("mu", nn::Linear(feature, z_dim))), logvar(register_module("logvar", nn::Linear(feature, z_dim))) {}
    nn::Linear mu, logvar;
};
TORCH_MODULE(Bottleneck);

enum class Variant { Mv2d, Vsd, Vcd, Vmd, VcdVmd, Encoder, EncoderIb, Cib };

Variant parse_variant(const std::string& v) {
    static const std::map<std::string, Variant> names = {{"mv2d", Variant::Mv2d},         {"vsd", Variant::Vsd},
                                                         {"vcd", Variant::Vcd},           {"vmd", Variant::Vmd},
                                                         {"vcd+vmd", Variant::VcdVmd},    {"encoder", Variant::Encoder},
                                                         {"encoder+ib", Variant::EncoderIb}, {"cib", Variant::Cib}};
    return names.at(v);
}

// What one forward pass gives: per view v_i, z_i (a sample or the mean), μ_i, log σ²_i, and the
// heads' logits.
struct Forward {
    std::vector<torch::Tensor> v, z, mu, logvar, v_logits, z_logits, loo_logits;
    torch::Tensor joint_logits;  // P_Z (P_V for the encoder variant)
};

struct Mv2dNetImpl : nn::Module {
    Mv2dNetImpl(const std::vector<mvrl::ViewInfo>& views, int64_t classes, const mvrl::Params& p, bool bottleneck)
        : own_joint_heads(p.get_string("joint_head") == "concat") {
        const int64_t hidden = p.get_int("hidden"), feature = p.get_int("feature_dim"), z_dim = p.get_int("z_dim");
        const auto n = int64_t(views.size());
        for (int64_t i = 0; i < n; ++i) {
            const std::string s = std::to_string(i);
            encoders.push_back(register_module("encoder" + s, ViewEncoder(views[size_t(i)], hidden, feature, p.get_int("conv_channels"))));
            v_heads.push_back(register_module("v_head" + s, nn::Linear(feature, classes)));
            if (!bottleneck) continue;
            bottlenecks.push_back(register_module("bottleneck" + s, Bottleneck(feature, z_dim)));
            z_heads.push_back(register_module("z_head" + s, nn::Linear(z_dim, classes)));
        }
        // With one view the joint head is the view's own (n = 1: MV2D is VSD, Sec. 4.4).
        if (n > 1 && own_joint_heads) {
            const int64_t width = bottleneck ? z_dim : feature;
            joint_head = register_module("joint_head", nn::Linear(n * width, classes));
            if (bottleneck)
                for (int64_t i = 0; i < n; ++i) loo_heads.push_back(register_module("loo_head" + std::to_string(i), nn::Linear((n - 1) * z_dim, classes)));
        }
    }

    // Logits of a head over the views in `members` (all, or all but one): its own head on their
    // concatenated codes, or the mean of the members' own logits.
    torch::Tensor pooled_logits(const std::vector<torch::Tensor>& codes, const std::vector<torch::Tensor>& own_logits,
                                const std::vector<size_t>& members, nn::Linear* head) {
        if (members.size() == 1) return own_logits[members[0]];
        if (head) {
            std::vector<torch::Tensor> parts;
            for (size_t m : members) parts.push_back(codes[m]);
            return (*head)->forward(torch::cat(parts, 1));
        }
        std::vector<torch::Tensor> parts;
        for (size_t m : members) parts.push_back(own_logits[m]);
        return torch::stack(parts).mean(0);
    }

    Forward forward(const std::vector<torch::Tensor>& views, bool sample) {
        Forward f;
        const size_t n = views.size();
        std::vector<size_t> all;
        for (size_t i = 0; i < n; ++i) {
            all.push_back(i);
            f.v.push_back(encoders[i]->forward(views[i]));
            f.v_logits.push_back(v_heads[i]->forward(f.v[i]));
            if (bottlenecks.empty()) continue;
            f.mu.push_back(bottlenecks[i]->mu->forward(f.v[i]));
            f.logvar.push_back(bottlenecks[i]->logvar->forward(f.v[i]));
            f.z.push_back(sample ? mvrl::nn::reparameterize(f.mu[i], f.logvar[i]) : f.mu[i]);
            f.z_logits.push_back(z_heads[i]->forward(f.z[i]));
        }
        const bool ib = !bottlenecks.empty();
        f.joint_logits = pooled_logits(ib ? f.z : f.v, ib ? f.z_logits : f.v_logits, all, joint_head ? &joint_head : nullptr);
        if (ib && n > 1)
            for (size_t i = 0; i < n; ++i) {
                std::vector<size_t> others;
                for (size_t j = 0; j < n; ++j)
                    if (j != i) others.push_back(j);
                f.loo_logits.push_back(pooled_logits(f.z, f.z_logits, others, loo_heads.empty() ? nullptr : &loo_heads[i]));
            }
        return f;
    }

    bool own_joint_heads;
    std::vector<ViewEncoder> encoders;
    std::vector<Bottleneck> bottlenecks;
    std::vector<nn::Linear> v_heads, z_heads, loo_heads;
    nn::Linear joint_head{nullptr};
};
TORCH_MODULE(Mv2dNet);

class Mv2d : public mvrl::Model {
public:
    static constexpr const char* name = "mv2d";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "MV2D (variational distillation, any number of views) and its special cases VSD, VCD, VMD; supervised";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_string("variant", "mv2d", "mv2d (Eq. 9), vsd (Eq. 13), vcd (Eq. 18), vmd (Eq. 17), vcd+vmd, and Table 7's "
                        "baselines encoder (Eθ), encoder+ib (Eθ+Eφ), cib (Eq. 3)",
                        {"mv2d", "vsd", "vcd", "vmd", "vcd+vmd", "encoder", "encoder+ib", "cib"})
            .add_int("epochs", 160, "training epochs (the paper: 160)", 0, 100000)
            .add_float("lr", 1e-3, "Adam learning rate (the paper: 1e-3)", 0.0, 10.0)
            .add_float("beta1", 0.5, "Adam β1 (the paper: 0.5)", 0.0, 0.999999)
            .add_float("beta2", 0.9, "Adam β2 (the paper: 0.9)", 0.0, 0.999999)
            .add_int_list("lr_milestones", {30, 60}, "epochs after which the learning rate is multiplied by lr_decay (the paper: 30 and 60)", 1)
            .add_float("lr_decay", 0.05, "the factor at each milestone (the paper: decays 20 times)", 0.0, 1.0)
            .add_int("hidden", 512, "E_θ's first hidden width (the paper: 512)", 1, 1 << 20)
            .add_int("feature_dim", 256, "width of v_i (the paper: 256)", 1, 1 << 20)
            .add_int("z_dim", 64, "width of the bottleneck z_i (the paper does not say for Tables 6–7; Fig. 10 sweeps it)", 1, 1 << 20)
            .add_int("conv_channels", 16, "image views: the conv encoder's width", 1, 4096)
            .add_string("joint_head", "concat", "how P_Z and P_{Z\\i} are built: concat (own heads on the concatenated z's) "
                        "or mean_logits (the mean of the members' z-head logits)", {"concat", "mean_logits"})
            .add_bool("detach_teacher", true, "no gradient through the teacher side of each KL (as the authors' VSD code)")
            .add_string("kl_direction", "teacher_student", "KL(teacher ‖ student) as the paper writes it, or student_teacher",
                        {"teacher_student", "student_teacher"})
            .add_bool("stochastic_z", true, "reparameterised z while training (false: z = μ)")
            .add_float("temperature", 1.0, "softmax temperature of the distributions in the KL terms", 1e-3, 1e3)
            .add_float("ce_weight", 1.0, "weight of the cross-entropy on every head", 0.0, 1e6)
            .add_float("distill_weight", 1.0, "weight of the distillation (KL) terms", 0.0, 1e6)
            .add_float("ib_beta", 1e-3, "cib: weight β of I(v; z)", 0.0, 1e6)
            .add_string("cib_bound", "vib", "cib: how I(v_i; z_i) is bounded: vib (KL(q(z|v) ‖ N(0, I))) or club (CLUB, "
                        "fitted each step)", {"vib", "club"});
    }

    Mv2d(const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx)
        : p_(p), variant_(parse_variant(p.get_string("variant"))), device_(ctx.device()), net_(nullptr) {
        torch::manual_seed(ctx.seed());
        views_ = info.views;
        if (views_.empty()) throw mvrl::ParamError("mv2d needs a dataset with at least one view");
        if (info.classes < 2) throw mvrl::ParamError("mv2d is supervised: the dataset must say how many classes it has (info 'classes')");
        const bool pairwise = variant_ == Variant::Vcd || variant_ == Variant::Vmd || variant_ == Variant::VcdVmd;
        if (pairwise && views_.size() < 2)
            throw mvrl::ParamError("mv2d variant '" + p.get_string("variant") + "' distils between views and needs at least 2 (the dataset has 1)");
        net_ = Mv2dNet(views_, info.classes, p, variant_ != Variant::Encoder);
        net_->to(device_);
        optimizer_ = std::make_unique<torch::optim::Adam>(
            net_->parameters(), torch::optim::AdamOptions(p.get_float("lr")).betas({p.get_float("beta1"), p.get_float("beta2")}));
        checkpoint_.add("net", net_).add("adam", *optimizer_);
        if (variant_ == Variant::Cib && p.get_string("cib_bound") == "club") {
            for (size_t i = 0; i < views_.size(); ++i)
                clubs_.push_back(mvrl::nn::Club(mvrl::nn::ClubOptions(p.get_int("feature_dim"), p.get_int("z_dim"))));
            std::vector<torch::Tensor> params;
            for (auto& c : clubs_) {
                c->to(device_);
                for (auto& t : c->parameters()) params.push_back(t);
            }
            club_optimizer_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(p.get_float("lr")));
            for (size_t i = 0; i < clubs_.size(); ++i) checkpoint_.add("club" + std::to_string(i), clubs_[i]);
            checkpoint_.add("club_adam", *club_optimizer_);
        }
    }

    std::vector<mvrl::Stage> stages() { return {{"train", p_.get_int("epochs"), "loss"}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        require_training_rows(batch);
        auto views = input_views(batch);
        torch::Tensor y = mvrl::require_input(batch, "label").to(device_, torch::kInt64).flatten();
        if (!clubs_.empty()) fit_clubs(views);
        Forward f = net_->forward(views, p_.get_bool("stochastic_z"));
        Terms t = terms(f, y);
        torch::Tensor loss = p_.get_float("ce_weight") * t.ce + p_.get_float("distill_weight") * t.distill + p_.get_float("ib_beta") * t.ib;
        optimizer_->zero_grad();
        loss.backward();
        optimizer_->step();
        const double accuracy = (f.joint_logits.argmax(1) == y).to(torch::kFloat64).mean().item<double>();
        return {{"loss", loss.item<double>()},
                {"cross_entropy", t.ce.item<double>()},
                {"kl_sufficiency", t.sufficiency.item<double>()},
                {"kl_consistency", t.consistency.item<double>()},
                {"kl_cross", t.cross.item<double>()},
                {"kl_mutual", t.mutual.item<double>()},
                {"ib", t.ib.item<double>()},
                {"train_accuracy", accuracy}};
    }

    // The paper's step schedule: ×lr_decay after each milestone epoch (kept in the checkpoint with
    // the optimiser's options).
    void end_epoch(const std::string&, int epoch) {
        for (int64_t m : p_.get_int_list("lr_milestones"))
            if (epoch + 1 == m)
                for (auto& group : optimizer_->param_groups()) {
                    auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
                    o.lr(o.lr() * p_.get_float("lr_decay"));
                }
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        torch::NoGradGuard no_grad;
        net_->eval();
        Forward f = net_->forward(input_views(batch), false);
        net_->train();
        mvrl::TensorMap out{{"pred", f.joint_logits.argmax(1, true).to(torch::kFloat32)}, {"v", torch::cat(f.v, 1)}};
        const auto& codes = f.z.empty() ? f.v : f.z;
        out["z"] = torch::cat(codes, 1);
        for (size_t i = 0; i < codes.size(); ++i) out["z" + std::to_string(i)] = codes[i];
        return out;
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

private:
    struct Terms {
        torch::Tensor ce, sufficiency, consistency, cross, mutual, distill, ib;
    };

    // KL(teacher ‖ student) between two heads' class distributions, mean over the batch.
    torch::Tensor kl(const torch::Tensor& teacher_logits, const torch::Tensor& student_logits) const {
        mvrl::nn::DistillationOptions o;
        o.temperature = p_.get_float("temperature");
        o.detach_teacher = p_.get_bool("detach_teacher");
        o.reverse = p_.get_string("kl_direction") == "student_teacher";
        return mvrl::nn::distillation_kl(teacher_logits, student_logits, o);
    }

    Terms terms(const Forward& f, const torch::Tensor& y) {
        auto zero = torch::zeros({}, f.joint_logits.options());
        Terms t{zero, zero, zero, zero, zero, zero, zero};
        const size_t n = f.v.size();
        // Cross-entropy on every head the variant has, once each (with one view the joint head is
        // the view's own).
        namespace F = torch::nn::functional;
        if (n > 1) t.ce = F::cross_entropy(f.joint_logits, y);
        for (size_t i = 0; i < n; ++i) {
            t.ce = t.ce + F::cross_entropy(f.v_logits[i], y);
            if (!f.z_logits.empty()) t.ce = t.ce + F::cross_entropy(f.z_logits[i], y);
        }
        for (const auto& loo : f.loo_logits) t.ce = t.ce + F::cross_entropy(loo, y);
        const bool sufficiency = variant_ == Variant::Mv2d || variant_ == Variant::Vsd;
        const bool cross = variant_ == Variant::Vcd || variant_ == Variant::VcdVmd;
        const bool mutual = variant_ == Variant::Vmd || variant_ == Variant::VcdVmd;
        for (size_t i = 0; i < n && !f.z_logits.empty(); ++i) {
            if (sufficiency) t.sufficiency = t.sufficiency + kl(f.v_logits[i], f.z_logits[i]);  // Eq. 9/13, first term
            if (variant_ == Variant::Mv2d && n > 1) t.consistency = t.consistency + kl(f.joint_logits, f.loo_logits[i]);  // Eq. 9
            for (size_t j = 0; j < n; ++j) {
                if (j == i) continue;
                if (cross) t.cross = t.cross + kl(f.v_logits[j], f.z_logits[i]);   // Eq. 18: P_{v_j} teaches P_{z_i}
                if (mutual) t.mutual = t.mutual + kl(f.z_logits[i], f.z_logits[j]);  // Eq. 17, both orders over (i, j)
            }
        }
        t.distill = t.sufficiency + t.consistency + t.cross + t.mutual;
        if (variant_ == Variant::Cib) t.ib = information_bound(f);
        return t;
    }

    // cib: Σ_i I(v_i; z_i), by the VIB bound (Alemi et al., ICLR 2017, Eq. 13's KL term) or CLUB.
    torch::Tensor information_bound(const Forward& f) {
        torch::Tensor total = torch::zeros({}, f.joint_logits.options());
        for (size_t i = 0; i < f.v.size(); ++i)
            total = total + (clubs_.empty() ? mvrl::nn::kl_to_standard_normal(f.mu[i], f.logvar[i]).mean()
                                            : clubs_[i]->upper_bound(f.v[i], f.z[i]));
        return total;
    }

    // CLUB's q(z|v) fitted on this batch's (v, z) pairs before the bound is read (Cheng et al., 2020).
    void fit_clubs(const std::vector<torch::Tensor>& views) {
        Forward f;
        {
            torch::NoGradGuard no_grad;
            f = net_->forward(views, p_.get_bool("stochastic_z"));
        }
        torch::Tensor loss = torch::zeros({}, f.joint_logits.options());
        for (size_t i = 0; i < clubs_.size(); ++i) loss = loss + clubs_[i]->learning_loss(f.v[i], f.z[i]);
        club_optimizer_->zero_grad();
        loss.backward();
        club_optimizer_->step();
    }

    // Supervised: a batch holding test or validation rows means their labels reached training.
    void require_training_rows(const mvrl::TensorMap& batch) const {
        auto split = batch.find("split");
        if (split == batch.end() || split->second.ne(0).any().item<bool>())
            throw mvrl::ParamError("mv2d is supervised and trains on labelled training rows only: set [train] rows = \"train\" "
                                   "(and split = [0.7, 0.2, 0.1] when the dataset gives no split), so that test and "
                                   "validation labels never reach training");
    }

    std::vector<torch::Tensor> input_views(const mvrl::TensorMap& batch) const {
        std::vector<torch::Tensor> views;
        for (size_t i = 0; i < views_.size(); ++i) {
            std::vector<int64_t> shape = {-1};
            shape.insert(shape.end(), views_[i].shape.begin(), views_[i].shape.end());
            views.push_back(mvrl::require_input(batch, "view" + std::to_string(i)).to(device_, torch::kFloat32).reshape(shape));
        }
        return views;
    }

    mvrl::Params p_;
    Variant variant_;
    torch::Device device_;
    std::vector<mvrl::ViewInfo> views_;
    Mv2dNet net_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    std::vector<mvrl::nn::Club> clubs_;
    std::unique_ptr<torch::optim::Adam> club_optimizer_;
    mvrl::nn::Checkpoint checkpoint_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Mv2d>())
