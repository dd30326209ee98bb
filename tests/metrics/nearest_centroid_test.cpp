// The nearest-centroid metric (plain C99) and the dataset's split: centroids from split = 0,
// accuracy on split = 1, validation rows (split = 2) in neither.
#include <gtest/gtest.h>

#include "support/plugin_values.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

std::map<std::string, double> run_centroid(const TensorMap& inputs) { return metric_values("nearest-centroid", inputs); }

// Two classes four units apart on the diagonal, six rows each: four to train on, two to test.
TensorMap two_classes() {
    torch::Tensor offsets = torch::tensor({{0.1, 0.0}, {-0.1, 0.0}, {0.0, 0.1}, {0.0, -0.1}, {0.05, 0.05}, {-0.05, -0.05}}, torch::kFloat64);
    torch::Tensor x = torch::cat({offsets, offsets + 4.0});
    torch::Tensor y = torch::cat({torch::zeros({6}, torch::kInt64), torch::ones({6}, torch::kInt64)});
    torch::Tensor split = torch::tensor({0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1}, torch::kInt64);
    return {{"representation", x}, {"label", y}, {"split", split}};
}

}  // namespace

TEST(NearestCentroidMetric, ValidationRowsAreNeitherTrainedNorTestedOn) {
    TensorMap inputs = two_classes();
    auto plain = run_centroid(inputs);
    EXPECT_EQ(plain["ACC"], 1.0);
    EXPECT_EQ(plain["n_test"], 4);

    // Mislabelled validation rows: as training rows they would drag class 1's centroid past class
    // 0's (its test rows would then be nearer class 0), as test rows they would count four mistakes.
    TensorMap spoiled = inputs;
    torch::Tensor far = torch::full({4, 2}, -8.0, torch::kFloat64);
    spoiled["representation"] = torch::cat({inputs["representation"], far});
    spoiled["label"] = torch::cat({inputs["label"], torch::ones({4}, torch::kInt64)});
    spoiled["split"] = torch::cat({inputs["split"], torch::full({4}, 2, torch::kInt64)});
    EXPECT_EQ(run_centroid(spoiled), plain);
    EXPECT_EQ(run_centroid(with_mislabelled_validation_rows(inputs)), plain);
}

TEST(NearestCentroidMetric, SplitValuesOtherThanTrainTestValidationAreAnError) {
    TensorMap inputs = two_classes();
    inputs["split"][3] = 3;
    try {
        run_centroid(inputs);
        ADD_FAILURE() << "split value 3, yet no error";
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("nearest-centroid: split values must be 0 (train), 1 (test) or 2 (validation)"),
                  std::string::npos) << e.what();
    }
}
