// The svc metric and the classification scores against scikit-learn's values (tests/fixtures/
// classification.json, written by make_classification_fixtures.py), through the plugin ABI.
#include <gtest/gtest.h>

#include <mvrl/eval/classification_scores.hpp>

#include "support/fixtures.hpp"
#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

std::map<std::string, double> run_svc(const TensorMap& inputs, const std::string& params = "{}") {
    return metric_values("svc", inputs, params);
}

}  // namespace

TEST(ClassificationScores, MacroF1AndAccuracyEqualScikitLearn) {
    for (const auto& f : fixture("classification.json")["predictions"]) {
        auto truth = f["truth"].get<std::vector<int64_t>>(), predicted = f["predicted"].get<std::vector<int64_t>>();
        EXPECT_DOUBLE_EQ(eval::accuracy(truth, predicted), f["ACC"].get<double>());
        EXPECT_NEAR(eval::macro_f1(truth, predicted), f["F1"].get<double>(), 1e-12);
    }
}

TEST(SvcMetric, WithinOneHundredthOfScikitLearnOnTheSameSplit) {
    for (const auto& f : fixture("classification.json")["svc"]) {
        auto scores = run_svc({{"representation", fixture_matrix(f["x"]).to(torch::kFloat32)},
                               {"label", torch::tensor(f["label"].get<std::vector<int64_t>>())},
                               {"split", torch::tensor(f["split"].get<std::vector<int64_t>>())}});
        std::cout << f["name"].get<std::string>() << ": ACC " << scores["ACC"] << " (sklearn " << f["ACC"].get<double>()
                  << "), F1 " << scores["F1"] << " (sklearn " << f["F1"].get<double>() << ")\n";
        EXPECT_NEAR(scores["ACC"], f["ACC"].get<double>(), 0.01) << f["name"];
        EXPECT_NEAR(scores["F1"], f["F1"].get<double>(), 0.01) << f["name"];
        EXPECT_EQ(scores["n_test"], 120);
    }
}

TEST(SvcMetric, OwnStratifiedSplitIsSeededAndHoldsOutAFifthOfEachClass) {
    const auto& f = fixture("classification.json")["svc"][0];
    TensorMap inputs{{"representation", fixture_matrix(f["x"])}, {"label", torch::tensor(f["label"].get<std::vector<int64_t>>())}};
    auto first = run_svc(inputs), again = run_svc(inputs);
    EXPECT_EQ(first, again);
    EXPECT_EQ(first["n_test"], 120);  // 4 classes of 150: 30 each
    EXPECT_GT(first["ACC"], 0.85);
}

TEST(SvcMetric, BadInputIsAClearError) {
    torch::Tensor x = torch::randn({20, 3}), y = torch::arange(20) % 2;
    torch::Tensor with_nan = x.clone();
    with_nan[0][0] = NAN;
    auto error = [](const TensorMap& inputs) {
        try {
            run_svc(inputs);
        } catch (const PluginCallError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(error({{"representation", with_nan}, {"label", y}}).find("contains NaN or Inf"), std::string::npos);
    EXPECT_NE(error({{"representation", x}, {"label", torch::zeros({20}, torch::kInt64)}}).find("one class only"), std::string::npos);
    EXPECT_NE(error({{"representation", x}, {"label", y}, {"split", torch::zeros({20}, torch::kInt64)}}).find("no training or no test"),
              std::string::npos);
}

// Validation rows (split = 2) are the model's to select on: in neither the training nor the test
// part. Mislabelled copies of the test rows as validation rows leave every score as it was.
TEST(SvcMetric, ValidationRowsAreNeitherTrainedNorTestedOn) {
    const auto& f = fixture("classification.json")["svc"][1];  // "hard": a training set that is easy to spoil
    TensorMap inputs{{"representation", fixture_matrix(f["x"])},
                     {"label", torch::tensor(f["label"].get<std::vector<int64_t>>())},
                     {"split", torch::tensor(f["split"].get<std::vector<int64_t>>())}};
    auto plain = run_svc(inputs), with_validation = run_svc(with_mislabelled_validation_rows(inputs));
    EXPECT_EQ(with_validation, plain);
    EXPECT_EQ(with_validation["n_test"], 120);

    TensorMap only_validation = inputs;
    only_validation["split"] = torch::where(inputs["split"] == 0, torch::full_like(inputs["split"], 2), inputs["split"]);
    try {
        run_svc(only_validation);
        ADD_FAILURE() << "no training rows, yet no error";
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("no training or no test samples (0 training, 120 test; validation rows, split = 2, are in neither)"),
                  std::string::npos) << e.what();
    }
    TensorMap bad = inputs;
    bad["split"] = inputs["split"] * 3;
    try {
        run_svc(bad);
        ADD_FAILURE() << "split value 3, yet no error";
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("svc: 'split' holds values other than 0 (train), 1 (test) and 2 (validation)"),
                  std::string::npos) << e.what();
    }
}
