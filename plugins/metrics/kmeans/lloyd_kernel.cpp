#include "lloyd_kernel.hpp"

#include <algorithm>
#include <vector>

namespace mvrl::kmeans {

namespace {

// The distance of a row to centre c is ||x||² + ||c||² − 2 x·c; the dot products of one row with
// every centre accumulate along d with the k centres as the inner, contiguous loop, which
// vectorises without reassociating any one sum (so without -ffast-math).
template <typename T>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void assign_rows_impl(const T* x, int64_t begin, int64_t end, int64_t d, const T* centres_t, const T* centre_norms,
                      int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    std::vector<T> dots(static_cast<size_t>(k));
    double block_inertia = 0;
    for (int64_t i = begin; i < end; ++i) {
        const T* row = x + i * d;
        std::fill(dots.begin(), dots.end(), T(0));
        T row_norm = 0;
        for (int64_t j = 0; j < d; ++j) {
            const T v = row[j];
            const T* c = centres_t + j * k;
            row_norm += v * v;
            for (int64_t m = 0; m < k; ++m) dots[m] += v * c[m];
        }
        int64_t best = 0;
        T best_score = centre_norms[0] - 2 * dots[0];  // ||x||² is the same for every centre
        for (int64_t m = 1; m < k; ++m) {
            T score = centre_norms[m] - 2 * dots[m];
            if (score < best_score) best_score = score, best = m;
        }
        labels[i] = best;
        counts[best] += 1;
        double* sum = sums + best * d;
        for (int64_t j = 0; j < d; ++j) sum[j] += row[j];
        block_inertia += std::max(0.0, double(row_norm) + double(best_score));
    }
    *inertia += block_inertia;
}

}  // namespace

void assign_rows(const float* x, int64_t begin, int64_t end, int64_t d, const float* centres_t,
                 const float* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    assign_rows_impl(x, begin, end, d, centres_t, centre_norms, k, labels, sums, counts, inertia);
}

void assign_rows(const double* x, int64_t begin, int64_t end, int64_t d, const double* centres_t,
                 const double* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    assign_rows_impl(x, begin, end, d, centres_t, centre_norms, k, labels, sums, counts, inertia);
}

}  // namespace mvrl::kmeans
