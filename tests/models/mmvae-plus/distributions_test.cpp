// mvrl/nn/distributions.hpp and mvrl/nn/leaky_resnet.hpp, tested directly: densities and samples
// against closed forms, the mixture density against a direct sum, the ResNet's shapes and its
// residual rule.
#include <gtest/gtest.h>

#include <cmath>

#include <mvrl/nn/distributions.hpp>
#include <mvrl/nn/leaky_resnet.hpp>

using mvrl::nn::Distribution;
using mvrl::nn::Family;

namespace {

Distribution make(Family f, double loc, double scale) {
    return {f, torch::full({1}, loc, torch::kFloat64), torch::full({1}, scale, torch::kFloat64)};
}

double normal_density(double x, double mu, double sigma) {
    return std::exp(-(x - mu) * (x - mu) / (2 * sigma * sigma)) / (sigma * std::sqrt(2 * M_PI));
}
double laplace_density(double x, double mu, double b) { return std::exp(-std::abs(x - mu) / b) / (2 * b); }

}  // namespace

TEST(Distributions, LogDensitiesMatchTheClosedForms) {
    for (double x : {-3.0, -0.4, 0.0, 0.7, 2.5})
        for (auto [mu, s] : {std::pair{0.0, 1.0}, std::pair{0.5, 0.3}, std::pair{-1.0, 2.0}}) {
            torch::Tensor at = torch::full({1}, x, torch::kFloat64);
            EXPECT_NEAR(make(Family::Normal, mu, s).log_prob(at).item<double>(), std::log(normal_density(x, mu, s)), 1e-10);
            EXPECT_NEAR(make(Family::Laplace, mu, s).log_prob(at).item<double>(), std::log(laplace_density(x, mu, s)), 1e-10);
        }
}

// The densities integrate to one (trapezoid rule on a wide grid), whatever their parameters.
TEST(Distributions, DensitiesIntegrateToOne) {
    torch::Tensor grid = torch::linspace(-40, 40, 400001, torch::kFloat64);
    for (auto f : {Family::Normal, Family::Laplace}) {
        torch::Tensor density = make(f, 0.8, 1.7).log_prob(grid).exp();
        EXPECT_NEAR(torch::trapezoid(density, grid).item<double>(), 1.0, 1e-6);
    }
}

TEST(Distributions, ReparameterisedSamplesHaveTheParametersMoments) {
    torch::manual_seed(0);
    const int64_t n = 200000;
    torch::Tensor loc = torch::tensor({0.5, -2.0}, torch::kFloat64), scale = torch::tensor({0.3, 1.5}, torch::kFloat64);
    for (auto f : {Family::Normal, Family::Laplace}) {
        Distribution d{f, loc, scale};
        torch::Tensor x = d.rsample({n});
        ASSERT_EQ(x.sizes(), (std::vector<int64_t>{n, 2}));
        // Standard errors at n = 200,000 are below 0.004 for these scales.
        for (int64_t j = 0; j < 2; ++j) {
            EXPECT_NEAR(x.select(1, j).mean().item<double>(), loc[j].item<double>(), 0.015);
            EXPECT_NEAR(x.select(1, j).std().item<double>(), d.stddev()[j].item<double>(), 0.015);
        }
        // The shape, not just two moments: mean absolute deviation is sigma sqrt(2/pi) or b.
        const double mad = (x.select(1, 1) - loc[1]).abs().mean().item<double>();
        EXPECT_NEAR(mad, f == Family::Normal ? 1.5 * std::sqrt(2 / M_PI) : 1.5, 0.015);
    }
    EXPECT_NEAR(Distribution({Family::Laplace, loc, scale}).stddev()[1].item<double>(), 1.5 * std::sqrt(2.0), 1e-12);
}

// Gradients pass through the sample: x = loc + scale · eps, so dx/dloc = 1 and dx/dscale = eps.
TEST(Distributions, SamplesAreDifferentiableInLocAndScale) {
    for (auto f : {Family::Normal, Family::Laplace}) {
        torch::Tensor loc = torch::zeros({1000}, torch::requires_grad()), scale = torch::full({1000}, 2.0, torch::requires_grad());
        torch::Tensor x = Distribution{f, loc, scale}.rsample();
        x.sum().backward();
        EXPECT_TRUE(torch::allclose(loc.grad(), torch::ones_like(loc)));
        EXPECT_TRUE(torch::allclose(scale.grad(), (x / 2).detach(), 1e-5, 1e-6));
    }
}

TEST(Distributions, ScaleParameterisationsAsReleased) {
    torch::Tensor raw = torch::randn({4, 6});
    torch::Tensor laplace = mvrl::nn::scale_from_raw(Family::Laplace, raw);
    EXPECT_TRUE(torch::allclose(laplace.sum(-1), torch::full({4}, 6 * (1 + 1e-6)), 1e-5));  // softmax · D + eta
    EXPECT_TRUE(torch::allclose(mvrl::nn::scale_from_raw(Family::Normal, raw), torch::log1p(raw.exp()) + 1e-6, 1e-5));
    for (auto f : {Family::Normal, Family::Laplace}) {
        torch::Tensor unit = mvrl::nn::scale_from_raw(f, torch::full({1, 3}, mvrl::nn::raw_for_unit_scale(f)));
        EXPECT_TRUE(torch::allclose(unit, torch::ones({1, 3}), 1e-5));
    }
}

// log(1/M sum_m prod_d q_m(x_d)) computed from the densities themselves, without logsumexp.
TEST(Distributions, MixtureLogDensityMatchesADirectComputation) {
    torch::manual_seed(1);
    const int64_t M = 3, N = 5, D = 4;
    for (auto f : {Family::Normal, Family::Laplace}) {
        std::vector<Distribution> components;
        for (int64_t m = 0; m < M; ++m)
            components.push_back({f, torch::randn({N, D}, torch::kFloat64), torch::rand({N, D}, torch::kFloat64) + 0.5});
        torch::Tensor x = torch::randn({N, D}, torch::kFloat64);
        torch::Tensor got = mvrl::nn::mixture_log_prob(components, x);
        ASSERT_EQ(got.sizes(), (std::vector<int64_t>{N}));
        for (int64_t i = 0; i < N; ++i) {
            double mixture = 0;
            for (const auto& q : components) {
                double product = 1;
                for (int64_t d = 0; d < D; ++d) {
                    const double xv = x[i][d].item<double>(), mu = q.loc[i][d].item<double>(), s = q.scale[i][d].item<double>();
                    product *= f == Family::Normal ? normal_density(xv, mu, s) : laplace_density(xv, mu, s);
                }
                mixture += product / double(M);
            }
            EXPECT_NEAR(got[i].item<double>(), std::log(mixture), 1e-9);
        }
    }
}

// Far-apart components with tiny scales: every row is one component's location, each component
// chosen about 1/M of the time.
TEST(Distributions, MixtureSamplesComeFromOneComponentPerRow) {
    torch::manual_seed(2);
    const int64_t N = 3000;
    std::vector<Distribution> components;
    for (double centre : {-10.0, 0.0, 10.0})
        components.push_back({Family::Laplace, torch::full({N, 2}, centre), torch::full({N, 2}, 1e-3)});
    torch::Tensor x = mvrl::nn::mixture_rsample(components);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{N, 2}));
    torch::Tensor which = (x.select(1, 0) / 10).round();
    EXPECT_TRUE(torch::allclose(x.select(1, 0), x.select(1, 1), 0, 0.05)) << "both dimensions from the same component";
    for (double c : {-1.0, 0.0, 1.0}) EXPECT_NEAR((which == c).sum().item<double>() / N, 1.0 / 3, 0.04);
}

TEST(LeakyResNet, EncoderAndDecoderShapesAtReleasedSizes) {
    for (int64_t size : {28, 32, 64}) {
        auto o = mvrl::nn::LeakyResNetOptions(3, size).width(4);
        mvrl::nn::LeakyResNetEncoder encoder(o);
        mvrl::nn::LeakyResNetDecoder decoder(o, 10, true);
        const int64_t bottom = size == 28 ? 7 : size / 8, width = size == 28 ? 16 : 32;
        EXPECT_EQ(o.bottom_side(), bottom);
        torch::Tensor features = encoder(torch::rand({2, 3, size, size}));
        EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, width * bottom * bottom})) << size << " px";
        torch::Tensor image = decoder(torch::randn({2, 10}));
        EXPECT_EQ(image.sizes(), (std::vector<int64_t>{2, 3, size, size})) << size << " px";
        EXPECT_TRUE(((image >= 0) & (image <= 1)).all().item<bool>());
    }
    EXPECT_THROW(mvrl::nn::LeakyResNetEncoder(mvrl::nn::LeakyResNetOptions(3, 30)), std::invalid_argument);
}

// out = shortcut(x) + 0.1 · conv1(lrelu(conv0(lrelu(x)))), identity shortcut when widths match.
TEST(LeakyResNet, BlockAddsATenthOfItsResidual) {
    torch::manual_seed(3);
    mvrl::nn::LeakyResidualBlock block(4, 4);
    torch::Tensor x = torch::randn({2, 4, 5, 5});
    torch::Tensor dx = block->conv1(mvrl::nn::leaky_relu02(block->conv0(mvrl::nn::leaky_relu02(x))));
    EXPECT_TRUE(torch::allclose(block(x), x + 0.1 * dx, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(mvrl::nn::leaky_relu02(torch::tensor({-1.0f, 2.0f})), torch::tensor({-0.2f, 2.0f})));
    mvrl::nn::LeakyResidualBlock widening(4, 8);
    ASSERT_TRUE(widening->shortcut);
    EXPECT_FALSE(widening->shortcut->options.bias());
    EXPECT_EQ(widening(x).size(1), 8);
}
