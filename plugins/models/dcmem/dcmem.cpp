// dcmem: DCMEM ("Disentangled Cross-Modal Representation Learning with Enhanced Mutual
// Supervision", Gao, Chen, Wang, Guo & Liang, NeurIPS 2025 poster), for two modalities s and t.
// Per modality a shared encoder q(z|x), a private encoder q(w|x) with an N(0, I) prior and a
// decoder p(x|z, w): the networks of mvrl/nn/mmvae_plus.hpp (the MMVAE+ release's ResNets, Laplace
// likelihood of fixed scale 0.75). The loss per batch, a mean over its samples:
//
//   paired (s, t):  -L_{s→t} - L_{t→s} + β (L_IB(s→t) + L_IB(t→s))      + α L_align over the pairs
//   s alone:        -L_s(s) with the anchor prior p_u(z_s) = 1/A sum_a q_t(z | u_a)
//   t alone:        -L_t(t), the same with s's encoder at s's anchors
//
// The poster's "Total Loss" sums the three sets; a sample's set follows the batch's "present".
//  - L_{s→t}: MEME's bound with a private code (mvrl/nn/mutual_supervision.hpp): t's shared encoder
//    is the prior of z_s, t's decoder the cross-modal term q(t|z_s), log q(t|s) by log-mean-exp
//    over K samples with a stop-gradient importance weight, times λ.
//  - L_IB, the poster's "max I(z_s; t; s) - I(z_s; w_s)". Reading: z_s is computed from s alone,
//    so I(z_s; t | s) = 0 and the co-information I(z_s; t; s) is I(z_s; t), bounded below (up to
//    the constant H(t)) by E log q(t|z_s), t's decoder on z_s; I(z_s; w_s) is bounded above by CLUB
//    (Cheng et al., ICML 2020; mvrl/nn/club.hpp) on the samples of z_s and w_s, with its own q(w|z)
//    fitted each step. So L_IB = -E log q(t|z_s) + CLUB(z_s; w_s).
//  - L_align, the poster's "max I(z_s; z_t)": InfoNCE (mvrl/nn/infonce.hpp) between the shared
//    posterior means, cosine over a temperature, both directions averaged.
//  - L_s: the single-modality ELBO E log p(s|z_s, w_s) - KL(q(w_s|s) || p(w)) - E[log q(z_s|s) -
//    log p_u(z_s)], the last by one sample (the mixture has no closed form). The anchors u^t are
//    learned pseudo-inputs (VampPrior, Tomczak & Welling 2018), copied from the first paired t's
//    the model sees (anchors = "learned"), or the current batch's paired t's ("batch"; a batch
//    without one falls back to p(z) = N(0, I)). L_s reaches t's networks only through q_t(z|u).
//
// Every weight the poster leaves unstated is a parameter, with these defaults: λ = 1 (the bound),
// β = 1, α = 1 (the poster sweeps 0.01–100), temperature 0.5, K = 4, 32 anchors, t's private code
// for q(t|z_s) drawn from the prior (as MMVAE+'s cross-reconstruction; "posterior" lets w_t carry
// what z_s should, "zero" decodes the mean private code).
#include <mvrl/models/mmvae_plus.hpp>  // modality_vae_options, image_views
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/nn/club.hpp>
#include <mvrl/nn/infonce.hpp>
#include <mvrl/nn/mutual_supervision.hpp>
#include <mvrl/nn/training.hpp>
#include <mvrl/plugin.hpp>

#include <array>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace nn = mvrl::nn;
using NamedLosses = std::vector<std::pair<std::string, torch::Tensor>>;

// Rows of every tensor in `xs` at `rows`.
std::vector<torch::Tensor> rows_of(const std::vector<torch::Tensor>& xs, const torch::Tensor& rows) {
    std::vector<torch::Tensor> out;
    for (const auto& x : xs) out.push_back(x.index_select(0, rows));
    return out;
}

class Dcmem : public mvrl::Model {
public:
    static constexpr const char* name = "dcmem";
    static constexpr const char* version = "1.1.0";  // 1.1: view_shapes
    static constexpr const char* description =
        "DCMEM (Gao et al., NeurIPS 2025 poster): shared and private codes per modality, MEME's mutual-supervision bound both ways, "
        "an information-bottleneck term (cross-modal likelihood - CLUB(z; w)), InfoNCE alignment of the shared codes, and "
        "single-modality ELBOs with an anchor (VampPrior) prior for samples with a modality missing. encode: z0, z1, w0, w1, "
        "z (the observed modalities' mean shared code) and joint";
    static constexpr bool handles_missing_views = true;

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("epochs", 50, "training epochs", 0, 100000)
            .add_int("z_dim", 16, "dimension of each shared code z_m", 1, 4096)
            .add_int("w_dim", 16, "dimension of each private code w_m", 1, 4096)
            .add_int("k", 4, "samples K of z_s for log q(t|s) and the importance weights (MEME's log-mean-exp)", 1, 1024)
            .add_float("lambda", 1.0, "λ on log q(t|s), the cross-modal reconstruction (1 = the bound; >1 trains the cross path in it)", 0.0, 1e6)
            .add_float("beta", 1.0, "β on L_IB = -E log q(t|z_s) + CLUB(z_s; w_s) per direction (0 = w/o L_IB)", 0.0, 1e6)
            .add_float("alpha", 1.0, "α on the InfoNCE alignment of the shared codes (poster: 0.01-100; 0 = w/o alignment). The contrast "
                      "is at most log(batch) nats beside reconstructions of thousands: on 32-px PolyMNIST-Quadrant α ≤ 50 left it "
                      "at log(batch), α = 500-2000 learned the digit", 0.0, 1e6)
            .add_float("temperature", 0.5, "temperature of the alignment's cosine scores", 1e-3, 100.0)
            .add_bool("alignment_centered", true, "subtract the batch mean from the shared means before the cosine (not in the poster: "
                      "uncentred, the means of a fresh network all point one way and the contrast starts, and stays, at log N)")
            .add_string("cross_private", "prior", "t's private code in q(t|z_s): prior (a draw of p(w)), posterior (q(w_t|t)) or zero",
                        {"prior", "posterior", "zero"})
            .add_int("anchors", 32, "anchors A of the prior p_u(z) for a sample whose other modality is missing", 1, 100000)
            .add_string("anchor_source", "learned", "learned pseudo-inputs (initialised from paired samples) or the batch's paired samples",
                        {"learned", "batch"})
            .add_string("joint", "concat", "the joint representation: concat [z0, z1] or mean (z0 + z1) / 2; a missing modality's "
                        "shared code is the observed one's", {"concat", "mean"})
            .add_string("latent_distribution", "normal", "family of posteriors and priors (poster: Gaussian)", {"normal", "laplace"})
            .add_float("likelihood_scale", 0.75, "fixed scale of the Laplace likelihood p(x|z, w) (MMVAE+ release: 0.75)", 1e-3, 100.0)
            .add_int("width", 16, "channels of the ResNets' first level, doubling per level (MMVAE+ release: 64)", 1, 1024)
            .add_int("max_width", 512, "cap on the ResNets' channels", 1, 4096)
            .add_int("levels", 0, "halvings of the image in the ResNets; 0: by size (28 px: 2, else 3)", 0, 8)
            .add_string("view_shapes", "", "C×S×S of each modality when the dataset's views are flat vectors (a .mat file's "
                        "N×d matrices), e.g. \"1x28x28,3x32x32\" for MNIST-SVHN; empty: the dataset's shapes")
            .add_int("club_hidden", 64, "hidden width of CLUB's q(w|z)", 1, 8192)
            .add_float("learning_rate", 1e-3, "Adam learning rate (networks, anchors and CLUB)", 0.0, 10.0);
    }

    Dcmem(const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx)
        : p_(p), K_(p.get_int("k")), lambda_(p.get_float("lambda")), beta_(p.get_float("beta")), alpha_(p.get_float("alpha")),
          temperature_(p.get_float("temperature")), family_(nn::family_from_name(p.get_string("latent_distribution"))),
          device_(ctx.device()) {
        torch::manual_seed(int64_t(ctx.seed()));
        if (info.views.size() != 2) throw mvrl::ParamError("dcmem needs exactly two views (modalities s and t); got " + info.shapes());
        const auto given_shapes = view_shapes(p.get_string("view_shapes"), info);
        for (size_t m = 0; m < 2; ++m) {
            const auto& shape = given_shapes.empty() ? info.views[m].shape : given_shapes[m];
            if (shape.size() != 3 || shape[1] != shape[2])
                throw mvrl::ParamError("dcmem needs views that are square images C×S×S; got " + info.shapes() +
                                       (given_shapes.empty() ? " (flat views: give their image shapes in view_shapes)" : ""));
            shapes_.push_back(shape);
            vaes_.push_back(net_->register_module("vae" + std::to_string(m), nn::ModalityVae(mvrl::models::modality_vae_options(name, p, shape, family_, true))));
            clubs_.push_back(net_->register_module("club" + std::to_string(m),
                                                   nn::Club(nn::ClubOptions(p.get_int("z_dim"), p.get_int("w_dim")).hidden(p.get_int("club_hidden")))));
            std::vector<int64_t> anchor_shape = {p.get_int("anchors")};
            anchor_shape.insert(anchor_shape.end(), shape.begin(), shape.end());
            anchors_[m] = net_->register_parameter("anchors" + std::to_string(m), torch::rand(anchor_shape));
        }
        anchors_ready_ = net_->register_buffer("anchors_ready", torch::zeros({2}, torch::kUInt8));
        net_->to(device_);
        mvrl::nn::use_channels_last_on_cpu(*net_, device_);
        refresh_handles();
        std::vector<torch::Tensor> model_parameters, club_parameters;
        for (const auto& item : net_->named_parameters())
            (item.key().rfind("club", 0) == 0 ? club_parameters : model_parameters).push_back(item.value());
        optimizer_ = std::make_unique<torch::optim::Adam>(model_parameters, torch::optim::AdamOptions(p.get_float("learning_rate")));
        club_optimizer_ = std::make_unique<torch::optim::Adam>(club_parameters, torch::optim::AdamOptions(p.get_float("learning_rate")));
        checkpoint_.add("net", net_).add("adam", *optimizer_).add("club_adam", *club_optimizer_);
    }

    std::vector<mvrl::Stage> stages() { return {{"train", p_.get_int("epochs")}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        auto views = input_views(batch);
        auto present = present_of(batch, views[0].size(0));
        NamedLosses named = losses(views, present);
        optimizer_->zero_grad();
        named.front().second.backward();
        optimizer_->step();
        fit_clubs();
        return nn::step_scalars(named);
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        torch::NoGradGuard no_grad;
        auto views = input_views(batch);
        auto present = present_of(batch, views[0].size(0));
        mvrl::TensorMap out;
        std::vector<torch::Tensor> shared;
        for (size_t m = 0; m < 2; ++m) {
            auto q = vaes_[m]->posterior(views[m]);
            shared.push_back(out["z" + std::to_string(m)] = q.z.mean());
            out["w" + std::to_string(m)] = q.w.mean();
        }
        // A missing modality's shared code is the observed one's: the codes are aligned, and a code
        // computed from a zeroed image would say nothing.
        torch::Tensor has0 = present[0].unsqueeze(1), has1 = present[1].unsqueeze(1);
        torch::Tensor z0 = torch::where(has0, shared[0], shared[1]), z1 = torch::where(has1, shared[1], shared[0]);
        out["z"] = (z0 + z1) / 2;
        out["joint"] = p_.get_string("joint") == "mean" ? out["z"] : torch::cat({z0, z1}, 1);
        return out;
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) {
        checkpoint_.load(path, device_);
        refresh_handles();
    }

private:
    // The step's losses, "loss" first; each term a mean over the batch's B samples (a set absent
    // from the batch adds zero).
    NamedLosses losses(const std::vector<torch::Tensor>& views, const std::vector<torch::Tensor>& present) {
        const int64_t B = views[0].size(0);
        torch::Tensor both = present[0] & present[1];
        torch::Tensor paired = torch::nonzero(both).flatten();
        torch::Tensor only0 = torch::nonzero(present[0] & ~present[1]).flatten(), only1 = torch::nonzero(present[1] & ~present[0]).flatten();
        auto zero = torch::zeros({}, views[0].options());
        torch::Tensor bi = zero, ib = zero, align = zero, single = zero, reconstruction = zero, cross = zero, kl = zero;
        if (paired.numel() > 0) {
            auto x = rows_of(views, paired);
            std::vector<nn::ModalityPosterior> q = {vaes_[0]->posterior(x[0]), vaes_[1]->posterior(x[1])};
            remember_anchors(x);
            for (size_t s = 0; s < 2; ++s) {
                const size_t t = 1 - s;
                auto terms = nn::mutual_supervision(vaes_[s], vaes_[t], q[s], q[t].z, x[s], x[t], cross_private(q[t], x[t].size(0)), K_, lambda_);
                bi = bi - terms.elbo.sum() / double(B);
                reconstruction = reconstruction + terms.reconstruction.sum() / double(B);
                cross = cross + terms.cross.sum() / double(B);
                kl = kl + (terms.shared_kl + terms.private_kl).sum() / double(B);
                if (beta_ > 0) {
                    torch::Tensor z = terms.z[0], w = terms.w[0];
                    ib = ib + (-terms.cross_likelihood.sum() + clubs_[s]->upper_bound(z, w) * double(x[s].size(0))) / double(B);
                    club_inputs_[s] = {z.detach(), w.detach()};
                }
            }
            if (alpha_ > 0) align = alignment(q[0].z.mean(), q[1].z.mean()) * double(paired.numel()) / double(B);
        }
        for (size_t s = 0; s < 2; ++s) {
            torch::Tensor rows = s == 0 ? only0 : only1;
            if (rows.numel() == 0) continue;
            single = single + single_modality_loss(s, views[s].index_select(0, rows), views[1 - s], both) / double(B);
        }
        torch::Tensor loss = bi + beta_ * ib + alpha_ * align + single;
        return {{"loss", loss}, {"paired", bi}, {"information_bottleneck", ib}, {"alignment", align}, {"single", single},
                {"reconstruction", reconstruction}, {"cross", cross}, {"kl", kl}};
    }

    // t's private code for q(t|z_s), K·B rows.
    torch::Tensor cross_private(const nn::ModalityPosterior& q_t, int64_t rows) {
        const std::string source = p_.get_string("cross_private");
        const int64_t w_dim = p_.get_int("w_dim");
        if (source == "posterior") return q_t.w.rsample({K_}).reshape({K_ * rows, w_dim});
        if (source == "zero") return torch::zeros({K_ * rows, w_dim}, latent_options());
        return nn::unit_prior(family_, w_dim, latent_options()).rsample({K_ * rows}).squeeze(1);
    }

    // InfoNCE between the two modalities' shared means, both directions (the loss, ≥ 0 for
    // the bound log N - loss on I(z_s; z_t)).
    torch::Tensor alignment(const torch::Tensor& z0, const torch::Tensor& z1) const {
        namespace F = torch::nn::functional;
        auto unit = F::NormalizeFuncOptions().dim(1);
        const bool centered = p_.get_bool("alignment_centered");
        torch::Tensor a = centered ? z0 - z0.mean(0, true) : z0, b = centered ? z1 - z1.mean(0, true) : z1;
        torch::Tensor scores = F::normalize(a, unit).matmul(F::normalize(b, unit).t()) / temperature_;
        return 0.5 * (nn::info_nce_loss(scores) + nn::info_nce_loss(scores.t()));
    }

    // -L_s summed over the given rows of modality s whose other modality is missing.
    torch::Tensor single_modality_loss(size_t s, const torch::Tensor& x, const torch::Tensor& other_views, const torch::Tensor& both) {
        auto q = vaes_[s]->posterior(x);
        torch::Tensor z = q.z.rsample(), w = q.w.rsample();
        torch::Tensor log_likelihood = vaes_[s]->log_likelihood(vaes_[s]->decode(z, w), x);
        torch::Tensor private_kl = nn::kl_divergence(q.w, nn::unit_prior(family_, p_.get_int("w_dim"), latent_options())).sum(-1);
        torch::Tensor shared_kl = q.z.log_prob(z).sum(-1) - anchor_prior_log_prob(s, z, other_views, both);
        return (-log_likelihood + private_kl + shared_kl).sum();
    }

    // log p_u(z) for a sample of modality s whose other modality t is missing: the mixture of t's
    // shared posteriors at t's anchors.
    torch::Tensor anchor_prior_log_prob(size_t s, const torch::Tensor& z, const torch::Tensor& t_views, const torch::Tensor& both) {
        const size_t t = 1 - s;
        torch::Tensor anchors;
        if (p_.get_string("anchor_source") == "batch") {
            torch::Tensor rows = torch::nonzero(both).flatten();
            if (rows.numel() == 0) return nn::unit_prior(family_, p_.get_int("z_dim"), latent_options()).log_prob(z).sum(-1);
            anchors = t_views.index_select(0, rows);
        } else {
            anchors = anchors_[t];
        }
        return nn::row_mixture_log_prob(vaes_[t]->shared_posterior(anchors), z);
    }

    // Learned anchors start as copies of the first paired samples of their modality (cycled to A).
    void remember_anchors(const std::vector<torch::Tensor>& paired_views) {
        if (p_.get_string("anchor_source") != "learned") return;
        torch::NoGradGuard no_grad;
        for (size_t m = 0; m < 2; ++m) {
            // The flag is read from its buffer (a device sync) only until it is known to be set.
            if (anchors_copied_[m] || (anchors_copied_[m] = anchors_ready_[int64_t(m)].item<uint8_t>() != 0)) continue;
            const int64_t A = anchors_[m].size(0);
            torch::Tensor rows = torch::arange(A, paired_views[m].options().dtype(torch::kLong)) % paired_views[m].size(0);
            anchors_[m].copy_(paired_views[m].index_select(0, rows));
            anchors_ready_[int64_t(m)].fill_(1);
            anchors_copied_[m] = true;
        }
    }

    // CLUB's q(w|z) follows the codes: one step on this step's (detached) samples.
    void fit_clubs() {
        std::vector<torch::Tensor> fits;
        for (size_t s = 0; s < 2; ++s)
            if (club_inputs_[s].first.defined()) fits.push_back(clubs_[s]->learning_loss(club_inputs_[s].first, club_inputs_[s].second));
        for (auto& inputs : club_inputs_) inputs = {};
        if (fits.empty()) return;
        club_optimizer_->zero_grad();
        torch::stack(fits).sum().backward();
        club_optimizer_->step();
    }

    // The anchors' and the flag's tensors after the net moved or loaded (register_* returns the
    // tensor at registration; load replaces the module's tensors in place, so this is a refresh).
    void refresh_handles() {
        auto parameters = net_->named_parameters();
        for (size_t m = 0; m < 2; ++m) anchors_[m] = parameters["anchors" + std::to_string(m)];
        anchors_ready_ = net_->named_buffers()["anchors_ready"];
        anchors_copied_ = {false, false};  // a loaded checkpoint says, once
    }

    // view_shapes "CxSxS,CxSxS": one image shape per view, each as many numbers as the view holds.
    static std::vector<std::vector<int64_t>> view_shapes(const std::string& text, const mvrl::DatasetInfo& info) {
        std::vector<std::vector<int64_t>> shapes;
        if (text.empty()) return shapes;
        const std::string bad = "dcmem: view_shapes = \"" + text + "\" ";
        std::stringstream views(text);
        for (std::string view; std::getline(views, view, ',');) {
            std::vector<int64_t> shape;
            std::stringstream dims(view);
            for (std::string d; std::getline(dims, d, 'x');) {
                if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos || d.size() > 6)
                    throw mvrl::ParamError(bad + "is not one CxSxS per view, comma separated (e.g. \"1x28x28,3x32x32\")");
                shape.push_back(std::stoll(d));
            }
            shapes.push_back(shape);
        }
        if (shapes.size() != info.views.size())
            throw mvrl::ParamError(bad + "gives " + std::to_string(shapes.size()) + " shapes for the dataset's " +
                                   std::to_string(info.views.size()) + " views (" + info.shapes() + ")");
        for (size_t m = 0; m < shapes.size(); ++m) {
            int64_t given = 1, held = 1;
            for (int64_t d : shapes[m]) given *= d;
            for (int64_t d : info.views[m].shape) held *= d;
            if (given != held)
                throw mvrl::ParamError(bad + "gives view " + std::to_string(m) + " " + std::to_string(given) + " numbers, but it holds " +
                                       std::to_string(held) + " (" + info.shapes() + ")");
        }
        return shapes;
    }

    std::vector<torch::Tensor> input_views(const mvrl::TensorMap& batch) const { return mvrl::models::image_views(batch, shapes_, device_); }

    // Per modality, which rows observe it (all, when the batch has no "present").
    std::vector<torch::Tensor> present_of(const mvrl::TensorMap& batch, int64_t n) const {
        auto it = batch.find("present");
        if (it == batch.end()) return {torch::ones({n}, latent_options().dtype(torch::kBool)), torch::ones({n}, latent_options().dtype(torch::kBool))};
        torch::Tensor present = it->second.to(device_) != 0;
        return {present.select(1, 0), present.select(1, 1)};
    }

    torch::TensorOptions latent_options() const { return torch::TensorOptions().device(device_); }

    mvrl::Params p_;
    int64_t K_;
    double lambda_, beta_, alpha_, temperature_;
    nn::Family family_;
    torch::Device device_;
    std::vector<std::vector<int64_t>> shapes_;
    std::shared_ptr<torch::nn::Module> net_ = std::make_shared<torch::nn::Module>();
    std::vector<nn::ModalityVae> vaes_;
    std::vector<nn::Club> clubs_;
    std::vector<torch::Tensor> anchors_{2};
    torch::Tensor anchors_ready_;
    std::array<bool, 2> anchors_copied_{};  // host-side copy of anchors_ready_, once known to be set
    std::pair<torch::Tensor, torch::Tensor> club_inputs_[2];
    std::unique_ptr<torch::optim::Adam> optimizer_, club_optimizer_;
    nn::Checkpoint checkpoint_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Dcmem>())
