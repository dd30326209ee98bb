// [train] split's draw (host/runner/stratified_split.hpp): per class, seeded, the same everywhere.
#include <gtest/gtest.h>

#include <map>

#include "runner/stratified_split.hpp"

using namespace mvrl::host;

namespace {

// Labels 0..9, 200 each (as UCI Handwritten), in class order.
std::vector<int64_t> hand_like_labels() {
    std::vector<int64_t> labels;
    for (int64_t c = 0; c < 10; ++c) labels.insert(labels.end(), 200, c);
    return labels;
}

}  // namespace

TEST(StratifiedSplit, EachClassSplitsInTheGivenShares) {
    auto labels = hand_like_labels();
    auto split = stratified_split(labels, {0.7, 0.2, 0.1}, kDefaultSplitSeed);
    std::map<std::pair<int64_t, int64_t>, int> count;
    for (size_t i = 0; i < labels.size(); ++i) ++count[{labels[i], split[i]}];
    for (int64_t c = 0; c < 10; ++c) {
        EXPECT_EQ((count[{c, kTrainRow}]), 140) << c;
        EXPECT_EQ((count[{c, kTestRow}]), 40) << c;
        EXPECT_EQ((count[{c, kValidationRow}]), 20) << c;
    }
}

TEST(StratifiedSplit, SeededAndNotTheFirstRowsOfEachClass) {
    auto labels = hand_like_labels();
    auto a = stratified_split(labels, {0.7, 0.2, 0.1}, 300), b = stratified_split(labels, {0.7, 0.2, 0.1}, 300);
    auto c = stratified_split(labels, {0.7, 0.2, 0.1}, 301);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    int test_among_first = 0;
    for (int i = 0; i < 60; ++i) test_among_first += a[size_t(i)] == kTestRow;
    EXPECT_GT(test_among_first, 0) << "the rows are shuffled within the class";
    EXPECT_LT(test_among_first, 60);
}

TEST(StratifiedSplit, TwoFractionsLeaveNoValidationRows) {
    std::vector<int64_t> labels = {3, 3, 3, 3, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    auto split = stratified_split(labels, {0.8, 0.2}, 0);
    int train = 0, test = 0;
    for (auto s : split) train += s == kTrainRow, test += s == kTestRow;
    EXPECT_EQ(train, 4 + 8);
    EXPECT_EQ(test, 1 + 2);
}

// A fixed value, recorded when this was written: the draw must not change between builds,
// libtorch versions (std::mt19937_64, and libstdc++'s std::shuffle over it), or the stored runs'
// splits would silently differ from a new run's. Per class of 5: 3 train, 1 test, 1 validation.
TEST(StratifiedSplit, KnownDraw) {
    std::vector<int64_t> labels = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    auto split = stratified_split(labels, {0.6, 0.2, 0.2}, 300);
    std::string text;
    for (auto s : split) text += std::to_string(s);
    EXPECT_EQ(text, "2010000210");
}
