#include "lloyd_kernel.hpp"

#include <algorithm>
#include <vector>

namespace mvrl::kmeans {

namespace {

// The distance of a row to centre c is ||x||² + ||c||² − 2 x·c. The dot products come from the
// caller (one BLAS product per block, as scikit-learn's lloyd does per chunk); this loop finds the
// nearest centre of each row and adds the row to that centre's sum in the same pass.
template <typename T>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void assign_rows_impl(const T* x, int64_t begin, int64_t end, int64_t d, const T* dots, const T* centre_norms,
                      int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    double block_inertia = 0;
    for (int64_t i = begin; i < end; ++i) {
        const T* row = x + i * d;
        const T* row_dots = dots + (i - begin) * k;
        int64_t best = 0;
        T best_score = centre_norms[0] - 2 * row_dots[0];  // ||x||² is the same for every centre
        for (int64_t m = 1; m < k; ++m) {
            T score = centre_norms[m] - 2 * row_dots[m];
            if (score < best_score) best_score = score, best = m;
        }
        labels[i] = best;
        counts[best] += 1;
        double* sum = sums + best * d;
        T row_norm = 0;
        for (int64_t j = 0; j < d; ++j) sum[j] += row[j], row_norm += row[j] * row[j];
        block_inertia += std::max(0.0, double(row_norm) + double(best_score));
    }
    *inertia += block_inertia;
}

}  // namespace

void assign_rows(const float* x, int64_t begin, int64_t end, int64_t d, const float* dots,
                 const float* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    assign_rows_impl(x, begin, end, d, dots, centre_norms, k, labels, sums, counts, inertia);
}

void assign_rows(const double* x, int64_t begin, int64_t end, int64_t d, const double* dots,
                 const double* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia) {
    assign_rows_impl(x, begin, end, d, dots, centre_norms, k, labels, sums, counts, inertia);
}

}  // namespace mvrl::kmeans
