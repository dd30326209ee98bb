// The mmvae-plus model plugin through the C ABI on PolyMNIST-Quadrant (support/small_polymnist.hpp).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <numeric>

#include "support/small_polymnist.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

struct SmallMmvaePlus : SmallPolymnist {
    static std::unique_ptr<ModelHandle> model(json params = json::object()) { return SmallPolymnist::model("mmvae-plus", params); }
};

}  // namespace

TEST_F(SmallMmvaePlus, OneStageAndTheReportedTermsAddUpToTheLoss) {
    auto m = model({{"beta", 2.5}, {"epochs", 7}});
    json stages = m->stages();
    ASSERT_EQ(stages.size(), 1u);
    EXPECT_EQ(stages[0]["epochs"], 7);
    auto terms = train(*m, 1);
    for (const char* name : {"loss", "reconstruction", "cross_reconstruction", "kl"}) ASSERT_EQ(terms[name].size(), 1u) << name;
    EXPECT_NEAR(terms["loss"][0], terms["reconstruction"][0] + terms["cross_reconstruction"][0] + 2.5 * terms["kl"][0],
                1e-4 * std::abs(terms["loss"][0]));
}

// With K > 1 the loss is the IWAE bound, -log mean_k exp(log w_k): by Jensen below the mean of
// -log w_k, which the reported terms (means over the K samples) add up to; strictly, as the K
// samples differ.
TEST_F(SmallMmvaePlus, ImportanceWeightedLossIsBelowTheSampleMean) {
    auto terms = train(*model({{"beta", 2.5}, {"k", 4}}), 1);
    const double mean_of_samples = terms["reconstruction"][0] + terms["cross_reconstruction"][0] + 2.5 * terms["kl"][0];
    EXPECT_LT(terms["loss"][0], mean_of_samples - 1e-3);
    EXPECT_GT(terms["loss"][0], mean_of_samples - 0.5 * std::abs(mean_of_samples)) << "a bound of the same order";
}

// Both reconstruction terms fall over a short run, for either latent family, and so does the loss.
TEST_F(SmallMmvaePlus, ShortRunLowersTheLossAndBothReconstructions) {
    for (const char* family : {"laplace", "normal"}) {
        auto terms = train(*model({{"latent_distribution", family}}), 40);
        for (const char* name : {"loss", "reconstruction", "cross_reconstruction"}) {
            const double first = mean_of(terms[name], 0, 5), last = mean_of(terms[name], 35, 5);
            EXPECT_LT(last, first - 0.05 * std::abs(first)) << family << ": " << name << " from " << first << " to " << last;
        }
    }
}

// The KL term is what β weighs: trained with a large β it ends far lower than with a small one
// (same seed, so the same initial network and noise).
TEST_F(SmallMmvaePlus, LargerBetaLowersTheKlTerm) {
    auto weak = train(*model({{"beta", 0.05}}), 30), strong = train(*model({{"beta", 5.0}}), 30);
    EXPECT_NEAR(weak["kl"][0], strong["kl"][0], 1e-6 + 1e-4 * std::abs(weak["kl"][0])) << "same start";
    const double weak_end = mean_of(weak["kl"], 25, 5), strong_end = mean_of(strong["kl"], 25, 5);
    EXPECT_LT(strong_end, 0.5 * weak_end) << "kl after 30 steps: β 0.05 → " << weak_end << ", β 5 → " << strong_end;
}

TEST_F(SmallMmvaePlus, EncodeGivesTheNamedRepresentations) {
    auto m = model();
    train(*m, 2);
    auto reps = m->encode(batch(20));
    std::vector<torch::Tensor> shared;
    for (int64_t i = 0; i < kModalities; ++i) {
        const std::string z = "z" + std::to_string(i), w = "w" + std::to_string(i);
        ASSERT_TRUE(reps.count(z) && reps.count(w)) << i;
        EXPECT_EQ(reps[z].sizes(), (std::vector<int64_t>{20, kZ}));
        EXPECT_EQ(reps[w].sizes(), (std::vector<int64_t>{20, kW}));
        shared.push_back(reps[z]);
    }
    EXPECT_TRUE(torch::allclose(reps["z"], torch::stack(shared).mean(0)));
    EXPECT_EQ(reps["concat"].sizes(), (std::vector<int64_t>{20, kZ + kModalities * kW}));
    EXPECT_FALSE(torch::allclose(reps["z0"], reps["z1"])) << "each modality has its own encoder";
    // Posterior means, not samples: encoding twice gives the same codes.
    EXPECT_TRUE(torch::equal(m->encode(batch(20))["w2"], reps["w2"]));
}

TEST_F(SmallMmvaePlus, GenerateGivesImagesOfTheDatasetsShapeForEverySubset) {
    auto m = model();
    ASSERT_TRUE(m->generates());
    train(*m, 2);
    auto images_ok = [](const TensorMap& out, int64_t n) {
        for (int64_t i = 0; i < kModalities; ++i) {
            const std::string v = "view" + std::to_string(i);
            ASSERT_TRUE(out.count(v)) << v;
            EXPECT_EQ(out.at(v).sizes(), (std::vector<int64_t>{n, 3, 16, 16})) << v;
            EXPECT_TRUE(((out.at(v) >= 0) & (out.at(v) <= 1)).all().item<bool>()) << v;
        }
    };
    for (int subset = 1; subset < (1 << kModalities); ++subset) {
        json given = json::array();
        TensorMap inputs;
        for (int64_t i = 0; i < kModalities; ++i)
            if (subset & (1 << i)) {
                given.push_back(i);
                inputs["view" + std::to_string(i)] = data().at("view" + std::to_string(i)).narrow(0, 0, 8);
            }
        SCOPED_TRACE("given " + given.dump());
        images_ok(m->generate({{"mode", "cross"}, {"given", given}}, inputs), 8);
        images_ok(m->generate({{"mode", "cross"}, {"given", given}, {"w", "auxiliary"}}, inputs), 8);
        // private: only the given modalities, each from its own w and a prior z.
        auto own = m->generate({{"mode", "private"}, {"given", given}}, inputs);
        EXPECT_EQ(own.size(), given.size());
        for (const auto& i : given) {
            const std::string v = "view" + std::to_string(i.get<int64_t>());
            ASSERT_TRUE(own.count(v)) << v;
            EXPECT_EQ(own.at(v).sizes(), (std::vector<int64_t>{8, 3, 16, 16})) << v;
        }
    }
    images_ok(m->generate({{"mode", "unconditional"}, {"n", 5}}, {}), 5);

    // decode: the given codes, deterministically; a w changes the image.
    TensorMap codes{{"z", torch::randn({4, kZ})}, {"w0", torch::randn({4, kW})}, {"w2", torch::randn({4, kW})}};
    auto decoded = m->generate({{"mode", "decode"}}, codes);
    EXPECT_TRUE(decoded.count("view0") && decoded.count("view2") && !decoded.count("view1"));
    EXPECT_TRUE(torch::equal(decoded["view0"], m->generate({{"mode", "decode"}}, codes)["view0"]));
    codes["w0"] = codes["w0"] + 3;
    EXPECT_FALSE(torch::allclose(decoded["view0"], m->generate({{"mode", "decode"}}, codes)["view0"]));

    EXPECT_THROW(m->generate({{"mode", "cross"}, {"given", {5}}}, batch(4)), std::exception);
    EXPECT_THROW(m->generate({{"mode", "cross"}}, batch(4)), std::exception);
    EXPECT_THROW(m->generate({{"mode", "dream"}}, {}), std::exception);
}

TEST_F(SmallMmvaePlus, CheckpointRestoresTheCodes) {
    auto trained = model();
    train(*trained, 3);
    auto path = std::filesystem::temp_directory_path() / ("mmvae_plus_test_" + std::to_string(::getpid()) + ".pt");
    trained->save(path.string());
    auto fresh = model({{"learning_rate", 1e-3}});  // same seed: only training distinguishes them
    EXPECT_FALSE(torch::allclose(fresh->encode(batch(10))["z"], trained->encode(batch(10))["z"]));
    fresh->load(path.string());
    std::filesystem::remove(path);
    EXPECT_TRUE(torch::equal(fresh->encode(batch(10))["concat"], trained->encode(batch(10))["concat"]));
}

TEST_F(SmallMmvaePlus, UnsuitableDatasetsAreErrors) {
    json one_view = {{"n", 10}, {"views", {{{"shape", {3, 32, 32}}}}}};
    EXPECT_THROW(ModelHandle(built_plugins().require("mmvae-plus", MVRL_KIND_MODEL), "{}", one_view, ctx()), std::exception);
    json odd = {{"n", 10}, {"views", {{{"shape", {3, 18, 18}}}, {{"shape", {3, 18, 18}}}}}};
    EXPECT_THROW(ModelHandle(built_plugins().require("mmvae-plus", MVRL_KIND_MODEL), "{}", odd, ctx()), std::exception);
}

// The host's side of the optional call: a model that leaves generate NULL is refused, not called.
TEST_F(SmallMmvaePlus, AModelWithoutGenerateIsRefused) {
    ModelHandle raw(built_plugins().require("raw", MVRL_KIND_MODEL), "{}", info(), ctx());
    EXPECT_FALSE(raw.generates());
    EXPECT_THROW(raw.generate({{"mode", "unconditional"}, {"n", 2}}, {}), PluginCallError);
}
