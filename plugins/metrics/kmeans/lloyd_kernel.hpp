// One Lloyd pass over a block of rows on the CPU, in plain C++ (no torch): given the rows' dot
// products with the centres, each row's nearest centre, and what the M-step needs — per-centre sums
// and counts of the rows assigned to it — and the rows' summed squared distance to their centre
// (the inertia), in one pass while the block is in cache; scikit-learn's lloyd does the same in
// chunks of 256 rows.
//
// Compiled on its own at -O3 with an AVX2 clone chosen at load time (lloyd_kernel.cpp), which the
// torch translation unit, tied to the shared precompiled header's flags, cannot be.
#pragma once

#include <cstdint>

namespace mvrl::kmeans {

// x: rows [begin, end) of an N×d row-major matrix; dots: x·centre for those rows ((end − begin)×k,
// row-major); centre_norms: ||centre||² (k). Writes labels[begin..end) and *adds* the block's
// sums (k×d), counts (k) and inertia into the caller's accumulators.
void assign_rows(const float* x, int64_t begin, int64_t end, int64_t d, const float* dots,
                 const float* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia);
void assign_rows(const double* x, int64_t begin, int64_t end, int64_t d, const double* dots,
                 const double* centre_norms, int64_t k, int64_t* labels, double* sums, int64_t* counts, double* inertia);

}  // namespace mvrl::kmeans
