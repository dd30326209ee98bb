// The linear-probe metric against scikit-learn's LogisticRegression(solver="liblinear") on the same
// splits (tests/fixtures/linear_probe.json, written by make_linear_probe_fixtures.py), through the
// plugin ABI.
#include <gtest/gtest.h>

#include "support/fixtures.hpp"
#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

std::map<std::string, double> run_probe(const TensorMap& inputs, const std::string& params = "{}") {
    return metric_values("linear-probe", inputs, params);
}

TensorMap inputs_of(const json& f, bool with_split = true) {
    TensorMap inputs{{"representation", fixture_matrix(f["x"])}, {"label", torch::tensor(f["label"].get<std::vector<int64_t>>())}};
    if (with_split) inputs["split"] = torch::tensor(f["split"].get<std::vector<int64_t>>());
    return inputs;
}

std::string error_of(const TensorMap& inputs) {
    try {
        run_probe(inputs);
    } catch (const PluginCallError& e) {
        EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT) << e.what();
        return e.what();
    }
    return "";
}

}  // namespace

TEST(LinearProbeMetric, WithinOneHundredthOfScikitLearnOnTheSameSplit) {
    for (const auto& f : fixture("linear_probe.json")["sets"]) {
        for (const char* variant : {"raw", "standardized"}) {
            const bool standardize = std::string(variant) == "standardized";
            auto scores = run_probe(inputs_of(f), standardize ? R"({"standardize": true})" : R"({"standardize": false})");
            const json& expected = f[variant];
            std::cout << f["name"].get<std::string>() << " (" << variant << "): ACC " << scores["ACC"] << " (sklearn "
                      << expected["ACC"].get<double>() << "), F1 " << scores["F1"] << " (sklearn " << expected["F1"].get<double>()
                      << ")\n";
            EXPECT_NEAR(scores["ACC"], expected["ACC"].get<double>(), 0.01) << f["name"] << " " << variant;
            EXPECT_NEAR(scores["F1"], expected["F1"].get<double>(), 0.01) << f["name"] << " " << variant;
            EXPECT_EQ(scores["n_test"], f["n_test"].get<double>());
        }
    }
}

TEST(LinearProbeMetric, TheDualSolverAgreesWithThePrimal) {
    for (const auto& f : fixture("linear_probe.json")["sets"]) {
        auto primal = run_probe(inputs_of(f)), dual = run_probe(inputs_of(f), R"({"solver": "dual", "tol": 1e-6})");
        EXPECT_NEAR(dual["ACC"], primal["ACC"], 0.01) << f["name"];
    }
}

TEST(LinearProbeMetric, OwnStratifiedSplitIsSeededAndHoldsOutAFifthOfEachClass) {
    const auto& f = fixture("linear_probe.json")["sets"][0];  // 4 classes of 150
    auto first = run_probe(inputs_of(f, false)), again = run_probe(inputs_of(f, false));
    EXPECT_EQ(first, again);
    EXPECT_EQ(first["n_test"], 120);
    EXPECT_GT(first["ACC"], 0.7);
    auto other_seed = run_probe(inputs_of(f, false), R"({"seed": 5})");
    EXPECT_EQ(other_seed["n_test"], 120);
}

TEST(LinearProbeMetric, ReadsAnyLabelTensorItIsGiven) {
    // Two labels of one representation: the first coordinate's sign is linear, the parity of a
    // random class is not.
    torch::Generator gen = at::detail::createCPUGenerator(3);
    torch::Tensor x = at::normal(0, 1, {1000, 4}, gen);
    torch::Tensor sign = (x.select(1, 0) > 0).to(torch::kInt64), noise = at::randint(0, 2, {1000}, gen);
    EXPECT_GT(run_probe({{"representation", x}, {"label", sign}})["ACC"], 0.95);
    EXPECT_LT(run_probe({{"representation", x}, {"label", noise}})["ACC"], 0.65);
}

TEST(LinearProbeMetric, BadInputIsAClearError) {
    torch::Tensor x = torch::randn({40, 3}), y = torch::arange(40) % 2;
    torch::Tensor with_nan = x.clone();
    with_nan[2][1] = NAN;
    EXPECT_NE(error_of({{"representation", with_nan}, {"label", y}}).find("linear-probe: the representation contains NaN or Inf"),
              std::string::npos);
    EXPECT_NE(error_of({{"representation", x}, {"label", torch::zeros({40}, torch::kInt64)}}).find("one class only"),
              std::string::npos);
    EXPECT_NE(error_of({{"representation", x}, {"label", y.slice(0, 0, 39)}}).find("differ in length"), std::string::npos);
    EXPECT_NE(error_of({{"representation", x}, {"label", y}, {"split", torch::ones({40}, torch::kInt64)}}).find("no training or no test"),
              std::string::npos);
    EXPECT_NE(error_of({{"representation", x}}).find("missing input tensor 'label'"), std::string::npos);
}

// Validation rows (split = 2) are in neither part: mislabelled copies of the test rows change nothing.
TEST(LinearProbeMetric, ValidationRowsAreNeitherTrainedNorTestedOn) {
    for (const auto& f : fixture("linear_probe.json")["sets"]) {
        TensorMap inputs = inputs_of(f);
        EXPECT_EQ(run_probe(with_mislabelled_validation_rows(inputs)), run_probe(inputs)) << f["name"];
    }
    TensorMap short_split = inputs_of(fixture("linear_probe.json")["sets"][0]);
    short_split["split"] = short_split["split"].narrow(0, 0, 10);
    EXPECT_NE(error_of(short_split).find("linear-probe: 'split' has 10 rows, the labels 600"), std::string::npos) << error_of(short_split);
}
