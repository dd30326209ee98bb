// The mrdd model plugin: its masks (patch_masks.hpp, tested directly) and the plugin itself through
// the C ABI on real E-MNIST digits, at a size that trains in seconds on a CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include <mvrl/nn/residual_conv.hpp>
#include <mvrl/nn/training.hpp>

#include "patch_masks.hpp"
#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

const torch::Device cpu(torch::kCPU);

// Share of masked patches whose right-hand neighbour is masked too: how clumped a mask is.
double right_neighbour_share(const torch::Tensor& masks) {
    torch::Tensor left = masks.narrow(2, 0, masks.size(2) - 1), right = masks.narrow(2, 1, masks.size(2) - 1);
    return (left & right).sum().item<double>() / left.sum().item<double>();
}

}  // namespace

TEST(MrddMasks, EveryStrategyMasksExactlyTheRequestedShareOfPatches) {
    for (auto strategy : {mrdd::MaskStrategy::Random, mrdd::MaskStrategy::Block, mrdd::MaskStrategy::Grid})
        for (double ratio : {0.1, 0.5, 0.7, 0.9}) {
            mrdd::PatchMasker masker(strategy, ratio, 2, 32, 32, 7, cpu);
            torch::Tensor masks = masker.patch_mask(64, cpu);
            ASSERT_EQ(masks.sizes(), (std::vector<int64_t>{64, 16, 16}));
            const int64_t expected = int64_t(ratio * 256);
            EXPECT_TRUE(torch::all(masks.flatten(1).sum(1) == expected).item<bool>()) << "strategy " << int(strategy) << ", ratio " << ratio;
            EXPECT_GT(std::get<0>(torch::unique_dim(masks.flatten(1), 0)).size(0), 1) << "masks must differ between samples";
        }
}

TEST(MrddMasks, ApplyZeroesExactlyTheMaskedPixels) {
    torch::manual_seed(0);
    mrdd::PatchMasker masker(mrdd::MaskStrategy::Random, 0.7, 4, 32, 32, 0, cpu);
    torch::Tensor x = torch::rand({8, 3, 32, 32}) + 0.5;  // no zero pixel before masking
    torch::Tensor zeroed = (masker.apply(x) == 0).all(1);  // [8, 32, 32]: all channels zero
    EXPECT_EQ(zeroed.sum().item<int64_t>(), 8 * int64_t(0.7 * 64) * 16);
    // Zeroed pixels come in whole 4×4 patches.
    torch::Tensor per_patch = zeroed.view({8, 8, 4, 8, 4}).sum({2, 4});
    EXPECT_TRUE(((per_patch == 0) | (per_patch == 16)).all().item<bool>());
}

TEST(MrddMasks, StrategiesHaveTheirShapes) {
    auto masks_of = [](mrdd::MaskStrategy s, double ratio) { return mrdd::PatchMasker(s, ratio, 2, 32, 32, 3, cpu).patch_mask(256, cpu); };
    // Grid at 75%: exactly one visible patch in every aligned 2×2 cell (MAE's grid-wise sampling).
    torch::Tensor grid = masks_of(mrdd::MaskStrategy::Grid, 0.75);
    torch::Tensor visible_per_cell = (~grid).view({256, 8, 2, 8, 2}).sum({2, 4});
    EXPECT_TRUE((visible_per_cell == 1).all().item<bool>());
    // Block masks clump far more than random ones at the same ratio.
    double block = right_neighbour_share(masks_of(mrdd::MaskStrategy::Block, 0.4));
    double random = right_neighbour_share(masks_of(mrdd::MaskStrategy::Random, 0.4));
    EXPECT_NEAR(random, 0.4, 0.03);
    EXPECT_GT(block, random + 0.3);
}

TEST(MrddMasks, BadPatchSizeIsAnError) {
    EXPECT_THROW(mrdd::PatchMasker(mrdd::MaskStrategy::Random, 0.7, 3, 32, 32, 0, cpu), std::invalid_argument);
    EXPECT_THROW(mrdd::mask_strategy_from_name("checkerboard"), std::invalid_argument);
}

namespace {

// 200 E-MNIST digits at 16 px and a slim network: a few seconds per test on one core.
struct SmallMrdd : ::testing::Test {
    static void SetUpTestSuite() {
        DatasetHandle dataset(built_plugins().require("mnist-edge", MVRL_KIND_DATASET), R"({"size": 16, "per_class": 20})", ctx());
        info = new json(dataset.info());
        data = new TensorMap(dataset.load());
    }
    static void TearDownTestSuite() {
        delete info;
        delete data;
    }
    static const HostContext& ctx() {
        static HostContext c("cpu", 0, 1);
        return c;
    }
    static std::unique_ptr<ModelHandle> model(json params) {
        json base = {{"channels", 4}, {"res_blocks", 0}, {"learning_rate", 0.003}, {"stage1_epochs", 1}, {"stage2_epochs", 1}};
        if (!params.is_null()) base.update(params);
        return std::make_unique<ModelHandle>(built_plugins().require("mrdd", MVRL_KIND_MODEL), base.dump(), *info, ctx());
    }
    static TensorMap batch() { return {{"view0", data->at("view0")}, {"view1", data->at("view1")}}; }

    // Every loss term the stage reports, step by step, over `steps` steps on the same batch.
    static std::map<std::string, std::vector<double>> train(ModelHandle& m, const std::string& stage, int steps) {
        std::map<std::string, std::vector<double>> terms;
        for (int i = 0; i < steps; ++i)
            for (const auto& [name, value] : m.train_step(stage, batch())) terms[name].push_back(value);
        return terms;
    }
    // Mean over the first and over the last `window` values.
    static std::pair<double, double> first_and_last(const std::vector<double>& values, size_t window = 5) {
        auto mean = [&](size_t from) { return std::accumulate(values.begin() + from, values.begin() + from + window, 0.0) / window; };
        return {mean(0), mean(values.size() - window)};
    }
    static json* info;
    static TensorMap* data;
};
json* SmallMrdd::info = nullptr;
TensorMap* SmallMrdd::data = nullptr;

}  // namespace

TEST_F(SmallMrdd, StagesFollowTheAblationSwitches) {
    EXPECT_EQ(model({})->stages().size(), 2u);
    EXPECT_EQ(model({{"train_stages", "consistent"}})->stages()[0]["name"], "consistent");
    EXPECT_EQ(model({{"train_stages", "specific"}})->stages()[0]["name"], "specific");
    auto reps = model({{"train_stages", "consistent"}})->encode(batch());
    EXPECT_TRUE(reps.count("c") && reps.count("z") && !reps.count("s0") && !reps.count("c+s0"));
    reps = model({})->encode(batch());
    for (const char* name : {"c", "s0", "s1", "c+s0", "concat", "z"}) EXPECT_TRUE(reps.count(name)) << name;
    EXPECT_EQ(reps["concat"].size(1), 30);
    EXPECT_TRUE(torch::equal(reps["z"], reps["c+s0"]));
}

TEST_F(SmallMrdd, StageOneLowersTheMaskedCrossViewElbo) {
    auto m = model({});
    auto [first, last] = first_and_last(train(*m, "consistent", 40)["reconstruction"]);
    EXPECT_LT(last, 0.7 * first);
}

// The reported terms are the unweighted per-sample error and KL; the loss weights them. At the
// same seed the first step's error and KL do not depend on the weights (same init, mask, noise),
// and "batch" sums the error over the batch instead of averaging it.
TEST_F(SmallMrdd, StageOneLossWeightsTheReportedTerms) {
    auto plain = train(*model({}), "consistent", 1);
    auto released = train(*model({{"reconstruction_sum", "batch"}, {"reconstruction_weight", 0.5}}), "consistent", 1);
    const double n = double(data->at("view0").size(0));
    EXPECT_NEAR(plain["loss"][0], plain["reconstruction"][0] + plain["kl"][0], 1e-3 * plain["loss"][0]);
    EXPECT_NEAR(released["loss"][0], 0.5 * released["reconstruction"][0] + released["kl"][0], 1e-3 * released["loss"][0]);
    EXPECT_NEAR(released["reconstruction"][0], n * plain["reconstruction"][0], 1e-3 * released["reconstruction"][0]);
    EXPECT_NEAR(released["kl"][0], plain["kl"][0], 1e-4 + 1e-3 * plain["kl"][0]);
}

TEST_F(SmallMrdd, StageTwoLowersReconstructionAndFitsQ) {
    auto m = model({});
    train(*m, "consistent", 10);
    auto terms = train(*m, "specific", 40);
    auto [lr_first, lr_last] = first_and_last(terms["lr"]);
    EXPECT_LT(lr_last, 0.8 * lr_first);
    auto [fit_first, fit_last] = first_and_last(terms["club_fit"]);
    EXPECT_LT(fit_last, fit_first) << "q(s|c) must fit";
}

// 'w/o Lr': L_d and the prior on s_i alone. Minimising the CLUB bound without the prior diverged
// (s_i ran off to 1e23); with it, the bound settles at zero: s_i keeps nothing of c.
TEST_F(SmallMrdd, LdWithoutReconstructionSettlesAtZero) {
    auto m = model({{"lr", false}});
    train(*m, "consistent", 10);
    auto ld = train(*m, "specific", 40)["ld"];
    auto [first, last] = first_and_last(ld, 10);
    EXPECT_TRUE(std::isfinite(first) && std::isfinite(last));
    EXPECT_LT(std::abs(last), 0.01);
}

TEST_F(SmallMrdd, StageTwoLeavesTheConsistentEncoderUnchanged) {
    auto m = model({});
    train(*m, "consistent", 10);
    torch::Tensor c_before = m->encode(batch())["c"].clone();
    train(*m, "specific", 10);
    torch::Tensor after = m->encode(batch())["c"];
    EXPECT_TRUE(torch::equal(c_before, after)) << "weights or BatchNorm statistics of E_c moved in stage II";
}

TEST_F(SmallMrdd, SaveAndLoadRoundTrip) {
    auto trained = model({});
    train(*trained, "consistent", 5);
    train(*trained, "specific", 5);
    auto path = std::filesystem::temp_directory_path() / ("mrdd_test_" + std::to_string(::getpid()) + ".pt");
    trained->save(path.string());
    auto fresh = model({});
    EXPECT_FALSE(torch::equal(fresh->encode(batch())["z"], trained->encode(batch())["z"]));
    fresh->load(path.string());
    EXPECT_TRUE(torch::equal(fresh->encode(batch())["z"], trained->encode(batch())["z"]));
    std::filesystem::remove(path);
}

TEST_F(SmallMrdd, ViewsThatTheEncoderCannotShrinkAreAClearError) {
    try {
        model({{"channel_multipliers", {1, 2, 4, 8, 16, 32}}});  // 16 px cannot be halved five times
        FAIL() << "expected an error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("divisible by 32"), std::string::npos) << e.what();
    }
}

// mvrl/nn/training.hpp, which mrdd's steps use: the device-side clip equals libtorch's
// clip_grad_norm_, and step_scalars gives each tensor's value.
TEST(MrddStepBookkeeping, ClipGradNormMatchesLibtorch) {
    torch::manual_seed(3);
    for (double max_norm : {0.1, 1e3}) {  // clipping, and a bound above the norm (no change)
        std::vector<torch::Tensor> ours, theirs;
        for (auto shape : {std::vector<int64_t>{4, 3}, std::vector<int64_t>{7}}) {
            torch::Tensor grad = torch::randn(shape);
            for (auto* side : {&ours, &theirs}) {
                side->push_back(torch::zeros(shape, torch::requires_grad()));
                side->back().mutable_grad() = grad.clone();
            }
        }
        mvrl::nn::clip_grad_norm(ours, max_norm);
        torch::nn::utils::clip_grad_norm_(theirs, max_norm);
        for (size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(torch::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-7)) << max_norm;
    }
}

TEST(MrddStepBookkeeping, StepScalarsKeepNamesAndValues) {
    auto scalars = mvrl::nn::step_scalars({{"a", torch::tensor(1.5)}, {"b", torch::tensor(-2.25, torch::kFloat64)}, {"c", torch::ones({1}) * 3}});
    ASSERT_EQ(scalars.size(), 3u);
    EXPECT_EQ(scalars[0], (std::pair<std::string, double>{"a", 1.5}));
    EXPECT_EQ(scalars[1], (std::pair<std::string, double>{"b", -2.25}));
    EXPECT_EQ(scalars[2], (std::pair<std::string, double>{"c", 3.0}));
}

// use_channels_last_on_cpu changes strides only: the same parameter handles (an optimizer made before
// still steps them), the same outputs and gradients as in NCHW, and the activations follow.
TEST(MrddStepBookkeeping, ChannelsLastKeepsValuesAndHandles) {
    torch::manual_seed(5);
    const auto options = mvrl::nn::ConvAutoencoderOptions(2).channels(4).multipliers({1, 2}).res_blocks(1).latent_channels(3);
    mvrl::nn::ConvEncoder nchw(options), nhwc(options);
    {
        torch::NoGradGuard no_grad;
        auto from = nchw->parameters(), to = nhwc->parameters();
        for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    }
    std::vector<torch::Tensor> handles = nhwc->parameters();
    mvrl::nn::use_channels_last_on_cpu(*nhwc, torch::Device(torch::kCUDA));  // another device: left as it is
    for (const auto& p : handles) EXPECT_TRUE(p.is_contiguous());
    mvrl::nn::use_channels_last_on_cpu(*nhwc, torch::kCPU);
    const std::vector<torch::Tensor> after = nhwc->parameters();
    size_t converted = 0;
    for (size_t i = 0; i < handles.size(); ++i) {
        EXPECT_TRUE(handles[i].is_same(after[i]));
        if (handles[i].dim() == 4) converted += handles[i].is_contiguous(torch::MemoryFormat::ChannelsLast);
    }
    EXPECT_GT(converted, 3u);
    torch::Tensor x = torch::randn({5, 2, 8, 8});
    torch::Tensor a = nchw->forward(x), b = nhwc->forward(x);
    EXPECT_TRUE(b.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
    a.pow(2).sum().backward();
    b.pow(2).sum().backward();
    auto ga = nchw->parameters(), gb = nhwc->parameters();
    for (size_t i = 0; i < ga.size(); ++i) EXPECT_TRUE(torch::allclose(ga[i].grad(), gb[i].grad(), 1e-3, 1e-4)) << i;
}
