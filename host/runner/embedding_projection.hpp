// `mvrl-run report`'s embedding figures, the part that needs libtorch (run inside mvrl-worker): a
// stored representation of one run projected to 2-D — by PCA, or by exact t-SNE (van der Maaten &
// Hinton, "Visualizing Data using t-SNE", JMLR 2008) — for at most `cap` samples.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <mvrl/params.hpp>

namespace mvrl::host {

// The first two principal components of `x` (N × D, any float dtype): N × 2 float64. Each
// component's sign makes its largest-magnitude loading positive, so the picture does not flip
// between builds. `explained` (optional) receives the two components' shares of the variance.
torch::Tensor pca_2d(const torch::Tensor& x, std::vector<double>* explained = nullptr);

struct TsneOptions {
    double perplexity = 30;  // lowered to (N - 1) / 3 for small N, as scikit-learn requires
    int iterations = 1000;
    int exaggeration_iterations = 250;  // early exaggeration 12, momentum 0.5, then 0.8
    double exaggeration = 12;
};

// Exact t-SNE of `x` (N × D) on the CPU in float64: inputs over 50 wide are first reduced to 50
// principal components, the map starts from the PCA projection scaled to std 1e-4 (deterministic:
// no seed), learning rate max(N / exaggeration / 4, 50) (scikit-learn's "auto"), gains as in the
// paper's reference implementation. O(N²) memory and time per step.
torch::Tensor tsne_2d(const torch::Tensor& x, const TsneOptions& options = {});

struct EmbeddingRequest {
    std::filesystem::path db;
    int64_t run_id = 0;
    std::string representation, label = "label", method = "pca";
    int64_t cap = 1000;
};

// Reads the run's stored representations, draws at most `cap` rows (a fixed-seed random subset,
// in row order) and projects them. Returns {"method", "n_total", "rows", "points": [[x, y], ...],
// "labels": [...], "explained"?}; throws std::invalid_argument for an unknown representation or
// label (naming those stored) and std::runtime_error when the run has no stored representations.
json project_stored_representation(const EmbeddingRequest& request);

}  // namespace mvrl::host
