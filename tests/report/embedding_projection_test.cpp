// The embedding figures' projections (host/runner/embedding_projection.hpp): PCA against values
// computed by hand, t-SNE by what it must do — keep well-separated clusters apart.
#include <gtest/gtest.h>

#include "runner/embedding_projection.hpp"

using namespace mvrl::host;

namespace {

// A fixed rotation of R^5 (QR of a seeded matrix), so that the principal axes are not the
// coordinate axes.
torch::Tensor rotation() {
    torch::manual_seed(3);
    return std::get<0>(torch::linalg_qr(torch::randn({5, 5}, torch::kFloat64)));
}

}  // namespace

TEST(Pca, FindsTheAxesAndTheirShareOfVariance) {
    // ±3 along one direction, ±1 along another: variances 6 and 2/3 (n - 1 = 3), shares 0.9 and 0.1.
    torch::Tensor x = torch::zeros({4, 5}, torch::kFloat64);
    x[0][0] = 3, x[1][0] = -3, x[2][1] = 1, x[3][1] = -1;
    torch::Tensor rotated = x.mm(rotation().t()) + 7.5;  // and off-centre
    std::vector<double> explained;
    torch::Tensor p = pca_2d(rotated, &explained);
    ASSERT_EQ(p.sizes(), (torch::IntArrayRef{4, 2}));
    EXPECT_NEAR(explained[0], 0.9, 1e-9);
    EXPECT_NEAR(explained[1], 0.1, 1e-9);
    const double expected_abs[4][2] = {{3, 0}, {3, 0}, {0, 1}, {0, 1}};
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 2; ++j) EXPECT_NEAR(std::abs(p[i][j].item<double>()), expected_abs[i][j], 1e-9) << i << "," << j;
    EXPECT_NEAR(p[0][0].item<double>(), -p[1][0].item<double>(), 1e-9);
}

TEST(Pca, SignIsFixedByTheLargestLoading) {
    torch::manual_seed(0);
    torch::Tensor x = torch::randn({50, 6}, torch::kFloat64);
    torch::Tensor a = pca_2d(x), b = pca_2d(x * 1.0 + 0.0);
    EXPECT_TRUE(torch::equal(a, b));
    // Flipping the data flips the scores only through the loadings' sign rule: |scores| agree.
    EXPECT_TRUE(torch::allclose(pca_2d(-x).abs(), a.abs(), 1e-9, 1e-9));
}

TEST(Pca, OneWideInputGetsAZeroSecondCoordinate) {
    torch::Tensor x = torch::arange(5, torch::kFloat64).reshape({5, 1});
    torch::Tensor p = pca_2d(x);
    EXPECT_EQ(p.size(1), 2);
    EXPECT_EQ(p.select(1, 1).abs().sum().item<double>(), 0.0);
}

TEST(Tsne, KeepsSeparatedClustersApartAndIsDeterministic) {
    // Three clusters in 20-D, 60 points each, centres 10 apart, unit noise.
    torch::manual_seed(1);
    const int per = 60, k = 3;
    torch::Tensor centres = torch::randn({k, 20}, torch::kFloat64) * 10;
    torch::Tensor labels = torch::arange(k).repeat_interleave(per);
    torch::Tensor x = centres.index_select(0, labels) + torch::randn({k * per, 20}, torch::kFloat64);
    TsneOptions options;
    options.iterations = 500;
    torch::Tensor y = tsne_2d(x, options);
    ASSERT_EQ(y.sizes(), (torch::IntArrayRef{k * per, 2}));
    ASSERT_TRUE(torch::isfinite(y).all().item<bool>());
    // 5 nearest neighbours in the map share the point's cluster.
    torch::Tensor d = torch::cdist(y, y) + torch::eye(k * per, torch::kFloat64) * 1e9;
    torch::Tensor nearest = std::get<1>(d.topk(5, 1, /*largest=*/false));
    torch::Tensor agree = (labels.index_select(0, nearest.reshape({-1})).reshape({k * per, 5}) == labels.unsqueeze(1));
    EXPECT_GT(agree.to(torch::kFloat64).mean().item<double>(), 0.98);
    // Within-cluster spread far below the distance between cluster means.
    double within = 0, between = INFINITY;
    std::vector<torch::Tensor> means;
    for (int c = 0; c < k; ++c) {
        torch::Tensor members = y.index_select(0, torch::nonzero(labels == c).reshape({-1}));
        means.push_back(members.mean(0));
        within = std::max(within, (members - means.back()).norm(2, 1).mean().item<double>());
    }
    for (int a = 0; a < k; ++a)
        for (int b = a + 1; b < k; ++b) between = std::min(between, (means[a] - means[b]).norm().item<double>());
    EXPECT_LT(within, 0.3 * between);
    EXPECT_TRUE(torch::equal(y, tsne_2d(x, options)));
}
