// prediction: scores a supervised model's own predicted class (MV2D's classifier, any model that
// encodes a `pred`) against the labels, as the supervised multi-view papers report it: accuracy and
// macro F1 on the test rows of the dataset's split (split == 1), and apart, on its validation rows
// (split == 2), the same two as val_ACC and val_F1 — what the model selected on, so never mixed
// into the test scores. Training rows (split == 0) are not scored: the model fit them.
//
// The representation is N (or N×1) class ids, stored as integers or as integer-valued floats, or
// N×K class scores (logits or probabilities), read by argmax over K (mvrl/eval/predicted_ids.hpp).
// Ids are compared with the labels as they are: a classifier's class k is the dataset's class k
// (matching ids to classes is assignment's, for clusters). Macro F1 is scikit-learn's
// f1_score(average="macro"): the mean over every class in the part's truth or predictions, 0 for a
// class never predicted right (mvrl/eval/classification_scores.hpp).
//
// No split, or a split without test rows, is an error: there would be nothing held out to score.
#include <mvrl/eval/classification_scores.hpp>
#include <mvrl/eval/classification_split.hpp>
#include <mvrl/eval/predicted_ids.hpp>
#include <mvrl/plugin.hpp>

namespace {

using mvrl::ParamError;

constexpr const char* how_to_split =
    "give the dataset a split (train, test and validation rows), e.g. [train] split = [0.7, 0.2, 0.1] in the experiment";

class Prediction : public mvrl::Metric {
public:
    static constexpr const char* name = "prediction";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "A model's own predicted class (N class ids, or N×K class scores read by argmax) scored by ACC and macro F1 on the split's "
        "test rows, val_ACC and val_F1 on its validation rows";

    static mvrl::ParamSchema schema() { return mvrl::ParamSchema(); }

    Prediction(const mvrl::Params&, const mvrl::Context&) {}

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        const torch::Tensor predicted =
            mvrl::eval::predicted_ids(mvrl::require_input(inputs, "representation"), name, "class ids", "class scores");
        const torch::Tensor truth = mvrl::require_input(inputs, "label").to(torch::kCPU, torch::kInt64).flatten();
        if (predicted.size(0) != truth.size(0))
            throw ParamError("prediction: the representation has " + std::to_string(predicted.size(0)) + " rows, the labels " +
                             std::to_string(truth.size(0)));
        if (!inputs.count("split"))
            throw ParamError(std::string("prediction: the dataset gives no split, and a model's predictions are scored on held-out "
                                         "rows only: ") + how_to_split);
        const torch::Tensor split = mvrl::eval::dataset_split(inputs.at("split"), truth.size(0), name);
        const torch::Tensor test = rows(split, mvrl::eval::split_test), validation = rows(split, mvrl::eval::split_validation);
        if (test.numel() == 0)
            throw ParamError("prediction: the split has no test rows (split = 1; it has " +
                             std::to_string(rows(split, mvrl::eval::split_train).numel()) + " training and " +
                             std::to_string(validation.numel()) + " validation rows): " + how_to_split);

        mvrl::ScalarList out;
        append_scores(out, "", truth, predicted, test);
        out.emplace_back("n_test", double(test.numel()));
        if (validation.numel() > 0) {
            append_scores(out, "val_", truth, predicted, validation);
            out.emplace_back("n_val", double(validation.numel()));
        }
        return out;
    }

private:
    static torch::Tensor rows(const torch::Tensor& split, int64_t part) { return torch::nonzero(split == part).flatten(); }

    // <prefix>ACC and <prefix>F1 over `at`, the rows of one part.
    static void append_scores(mvrl::ScalarList& out, const std::string& prefix, const torch::Tensor& truth,
                              const torch::Tensor& predicted, const torch::Tensor& at) {
        const auto t = mvrl::to_int64_vector(truth.index_select(0, at)), p = mvrl::to_int64_vector(predicted.index_select(0, at));
        out.emplace_back(prefix + "ACC", mvrl::eval::accuracy(t, p));
        out.emplace_back(prefix + "F1", mvrl::eval::macro_f1(t, p));
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<Prediction>())
