// The coherence metric through the plugin ABI, on real PolyMNIST-Quadrant data (3 modalities,
// 32 px, all 10,000 digits). Its judges must be good enough to judge (digit ≥ 95 %, quadrant ≥ 99 %
// held out, on every modality); then "generations" built from REAL images give known answers:
//  - disentangled: cross<s>/view<t> is a held-out image of modality t with the row's digit and an
//    unrelated quadrant (a permutation of the held-out rows within each digit), private<s>/view<s>
//    one of modality s with the row's quadrant and an unrelated digit (within each quadrant), the
//    unconditional views the M images of one row — Table 2's ideal: digits at the judges'
//    accuracy (exactly: the images judged are the held-out images, reordered), quadrants at
//    chance 0.25, the given-private digit at chance 0.10, its quadrant high, agreement high;
//  - entangled: every generation is the row's own image (z carries the quadrant, w the digit)
//    and the unconditional views come from unrelated rows: self quadrant and given-private digit
//    high, the cross quadrant still at chance (quadrants are private per modality), agreement
//    near 0.1² = 0.01.
// The judges train once (a cache folder shared by the suite; this binary runs as one CTest test),
// the second world loads them. Small data checks the cache's files, and missing inputs the errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <mvrl/eval/classification_split.hpp>

#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kModalities = 3;

// One intra-op thread, as a worker of a sweep on a shared machine has: the cost measured is that.
struct OneThread : ::testing::Environment {
    void SetUp() override { torch::set_num_threads(1); }
};
const auto* const one_thread = ::testing::AddGlobalTestEnvironment(new OneThread);

std::string view(int64_t m) { return "view" + std::to_string(m); }

TensorMap load_polymnist(const json& extra = json::object()) {
    json params = {{"modalities", kModalities}, {"size", 32}};
    params.update(extra);
    HostContext ctx("cpu", 0, 1);
    DatasetHandle dataset(built_plugins().require("polymnist-quadrant", MVRL_KIND_DATASET), params.dump(), ctx);
    return dataset.load();
}

fs::path fresh_folder(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("mvrl-coherence-test-" + std::to_string(getpid()) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::map<std::string, double> coherence(const TensorMap& inputs, const std::string& cache_dir, const json& params = json::object(),
                                        RunLog* log = nullptr) {
    HostContext ctx("cpu", 7, 1, cache_dir, log);
    return values_of(evaluate_metric(built_plugins().require("coherence", MVRL_KIND_METRIC), params.dump(), inputs, ctx));
}

// A permutation of `rows` that moves each row only among the rows of the same group.
torch::Tensor shuffled_within(const torch::Tensor& rows, const torch::Tensor& group, torch::Generator& gen) {
    torch::Tensor out = rows.clone();
    for (int64_t g : to_int64_vector(std::get<0>(at::_unique(group)))) {
        torch::Tensor at_g = torch::nonzero(group == g).flatten();
        out.index_put_({at_g}, rows.index_select(0, at_g.index_select(0, at::randperm(at_g.numel(), gen, torch::kInt64))));
    }
    return out;
}

// The dataset's tensors plus generations: cross<s>/view<t> = view_t[cross_rows(s, t)],
// private<s>/view<s> = view_s[private_rows(s)], unconditional/view<t> = view_t[unconditional_rows(t)].
template <class Cross, class Private, class Unconditional>
TensorMap with_generations(const TensorMap& data, const torch::Tensor& index, Cross cross_rows, Private private_rows,
                           Unconditional unconditional_rows) {
    TensorMap inputs = data;
    inputs["generated/index"] = index;
    for (int64_t s = 0; s < kModalities; ++s) {
        for (int64_t t = 0; t < kModalities; ++t)
            inputs["generated/cross" + std::to_string(s) + "/" + view(t)] = data.at(view(t)).index_select(0, cross_rows(s, t));
        inputs["generated/private" + std::to_string(s) + "/" + view(s)] = data.at(view(s)).index_select(0, private_rows(s));
        inputs["generated/unconditional/" + view(s)] = data.at(view(s)).index_select(0, unconditional_rows(s));
    }
    return inputs;
}

struct CoherenceOnPolymnist : ::testing::Test {
    static void SetUpTestSuite() {
        const auto start = std::chrono::steady_clock::now();
        data = new TensorMap(load_polymnist());
        std::cout << "polymnist-quadrant (3 modalities, 32 px, " << data->at("label").size(0) << " rows) in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
        cache = new fs::path(fresh_folder("suite"));
        // The digit judges' held-out rows: the metric's own stratified 80/20 split (seed 0).
        torch::Tensor test = eval::ClassificationSplit::stratified_test_mask(data->at("label"), 0.2, 0);
        held_out = new torch::Tensor(torch::nonzero(test).flatten());
    }
    static void TearDownTestSuite() {
        fs::remove_all(*cache);
        delete held_out;
        delete cache;
        delete data;
    }
    static torch::Tensor labels_at(const std::string& name, const torch::Tensor& rows) { return data->at(name).index_select(0, rows); }
    static double mean_accuracy(const std::map<std::string, double>& v, const std::string& kind) {
        double sum = 0;
        for (int64_t m = 0; m < kModalities; ++m) sum += v.at("classifier_" + kind + "_ACC" + std::to_string(m));
        return sum / kModalities;
    }
    static TensorMap* data;
    static fs::path* cache;
    static torch::Tensor* held_out;
    static double training_seconds;  // the first evaluate's, which trains the judges
};
TensorMap* CoherenceOnPolymnist::data = nullptr;
fs::path* CoherenceOnPolymnist::cache = nullptr;
torch::Tensor* CoherenceOnPolymnist::held_out = nullptr;
double CoherenceOnPolymnist::training_seconds = 0;

}  // namespace

TEST_F(CoherenceOnPolymnist, JudgesAreAccurateAndTheDisentangledWorldScoresAsTable2Hopes) {
    torch::Generator gen = at::detail::createCPUGenerator(11);
    const torch::Tensor& h = *held_out;
    const torch::Tensor digit = labels_at("label", h);
    std::vector<std::vector<torch::Tensor>> cross(kModalities);
    std::vector<torch::Tensor> given_private;
    for (int64_t s = 0; s < kModalities; ++s) {
        for (int64_t t = 0; t < kModalities; ++t) cross[s].push_back(shuffled_within(h, digit, gen));
        given_private.push_back(shuffled_within(h, labels_at("quadrant" + std::to_string(s), h), gen));
    }
    TensorMap inputs = with_generations(
        *data, h, [&](int64_t s, int64_t t) { return cross[s][t]; }, [&](int64_t s) { return given_private[s]; },
        [&](int64_t) { return h; });

    const auto start = std::chrono::steady_clock::now();
    auto v = coherence(inputs, cache->string());
    training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "first evaluate (trains 6 classifiers): " << training_seconds << " s\n";
    for (const auto& [name, value] : v) std::cout << "  " << name << " = " << value << "\n";

    for (int64_t m = 0; m < kModalities; ++m) {
        EXPECT_GE(v.at("classifier_digit_ACC" + std::to_string(m)), 0.95) << m;
        EXPECT_GE(v.at("classifier_quadrant_ACC" + std::to_string(m)), 0.99) << m;
    }
    EXPECT_DOUBLE_EQ(v.at("classifier_digit_ACC"),
                     std::min({v.at("classifier_digit_ACC0"), v.at("classifier_digit_ACC1"), v.at("classifier_digit_ACC2")}));
    EXPECT_DOUBLE_EQ(v.at("classifier_quadrant_ACC"),
                     std::min({v.at("classifier_quadrant_ACC0"), v.at("classifier_quadrant_ACC1"), v.at("classifier_quadrant_ACC2")}));
    EXPECT_EQ(v.at("n_generated"), double(h.numel()));

    // The images judged for the digit are the held-out images themselves, only reordered within
    // each digit: exactly the judges' held-out accuracy.
    EXPECT_NEAR(v.at("self_zq_wp_digit"), mean_accuracy(v, "digit"), 1e-9);
    EXPECT_NEAR(v.at("cross_zq_wp_digit"), mean_accuracy(v, "digit"), 1e-9);
    EXPECT_NEAR(v.at("self_zq_wp_quadrant"), 0.25, 0.04);
    EXPECT_NEAR(v.at("cross_zq_wp_quadrant"), 0.25, 0.04);
    EXPECT_NEAR(v.at("self_zp_wq_digit"), 0.10, 0.03);
    EXPECT_GE(v.at("self_zp_wq_quadrant"), 0.99);
    // All M judges right implies agreement: at least 1 - Σ_t (1 - ACC_t), less a margin for the
    // sampling of 2,000 rows.
    EXPECT_GE(v.at("unconditional_digit"), 1 - kModalities * (1 - mean_accuracy(v, "digit")) - 0.02);
}

TEST_F(CoherenceOnPolymnist, TheEntangledWorldLoadsTheJudgesAndScoresAsMmvaePlusFails) {
    torch::Generator gen = at::detail::createCPUGenerator(12);
    const torch::Tensor& h = *held_out;
    std::vector<torch::Tensor> unrelated;
    for (int64_t t = 0; t < kModalities; ++t) unrelated.push_back(h.index_select(0, at::randperm(h.numel(), gen, torch::kInt64)));
    TensorMap inputs = with_generations(
        *data, h, [&](int64_t, int64_t) { return h; }, [&](int64_t) { return h; }, [&](int64_t t) { return unrelated[t]; });

    RunLog log;
    testing::internal::CaptureStderr();
    const auto start = std::chrono::steady_clock::now();
    auto v = coherence(inputs, cache->string(), json::object(), &log);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string lines = testing::internal::GetCapturedStderr();
    std::cout << "second evaluate (loads them): " << seconds << " s\n";
    for (const auto& [name, value] : v) std::cout << "  " << name << " = " << value << "\n";
    size_t loaded = 0;
    for (size_t at = lines.find("loaded the "); at != std::string::npos; at = lines.find("loaded the ", at + 1)) ++loaded;
    EXPECT_EQ(loaded, size_t(2 * kModalities)) << lines;
    EXPECT_EQ(lines.find("trained the "), std::string::npos) << lines;
    if (training_seconds > 0) EXPECT_LT(seconds, training_seconds / 3) << "loading is much faster than training";

    EXPECT_NEAR(v.at("self_zq_wp_digit"), mean_accuracy(v, "digit"), 1e-9);
    EXPECT_NEAR(v.at("cross_zq_wp_digit"), mean_accuracy(v, "digit"), 1e-9);
    EXPECT_GE(v.at("self_zq_wp_quadrant"), 0.99);  // "z" carries x_s's quadrant
    EXPECT_NEAR(v.at("cross_zq_wp_quadrant"), 0.25, 0.04) << "x_t's quadrant is not x_s's";
    EXPECT_NEAR(v.at("self_zp_wq_digit"), mean_accuracy(v, "digit"), 1e-9);  // "w" carries the digit
    EXPECT_GE(v.at("self_zp_wq_quadrant"), 0.99);
    EXPECT_LT(v.at("unconditional_digit"), 0.03);
}

// Small data, one epoch: what the cache writes, when it is used and when not.
TEST(CoherenceCache, OneFilePerJudgeReusedForTheSameDataAndParametersOnly) {
    TensorMap data = load_polymnist({{"per_class", 30}});
    const int64_t n = data.at("label").size(0);
    torch::Tensor index = torch::arange(n);
    auto all_real = [&](const TensorMap& d) {
        return with_generations(
            d, index, [&](int64_t, int64_t) { return index; }, [&](int64_t) { return index; }, [&](int64_t) { return index; });
    };
    const json quick = {{"epochs", 1}, {"width", 4}, {"hidden", 16}};
    fs::path dir = fresh_folder("cache");
    auto listing = [&] {
        std::set<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
        return names;
    };

    auto first = coherence(all_real(data), dir.string(), quick);
    const std::set<std::string> files = listing();
    ASSERT_EQ(files.size(), size_t(4 * kModalities)) << "a .pt and a .json per judge";
    const std::regex pattern(R"(coherence-1\.0\.0-view[0-2]-(label|quadrant[0-2])-[0-9a-f]{16}\.(pt|json))");
    for (const auto& name : files) EXPECT_TRUE(std::regex_match(name, pattern)) << name;
    for (const auto& name : files) {
        if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
        json sidecar = json::parse(std::ifstream(dir / name));
        EXPECT_GT(sidecar.at("held_out_accuracy").get<double>(), 0.0) << name;
        EXPECT_EQ(sidecar.at("key").at("params").at("epochs"), 1) << name;
    }

    RunLog log;
    testing::internal::CaptureStderr();
    auto again = coherence(all_real(data), dir.string(), quick, &log);
    const std::string lines = testing::internal::GetCapturedStderr();
    EXPECT_EQ(listing(), files) << "nothing new";
    EXPECT_EQ(first, again) << "the same judges";
    EXPECT_EQ(lines.find("trained the "), std::string::npos) << lines;
    EXPECT_NE(lines.find("loaded the label classifier of view0 from " + dir.string()), std::string::npos) << lines;
    EXPECT_TRUE(log.warnings().empty());

    // Other digits, other images: new files; other parameters: new files again; the run's seed
    // is not the judges'.
    coherence(all_real(load_polymnist({{"per_class", 30}, {"data_seed", 1}})), dir.string(), quick);
    EXPECT_EQ(listing().size(), size_t(8 * kModalities));
    coherence(all_real(data), dir.string(), {{"epochs", 2}, {"width", 4}, {"hidden", 16}});
    EXPECT_EQ(listing().size(), size_t(12 * kModalities));
    HostContext other_seed("cpu", 99, 1, dir.string());
    evaluate_metric(built_plugins().require("coherence", MVRL_KIND_METRIC), quick.dump(), all_real(data), other_seed);
    EXPECT_EQ(listing().size(), size_t(12 * kModalities));

    // A corrupt file is trained again, with a warning, never trusted.
    for (const auto& name : files)
        if (name.find("view0-label-") != std::string::npos && name.substr(name.size() - 3) == ".pt") std::ofstream(dir / name) << "garbage";
    RunLog corrupt_log;
    EXPECT_EQ(coherence(all_real(data), dir.string(), quick, &corrupt_log), first);
    ASSERT_EQ(corrupt_log.warnings().size(), 1u);
    EXPECT_NE(corrupt_log.warnings()[0].message.find("ignoring the unreadable cached classifier"), std::string::npos);

    // Without a cache folder: trained, scored the same, and a warning says so.
    RunLog uncached;
    EXPECT_EQ(coherence(all_real(data), "", quick, &uncached), first);
    ASSERT_EQ(uncached.warnings().size(), 1u);
    EXPECT_NE(uncached.warnings()[0].message.find("no cache folder"), std::string::npos);
    fs::remove_all(dir);
}

TEST(CoherenceErrors, AMissingInputNamesItAndSaysHowToGetIt) {
    TensorMap data = load_polymnist({{"per_class", 4}});
    torch::Tensor index = torch::arange(data.at("label").size(0));
    TensorMap complete = with_generations(
        data, index, [&](int64_t, int64_t) { return index; }, [&](int64_t) { return index; }, [&](int64_t) { return index; });
    auto error_of = [](const TensorMap& inputs, const json& params = json::object()) -> std::string {
        try {
            coherence(inputs, "", params);
        } catch (const PluginCallError& e) {
            EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "no error";
        return "";
    };
    auto without = [&](const std::string& name) {
        TensorMap inputs = complete;
        EXPECT_EQ(inputs.erase(name), 1u) << name;
        return inputs;
    };

    EXPECT_NE(error_of(without("generated/cross0/view1"))
                  .find("coherence needs 'generated/cross0/view1' — evaluate it with representation = \"generations\" on a model that "
                        "implements generate"),
              std::string::npos);
    EXPECT_NE(error_of(without("generated/index")).find("coherence needs 'generated/index'"), std::string::npos);
    EXPECT_NE(error_of(without("generated/unconditional/view2")).find("coherence needs 'generated/unconditional/view2'"), std::string::npos);
    std::string e = error_of(without("quadrant2"));
    EXPECT_NE(e.find("label 'quadrant2'"), std::string::npos) << e;
    EXPECT_NE(e.find("private_label"), std::string::npos) << e;
    e = error_of(complete, {{"private_label", "corner"}});
    EXPECT_NE(e.find("label 'corner0'"), std::string::npos) << e;
    e = error_of(complete, {{"label", "digit"}});
    EXPECT_NE(e.find("label 'digit'"), std::string::npos) << e;

    EXPECT_NE(error_of(without("generated/private1/view1")).find("coherence needs 'generated/private1/view1'"), std::string::npos);
    EXPECT_NE(error_of(without("generated/private0/view0")).find("give the private generations of every modality or none"),
              std::string::npos);
    TensorMap small = complete;
    small["generated/cross1/view2"] = small["generated/cross1/view2"].narrow(2, 0, 16);
    e = error_of(small);
    EXPECT_NE(e.find("'generated/cross1/view2' is 40×3×16×32, expected 40×3×32×32"), std::string::npos) << e;
}

// A model without private codes gives no private generations: the two given-private columns are
// left out, the rest is scored.
TEST(CoherenceErrors, NoPrivateGenerationsLeavesOutTheirColumns) {
    TensorMap data = load_polymnist({{"per_class", 20}});
    torch::Tensor index = torch::arange(data.at("label").size(0));
    TensorMap inputs = with_generations(
        data, index, [&](int64_t, int64_t) { return index; }, [&](int64_t) { return index; }, [&](int64_t) { return index; });
    for (int64_t s = 0; s < kModalities; ++s) inputs.erase("generated/private" + std::to_string(s) + "/" + view(s));
    auto v = coherence(inputs, "", {{"epochs", 1}, {"width", 4}, {"hidden", 16}});
    EXPECT_EQ(v.count("self_zp_wq_digit"), 0u);
    EXPECT_EQ(v.count("self_zp_wq_quadrant"), 0u);
    for (const char* name : {"self_zq_wp_digit", "self_zq_wp_quadrant", "cross_zq_wp_digit", "cross_zq_wp_quadrant", "unconditional_digit",
                             "classifier_digit_ACC", "classifier_quadrant_ACC2"})
        EXPECT_EQ(v.count(name), 1u) << name;
}

// The judges train on split = 0 and are measured on split = 1; validation rows (split = 2) are the
// model's to select on, in neither part. The cache's key records the sizes of both parts.
TEST(CoherenceSplit, ValidationRowsAreNeitherTrainedNorHeldOut) {
    TensorMap data = load_polymnist({{"per_class", 20}});
    const int64_t n = data.at("label").size(0);
    torch::Tensor index = torch::arange(n);
    torch::Tensor fifth = torch::arange(n) % 5;
    data["split"] = torch::where(fifth > 2, torch::zeros_like(fifth), fifth);  // 3/5 train, 1/5 test, 1/5 validation
    TensorMap inputs = with_generations(
        data, index, [&](int64_t, int64_t) { return index; }, [&](int64_t) { return index; }, [&](int64_t) { return index; });
    fs::path dir = fresh_folder("split");
    coherence(inputs, dir.string(), {{"epochs", 1}, {"private_epochs", 1}, {"width", 4}, {"hidden", 16}});
    size_t sidecars = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        json key = json::parse(std::ifstream(entry.path())).at("key");
        EXPECT_EQ(key.at("n_train"), n * 3 / 5) << entry.path();
        EXPECT_EQ(key.at("n_test"), n / 5) << entry.path();
        ++sidecars;
    }
    EXPECT_EQ(sidecars, size_t(2 * kModalities));
    fs::remove_all(dir);

    inputs["split"] = torch::where(data["split"] == 0, torch::full_like(data["split"], 2), data["split"]);
    try {
        coherence(inputs, "", {{"epochs", 1}});
        ADD_FAILURE() << "no training rows, yet no error";
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("the split leaves 0 training and " + std::to_string(n / 5) + " held-out rows"),
                  std::string::npos) << e.what();
    }
}
