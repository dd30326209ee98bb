// The idmvae model plugin through the C ABI on PolyMNIST-Quadrant (support/small_polymnist.hpp):
// its three terms on top of MMVAE+'s, their reductions, generation from the diffusion priors, and
// checkpoints that carry them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "support/small_polymnist.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

// A small diffusion denoiser keeps a step near MMVAE+'s cost.
struct SmallIdmvae : SmallPolymnist {
    static std::unique_ptr<ModelHandle> model(json params = json::object()) {
        json base = {{"diffusion_hidden", 32}};
        base.update(params);
        return SmallPolymnist::model("idmvae", base);
    }
};

}  // namespace

// Eq. 2 with the diffusion term: every term is reported and they add up to the loss.
TEST_F(SmallIdmvae, TheReportedTermsAddUpToTheLoss) {
    auto terms = train(*model({{"beta", 2.5}, {"cross_mi_weight", 80.0}, {"gen_aug_weight", 20.0}, {"diffusion_weight", 1.0}}), 1);
    for (const char* name : {"loss", "reconstruction", "cross_reconstruction", "kl", "cross_mi", "gen_aug", "diffusion"})
        ASSERT_EQ(terms[name].size(), 1u) << name;
    const double sum = terms["reconstruction"][0] + terms["cross_reconstruction"][0] + 2.5 * terms["kl"][0] + 80 * terms["cross_mi"][0] +
                       20 * terms["gen_aug"][0] + terms["diffusion"][0];
    EXPECT_NEAR(terms["loss"][0], sum, 1e-4 * std::abs(sum));
}

// With every addition off, IDMVAE is MMVAE+: the same networks from the same seed, the same loss.
TEST_F(SmallIdmvae, WithoutItsTermsItIsMmvaePlus) {
    auto plain = train(*model({{"cross_mi_weight", 0.0}, {"gen_aug_weight", 0.0}, {"diffusion_weight", 0.0}}), 3);
    auto reference = train(*SmallPolymnist::model("mmvae-plus"), 3);
    EXPECT_FALSE(plain.count("cross_mi") || plain.count("gen_aug") || plain.count("diffusion")) << "terms that are off are not reported";
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(plain["loss"][size_t(i)], reference["loss"][size_t(i)], 1e-5 * std::abs(reference["loss"][0])) << i;
}

// The release's reductions are M× the paper's: the cross-MI sum over ordered pairs / (M-1) against
// the mean over pairs, and the cycle loss summed against averaged over modalities.
TEST_F(SmallIdmvae, PaperReductionsAreTheReleasesOverM) {
    auto release = train(*model(), 1);
    auto paper = train(*model({{"cross_mi_reduction", "paper"}, {"gen_aug_reduction", "paper"}}), 1);
    EXPECT_NEAR(paper["cross_mi"][0], release["cross_mi"][0] / kModalities, 1e-5 * std::abs(release["cross_mi"][0]));
    EXPECT_NEAR(paper["gen_aug"][0], release["gen_aug"][0] / kModalities, 1e-5 * std::abs(release["gen_aug"][0]));
}

// A short run lowers every term it optimises: both reconstructions, the diffusion priors' loss,
// the cross-view contrast and the cycle term (contrastive or least squares). At this size (width 4,
// 16 px, 10 digits per class) the contrastive terms fall from above to the floor of an NT-Xent whose
// codes carry nothing yet, log(2B - 1) per pair (M of them with the release's reductions: M(M-1)
// ordered pairs / (M-1), and M modalities × 0.5 × 2 terms), and no lower: learning the digit takes
// more than 30 steps of a 4-channel network.
TEST_F(SmallIdmvae, ShortRunLowersEachLossTerm) {
    const double floor = kModalities * std::log(2.0 * 50 - 1);
    for (const char* cycle : {"contrastive", "least_squares"}) {
        const bool contrastive = std::string(cycle) == "contrastive";
        auto terms = train(*model({{"gen_aug_loss", cycle}, {"gen_aug_weight", contrastive ? 20.0 : 0.75}}), 30);
        std::vector<std::string> falling = {"loss", "reconstruction", "cross_reconstruction", "diffusion"};
        if (!contrastive) falling.push_back("gen_aug");
        for (const auto& name : falling) {
            const double first = mean_of(terms[name], 0, 5), last = mean_of(terms[name], 25, 5);
            EXPECT_LT(last, first - 0.02 * std::abs(first)) << cycle << ": " << name << " from " << first << " to " << last;
        }
        std::vector<std::string> contrasts = {"cross_mi"};
        if (contrastive) contrasts.push_back("gen_aug");
        for (const auto& name : contrasts) {
            EXPECT_GT(terms[name][0], floor + 0.05) << cycle << ": " << name << " starts above the floor";
            EXPECT_LT(mean_of(terms[name], 25, 5), floor + 0.01) << cycle << ": " << name << " reaches the floor " << floor;
        }
    }
}

// Eq. 3 read as the paper writes it: the diffusion loss stands for -E log p, so the ELBO's own
// log p(z), log p(w) leave the kl term (which becomes the negative entropy part).
TEST_F(SmallIdmvae, DiffusionCanReplaceTheGaussianPriorTerms) {
    auto added = train(*model(), 1), replaced = train(*model({{"diffusion_replaces_prior", true}}), 1);
    EXPECT_NEAR(added["reconstruction"][0], replaced["reconstruction"][0], 1e-5 * std::abs(added["reconstruction"][0]));
    EXPECT_GT(std::abs(added["kl"][0] - replaced["kl"][0]), 1.0) << "the log p terms are gone";
    EXPECT_THROW(model({{"diffusion_replaces_prior", true}, {"diffusion_weight", 0.0}}), std::exception);
}

// Generation uses the diffusion priors when trained with them: every mode gives finite images of
// the dataset's shape.
TEST_F(SmallIdmvae, GenerateFromTheDiffusionPriors) {
    auto m = model();
    train(*m, 2);
    ASSERT_TRUE(m->generates());
    TensorMap inputs{{"view1", data().at("view1").narrow(0, 0, 6)}};
    for (const char* mode : {"cross", "private"}) {
        auto out = m->generate({{"mode", mode}, {"given", {1}}}, inputs);
        ASSERT_TRUE(out.count("view1")) << mode;
        EXPECT_EQ(out.at("view1").sizes(), (std::vector<int64_t>{6, 3, kSide, kSide})) << mode;
    }
    auto unconditional = m->generate({{"mode", "unconditional"}, {"n", 7}}, {});
    for (int64_t i = 0; i < kModalities; ++i) {
        const auto& v = unconditional.at("view" + std::to_string(i));
        EXPECT_EQ(v.sizes(), (std::vector<int64_t>{7, 3, kSide, kSide}));
        EXPECT_TRUE(torch::isfinite(v).all().item<bool>());
    }
}

TEST_F(SmallIdmvae, CheckpointRestoresNetworksAndDiffusionPriors) {
    auto trained = model();
    train(*trained, 3);
    auto path = std::filesystem::temp_directory_path() / ("idmvae_test_" + std::to_string(::getpid()) + ".pt");
    trained->save(path.string());
    auto fresh = model({{"learning_rate", 1e-3}});
    fresh->load(path.string());
    std::filesystem::remove(path);
    EXPECT_TRUE(torch::equal(fresh->encode(batch(10))["concat"], trained->encode(batch(10))["concat"]));
    // The same prior samples from the same generator state: the diffusion networks came back too.
    torch::manual_seed(5);
    auto a = trained->generate({{"mode", "unconditional"}, {"n", 4}}, {});
    torch::manual_seed(5);
    auto b = fresh->generate({{"mode", "unconditional"}, {"n", 4}}, {});
    EXPECT_TRUE(torch::allclose(a.at("view0"), b.at("view0")));
    // And training goes on identically (Adam's moments and the diffusion param group restored).
    torch::manual_seed(6);
    auto next_trained = train(*trained, 1);
    torch::manual_seed(6);
    auto next_fresh = train(*fresh, 1);
    EXPECT_NEAR(next_trained["loss"][0], next_fresh["loss"][0], 1e-4 * std::abs(next_trained["loss"][0]));
}

// cross_mi_centered (ours, off by default): the contrast sees batch-centred z means, so codes that
// are all alike no longer reach the NT-Xent's floor by being alike; the other terms are untouched.
TEST_F(SmallIdmvae, CenteredCrossMiChangesOnlyTheContrast) {
    auto plain = train(*model(), 1), centered = train(*model({{"cross_mi_centered", true}}), 1);
    EXPECT_GT(std::abs(plain["cross_mi"][0] - centered["cross_mi"][0]), 1e-3);
    for (const char* name : {"reconstruction", "cross_reconstruction", "kl"})
        EXPECT_NEAR(plain[name][0], centered[name][0], 1e-5 * std::abs(plain[name][0])) << name;
}
