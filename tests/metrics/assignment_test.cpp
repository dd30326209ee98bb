// The assignment metric: a model's own clusters scored by ACC/NMI/ARI without clustering again.
#include <gtest/gtest.h>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

ScalarList score(const torch::Tensor& representation, const torch::Tensor& label) {
    HostContext ctx("cpu", 0);
    return evaluate_metric(built_plugins().require("assignment", MVRL_KIND_METRIC), "{}",
                           {{"representation", representation}, {"label", label}}, ctx);
}

double value(const ScalarList& scores, const std::string& name) {
    for (const auto& [n, v] : scores)
        if (n == name) return v;
    ADD_FAILURE() << name;
    return NAN;
}

}  // namespace

TEST(Assignment, SoftAssignmentIsReadByArgmaxAndMatchedToClasses) {
    torch::Tensor label = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
    // Cluster 2 holds class 0, cluster 0 class 1, cluster 1 class 2: a relabelling, so a perfect score.
    torch::Tensor soft = torch::tensor({{0.1, 0.2, 0.7}, {0.2, 0.1, 0.7}, {0.8, 0.1, 0.1},
                                        {0.5, 0.3, 0.2}, {0.1, 0.6, 0.3}, {0.3, 0.4, 0.3}});
    auto scores = score(soft, label);
    EXPECT_DOUBLE_EQ(value(scores, "ACC"), 1.0);
    EXPECT_NEAR(value(scores, "NMI"), 1.0, 1e-12);
    EXPECT_NEAR(value(scores, "ARI"), 1.0, 1e-12);
    EXPECT_EQ(value(scores, "clusters_used"), 3);
}

TEST(Assignment, LabelVectorsAndAMistake) {
    torch::Tensor label = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
    auto scores = score(torch::tensor({5, 5, 7, 7, 9, 7}, torch::kInt64), label);
    EXPECT_NEAR(value(scores, "ACC"), 5.0 / 6.0, 1e-12);
    auto column = score(torch::tensor({5, 5, 7, 7, 9, 7}, torch::kFloat32).unsqueeze(1), label);
    EXPECT_EQ(value(column, "ACC"), value(scores, "ACC"));
}

TEST(Assignment, NonIntegerColumnIsAClearError) {
    try {
        score(torch::tensor({0.5, 1.0, 2.0}).unsqueeze(1), torch::tensor({0, 1, 2}, torch::kInt64));
        FAIL();
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("integer cluster labels"), std::string::npos) << e.what();
    }
}
