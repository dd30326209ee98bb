// coherence: IDMVAE's generative coherence (Zhang, Shen & Wang, "Disentanglement of Variations
// with Multimodal Generative Modeling", §4.1 "Conditional Coherence" and "Unconditional
// Coherence", Table 2) — images a model generated, judged by classifiers trained
// on the dataset's real images: per modality m a digit classifier (the shared label, `label`) and a
// quadrant classifier (m's private label, `<private_label><m>`), mvrl/nn/image_classifier.hpp.
//
// Inputs (the host lends them; G rows of generations, M modalities):
//   view<m>, <label>, <private_label><m>, optional split and present (the dataset's own tensors)
//   generated/index                   G dataset rows whose posteriors the generations used
//   generated/cross<s>/view<t>        z ~ q(z|x_s) of that row, w_t ~ p(w_t), decoded in modality t
//   generated/private<s>/view<s>      z ~ p(z), w_s ~ q(w_s|x_s) of that row (optional as a group:
//                                     a model without private codes gives none, and the two
//                                     self_zp_wq columns are left out)
//   generated/unconditional/view<t>   z ~ p(z) shared by the M images of a row, w_t ~ p(w_t)
//
// Outputs, Table 2's columns, each a mean over modalities (over the M(M-1) pairs s ≠ t for cross);
// the paper's targets: ↑ as high as the judges allow, ↓ chance: 0.10 for the digit, 0.25 for the
// quadrant (four quadrants, uniform):
//   self_zq_wp_digit      Gen(z_{s,q}, w_{s,p}): digit of cross<s>/view<s> vs x_s's digit       ↑
//   self_zq_wp_quadrant   the same images' quadrant vs x_s's quadrant: w is the prior's, so
//                         anything above chance is the quadrant carried by z                   ↓ 0.25
//   self_zp_wq_digit      Gen(z_p, w_{s,q}): digit of private<s>/view<s> vs x_s's digit: z is
//                         the prior's, so anything above chance is the digit carried by w_s    ↓ 0.10
//   self_zp_wq_quadrant   the same images' quadrant vs x_s's quadrant                          ↑
//   cross_zq_wp_digit     Gen(z_{s,q}, w_{t,p}), s ≠ t: digit of cross<s>/view<t> by modality
//                         t's judge vs the row's digit (shared: x_s's is x_t's)                ↑
//   cross_zq_wp_quadrant  the same images' quadrant by t's judge vs x_s's (the SOURCE's)
//                         quadrant: does z leak the quadrant of the image it was inferred
//                         from? (With private quadrants, x_t's own quadrant would also score
//                         chance here, w_t being the prior's; the source's is what tests z.)    ↓ 0.25
//   unconditional_digit   Gen(z_p, w_p): the share of rows of unconditional/view<t> on which all
//                         M digit judges agree (chance for unrelated digits: 0.1^(M-1))       ↑
//   classifier_digit_ACC<m>, classifier_quadrant_ACC<m>   each judge's accuracy on the real
//                         images it did not train on; classifier_*_ACC: the lowest over m (a
//                         coherence is only as good as its judges: the paper's ResNets are not
//                         reported, ours are)
//   n_generated           G
// The names say digit and quadrant, as Table 2 does, whatever `label` and `private_label` name.
// For scale, Table 2's IDMVAE with diffusion prior, in the order above: 0.942, 0.251, 0.106, 0.999,
// 0.887, 0.251, 0.664; MMVAE+: 0.120, 0.251, 0.915, 0.999, 0.119, 0.250, 0.000.
//
// The judges (mvrl/nn/image_classifier.hpp): a small CNN — a stride-2 stem, convolution + max-pool
// levels doubling from `width` down to a 4×4 map, one more convolution — with a head that pools
// over positions for the digit (what, wherever it is) and over a 4×4 grid for the quadrant
// (where); trained with Adam, cosine-decayed, `epochs` for the digit and `private_epochs` for
// the quadrant. On PolyMNIST-Quadrant at 32 px with the defaults (8,000 training digits per
// modality) they reach 96-97 % (digit) and 100 % (quadrant) held out, in about 15 s and 3 s on
// one CPU thread (tests/metrics/coherence_test.cpp).
// They train on the real rows of the dataset's split (split == 0; accuracy on split == 1; the
// validation rows, split == 2, are the model's to select on and in neither part), or,
// without one, on a stratified (by the judge's own label) 80/20 split seeded by `seed` — a fixed
// parameter, not the run's seed, so that one set of judges scores every seed of a sweep alike;
// rows whose view `present` marks missing are left out. They are cached under the context's cache
// folder, on the context's device:
//   <cache_dir>/coherence-<version>-view<m>-<label>-<hash>.pt     the weights
//   <cache_dir>/coherence-<version>-view<m>-<label>-<hash>.json   its key and held-out accuracy
// (<label>: `label` or <private_label><m>), <hash> a 64-bit FNV-1a of the key — plugin version,
// modality, label name, classes, pooling, the judge's parameters, the sizes of both parts — and of
// the training and held-out images (dtype, shape and bytes) and labels. Both files are written
// beside their final names and renamed; a later call with the same data and parameters loads
// them (the .json's key must match), a corrupt one is trained again with a warning. Without a
// cache folder the judges train on every call (a warning says so).
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <mvrl/eval/classification_split.hpp>
#include <mvrl/nn/image_classifier.hpp>
#include <mvrl/plugin.hpp>

namespace {

namespace fs = std::filesystem;
using mvrl::ParamError;

// FNV-1a, 64 bits: stable across builds and machines, unlike std::hash, so a cache file keeps its
// name. Bulk data goes in 8-byte words (the image bytes dominate, and a byte at a time is slow),
// each step folding the high half back (h ^= h >> 32): a product only carries bits upwards, so
// without it two differences in high bits could cancel.
class Fnv1a {
public:
    Fnv1a& text(const std::string& s) { return bytes(s.data(), s.size()); }
    Fnv1a& bytes(const void* data, size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        size_t i = 0;
        for (; i + 8 <= size; i += 8) {
            uint64_t word;
            std::memcpy(&word, p + i, 8);
            mix(word);
        }
        for (; i < size; ++i) mix(p[i]);
        return *this;
    }
    Fnv1a& tensor(const torch::Tensor& t) {
        torch::Tensor c = t.cpu().contiguous();
        text(std::string(c.dtype().name()));
        for (int64_t d : c.sizes()) mix(uint64_t(d));
        return bytes(c.data_ptr(), size_t(c.numel()) * c.element_size());
    }
    std::string hex() const {
        char out[17];
        std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h_));
        return out;
    }

private:
    void mix(uint64_t v) {
        h_ = (h_ ^ v) * 0x100000001b3ull;
        h_ ^= h_ >> 32;
    }
    uint64_t h_ = 0xcbf29ce484222325ull;
};

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return out;
}

// Writes through a file beside `path`, renamed onto it: a reader never sees half a file.
template <class Write>
void write_atomically(const fs::path& path, Write&& write) {
    fs::path partial = path;
    partial += ".partial";
    try {
        write(partial.string());
        fs::rename(partial, path);
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
}

double accuracy(const torch::Tensor& predicted, const torch::Tensor& truth) {
    return predicted.numel() == 0 ? 0.0 : (predicted.cpu() == truth.cpu()).to(torch::kFloat64).mean().item<double>();
}

// One judge: a classifier of one label of one modality, and its accuracy on held-out real images.
struct Judge {
    mvrl::nn::ImageClassifier net{nullptr};
    double held_out_accuracy = 0;
    torch::Tensor predict(const torch::Tensor& images, int64_t batch_size) { return mvrl::nn::predict_classes(net, images, batch_size); }
};

class Coherence : public mvrl::Metric {
public:
    static constexpr const char* name = "coherence";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "IDMVAE's generative coherence (Table 2): digit and quadrant of generated images (conditional self and cross, "
        "given-private, unconditional) judged by per-modality CNN classifiers trained and cached on the real images";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_string("label", "label", "the dataset's shared label tensor (PolyMNIST-Quadrant: the digit)")
            .add_string("private_label", "quadrant", "prefix of the per-modality private labels: <private_label><m> for modality m")
            .add_int("epochs", 6, "training epochs of each digit (shared-label) classifier", 1, 100000)
            .add_int("private_epochs", 1, "training epochs of each quadrant (private-label) classifier: the quadrant is plain to see", 1, 100000)
            .add_int("batch_size", 64, "classifier training batch size", 2, 1000000)
            .add_float("learning_rate", 5e-3, "Adam learning rate of the classifiers (cosine-decayed to 0)", 1e-8, 10.0)
            .add_int("width", 8, "channels of the classifiers' first convolution, doubling per level", 1, 1024)
            .add_int("hidden", 128, "units of the classifiers' hidden layer", 1, 65536)
            .add_float("test_fraction", 0.2, "share of each class held out to measure a classifier when the dataset gives no split", 0.01, 0.99)
            .add_int("seed", 0, "seed of the classifiers' split, initialisation and batches; fixed (not the run's) so one classifier serves every seed",
                     0, 2147483647)
            .add_int("eval_batch_size", 512, "images per batch when classifying", 1, 1000000);
    }

    Coherence(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), ctx_(ctx) {}

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        const int64_t modalities = count_modalities(inputs);
        const std::string label_name = p_.get_string("label");
        const torch::Tensor label = dataset_label(inputs, label_name, "the shared label: set label to its name");
        const int64_t n = label.size(0);
        std::vector<torch::Tensor> quadrant;
        for (int64_t m = 0; m < modalities; ++m)
            quadrant.push_back(dataset_label(inputs, private_label_name(m),
                                             "modality " + std::to_string(m) + "'s private label: set private_label to the prefix of the "
                                             "dataset's per-modality labels"));
        for (int64_t m = 0; m < modalities; ++m) check_rows(inputs.at(view(m)), view(m), n);

        // Every generated input is checked before a classifier trains: a missing one fails at once.
        const torch::Tensor index = generated_index(inputs, n);
        const int64_t g = index.size(0);
        std::vector<std::vector<torch::Tensor>> cross(static_cast<size_t>(modalities));
        for (int64_t s = 0; s < modalities; ++s)
            for (int64_t t = 0; t < modalities; ++t)
                cross[size_t(s)].push_back(generated(inputs, "generated/cross" + std::to_string(s) + "/" + view(t), t, g));
        std::vector<torch::Tensor> given_private, unconditional;
        const bool has_private = inputs.count("generated/private0/" + view(0)) > 0;
        for (int64_t s = 0; s < modalities; ++s)
            if (has_private) given_private.push_back(generated(inputs, "generated/private" + std::to_string(s) + "/" + view(s), s, g));
            else if (inputs.count("generated/private" + std::to_string(s) + "/" + view(s)))
                throw ParamError("coherence: 'generated/private" + std::to_string(s) + "/" + view(s) +
                                 "' is given but 'generated/private0/view0' is not: give the private generations of every modality or none");
        const std::string first_unconditional = "generated/unconditional/" + view(0);
        const int64_t g_unconditional = require_generated(inputs, first_unconditional).size(0);
        for (int64_t t = 0; t < modalities; ++t)
            unconditional.push_back(generated(inputs, "generated/unconditional/" + view(t), t, g_unconditional));

        if (ctx_.cache_dir().empty())
            ctx_.log(MVRL_LOG_WARNING, "no cache folder in the context: the coherence classifiers are trained again on every call");
        std::vector<Judge> digit, quad;
        for (int64_t m = 0; m < modalities; ++m) {
            digit.push_back(judge(inputs.at(view(m)), label, inputs, m, label_name, true));
            quad.push_back(judge(inputs.at(view(m)), quadrant[size_t(m)], inputs, m, private_label_name(m), false));
        }

        const int64_t b = p_.get_int("eval_batch_size");
        const torch::Tensor digit_truth = label.index_select(0, index);
        std::vector<torch::Tensor> quadrant_truth;
        for (int64_t m = 0; m < modalities; ++m) quadrant_truth.push_back(quadrant[size_t(m)].index_select(0, index));
        double self_digit = 0, self_quadrant = 0, cross_digit = 0, cross_quadrant = 0, private_digit = 0, private_quadrant = 0;
        for (int64_t s = 0; s < modalities; ++s) {
            for (int64_t t = 0; t < modalities; ++t) {
                const torch::Tensor& images = cross[size_t(s)][size_t(t)];
                const double d = accuracy(digit[size_t(t)].predict(images, b), digit_truth);
                const double q = accuracy(quad[size_t(t)].predict(images, b), quadrant_truth[size_t(s)]);
                (s == t ? self_digit : cross_digit) += d;
                (s == t ? self_quadrant : cross_quadrant) += q;
            }
            if (has_private) {
                private_digit += accuracy(digit[size_t(s)].predict(given_private[size_t(s)], b), digit_truth);
                private_quadrant += accuracy(quad[size_t(s)].predict(given_private[size_t(s)], b), quadrant_truth[size_t(s)]);
            }
        }
        std::vector<torch::Tensor> votes;
        for (int64_t t = 0; t < modalities; ++t) votes.push_back(digit[size_t(t)].predict(unconditional[size_t(t)], b));
        torch::Tensor stacked = torch::stack(votes);
        const double agreement = (stacked == stacked[0]).all(0).to(torch::kFloat64).mean().item<double>();

        const double m_count = double(modalities), pairs = double(modalities * (modalities - 1));
        mvrl::ScalarList out{{"self_zq_wp_digit", self_digit / m_count}, {"self_zq_wp_quadrant", self_quadrant / m_count}};
        if (has_private) {
            out.emplace_back("self_zp_wq_digit", private_digit / m_count);
            out.emplace_back("self_zp_wq_quadrant", private_quadrant / m_count);
        }
        out.emplace_back("cross_zq_wp_digit", cross_digit / pairs);
        out.emplace_back("cross_zq_wp_quadrant", cross_quadrant / pairs);
        out.emplace_back("unconditional_digit", agreement);
        double worst_digit = 1, worst_quadrant = 1;
        for (int64_t m = 0; m < modalities; ++m) {
            worst_digit = std::min(worst_digit, digit[size_t(m)].held_out_accuracy);
            worst_quadrant = std::min(worst_quadrant, quad[size_t(m)].held_out_accuracy);
        }
        out.emplace_back("classifier_digit_ACC", worst_digit);
        out.emplace_back("classifier_quadrant_ACC", worst_quadrant);
        for (int64_t m = 0; m < modalities; ++m) {
            out.emplace_back("classifier_digit_ACC" + std::to_string(m), digit[size_t(m)].held_out_accuracy);
            out.emplace_back("classifier_quadrant_ACC" + std::to_string(m), quad[size_t(m)].held_out_accuracy);
        }
        out.emplace_back("n_generated", double(g));
        return out;
    }

private:
    static std::string view(int64_t m) { return "view" + std::to_string(m); }
    std::string private_label_name(int64_t m) const { return p_.get_string("private_label") + std::to_string(m); }

    static std::string names_of(const mvrl::TensorMap& inputs) {
        std::string given;
        for (const auto& kv : inputs) given += (given.empty() ? "" : ", ") + kv.first;
        return given.empty() ? "none" : given;
    }

    static int64_t count_modalities(const mvrl::TensorMap& inputs) {
        int64_t m = 0;
        while (inputs.count(view(m))) ++m;
        if (m < 2)
            throw ParamError("coherence needs the dataset's images of at least two modalities, 'view0' and 'view1' (given: " +
                             names_of(inputs) + ")");
        return m;
    }

    static torch::Tensor dataset_label(const mvrl::TensorMap& inputs, const std::string& label, const std::string& what) {
        auto it = inputs.find(label);
        if (it == inputs.end())
            throw ParamError("coherence needs the dataset's label '" + label + "', " + what + " (given: " + names_of(inputs) + ")");
        if (it->second.dim() != 1) throw ParamError("coherence: label '" + label + "' is not a vector of one class per sample");
        return it->second.to(torch::kCPU, torch::kInt64);
    }

    static void check_rows(const torch::Tensor& images, const std::string& name, int64_t n) {
        if (images.dim() != 4) throw ParamError("coherence: '" + name + "' is not a batch of images N×C×H×W");
        if (images.size(0) != n)
            throw ParamError("coherence: '" + name + "' has " + std::to_string(images.size(0)) + " rows, the labels " + std::to_string(n));
    }

    static const torch::Tensor& require_generated(const mvrl::TensorMap& inputs, const std::string& name) {
        auto it = inputs.find(name);
        if (it == inputs.end())
            throw ParamError("coherence needs '" + name +
                             "' — evaluate it with representation = \"generations\" on a model that implements generate");
        return it->second;
    }

    static torch::Tensor generated_index(const mvrl::TensorMap& inputs, int64_t n) {
        torch::Tensor index = require_generated(inputs, "generated/index").to(torch::kCPU, torch::kInt64).flatten();
        if (index.numel() == 0) throw ParamError("coherence: 'generated/index' is empty: no generations to judge");
        if (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= n)
            throw ParamError("coherence: 'generated/index' holds rows outside the dataset's 0.." + std::to_string(n - 1));
        return index;
    }

    // A generated batch of modality m's images: G rows of the real images' C×H×W.
    torch::Tensor generated(const mvrl::TensorMap& inputs, const std::string& name, int64_t m, int64_t rows) const {
        const torch::Tensor& images = require_generated(inputs, name);
        const auto real = inputs.at(view(m)).sizes().slice(1);
        if (images.dim() != 4 || images.sizes().slice(1) != real || images.size(0) != rows) {
            auto shape = [](c10::IntArrayRef sizes) {
                std::string text;
                for (int64_t d : sizes) text += (text.empty() ? "" : "×") + std::to_string(d);
                return text;
            };
            throw ParamError("coherence: '" + name + "' is " + shape(images.sizes()) + ", expected " + std::to_string(rows) + "×" +
                             shape(real) + " (" + view(m) + "'s images)");
        }
        if (!torch::isfinite(images).all().item<bool>()) throw ParamError("coherence: '" + name + "' contains NaN or Inf");
        return images;
    }

    mvrl::nn::ImageClassifierTraining training(bool shared_label) const {
        mvrl::nn::ImageClassifierTraining t;
        t.epochs = p_.get_int(shared_label ? "epochs" : "private_epochs");
        t.batch_size = p_.get_int("batch_size");
        t.learning_rate = p_.get_float("learning_rate");
        t.seed = uint64_t(p_.get_int("seed"));
        return t;
    }

    // The parameters that decide what a judge learns (eval_batch_size does not).
    mvrl::json judge_params() const {
        mvrl::json j;
        for (const char* key : {"epochs", "private_epochs", "batch_size", "learning_rate", "width", "hidden", "test_fraction", "seed"})
            j[key] = p_.values().at(key);
        return j;
    }

    // Modality m's classifier of `target`: from the cache when it holds one for exactly this data
    // and these parameters, else trained on the training rows and measured on the held-out ones.
    // The shared label's judge pools over positions (what: the digit wherever it is), a private
    // label's over a 4×4 grid (where: the quadrant).
    Judge judge(const torch::Tensor& images, const torch::Tensor& target, const mvrl::TensorMap& inputs, int64_t m,
                const std::string& target_name, bool shared_label) const {
        // The dataset's split (validation rows, split = 2, in neither part), else the seeded stratified one.
        auto [train, test] = mvrl::eval::ClassificationSplit::train_and_test_masks(inputs, target, p_, ctx_, name);
        // A view the dataset marks missing (present[i][m] = 0) is no image to learn or test on.
        torch::Tensor usable = torch::ones_like(test);
        if (inputs.count("present")) usable = inputs.at("present").to(torch::kCPU).select(1, m) != 0;
        torch::Tensor train_rows = torch::nonzero(train & usable).flatten(), test_rows = torch::nonzero(test & usable).flatten();
        const std::string what = "the " + target_name + " classifier of " + view(m);
        if (train_rows.numel() < 2 || test_rows.numel() == 0)
            throw ParamError("coherence: the split leaves " + std::to_string(train_rows.numel()) + " training and " +
                             std::to_string(test_rows.numel()) + " held-out rows for " + what);
        const torch::Device on_images = images.device();
        torch::Tensor x_train = images.index_select(0, train_rows.to(on_images)), x_test = images.index_select(0, test_rows.to(on_images));
        torch::Tensor y_train = target.index_select(0, train_rows), y_test = target.index_select(0, test_rows);
        const int64_t classes = std::max<int64_t>(2, target.max().item<int64_t>() + 1);
        if (target.min().item<int64_t>() < 0) throw ParamError("coherence: label '" + target_name + "' has negative classes");

        auto options = mvrl::nn::ImageClassifierOptions(images.size(1), images.size(2), images.size(3), classes)
                           .width(p_.get_int("width"))
                           .hidden(p_.get_int("hidden"))
                           .pooling(shared_label ? mvrl::nn::Pooling::global : mvrl::nn::Pooling::grid);
        Judge j;
        try {
            j.net = mvrl::nn::make_image_classifier(options, uint64_t(p_.get_int("seed")), ctx_.device());
        } catch (const std::invalid_argument& e) {
            throw ParamError(std::string("coherence: ") + e.what());
        }

        const mvrl::json key = {{"plugin", name},
                                {"version", version},
                                {"modality", m},
                                {"label", target_name},
                                {"classes", classes},
                                {"pooling", shared_label ? "global" : "grid"},
                                {"params", judge_params()},
                                {"n_train", train_rows.numel()},
                                {"n_test", test_rows.numel()}};
        fs::path file, sidecar;
        if (!ctx_.cache_dir().empty()) {
            const std::string hash = Fnv1a().text(key.dump()).tensor(x_train).tensor(y_train).tensor(x_test).tensor(y_test).hex();
            const std::string stem = std::string(name) + "-" + version + "-" + view(m) + "-" + file_safe(target_name) + "-" + hash;
            file = fs::path(ctx_.cache_dir()) / (stem + ".pt");
            sidecar = fs::path(ctx_.cache_dir()) / (stem + ".json");
            if (load_cached(j, file, sidecar, key, what)) return j;
        }

        const auto start = std::chrono::steady_clock::now();
        const double loss = mvrl::nn::train_image_classifier(j.net, x_train, y_train, training(shared_label));
        j.held_out_accuracy = accuracy(j.predict(x_test, p_.get_int("eval_batch_size")), y_test);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        char line[160];
        std::snprintf(line, sizeof line, ": held-out ACC %.4f on %lld images (trained on %lld in %.1f s, last-epoch loss %.4f)",
                      j.held_out_accuracy, static_cast<long long>(test_rows.numel()), static_cast<long long>(train_rows.numel()), seconds,
                      loss);
        ctx_.log(MVRL_LOG_INFO, "trained " + what + line);
        if (!file.empty()) save_cached(j, file, sidecar, key, seconds);
        return j;
    }

    bool load_cached(Judge& j, const fs::path& file, const fs::path& sidecar, const mvrl::json& key, const std::string& what) const {
        if (!fs::exists(file) || !fs::exists(sidecar)) return false;
        try {
            mvrl::json stored = mvrl::json::parse(std::ifstream(sidecar));
            if (stored.at("key") != key) throw std::runtime_error("its key differs");
            mvrl::nn::load_image_classifier(j.net, file.string(), ctx_.device());
            j.held_out_accuracy = stored.at("held_out_accuracy").get<double>();
            ctx_.log(MVRL_LOG_INFO, "loaded " + what + " from " + file.string() + " (held-out ACC " + std::to_string(j.held_out_accuracy) + ")");
            return true;
        } catch (const std::exception& e) {
            ctx_.log(MVRL_LOG_WARNING, "ignoring the unreadable cached classifier " + file.string() + " (" + e.what() + "): training it again");
            return false;
        }
    }

    void save_cached(Judge& j, const fs::path& file, const fs::path& sidecar, const mvrl::json& key, double seconds) const {
        try {  // a failed write (full disk, no permission) costs the cache, never the scores
            fs::create_directories(file.parent_path());
            write_atomically(file, [&](const std::string& path) { mvrl::nn::save_image_classifier(j.net, path); });
            const mvrl::json record = {{"key", key}, {"held_out_accuracy", j.held_out_accuracy}, {"train_seconds", seconds},
                                       {"device", ctx_.device_name()}};
            write_atomically(sidecar, [&](const std::string& path) {
                std::ofstream out(path);
                out << record.dump(2) << "\n";
                if (!out.flush()) throw std::runtime_error("cannot write " + path);
            });
        } catch (const std::exception& e) {
            ctx_.log(MVRL_LOG_WARNING, std::string("cannot write the coherence classifier cache: ") + e.what());
        }
    }

    mvrl::Params p_;
    mvrl::Context ctx_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<Coherence>())
