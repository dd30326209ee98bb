// The missing-modality protocol's draw (runner/missing_view.hpp).
#include <gtest/gtest.h>

#include <set>

#include "runner/missing_view.hpp"

using mvrl::host::rows_missing_a_view;

TEST(MissingView, DropsExactlyTheRoundedShareOfDistinctRows) {
    for (int64_t n : {1, 7, 100, 1001}) {
        for (double share : {0.0, 0.25, 0.5, 0.75, 0.99}) {
            auto rows = rows_missing_a_view(n, share, 3);
            EXPECT_EQ(int64_t(rows.size()), std::llround(share * double(n))) << n << " " << share;
            std::set<int64_t> distinct(rows.begin(), rows.end());
            EXPECT_EQ(distinct.size(), rows.size());
            for (int64_t r : rows) EXPECT_TRUE(r >= 0 && r < n);
            EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
        }
    }
}

TEST(MissingView, SeededSameSeedSameRowsOtherSeedOtherRows) {
    EXPECT_EQ(rows_missing_a_view(1000, 0.5, 1), rows_missing_a_view(1000, 0.5, 1));
    EXPECT_NE(rows_missing_a_view(1000, 0.5, 1), rows_missing_a_view(1000, 0.5, 2));
    // One seed's shares are nested (each is a prefix of the same shuffle): the samples missing the
    // view at 0.25 are missing it at 0.5 too, so a missing-rate study only ever removes more.
    auto quarter = rows_missing_a_view(1000, 0.25, 1), half = rows_missing_a_view(1000, 0.5, 1);
    EXPECT_TRUE(std::includes(half.begin(), half.end(), quarter.begin(), quarter.end()));
}
