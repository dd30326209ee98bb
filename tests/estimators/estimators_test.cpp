// The neural MI estimators (mine, club, infonce) on correlated Gaussians with known mutual
// information, loaded from their .so files and called through the C ABI as the host calls them.
//
// x, y in R^d, x ~ N(0, I), y = rho x + sqrt(1 - rho^2) e: I(x; y) = -d/2 log(1 - rho^2) nats.
// d = 2, 4000 samples (3200 to train on, 800 held out), 600 steps. Tolerances, in nats:
//   mine     within 0.1 of the truth (it lands within 0.02 at these settings)
//   club     at or above the truth minus 0.05; and within 15% of what CLUB gives with the exact
//            conditional q = p(y|x), d rho^2 / (1 - rho^2), while that variance is inside q's range
//   infonce  within 0.06 of the truth while the truth is at most 0.3; never above log(batch_size),
//            and pinned just under it when the truth is above it
//   all      strictly increasing with rho (0.3, 0.6, 0.8)
// Small networks and one intra-op thread (ctest runs two test processes on two cores): each test
// takes a few seconds.
#include <gtest/gtest.h>

#include <cmath>

#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

constexpr int64_t kDims = 2, kSamples = 4000;
const std::vector<double> kRhos = {0.3, 0.6, 0.8};

struct Gaussians {
    torch::Tensor x, y;
    double mi;
};

Gaussians correlated(double rho, int64_t n = kSamples, int64_t d = kDims, uint64_t seed = 1) {
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    torch::Tensor x = at::normal(0, 1, {n, d}, gen);
    torch::Tensor y = rho * x + std::sqrt(1 - rho * rho) * at::normal(0, 1, {n, d}, gen);
    return {x, y, -0.5 * double(d) * std::log(1 - rho * rho)};
}

std::map<std::string, double> estimate(const std::string& plugin, const TensorMap& inputs, const std::string& params) {
    torch::set_num_threads(1);
    return estimator_values(plugin, inputs, params);
}

// The estimate at each of kRhos, printed beside the truth.
std::vector<double> estimates_over_rho(const std::string& plugin, const std::string& params) {
    std::vector<double> values;
    for (double rho : kRhos) {
        Gaussians g = correlated(rho);
        auto out = estimate(plugin, {{"x", g.x}, {"y", g.y}}, params);
        std::printf("%s rho %.1f: truth %.3f, estimate %.3f (sd of readings %.3f, on training batches %.3f)\n", plugin.c_str(),
                    rho, g.mi, out["mi"], out["mi_sd"], out["mi_train"]);
        values.push_back(out["mi"]);
    }
    return values;
}

void expect_increasing(const std::vector<double>& values, const std::string& plugin) {
    for (size_t i = 1; i < values.size(); ++i)
        EXPECT_GT(values[i], values[i - 1]) << plugin << ": estimate at rho " << kRhos[i] << " is not above rho " << kRhos[i - 1];
}

std::string error_of(const std::string& plugin, const TensorMap& inputs, const std::string& params = "{}") {
    try {
        estimate(plugin, inputs, params);
    } catch (const PluginCallError& e) {
        EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT) << e.what();
        return e.what();
    }
    return "";
}

const char* kFast = R"("steps": 600, "average_last": 100)";

}  // namespace

TEST(MineEstimator, WithinATenthOfANatOfTheTruthAndIncreasingWithRho) {
    auto values = estimates_over_rho("mine", std::string("{") + kFast + R"(, "lr": 1e-3, "hidden": 50, "layers": 2})");
    for (size_t i = 0; i < kRhos.size(); ++i) EXPECT_NEAR(values[i], correlated(kRhos[i]).mi, 0.1) << "rho " << kRhos[i];
    expect_increasing(values, "mine");
}

TEST(ClubEstimator, AtOrAboveTheTruthAndIncreasingWithRho) {
    auto values = estimates_over_rho("club", std::string("{") + kFast + R"(, "hidden": 32})");
    for (size_t i = 0; i < kRhos.size(); ++i) {
        const double rho = kRhos[i], truth = correlated(rho).mi;
        EXPECT_GE(values[i], truth - 0.05) << "rho " << rho;
        // q's log-variance is bounded below by -1: exact only while 1 - rho^2 >= e^-1.
        if (1 - rho * rho >= std::exp(-1.0)) {
            double exact_q = double(kDims) * rho * rho / (1 - rho * rho);
            EXPECT_NEAR(values[i], exact_q, 0.15 * exact_q) << "rho " << rho;
        }
    }
    expect_increasing(values, "club");
}

TEST(InfoNceEstimator, TracksTheTruthAtLowMIAndIncreasesWithRho) {
    auto values = estimates_over_rho("infonce", std::string("{") + kFast + R"(, "hidden": 64, "embedding": 16})");
    for (size_t i = 0; i < kRhos.size(); ++i) {
        const double truth = correlated(kRhos[i]).mi;
        EXPECT_LT(values[i], std::log(128.0)) << "rho " << kRhos[i];
        if (truth <= 0.3) EXPECT_NEAR(values[i], truth, 0.06) << "rho " << kRhos[i];
    }
    expect_increasing(values, "infonce");
}

TEST(InfoNceEstimator, NeverAboveLogBatchSize) {
    // Truth 3.9 nats, log 8 = 2.08: the bound saturates just under log(batch_size).
    Gaussians g = correlated(0.99);
    auto out = estimate("infonce", {{"x", g.x}, {"y", g.y}},
                        R"({"steps": 2000, "average_last": 200, "hidden": 64, "embedding": 16, "batch_size": 8})");
    std::printf("infonce, batch 8: truth %.3f, estimate %.3f, log 8 = %.3f\n", g.mi, out["mi"], out["log_batch"]);
    EXPECT_DOUBLE_EQ(out["log_batch"], std::log(8.0));
    EXPECT_LE(out["mi"], std::log(8.0));
    EXPECT_LE(out["mi_train"], std::log(8.0));
    EXPECT_GT(out["mi"], 0.8 * std::log(8.0));
}

TEST(Estimators, SeededAndReportTheirDiagnostics) {
    Gaussians g = correlated(0.5, 1000);
    const std::string params = R"({"steps": 50, "average_last": 10, "hidden": 16, "seed": 7})";
    for (const char* plugin : {"mine", "club", "infonce"}) {
        auto first = estimate(plugin, {{"x", g.x}, {"y", g.y}}, params), again = estimate(plugin, {{"x", g.x}, {"y", g.y}}, params);
        EXPECT_EQ(first, again) << plugin;
        EXPECT_EQ(first["steps"], 50) << plugin;
        EXPECT_EQ(first["n_train"], 800) << plugin;
        EXPECT_EQ(first["n_test"], 200) << plugin;
        EXPECT_EQ(first["batch_size"], 128) << plugin;
        for (const char* name : {"mi", "mi_sd", "mi_train", "loss"}) EXPECT_TRUE(first.count(name)) << plugin << " " << name;
        auto other = estimate(plugin, {{"x", g.x}, {"y", g.y}}, R"({"steps": 50, "average_last": 10, "hidden": 16, "seed": 8})");
        EXPECT_NE(first["mi"], other["mi"]) << plugin;
        // test_fraction 0: the bound is read on all samples.
        auto all = estimate(plugin, {{"x", g.x}, {"y", g.y}}, R"({"steps": 50, "average_last": 10, "hidden": 16, "test_fraction": 0})");
        EXPECT_EQ(all["n_train"], 1000) << plugin;
        EXPECT_EQ(all["n_test"], 1000) << plugin;
    }
}

TEST(Estimators, BadInputIsAClearError) {
    Gaussians g = correlated(0.5, 1000);
    torch::Tensor with_nan = g.x.clone(), with_inf = g.y.clone();
    with_nan[3][1] = NAN;
    with_inf[5][0] = INFINITY;
    for (const std::string plugin : {"mine", "club", "infonce"}) {
        std::string e = error_of(plugin, {{"x", with_nan}, {"y", g.y}});
        EXPECT_NE(e.find(plugin + ": input 'x' contains NaN or Inf"), std::string::npos) << e;
        e = error_of(plugin, {{"x", g.x}, {"y", with_inf}});
        EXPECT_NE(e.find(plugin + ": input 'y' contains NaN or Inf"), std::string::npos) << e;
        e = error_of(plugin, {{"x", g.x}, {"y", g.y.slice(0, 0, 999)}});
        EXPECT_NE(e.find("x and y have different numbers of samples (1000 vs 999)"), std::string::npos) << e;
        e = error_of(plugin, {{"x", g.x.slice(0, 0, 300)}, {"y", g.y.slice(0, 0, 300)}});
        EXPECT_NE(e.find("300 samples give 240 to train on and 60 held out (test_fraction 0.2); each part needs at least "
                         "batch_size = 128"),
                  std::string::npos)
            << e;
        e = error_of(plugin, {{"x", g.x}});
        EXPECT_NE(e.find("missing input tensor 'y' (given: x)"), std::string::npos) << e;
        e = error_of(plugin, {{"x", g.x}, {"y", g.y}}, R"({"lr": -1})");
        EXPECT_NE(e.find("parameter 'lr' of plugin '" + plugin + "'"), std::string::npos) << e;
    }
}
