// The kmeans metric and the clustering scores against scikit-learn's values (tests/fixtures/
// clustering.json, written by make_clustering_fixtures.py), through the plugin ABI.
#include <gtest/gtest.h>

#include <mvrl/eval/clustering_scores.hpp>

#include "support/fixtures.hpp"
#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

std::map<std::string, double> run_kmeans(const torch::Tensor& x, const torch::Tensor& y, const std::string& params,
                                         uint64_t seed) {
    return metric_values("kmeans", {{"representation", x}, {"label", y}}, params, seed);
}

std::string error_of(const torch::Tensor& x, const torch::Tensor& y, const std::string& params = "{}") {
    try {
        run_kmeans(x, y, params, 0);
    } catch (const PluginCallError& e) {
        EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT);
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ClusteringScores, EqualScikitLearnOnFixedAssignments) {
    for (const auto& f : fixture("clustering.json")["assignments"]) {
        auto table = eval::contingency(f["label"].get<std::vector<int64_t>>(), f["assignment"].get<std::vector<int64_t>>());
        EXPECT_NEAR(eval::clustering_accuracy(table), f["ACC"].get<double>(), 1e-9);
        EXPECT_NEAR(eval::normalized_mutual_information(table), f["NMI"].get<double>(), 1e-9);
        EXPECT_NEAR(eval::adjusted_rand_index(table), f["ARI"].get<double>(), 1e-9);
    }
}

TEST(ClusteringScores, HungarianFindsTheBestMatching) {
    // The greedy choice (row 0 -> column 0, worth 9) loses to the optimum 8 + 8.
    auto match = eval::hungarian_min_cost({{-9, -8}, {-8, -1}});
    EXPECT_EQ(match, (std::vector<size_t>{1, 0}));
}

TEST(KMeansMetric, WithinOneHundredthOfScikitLearn) {
    for (const auto& f : fixture("clustering.json")["kmeans"]) {
        auto rows = f["x"].get<std::vector<std::vector<double>>>();
        torch::Tensor x = torch::empty({int64_t(rows.size()), int64_t(rows[0].size())}, torch::kFloat64);
        for (size_t i = 0; i < rows.size(); ++i)
            for (size_t j = 0; j < rows[i].size(); ++j) x[i][j] = rows[i][j];
        torch::Tensor y = torch::tensor(f["label"].get<std::vector<int64_t>>());
        double acc = 0, nmi = 0;
        for (uint64_t seed = 0; seed < 5; ++seed) {  // the fixture is sklearn's mean over 5 seeds too
            auto scores = run_kmeans(x.to(torch::kFloat32), y, "{}", seed);
            acc += scores["ACC"] / 5, nmi += scores["NMI"] / 5;
        }
        std::cout << f["name"].get<std::string>() << ": ACC " << acc << " (sklearn " << f["ACC"].get<double>() << "), NMI "
                  << nmi << " (sklearn " << f["NMI"].get<double>() << ")\n";
        EXPECT_NEAR(acc, f["ACC"].get<double>(), 0.01) << f["name"];
        EXPECT_NEAR(nmi, f["NMI"].get<double>(), 0.01) << f["name"];
    }
}

TEST(KMeansMetric, BadInputIsAClearError) {
    torch::Tensor x = torch::randn({20, 3});
    torch::Tensor y = torch::arange(20) % 4;
    torch::Tensor with_nan = x.clone();
    with_nan[5][1] = NAN;
    EXPECT_NE(error_of(with_nan, y).find("the representation contains NaN or Inf"), std::string::npos);
    EXPECT_NE(error_of(x, y, R"({"k": 30})").find("20 samples are fewer than the 30 clusters asked for"), std::string::npos);
    EXPECT_NE(error_of(x, torch::zeros({20}, torch::kInt64)).find("the labels hold one class only"), std::string::npos);
    EXPECT_NE(error_of(x, y, R"({"n_inits": 3})").find("unknown parameter 'n_inits' for plugin 'kmeans' (did you mean 'n_init'?)"),
              std::string::npos);
}
