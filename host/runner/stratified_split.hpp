// The supervised protocol's split: `[train] split = [0.7, 0.2, 0.1]` draws, per class, that share
// of each class's rows for training, test and validation — the recipe of the multi-view
// classification literature (MvNNcor's, which MV2D's Tables 6–7 follow: per class, seed 300).
// Torch-free and drawn with std::mt19937_64, so a split is the same on every build and machine.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace mvrl::host {

enum SplitPart : int64_t { kTrainRow = 0, kTestRow = 1, kValidationRow = 2 };

constexpr uint64_t kDefaultSplitSeed = 300;

// `fractions`: [train, test] or [train, test, validation], summing to 1 (config checks it). Each
// class's rows are shuffled (classes in increasing label order, one generator), then the first
// round(train · n_c) are training rows, the next round(test · n_c) test rows (with two
// fractions: all the rest), and the rest validation rows.
inline std::vector<int64_t> stratified_split(const std::vector<int64_t>& labels, const std::vector<double>& fractions,
                                             uint64_t seed) {
    std::map<int64_t, std::vector<int64_t>> rows_of_class;
    for (size_t i = 0; i < labels.size(); ++i) rows_of_class[labels[i]].push_back(int64_t(i));
    std::vector<int64_t> split(labels.size(), kTrainRow);
    std::mt19937_64 random(seed);
    for (auto& [label, rows] : rows_of_class) {
        std::shuffle(rows.begin(), rows.end(), random);
        const auto n = int64_t(rows.size());
        const int64_t train = std::min<int64_t>(n, std::llround(fractions[0] * double(n)));
        const int64_t test = fractions.size() == 2 ? n - train : std::min<int64_t>(n - train, std::llround(fractions[1] * double(n)));
        for (int64_t k = 0; k < n; ++k) split[size_t(rows[size_t(k)])] = k < train ? kTrainRow : k < train + test ? kTestRow : kValidationRow;
    }
    return split;
}

}  // namespace mvrl::host
