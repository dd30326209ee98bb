// conan: CONtrAstive fusion Network for multi-view clustering (Ke et al., shared/seeds/001_*.txt).
//
//   h_v = e_v(x_v)                      view-specific encoders (Sec. III-A)
//   z   = f(cat(h_1, ..., h_V))         fusion: Linear(V·h → h), ReLU, BN, Linear(h → h)
//   L   = L_cluster(g(z)) + λ Σ_v C(z, h_v)          Eq. 9, λ = contrast_weight (0.01)
// C is SimCLR's NT-Xent between p(z) and p(h_v) (Eq. 4, τ = 0.1) or SimSiam's stop-gradient cosine
// (Eq. 5); the clustering head g is DDC (Eq. 7) or DEC (Eq. 8), see clustering_losses.hpp.
//
// Readings chosen (REFERENCES.md, "CONAN"; the rule: the paper's method, the code's unstated details):
// - Contrast: the paper's, fused z against each view (the released SimCLR loss contrasts two halves of
//   a batch instead). NT-Xent is mvrl::nn::nt_xent: each of the 2N projected vectors has one positive.
// - SimSiam (Eq. 5): -1/2 [cos(p(z), q(h_v)) + cos(p(h_v), q(z))] with q's output constant, as the
//   paper says and the code does; q is the predictor applied on top of the projection, as in the code.
// - Encoders for image views (C×H×W): the code's CNN (conv5 32, conv5 32 + BN, pool, conv3 32, conv3
//   32 + BN, pool, flatten), which gives exactly 288 = h on 28×28. Other sizes (mnist-edge's default
//   is 32, hence 512) get a Linear(flatten → h) appended, since z and every h_v go through one
//   projection head and so must share a dimension. Vector views (d): the code's MLP d-512-512-h.
//   COIL's AlexNet encoder is not implemented: a COIL run uses the CNN.
// - Encoders, fusion, heads: Xavier-normal weights with gain √2 and zero biases, as in the code.
// - DDC's kernel is on the head's hidden layer (Linear, ReLU, BN), as in DDC and the code
//   (ddc_kernel = "z" puts it on the fused z, as the paper's text reads).
// - DEC's centroids: k-means on z of the whole dataset through the initialised network (the paper,
//   after DEC), done in a one-epoch stage "dec-init" before training (the code uses random centroids).
// - Adam lr 1e-3 with the paper's "default parameters" (weight decay 0; the code's is 1e-6, a
//   parameter), cosine annealing to zero over the training epochs, stepped per epoch (the code's
//   T_max = 5 per batch cycles every ~10 iterations: not the paper's schedule).
// - train_step's first loss is the total (Eq. 9): the host records it as the run's final loss, which
//   the paper's selection protocol ([[table]] select = "min:loss") ranks seeds by.
#include <cmath>

#include <mvrl/nn/infonce.hpp>
#include <mvrl/nn/simsiam.hpp>
#include <mvrl/nn/training.hpp>
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/plugin.hpp>

#include "clustering_losses.hpp"

namespace {

namespace nn = torch::nn;

// The CNN of the authors' code for one image view (`width` channels: 32 in the code); a
// Linear(flatten → hidden) is appended when the flattened output does not already have that size.
nn::Sequential image_encoder(const std::vector<int64_t>& shape, int64_t width, int64_t hidden) {
    const int64_t c = width;
    nn::Sequential features(nn::Conv2d(nn::Conv2dOptions(shape[0], c, 5)), nn::ReLU(),
                            nn::Conv2d(nn::Conv2dOptions(c, c, 5)), nn::BatchNorm2d(c), nn::ReLU(), nn::MaxPool2d(2),
                            nn::Conv2d(nn::Conv2dOptions(c, c, 3)), nn::ReLU(),
                            nn::Conv2d(nn::Conv2dOptions(c, c, 3)), nn::BatchNorm2d(c), nn::ReLU(), nn::MaxPool2d(2),
                            nn::Flatten());
    int64_t side_h = ((shape[1] - 8) / 2 - 4) / 2, side_w = ((shape[2] - 8) / 2 - 4) / 2;
    if (side_h < 1 || side_w < 1)
        throw mvrl::ParamError("conan: image views of " + std::to_string(shape[1]) + "×" + std::to_string(shape[2]) +
                               " are too small for the CNN encoder (at least 18×18)");
    const int64_t flat = c * side_h * side_w;
    if (flat != hidden) features->push_back(nn::Linear(flat, hidden));
    return features;
}

nn::Sequential vector_encoder(int64_t dim, int64_t hidden) {
    return nn::Sequential(nn::Linear(dim, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(), nn::Linear(512, hidden),
                          nn::ReLU());
}

struct ConanNetImpl : nn::Module {
    ConanNetImpl(const std::vector<std::vector<int64_t>>& view_shapes, const mvrl::Params& p, int64_t clusters) {
        const int64_t h = p.get_int("hidden"), views = int64_t(view_shapes.size());
        for (int64_t v = 0; v < views; ++v) {
            const auto& shape = view_shapes[size_t(v)];
            int64_t dim = 1;
            for (int64_t d : shape) dim *= d;
            encoders.push_back(register_module("encoder" + std::to_string(v),
                                               shape.size() == 3 ? image_encoder(shape, p.get_int("cnn_channels"), h) : vector_encoder(dim, h)));
        }
        fusion = register_module("fusion", nn::Sequential(nn::Linear(views * h, h), nn::ReLU(), nn::BatchNorm1d(h), nn::Linear(h, h)));
        const std::string contrast = p.get_string("contrast");
        if (contrast != "none") {
            const int64_t ph = p.get_int("projection_hidden"), pd = p.get_int("projection_dim");
            projection = register_module("projection", nn::Sequential(nn::Linear(h, ph), nn::BatchNorm1d(ph), nn::ReLU(),
                                                                      nn::Linear(ph, pd), nn::BatchNorm1d(pd)));
            if (contrast == "simsiam") {
                const int64_t qh = p.get_int("prediction_hidden");
                prediction = register_module("prediction", nn::Sequential(nn::Linear(pd, qh), nn::BatchNorm1d(qh), nn::ReLU(),
                                                                          nn::Linear(qh, pd)));
            }
        }
        if (p.get_string("head") == "ddc") {
            const int64_t hh = p.get_int("head_hidden");
            ddc_hidden = register_module("ddc_hidden", nn::Sequential(nn::Linear(h, hh), nn::ReLU(), nn::BatchNorm1d(hh)));
            ddc_output = register_module("ddc_output", nn::Linear(hh, clusters));
        } else {
            centroids = register_parameter("centroids", torch::empty({clusters, h}));
        }
        for (auto& m : modules(/*include_self=*/false)) {
            torch::Tensor* weight = nullptr;
            torch::Tensor* bias = nullptr;
            if (auto* conv = m->as<nn::Conv2d>()) weight = &conv->weight, bias = &conv->bias;
            if (auto* linear = m->as<nn::Linear>()) weight = &linear->weight, bias = &linear->bias;
            if (!weight) continue;
            torch::NoGradGuard no_grad;
            nn::init::xavier_normal_(*weight, std::sqrt(2.0));
            if (bias->defined()) bias->zero_();
        }
        if (centroids.defined()) {
            torch::NoGradGuard no_grad;
            nn::init::xavier_uniform_(centroids);
        }
    }

    std::vector<torch::Tensor> encode_views(const std::vector<torch::Tensor>& xs) {
        std::vector<torch::Tensor> hs;
        for (size_t v = 0; v < xs.size(); ++v) hs.push_back(encoders[v]->forward(xs[v]));
        return hs;
    }
    torch::Tensor fuse(const std::vector<torch::Tensor>& hs) { return fusion->forward(torch::cat(hs, 1)); }

    std::vector<nn::Sequential> encoders;
    nn::Sequential fusion{nullptr}, projection{nullptr}, prediction{nullptr}, ddc_hidden{nullptr};
    nn::Linear ddc_output{nullptr};
    torch::Tensor centroids;
};
TORCH_MODULE(ConanNet);

class Conan : public mvrl::Model {
public:
    static constexpr const char* name = "conan";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "CONAN: contrastive fusion (SimCLR/SimSiam, fused z vs each view) with a DDC or DEC clustering head";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("epochs", 100, "training epochs (paper: 100)", 0, 1000000)
            .add_int("hidden", 288, "dimension of each h_v and of z (paper: 288 on E-MNIST/E-FMNIST)", 1, 100000)
            .add_int("cnn_channels", 32, "channels of every conv layer of the image encoders (code: 32; fewer for CPU-quick runs)", 1, 4096)
            .add_int("clusters", 0, "clusters of the head; 0 = the dataset's classes", 0, 100000)
            .add_string("contrast", "simclr", "contrastive fusion: simclr (Eq. 4), simsiam (Eq. 5) or none", {"simclr", "simsiam", "none"})
            .add_string("head", "ddc", "clustering head: ddc (Eq. 7) or dec (Eq. 8)", {"ddc", "dec"})
            .add_float("contrast_weight", 0.01, "λ of Eq. 9", 0.0, 1e6)
            .add_float("temperature", 0.1, "τ of SimCLR's NT-Xent", 1e-6, 100.0)
            .add_float("lr", 1e-3, "Adam learning rate", 0.0, 10.0)
            .add_float("weight_decay", 0.0, "Adam weight decay (paper: Adam defaults; the code: 1e-6)", 0.0, 1.0)
            .add_string("schedule", "cosine", "learning rate: cosine (annealed to 0 over the epochs) or constant", {"cosine", "constant"})
            .add_int("head_hidden", 128, "DDC head's hidden layer (code: 128 E-MNIST, 100 E-FMNIST)", 1, 100000)
            .add_int("projection_hidden", 288, "projection head's hidden layer (code: 288)", 1, 100000)
            .add_int("projection_dim", 128, "projection head's output (code: the head's hidden size)", 1, 100000)
            .add_int("prediction_hidden", 128, "SimSiam predictor's hidden layer (code: 128 by default, 2 for E-MNIST)", 1, 100000)
            .add_float("rel_sigma", 0.15, "DDC kernel: σ² = rel_sigma × median squared distance", 1e-6, 100.0)
            .add_string("ddc_kernel", "hidden", "DDC kernel on the head's hidden layer (DDC, the code) or on z", {"hidden", "z"})
            .add_float("dec_alpha", 1.0, "DEC's Student-t degrees of freedom", 1e-6, 1000.0)
            .add_int("dec_init_iterations", 100, "Lloyd iterations of the k-means that places DEC's centroids", 1, 100000);
    }

    Conan(const mvrl::Params& p, const mvrl::DatasetInfo& dataset_info, const mvrl::Context& ctx)
        : p_(p), device_(ctx.device()), seed_(ctx.seed()), net_(nullptr) {
        torch::manual_seed(ctx.seed());
        std::vector<std::vector<int64_t>> shapes;
        for (const auto& view : dataset_info.views) shapes.push_back(view.shape);
        if (shapes.empty()) throw mvrl::ParamError("conan needs a dataset with at least one view");
        for (const auto& s : shapes)
            if (s.size() != 1 && s.size() != 3)
                throw mvrl::ParamError("conan: views must be images (C×H×W) or vectors (d); got a view of rank " +
                                       std::to_string(s.size()));
        view_shapes_ = shapes;
        clusters_ = p.get_int("clusters") > 0 ? p.get_int("clusters") : dataset_info.classes;
        if (clusters_ < 2) throw mvrl::ParamError("conan: set clusters (the dataset does not say how many classes it has)");
        net_ = ConanNet(shapes, p, clusters_);
        net_->to(device_);
        optimizer_ = std::make_unique<torch::optim::Adam>(
            net_->parameters(), torch::optim::AdamOptions(p.get_float("lr")).weight_decay(p.get_float("weight_decay")));
        checkpoint_.add("net", net_).add("adam", *optimizer_);
    }

    // dec-init optimises nothing (it collects z for k-means): no objective.
    std::vector<mvrl::Stage> stages() {
        std::vector<mvrl::Stage> stages;
        if (p_.get_string("head") == "dec" && p_.get_int("epochs") > 0) {
            mvrl::Stage init{"dec-init", 1};
            init.optimises_nothing = true;
            stages.push_back(init);
        }
        stages.push_back({"train", p_.get_int("epochs")});
        return stages;
    }

    mvrl::ScalarList train_step(const std::string& stage, const mvrl::TensorMap& batch) {
        auto xs = views_of(batch);
        if (stage == "dec-init") {  // collect z of every sample; the centroids are placed at the epoch's end
            torch::NoGradGuard no_grad;
            init_codes_.push_back(net_->fuse(net_->encode_views(xs)).detach());
            return {{"dec_init_samples", double(xs[0].size(0))}};
        }
        auto hs = net_->encode_views(xs);
        torch::Tensor z = net_->fuse(hs);
        torch::Tensor cluster_loss = clustering_loss(z);
        torch::Tensor contrast_loss = contrastive_loss(z, hs);
        torch::Tensor loss = cluster_loss + p_.get_float("contrast_weight") * contrast_loss;  // Eq. 9
        optimizer_->zero_grad();
        loss.backward();
        optimizer_->step();
        return mvrl::nn::step_scalars({{"loss", loss}, {"cluster", cluster_loss}, {"contrast", contrast_loss}});
    }

    void end_epoch(const std::string& stage, int epoch) {
        if (stage == "dec-init") {
            place_centroids(torch::cat(init_codes_, 0));
            init_codes_.clear();
            return;
        }
        if (p_.get_string("schedule") != "cosine") return;
        const double progress = double(epoch + 1) / double(std::max<int64_t>(1, p_.get_int("epochs")));
        const double lr = p_.get_float("lr") * 0.5 * (1.0 + std::cos(M_PI * progress));
        for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    }

    // z (the fused representation), cluster (the head's soft assignment, n×k), h<v> and concat.
    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        net_->eval();
        auto hs = net_->encode_views(views_of(batch));
        torch::Tensor z = net_->fuse(hs);
        mvrl::TensorMap out{{"z", z}, {"cluster", assignment(z)}, {"concat", torch::cat(hs, 1)}};
        for (size_t v = 0; v < hs.size(); ++v) out["h" + std::to_string(v)] = hs[v];
        net_->train();
        return out;
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

private:
    std::vector<torch::Tensor> views_of(const mvrl::TensorMap& batch) const {
        std::vector<torch::Tensor> xs;
        for (size_t v = 0; v < view_shapes_.size(); ++v) {
            torch::Tensor x = mvrl::require_input(batch, "view" + std::to_string(v)).to(torch::kFloat32);
            std::vector<int64_t> shape = {x.size(0)};
            shape.insert(shape.end(), view_shapes_[v].begin(), view_shapes_[v].end());
            xs.push_back(x.reshape(shape));
        }
        return xs;
    }

    torch::Tensor assignment(const torch::Tensor& z) {
        if (p_.get_string("head") == "dec") return conan::dec_soft_assignment(z, net_->centroids, p_.get_float("dec_alpha"));
        return torch::softmax(net_->ddc_output->forward(net_->ddc_hidden->forward(z)), 1);
    }

    torch::Tensor clustering_loss(const torch::Tensor& z) {
        if (p_.get_string("head") == "dec")
            return conan::dec_loss(conan::dec_soft_assignment(z, net_->centroids, p_.get_float("dec_alpha")));
        torch::Tensor hidden = net_->ddc_hidden->forward(z);
        torch::Tensor a = torch::softmax(net_->ddc_output->forward(hidden), 1);
        return conan::ddc_loss(a, p_.get_string("ddc_kernel") == "z" ? z : hidden, p_.get_float("rel_sigma")).total;
    }

    // Σ_v C(z, h_v): Eq. 4 or Eq. 5.
    torch::Tensor contrastive_loss(const torch::Tensor& z, const std::vector<torch::Tensor>& hs) {
        const std::string contrast = p_.get_string("contrast");
        torch::Tensor total = torch::zeros({}, z.options());
        if (contrast == "none") return total;
        torch::Tensor pz = net_->projection->forward(z);
        torch::Tensor qz = contrast == "simsiam" ? net_->prediction->forward(pz) : torch::Tensor();
        for (const auto& h : hs) {
            torch::Tensor ph = net_->projection->forward(h);
            if (contrast == "simclr") total = total + mvrl::nn::nt_xent(pz, ph, p_.get_float("temperature"));
            else total = total + mvrl::nn::simsiam_loss(pz, qz, ph, net_->prediction->forward(ph));
        }
        return total;
    }

    // k-means (k-means++ seeding, Lloyd) on the initial z of every sample.
    void place_centroids(const torch::Tensor& z) {
        torch::NoGradGuard no_grad;
        const int64_t n = z.size(0), k = clusters_;
        if (n < k) throw std::runtime_error("conan: DEC's k-means needs at least as many samples as clusters");
        torch::Generator gen = at::detail::createCPUGenerator(seed_);
        std::vector<int64_t> chosen = {at::randint(n, {1}, gen, torch::kInt64).item<int64_t>()};
        torch::Tensor closest = conan::squared_distances(z, z.index_select(0, torch::tensor(chosen).to(z.device()))).squeeze(1);
        for (int64_t c = 1; c < k; ++c) {
            torch::Tensor weights = closest.to(torch::kCPU, torch::kFloat64);
            int64_t next = weights.sum().item<double>() > 0 ? at::multinomial(weights, 1, false, gen).item<int64_t>()
                                                             : at::randint(n, {1}, gen, torch::kInt64).item<int64_t>();
            chosen.push_back(next);
            closest = torch::minimum(closest, conan::squared_distances(z, z.slice(0, next, next + 1)).squeeze(1));
        }
        torch::Tensor centres = z.index_select(0, torch::tensor(chosen).to(z.device())).clone();
        for (int64_t iter = 0; iter < p_.get_int("dec_init_iterations"); ++iter) {
            torch::Tensor nearest = conan::squared_distances(z, centres).argmin(1);
            torch::Tensor sums = torch::zeros_like(centres).index_add_(0, nearest, z);
            torch::Tensor counts = torch::bincount(nearest, {}, k).to(z.scalar_type()).unsqueeze(1);
            torch::Tensor updated = torch::where(counts > 0, sums / counts.clamp_min(1), centres);
            bool converged = torch::equal(updated, centres);
            centres = updated;
            if (converged) break;
        }
        net_->centroids.copy_(centres);
    }

    mvrl::Params p_;
    torch::Device device_;
    uint64_t seed_;
    std::vector<std::vector<int64_t>> view_shapes_;
    int64_t clusters_ = 0;
    ConanNet net_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    mvrl::nn::Checkpoint checkpoint_;
    std::vector<torch::Tensor> init_codes_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Conan>())
