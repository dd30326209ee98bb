// The polymnist-quadrant dataset plugin (IDMVAE's PolyMNIST-Quadrant), through the C ABI: 300
// samples × 5 modalities.
#include "dataset_support.hpp"

using namespace mvrl;
using dataset_test::load;
using torch::indexing::Slice;

namespace {

const std::string kParams = R"({"per_class": 30})";

const TensorMap& default_data() {
    static const TensorMap data = load("polymnist-quadrant", kParams);
    return data;
}

// Pixels of modality 0 (red digit: G = B = 0) or 4 (blue digit: R = G = 0) that belong to the digit.
torch::Tensor digit_pixels(const torch::Tensor& view, int modality) {
    torch::Tensor r = view.select(1, 0), g = view.select(1, 1), b = view.select(1, 2);
    return modality == 0 ? (g == 0) & (b == 0) & (r > 16.0 / 255) : (r == 0) & (g == 0) & (b > 16.0 / 255);
}

// The 32×32 block of each sample's quadrant (0 top-right, 1 top-left, 2 bottom-left, 3 bottom-right).
torch::Tensor quadrant_mask(const torch::Tensor& quadrant) {
    const int64_t n = quadrant.size(0);
    torch::Tensor mask = torch::zeros({n, 64, 64}, torch::kBool);
    const int64_t row[4] = {0, 0, 32, 32}, col[4] = {32, 0, 0, 32};
    for (int64_t i = 0; i < n; ++i) {
        int64_t q = quadrant[i].item<int64_t>();
        mask[i].index_put_({Slice(row[q], row[q] + 32), Slice(col[q], col[q] + 32)}, true);
    }
    return mask;
}

void shapes_ranges_and_labels() {
    const auto& data = default_data();
    for (int m = 0; m < 5; ++m) {
        const torch::Tensor& v = data.at("view" + std::to_string(m));
        EXPECT_EQ(v.sizes(), (std::vector<int64_t>{300, 3, 64, 64}));
        EXPECT_EQ(v.scalar_type(), torch::kFloat32);
        EXPECT_GE(v.min().item<float>(), 0.0f);
        EXPECT_LE(v.max().item<float>(), 1.0f);
        const torch::Tensor& q = data.at("quadrant" + std::to_string(m));
        EXPECT_EQ(q.scalar_type(), torch::kInt64);
        auto counts = torch::bincount(q, {}, 4);
        EXPECT_GE(counts.min().item<int64_t>(), 45) << "quadrants drawn uniformly (75 expected), modality " << m;
    }
    EXPECT_EQ(data.count("view5"), 0u);
    EXPECT_TRUE(torch::equal(data.at("quadrant"), data.at("quadrant0")));
    EXPECT_TRUE(torch::equal(torch::bincount(data.at("label")), torch::full({10}, 30, torch::kInt64)));

    json info = dataset_test::info("polymnist-quadrant", kParams);
    EXPECT_EQ(info["labels"], json({"label", "quadrant", "quadrant0", "quadrant1", "quadrant2", "quadrant3", "quadrant4"}));
    EXPECT_EQ(info["views"].size(), 5u);
    EXPECT_EQ(info["views"][0]["shape"], json({3, 64, 64}));
    EXPECT_EQ(info["n"], 300);
}

void the_digit_sits_in_its_modalitys_quadrant() {
    const auto& data = default_data();
    for (int m : {0, 4}) {
        torch::Tensor ink = digit_pixels(data.at("view" + std::to_string(m)), m);
        torch::Tensor inside = ink & quadrant_mask(data.at("quadrant" + std::to_string(m)));
        EXPECT_GE(ink.flatten(1).sum(1).min().item<int64_t>(), 10) << "every sample shows its digit, modality " << m;
        EXPECT_EQ(inside.sum().item<int64_t>(), ink.sum().item<int64_t>()) << "no digit pixel outside the quadrant, modality " << m;
    }
    // Modalities 1-3 invert the background at the digit: the quadrant holds the changed pixels.
    torch::Tensor v1 = data.at("view1");
    EXPECT_GT(v1.mean().item<float>(), 0.05f);
}

void quadrants_are_private_unless_shared() {
    const auto& data = default_data();
    double same = (data.at("quadrant0") == data.at("quadrant1")).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(same, 0.1);
    EXPECT_LT(same, 0.45) << "drawn per modality (chance: 0.25)";
    auto shared = load("polymnist-quadrant", R"({"per_class": 10, "shared_quadrant": true, "modalities": 3})");
    EXPECT_TRUE(torch::equal(shared["quadrant0"], shared["quadrant1"]));
    EXPECT_TRUE(torch::equal(shared["quadrant0"], shared["quadrant2"]));
    EXPECT_EQ(shared.count("view3"), 0u);
}

void each_modality_draws_its_own_digit_of_the_same_class() {
    const auto& data = default_data();
    // Where modalities 0 and 4 put the digit in the same quadrant, compare the digits' grey levels.
    torch::Tensor q0 = data.at("quadrant0"), same = torch::nonzero(q0 == data.at("quadrant4")).flatten();
    torch::Tensor red = data.at("view0").select(1, 0) * digit_pixels(data.at("view0"), 0);
    torch::Tensor blue = data.at("view4").select(1, 2) * digit_pixels(data.at("view4"), 4);
    torch::Tensor differ = (red.index_select(0, same) - blue.index_select(0, same)).abs().flatten(1).amax(1) > 0.2;
    EXPECT_GT(differ.to(torch::kFloat64).mean().item<double>(), 0.8) << "another instance of the class";
}

void backgrounds_differ_per_modality() {
    const auto& data = default_data();
    std::vector<torch::Tensor> colour;
    for (int m = 0; m < 5; ++m) colour.push_back(data.at("view" + std::to_string(m)).mean({0, 2, 3}));
    for (int a = 0; a < 5; ++a)
        for (int b = a + 1; b < 5; ++b)
            EXPECT_GT((colour[a] - colour[b]).norm().item<float>(), 0.05f) << "modalities " << a << " and " << b;
    // Within a modality the crops vary.
    torch::Tensor v2 = data.at("view2");
    EXPECT_GT((v2[0] - v2[1]).abs().mean().item<float>(), 0.01f);
}

void deterministic_by_seed_and_repetitions() {
    const auto& data = default_data();
    auto again = load("polymnist-quadrant", kParams);
    auto other = load("polymnist-quadrant", R"({"per_class": 30, "data_seed": 1})");
    EXPECT_TRUE(torch::equal(data.at("view3"), again["view3"]));
    EXPECT_TRUE(torch::equal(data.at("quadrant2"), again["quadrant2"]));
    EXPECT_FALSE(torch::equal(data.at("view3"), other["view3"]));

    auto twice = load("polymnist-quadrant", R"({"per_class": 5, "repetitions": 2, "modalities": 2, "test_indices": [0, 1, 2]})");
    EXPECT_EQ(twice["view1"].size(0), 100);
    EXPECT_TRUE(torch::equal(torch::bincount(twice["label"]), torch::full({10}, 10, torch::kInt64)));
    EXPECT_EQ(twice["split"].sum().item<int64_t>(), 3);
}

// size = 32 is the 64 px canvas averaged over 2×2 blocks (bilinear at an exact halving), same labels.
void smaller_size_is_the_canvas_resized() {
    const auto& full = default_data();
    TensorMap small = load("polymnist-quadrant", R"({"per_class": 30, "size": 32})");
    for (int m = 0; m < 5; ++m) {
        const std::string v = "view" + std::to_string(m);
        ASSERT_EQ(small.at(v).sizes(), (std::vector<int64_t>{300, 3, 32, 32}));
        torch::Tensor pooled = torch::avg_pool2d(full.at(v), 2);
        EXPECT_LT((small.at(v) - pooled).abs().max().item<float>(), 1e-5) << v;
        EXPECT_TRUE(torch::equal(small.at("quadrant" + std::to_string(m)), full.at("quadrant" + std::to_string(m))));
    }
    EXPECT_EQ(dataset_test::info("polymnist-quadrant", R"({"per_class": 30, "size": 32})")["views"][0]["shape"], json({3, 32, 32}));
}

}  // namespace

// Each TEST is one process under ctest, and every process loads all plugins first (about 1.5 s),
// so related checks share a TEST.
TEST(PolymnistQuadrant, ShapesRangesLabelsAndQuadrants) {
    shapes_ranges_and_labels();
    the_digit_sits_in_its_modalitys_quadrant();
    quadrants_are_private_unless_shared();
}

TEST(PolymnistQuadrant, DigitInstancesAndBackgroundsDifferPerModality) {
    each_modality_draws_its_own_digit_of_the_same_class();
    backgrounds_differ_per_modality();
}

TEST(PolymnistQuadrant, DeterministicBySeedAndRepetitions) {
    deterministic_by_seed_and_repetitions();
}

TEST(PolymnistQuadrant, SmallerSizeIsTheCanvasResized) {
    smaller_size_is_the_canvas_resized();
}
