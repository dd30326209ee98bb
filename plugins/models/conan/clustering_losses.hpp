// CONAN's clustering heads' losses (Ke et al., Sec. III-C): DDC (Eq. 7, from Kampffmeyer et al.
// 2019, "Deep divergence-based approach to clustering") and DEC (Eq. 8, from Xie et al. 2016).
// Header-only so the plugin's tests can check them against a direct computation.
//
// Reading of Eq. 7 (garbled in the extracted text), following the DDC paper it cites and both
// released codes (DDC's and CONAN's loss_func.py):
//   d_CS(A, K) = 1/C(k,2) · sum_{i<j} a_iᵀ K a_j / sqrt(a_iᵀ K a_i · a_jᵀ K a_j)   (a_i: column i of A)
//   L_ddc = d_CS(A, K)                                 cluster separability and compactness
//         + 1/C(n,2) · sum_{i<j} (A Aᵀ)_ij              triu(AAᵀ): assignments of two samples orthogonal
//         + d_CS(M, K),  M_qj = exp(-||a_q - e_j||²)    assignments close to the simplex corners e_j
//   K_ij = exp(-||h_i - h_j||² / (2σ²)),  σ² = rel_sigma · median_ij ||h_i - h_j||²   (σ² not trained)
// The paper prints exp(-||z_i - z_j||²/(2σ)²) with "σ = 0.15" and m_ij = exp(||a_i - e_j||²); the
// relative bandwidth over the median squared distance and the minus sign are the codes' (and DDC's).
// The 1/C(k,2) and 1/C(n,2) averages are the codes' too: without them the n(n-1)/2 terms of triu(AAᵀ)
// would outweigh the two divergences by orders of magnitude at batch 128.
#pragma once

#include <torch/torch.h>

namespace conan {

// Squared Euclidean distances between the rows of x and of y, clamped at zero (rounding).
inline torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& y) {
    torch::Tensor d = x.pow(2).sum(1, true) - 2 * x.matmul(y.t()) + y.pow(2).sum(1, true).t();
    return d.clamp_min(0);
}

// Gaussian kernel with a bandwidth relative to the batch's median squared distance (lower median
// over all n² entries, as torch.median; the bandwidth gets no gradient).
inline torch::Tensor ddc_kernel(const torch::Tensor& hidden, double rel_sigma, double epsilon = 1e-9) {
    torch::Tensor d = squared_distances(hidden, hidden);
    torch::Tensor sigma2 = (rel_sigma * d.median()).detach().clamp_min(epsilon);
    return torch::exp(-d / (2 * sigma2));
}

// Mean over the k(k-1)/2 pairs of columns of the Cauchy–Schwarz similarity a_iᵀKa_j / sqrt(...).
inline torch::Tensor cauchy_schwarz_term(const torch::Tensor& a, const torch::Tensor& kernel, double epsilon = 1e-9) {
    const int64_t k = a.size(1);
    torch::Tensor nom = a.t().matmul(kernel).matmul(a);
    torch::Tensor diag = nom.diagonal();
    torch::Tensor denom_squared = (diag.unsqueeze(1) * diag.unsqueeze(0)).clamp_min(epsilon * epsilon);
    torch::Tensor ratio = nom.clamp_min(epsilon) / denom_squared.sqrt();
    return 2.0 / double(k * (k - 1)) * torch::triu(ratio, 1).sum();
}

struct DdcTerms {
    torch::Tensor separability, orthogonality, simplex, total;
};

// Eq. 7 on a batch: `assignment` n×k (softmax output), `hidden` the representation the kernel is on.
inline DdcTerms ddc_loss(const torch::Tensor& assignment, const torch::Tensor& hidden, double rel_sigma) {
    const int64_t n = assignment.size(0), k = assignment.size(1);
    torch::Tensor kernel = ddc_kernel(hidden, rel_sigma);
    DdcTerms t;
    t.separability = cauchy_schwarz_term(assignment, kernel);
    t.orthogonality = 2.0 / double(n * (n - 1)) * torch::triu(assignment.matmul(assignment.t()), 1).sum();
    torch::Tensor corners = torch::eye(k, assignment.options());
    t.simplex = cauchy_schwarz_term(torch::exp(-squared_distances(assignment, corners)), kernel);
    t.total = t.separability + t.orthogonality + t.simplex;
    return t;
}

// DEC's soft assignment (Student's t with `alpha` degrees of freedom, Xie et al. Eq. 1):
//   q_ij = (1 + ||z_i - mu_j||²/alpha)^(-(alpha+1)/2) / sum_j' (...)
inline torch::Tensor dec_soft_assignment(const torch::Tensor& z, const torch::Tensor& centroids, double alpha) {
    torch::Tensor q = torch::pow(1.0 + squared_distances(z, centroids) / alpha, -(alpha + 1.0) / 2.0);
    return q / q.sum(1, true);
}

// DEC's target distribution (Xie et al. Eq. 3): p_ij = (q_ij² / f_j) / sum_j' (q_ij'² / f_j'),
// f_j = sum_i q_ij the soft cluster frequency. Each row sums to one.
inline torch::Tensor dec_target_distribution(const torch::Tensor& q) {
    torch::Tensor weight = q.pow(2) / q.sum(0, true);
    return weight / weight.sum(1, true);
}

// Eq. 8 averaged over the batch: KL(P || Q) with P held fixed (no gradient), as DEC trains.
inline torch::Tensor dec_loss(const torch::Tensor& q) {
    torch::Tensor p = dec_target_distribution(q).detach();
    return (p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum() / double(q.size(0));
}

}  // namespace conan
