// mvrl/eval/classification_scores.hpp — accuracy and macro F1 of predictions, as scikit-learn's
// accuracy_score and f1_score(average="macro") compute them: F1 per label over the labels present
// in the truth or the predictions, 0 where precision + recall is 0, then the unweighted mean.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

namespace mvrl::eval {

inline double accuracy(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted) {
    if (truth.size() != predicted.size() || truth.empty()) throw std::invalid_argument("accuracy: empty or unequal lengths");
    size_t correct = 0;
    for (size_t i = 0; i < truth.size(); ++i) correct += truth[i] == predicted[i];
    return double(correct) / double(truth.size());
}

inline double macro_f1(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted) {
    if (truth.size() != predicted.size() || truth.empty()) throw std::invalid_argument("macro_f1: empty or unequal lengths");
    struct Counts { double tp = 0, fp = 0, fn = 0; };
    std::map<int64_t, Counts> per_label;
    for (size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] == predicted[i]) {
            per_label[truth[i]].tp += 1;
        } else {
            per_label[predicted[i]].fp += 1;
            per_label[truth[i]].fn += 1;
        }
    }
    double sum = 0;
    for (const auto& [label, c] : per_label) {
        double denominator = 2 * c.tp + c.fp + c.fn;  // F1 = 2PR/(P+R) = 2tp / (2tp + fp + fn)
        sum += denominator > 0 ? 2 * c.tp / denominator : 0.0;
    }
    return sum / double(per_label.size());
}

}  // namespace mvrl::eval
