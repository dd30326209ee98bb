// CONAN: its losses against a direct computation of the paper's equations, and the plugin through
// the C ABI (both contrastive variants train, DEC's head, save/load).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "clustering_losses.hpp"
#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix to_matrix(const torch::Tensor& t) {
    Matrix m(size_t(t.size(0)), std::vector<double>(size_t(t.size(1))));
    torch::Tensor d = t.to(torch::kFloat64).contiguous();
    auto a = d.accessor<double, 2>();
    for (size_t i = 0; i < m.size(); ++i)
        for (size_t j = 0; j < m[i].size(); ++j) m[i][j] = a[int64_t(i)][int64_t(j)];
    return m;
}

double squared_distance(const std::vector<double>& x, const std::vector<double>& y) {
    double d = 0;
    for (size_t i = 0; i < x.size(); ++i) d += (x[i] - y[i]) * (x[i] - y[i]);
    return d;
}

// 1/C(k,2) Σ_{i<j} a_iᵀKa_j / sqrt(a_iᵀKa_i · a_jᵀKa_j), a_i the i-th column of A.
double cauchy_schwarz_by_loops(const Matrix& a, const Matrix& kernel) {
    const size_t n = a.size(), k = a[0].size();
    auto form = [&](size_t p, size_t q) {
        double s = 0;
        for (size_t u = 0; u < n; ++u)
            for (size_t v = 0; v < n; ++v) s += a[u][p] * kernel[u][v] * a[v][q];
        return s;
    };
    double sum = 0;
    for (size_t i = 0; i + 1 < k; ++i)
        for (size_t j = i + 1; j < k; ++j) sum += form(i, j) / std::sqrt(form(i, i) * form(j, j));
    return sum / (double(k) * double(k - 1) / 2);
}

// Eq. 7 as read in clustering_losses.hpp, term by term, in double precision and plain loops.
double ddc_by_loops(const Matrix& a, const Matrix& hidden, double rel_sigma) {
    const size_t n = a.size(), k = a[0].size();
    std::vector<double> distances;
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) distances.push_back(squared_distance(hidden[i], hidden[j]));
    std::vector<double> sorted = distances;
    std::sort(sorted.begin(), sorted.end());
    const double sigma2 = rel_sigma * sorted[(sorted.size() - 1) / 2];  // the lower median, as torch.median
    Matrix kernel(n, std::vector<double>(n));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) kernel[i][j] = std::exp(-distances[i * n + j] / (2 * sigma2));
    double triu = 0;
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j)
            for (size_t c = 0; c < k; ++c) triu += a[i][c] * a[j][c];
    Matrix m(n, std::vector<double>(k));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < k; ++j) {
            double d = 0;
            for (size_t c = 0; c < k; ++c) d += (a[i][c] - (c == j ? 1.0 : 0.0)) * (a[i][c] - (c == j ? 1.0 : 0.0));
            m[i][j] = std::exp(-d);
        }
    return cauchy_schwarz_by_loops(a, kernel) + triu / (double(n) * double(n - 1) / 2) + cauchy_schwarz_by_loops(m, kernel);
}

// Two image views of 4 classes: class c lights quadrant c of view 0 and row band c of view 1.
TensorMap synthetic_images(int64_t n, int64_t side) {
    torch::manual_seed(3);
    torch::Tensor label = torch::arange(n) % 4;
    torch::Tensor v0 = 0.1 * torch::rand({n, 1, side, side}), v1 = 0.1 * torch::rand({n, 1, side, side});
    const int64_t half = side / 2, band = side / 4;
    for (int64_t i = 0; i < n; ++i) {
        int64_t c = label[i].item<int64_t>();
        v0[i].slice(1, (c / 2) * half, (c / 2 + 1) * half).slice(2, (c % 2) * half, (c % 2 + 1) * half) += 0.8;
        v1[i].slice(1, c * band, (c + 1) * band) += 0.8;
    }
    return {{"view0", v0}, {"view1", v1}, {"label", label}};
}

const json kImageInfo = {{"views", {{{"shape", {1, 20, 20}}}, {{"shape", {1, 20, 20}}}}}, {"classes", 4}};

std::string small_conan(const std::string& extra) {
    return R"({"hidden": 32, "cnn_channels": 8, "head_hidden": 16, "projection_hidden": 32, "projection_dim": 16,
               "prediction_hidden": 8, "epochs": 5)" + extra + "}";
}

double loss_named(const ScalarList& losses, const std::string& name) {
    for (const auto& [n, v] : losses)
        if (n == name) return v;
    ADD_FAILURE() << "no loss named " << name;
    return NAN;
}

}  // namespace

TEST(DdcLoss, MatchesTheEquationsComputedByLoops) {
    torch::manual_seed(11);
    torch::Tensor logits = torch::randn({7, 3}, torch::kFloat64) * 2;
    torch::Tensor a = torch::softmax(logits, 1), hidden = torch::randn({7, 5}, torch::kFloat64);
    for (double rel_sigma : {0.15, 1.0}) {
        auto terms = conan::ddc_loss(a, hidden, rel_sigma);
        double expected = ddc_by_loops(to_matrix(a), to_matrix(hidden), rel_sigma);
        EXPECT_NEAR(terms.total.item<double>(), expected, 1e-12 * std::max(1.0, std::abs(expected))) << "rel_sigma " << rel_sigma;
        EXPECT_NEAR((terms.separability + terms.orthogonality + terms.simplex).item<double>(), expected, 1e-12);
    }
    // By hand: 9 samples, 3 per cluster, crisply assigned, the clusters' points 10√2 apart. The median
    // squared distance is 200, so σ² = 30 and the kernel between clusters exp(-200/60); each
    // Cauchy–Schwarz ratio is that value; 9 of the 36 sample pairs share a cluster.
    torch::Tensor crisp = torch::eye(3, torch::kFloat64).repeat({3, 1});
    auto separated = conan::ddc_loss(crisp, crisp * 10, 0.15);
    EXPECT_NEAR(separated.separability.item<double>(), std::exp(-10.0 / 3.0), 1e-12);
    EXPECT_NEAR(separated.orthogonality.item<double>(), 9.0 / 36.0, 1e-12);
}

TEST(DecHead, TargetDistributionSumsToOnePerSampleAndFollowsEq3) {
    torch::manual_seed(5);
    torch::Tensor z = torch::randn({9, 4}, torch::kFloat64), centroids = torch::randn({3, 4}, torch::kFloat64);
    torch::Tensor q = conan::dec_soft_assignment(z, centroids, 1.0);
    torch::Tensor p = conan::dec_target_distribution(q);
    EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({9}, torch::kFloat64), 0, 1e-12));
    EXPECT_TRUE(torch::allclose(p.sum(1), torch::ones({9}, torch::kFloat64), 0, 1e-12));
    Matrix qm = to_matrix(q), pm = to_matrix(p);
    std::vector<double> frequency(3, 0);
    for (const auto& row : qm)
        for (size_t j = 0; j < 3; ++j) frequency[j] += row[j];
    for (size_t i = 0; i < 9; ++i) {
        double norm = 0;
        for (size_t j = 0; j < 3; ++j) norm += qm[i][j] * qm[i][j] / frequency[j];
        for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(pm[i][j], qm[i][j] * qm[i][j] / frequency[j] / norm, 1e-12);
        // Student's t with one degree of freedom: q_ij ∝ 1 / (1 + ||z_i - mu_j||²).
        double total = 0;
        for (int64_t j = 0; j < 3; ++j) total += 1 / (1 + (z[int64_t(i)] - centroids[j]).pow(2).sum().item<double>());
        EXPECT_NEAR(qm[i][0], 1 / (1 + (z[int64_t(i)] - centroids[0]).pow(2).sum().item<double>()) / total, 1e-12);
    }
    EXPECT_GE(conan::dec_loss(q).item<double>(), 0.0);
}

class ContrastVariant : public testing::TestWithParam<std::string> {};

TEST_P(ContrastVariant, TrainsOnTwoImageViews) {
    torch::set_num_threads(1);
    auto data = synthetic_images(128, 20);
    HostContext ctx("cpu", 1);
    ModelHandle model(built_plugins().require("conan", MVRL_KIND_MODEL),
                      small_conan(R"(, "contrast": ")" + GetParam() + R"(", "contrast_weight": 1.0, "lr": 0.003)"), kImageInfo, ctx);
    ASSERT_EQ(model.stages(), json::parse(R"([{"name": "train", "epochs": 5}])"));
    TensorMap batch{{"view0", data["view0"]}, {"view1", data["view1"]}};
    auto first = model.train_step("train", batch);
    ASSERT_EQ(first[0].first, "loss") << "the total comes first: the host records it as the final loss";
    std::vector<ScalarList> later;
    for (int step = 0; step < 25; ++step) later.push_back(model.train_step("train", batch));
    for (const char* name : {"loss", "contrast", "cluster"}) {
        double end = 0;
        for (size_t s = later.size() - 3; s < later.size(); ++s) end += loss_named(later[s], name) / 3;
        EXPECT_LT(end, loss_named(first, name) - 0.05 * std::abs(loss_named(first, name))) << GetParam() << " " << name;
    }
    auto out = model.encode(batch);
    EXPECT_EQ(out["z"].sizes(), (std::vector<int64_t>{128, 32}));
    EXPECT_EQ(out["cluster"].sizes(), (std::vector<int64_t>{128, 4}));
    EXPECT_TRUE(torch::allclose(out["cluster"].sum(1), torch::ones({128})));
    EXPECT_EQ(out["concat"].sizes(), (std::vector<int64_t>{128, 64}));
    EXPECT_TRUE(out.count("h0") && out.count("h1"));
}

INSTANTIATE_TEST_SUITE_P(Conan, ContrastVariant, testing::Values("simclr", "simsiam"));

TEST(Conan, DecHeadPlacesItsCentroidsByKMeansThenTrains) {
    torch::set_num_threads(1);
    auto data = synthetic_images(96, 20);
    HostContext ctx("cpu", 2);
    ModelHandle model(built_plugins().require("conan", MVRL_KIND_MODEL), small_conan(R"(, "head": "dec")"), kImageInfo, ctx);
    auto stages = model.stages();
    ASSERT_EQ(stages.size(), 2u);
    EXPECT_EQ(stages[0]["name"], "dec-init");
    TensorMap batch{{"view0", data["view0"]}, {"view1", data["view1"]}};
    auto before = model.encode(batch)["cluster"];
    for (int64_t begin : {0, 48}) {
        TensorMap half;
        for (const auto& [k, v] : batch) half[k] = v.slice(0, begin, begin + 48);
        model.train_step("dec-init", half);
    }
    model.end_epoch("dec-init", 0);
    auto placed = model.encode(batch)["cluster"];
    EXPECT_FALSE(torch::allclose(before, placed)) << "k-means moved the centroids";
    for (int step = 0; step < 5; ++step) {
        auto losses = model.train_step("train", batch);
        EXPECT_TRUE(std::isfinite(losses[0].second));
    }
    auto q = model.encode(batch)["cluster"];
    EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({96}), 0, 1e-5));
}

TEST(Conan, SaveLoadRoundTrip) {
    torch::set_num_threads(1);
    auto data = synthetic_images(64, 20);
    TensorMap batch{{"view0", data["view0"]}, {"view1", data["view1"]}};
    HostContext ctx("cpu", 4), other("cpu", 9);
    ModelHandle model(built_plugins().require("conan", MVRL_KIND_MODEL), small_conan(""), kImageInfo, ctx);
    for (int step = 0; step < 3; ++step) model.train_step("train", batch);
    model.end_epoch("train", 0);
    auto codes = model.encode(batch);
    std::string path = testing::TempDir() + "/conan-" + std::to_string(getpid()) + ".pt";
    model.save(path);
    ModelHandle restored(built_plugins().require("conan", MVRL_KIND_MODEL), small_conan(""), kImageInfo, other);
    EXPECT_FALSE(torch::allclose(restored.encode(batch)["z"], codes["z"])) << "another seed starts elsewhere";
    restored.load(path);
    auto again = restored.encode(batch);
    EXPECT_TRUE(torch::allclose(again["z"], codes["z"]));
    EXPECT_TRUE(torch::allclose(again["cluster"], codes["cluster"]));
    std::remove(path.c_str());
}

TEST(Conan, VectorViewsAndBadParameters) {
    HostContext ctx("cpu", 0);
    json info = {{"views", {{{"shape", {12}}}, {{"shape", {7}}}}}, {"classes", 3}};
    ModelHandle model(built_plugins().require("conan", MVRL_KIND_MODEL), R"({"hidden": 16, "head_hidden": 8, "projection_hidden": 16, "projection_dim": 8})", info, ctx);
    TensorMap batch{{"view0", torch::randn({20, 12})}, {"view1", torch::randn({20, 7})}};
    EXPECT_TRUE(std::isfinite(model.train_step("train", batch)[0].second));
    EXPECT_EQ(model.encode(batch)["cluster"].sizes(), (std::vector<int64_t>{20, 3}));
    try {
        ModelHandle bad(built_plugins().require("conan", MVRL_KIND_MODEL), R"({"contrast": "byol"})", info, ctx);
        FAIL();
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("contrast"), std::string::npos) << e.what();
    }
}
