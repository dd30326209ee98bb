// The missing-modality protocol (DCMEM's partially missing setting): `[train] missing_view = v,
// missing_share = r` drops view v from exactly round(r · N) samples, drawn with missing_seed; the
// other views of those samples stay. The host zeroes the dropped view's rows and gives the model
// "present" (N × V, 1 = observed), as a dataset's own missing_rate does (mvrl/data/missing_views.hpp),
// and marks the dataset's info has_missing, so a model that cannot train on missing views refuses.
// Torch-free and drawn with std::mt19937_64, so the dropped rows are the same on every build.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace mvrl::host {

constexpr uint64_t kDefaultMissingSeed = 0;

// The rows that lose the view, in increasing order: the first round(share · n) of a shuffle of 0..n-1.
inline std::vector<int64_t> rows_missing_a_view(int64_t n, double share, uint64_t seed) {
    std::vector<int64_t> rows(size_t(std::max<int64_t>(n, 0)));
    std::iota(rows.begin(), rows.end(), 0);
    std::mt19937_64 random(seed);
    std::shuffle(rows.begin(), rows.end(), random);
    rows.resize(size_t(std::llround(share * double(n))));
    std::sort(rows.begin(), rows.end());
    return rows;
}

}  // namespace mvrl::host
