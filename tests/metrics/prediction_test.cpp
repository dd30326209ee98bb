// The prediction metric against scikit-learn's accuracy_score and f1_score(average="macro") on the
// test and validation rows of a three-way split (tests/fixtures/prediction.json, written by
// make_prediction_fixtures.py), through the plugin ABI; every form a model's predictions take.
#include <gtest/gtest.h>

#include "support/fixtures.hpp"
#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

std::map<std::string, double> run_prediction(const TensorMap& inputs) { return metric_values("prediction", inputs); }

// ids: N int64; column: N×1 float32 ids; scores: N×K float32.
TensorMap inputs_of(const json& f) {
    const std::string form = f["form"];
    torch::Tensor representation = form == "ids" ? torch::tensor(f["representation"].get<std::vector<int64_t>>())
                                                 : fixture_matrix(f["representation"]).to(torch::kFloat32);
    return {{"representation", representation},
            {"label", torch::tensor(f["label"].get<std::vector<int64_t>>())},
            {"split", torch::tensor(f["split"].get<std::vector<int64_t>>())}};
}

std::string error_of(const TensorMap& inputs) {
    try {
        run_prediction(inputs);
    } catch (const PluginCallError& e) {
        EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected an error";
    return "";
}

}  // namespace

TEST(PredictionMetric, EqualsScikitLearnOnTheTestAndTheValidationRows) {
    for (const auto& f : fixture("prediction.json")["cases"]) {
        const std::string name = f["name"];
        auto scores = run_prediction(inputs_of(f));
        EXPECT_DOUBLE_EQ(scores["ACC"], f["ACC"].get<double>()) << name;
        EXPECT_NEAR(scores["F1"], f["F1"].get<double>(), 1e-12) << name;
        EXPECT_EQ(scores["n_test"], f["n_test"].get<double>()) << name;
        if (f.contains("val_ACC")) {
            EXPECT_DOUBLE_EQ(scores["val_ACC"], f["val_ACC"].get<double>()) << name;
            EXPECT_NEAR(scores["val_F1"], f["val_F1"].get<double>(), 1e-12) << name;
            EXPECT_EQ(scores["n_val"], f["n_val"].get<double>()) << name;
            EXPECT_EQ(scores.size(), 6u) << name;
        } else {
            EXPECT_EQ(scores.count("val_ACC") + scores.count("val_F1") + scores.count("n_val"), 0u) << name << ": no validation rows";
            EXPECT_EQ(scores.size(), 3u) << name;
        }
    }
}

// Each part is scored on its own rows only: spoiling the predictions of the training rows changes
// nothing, spoiling the validation rows' changes val_* and nothing else.
TEST(PredictionMetric, EachPartIsScoredOnItsOwnRows) {
    const auto& f = fixture("prediction.json")["cases"][0];  // int64 ids, all three parts
    TensorMap inputs = inputs_of(f);
    const auto plain = run_prediction(inputs);
    const torch::Tensor& split = inputs["split"];
    const torch::Tensor wrong = inputs["label"] + 1;

    TensorMap spoiled_train = inputs;
    spoiled_train["representation"] = torch::where(split == 0, wrong, inputs["representation"]);
    EXPECT_EQ(run_prediction(spoiled_train), plain);

    TensorMap spoiled_validation = inputs;
    spoiled_validation["representation"] = torch::where(split == 2, wrong, inputs["representation"]);
    auto v = run_prediction(spoiled_validation);
    EXPECT_EQ(v["val_ACC"], 0.0);
    EXPECT_EQ(v["val_F1"], 0.0);
    for (const char* same : {"ACC", "F1", "n_test", "n_val"}) EXPECT_EQ(v[same], plain.at(same)) << same;
}

TEST(PredictionMetric, TheFormsOfOnePredictionScoreAlike) {
    torch::Tensor label = torch::tensor({0, 1, 2, 2, 1, 0, 3, 3}, torch::kInt64);
    torch::Tensor split = torch::tensor({0, 1, 1, 1, 1, 2, 2, 1}, torch::kInt64);
    torch::Tensor ids = torch::tensor({0, 1, 2, 1, 1, 0, 3, 0}, torch::kInt64);
    auto expected = run_prediction({{"representation", ids}, {"label", label}, {"split", split}});
    // Test rows 1, 2, 3, 4, 7: three right. Per class of truth ∪ predictions, F1 = 2tp / (2tp + fp + fn):
    // 0 (predicted once, never true) 0, 1: 4/5, 2: 2/3, 3 (true once, never predicted) 0.
    EXPECT_DOUBLE_EQ(expected["ACC"], 3.0 / 5.0);
    EXPECT_NEAR(expected["F1"], (0.8 + 2.0 / 3.0) / 4, 1e-12);
    EXPECT_EQ(expected["val_ACC"], 1.0);
    for (const torch::Tensor& form : {ids.to(torch::kFloat64), ids.to(torch::kInt32).unsqueeze(1), ids.to(torch::kFloat32).unsqueeze(1),
                                      torch::one_hot(ids, 5).to(torch::kFloat32) * 3 - 1})
        EXPECT_EQ(run_prediction({{"representation", form}, {"label", label}, {"split", split}}), expected) << form.sizes();
}

TEST(PredictionMetric, NoSplitOrNoTestRowIsAnErrorThatSaysHowToGiveOne) {
    const auto& f = fixture("prediction.json")["cases"][0];
    TensorMap inputs = inputs_of(f);
    TensorMap unsplit = inputs;
    unsplit.erase("split");
    std::string m = error_of(unsplit);
    EXPECT_NE(m.find("prediction: the dataset gives no split"), std::string::npos) << m;
    EXPECT_NE(m.find("give the dataset a split (train, test and validation rows), e.g. [train] split = [0.7, 0.2, 0.1]"),
              std::string::npos) << m;

    TensorMap no_test = inputs;
    no_test["split"] = torch::where(inputs["split"] == 1, torch::zeros_like(inputs["split"]), inputs["split"]);
    const int64_t n_val = (inputs["split"] == 2).sum().item<int64_t>(), n_train = inputs["split"].size(0) - n_val;
    m = error_of(no_test);
    EXPECT_NE(m.find("prediction: the split has no test rows (split = 1; it has " + std::to_string(n_train) + " training and " +
                     std::to_string(n_val) + " validation rows): give the dataset a split"),
              std::string::npos) << m;

    TensorMap bad = inputs;
    bad["split"] = inputs["split"] + 1;
    m = error_of(bad);
    EXPECT_NE(m.find("prediction: 'split' holds values other than 0 (train), 1 (test) and 2 (validation)"), std::string::npos) << m;
}

TEST(PredictionMetric, BadRepresentationIsAClearError) {
    torch::Tensor label = torch::tensor({0, 1, 0, 1}, torch::kInt64), split = torch::tensor({0, 1, 1, 2}, torch::kInt64);
    auto error = [&](const torch::Tensor& representation) {
        return error_of({{"representation", representation}, {"label", label}, {"split", split}});
    };
    std::string m = error(torch::tensor({0.0, 0.5, 1.0, 1.0}));
    EXPECT_NE(m.find("prediction: a single column must hold integer class ids; for class scores pass N×K scores"), std::string::npos) << m;
    m = error(torch::zeros({4, 2, 2}));
    EXPECT_NE(m.find("prediction: expected N×K class scores or N class ids, got rank 3"), std::string::npos) << m;
    torch::Tensor with_nan = torch::rand({4, 3});
    with_nan[2][1] = NAN;
    m = error(with_nan);
    EXPECT_NE(m.find("prediction: the class scores contain NaN or Inf"), std::string::npos) << m;
    m = error(torch::tensor({0, 1, 0}, torch::kInt64));
    EXPECT_NE(m.find("prediction: the representation has 3 rows, the labels 4"), std::string::npos) << m;
}
