#include "embedding_projection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "runner/stored_representations.hpp"
#include "store/store.hpp"

namespace mvrl::host {

namespace {

// The top `k` principal directions of centred `xc` (N × D float64), as columns of a D × k matrix.
torch::Tensor principal_directions(const torch::Tensor& xc, int64_t k, torch::Tensor* variances) {
    const int64_t n = xc.size(0);
    torch::Tensor cov = xc.t().mm(xc) / double(std::max<int64_t>(n - 1, 1));
    auto [values, vectors] = torch::linalg_eigh(cov, "L");  // ascending
    k = std::min<int64_t>(k, vectors.size(1));
    torch::Tensor top = vectors.flip({1}).slice(1, 0, k).clone();
    if (variances) *variances = values.flip({0});
    for (int64_t j = 0; j < k; ++j) {
        torch::Tensor column = top.select(1, j);
        if (column[column.abs().argmax()].item<double>() < 0) column.neg_();
    }
    return top;
}

// Rows' squared Euclidean distances, N × N, zero on the diagonal.
torch::Tensor squared_distances(const torch::Tensor& x) {
    torch::Tensor sq = x.pow(2).sum(1, true);
    return (sq + sq.t() - 2 * x.mm(x.t())).clamp_min(0).fill_diagonal_(0);
}

// The symmetric joint probabilities P of t-SNE (Eq. 1 and p_ij = (p_j|i + p_i|j) / 2N): per row a
// precision found by bisection so that the conditional distribution's perplexity is `perplexity`.
torch::Tensor joint_probabilities(const torch::Tensor& distances, double perplexity) {
    const int64_t n = distances.size(0);
    const double target = std::log(perplexity);
    torch::Tensor beta = torch::ones({n, 1}, distances.options());
    torch::Tensor lo = torch::full({n, 1}, 0.0, distances.options());
    torch::Tensor hi = torch::full({n, 1}, INFINITY, distances.options());
    torch::Tensor off_diagonal = 1 - torch::eye(n, distances.options());
    // Subtracting each row's smallest off-diagonal distance keeps exp() from underflowing.
    const torch::Tensor shifted = distances - (distances + torch::eye(n, distances.options()) * 1e300).amin(1, true);
    torch::Tensor p;
    for (int step = 0; step < 100; ++step) {
        p = torch::exp(-shifted * beta) * off_diagonal;
        torch::Tensor sum = p.sum(1, true).clamp_min(1e-300);
        torch::Tensor entropy = torch::log(sum) + beta * (shifted * p).sum(1, true) / sum;
        p = p / sum;
        torch::Tensor too_flat = entropy > target;  // too high an entropy: sharpen (raise beta)
        lo = torch::where(too_flat, beta, lo);
        hi = torch::where(too_flat, hi, beta);
        beta = torch::where(torch::isinf(hi), beta * 2, (lo + hi) / 2);
        if ((entropy - target).abs().max().item<double>() < 1e-5) break;
    }
    return ((p + p.t()) / (2.0 * double(n))).clamp_min(1e-12);
}

}  // namespace

torch::Tensor pca_2d(const torch::Tensor& x, std::vector<double>* explained) {
    torch::Tensor flat = x.reshape({x.size(0), -1}).to(torch::kFloat64).cpu();
    torch::Tensor xc = flat - flat.mean(0, true);
    torch::Tensor variances;
    torch::Tensor directions = principal_directions(xc, 2, &variances);
    torch::Tensor points = xc.mm(directions);
    if (points.size(1) < 2) points = torch::cat({points, torch::zeros({points.size(0), 2 - points.size(1)}, points.options())}, 1);
    if (explained) {
        const double total = variances.sum().item<double>();
        explained->clear();
        for (int64_t j = 0; j < 2; ++j)
            explained->push_back(j < variances.size(0) && total > 0 ? variances[j].item<double>() / total : 0.0);
    }
    return points;
}

torch::Tensor tsne_2d(const torch::Tensor& x, const TsneOptions& o) {
    torch::Tensor flat = x.reshape({x.size(0), -1}).to(torch::kFloat64).cpu();
    const int64_t n = flat.size(0);
    if (n < 3) return pca_2d(flat);
    torch::Tensor xc = flat - flat.mean(0, true);
    if (xc.size(1) > 50) xc = xc.mm(principal_directions(xc, 50, nullptr));
    const double perplexity = std::min(o.perplexity, double(n - 1) / 3.0);
    torch::Tensor p = joint_probabilities(squared_distances(xc), perplexity);

    torch::Tensor y = pca_2d(xc);
    y = y / y.select(1, 0).std().clamp_min(1e-12) * 1e-4;
    torch::Tensor update = torch::zeros_like(y), gains = torch::ones_like(y);
    const double learning_rate = std::max(double(n) / o.exaggeration / 4.0, 50.0);
    for (int it = 0; it < o.iterations; ++it) {
        const bool early = it < o.exaggeration_iterations;
        // Student-t similarities (Eq. 4) and the gradient of KL(P || Q) (Eq. 5).
        torch::Tensor num = (1.0 / (1.0 + squared_distances(y))).fill_diagonal_(0);
        torch::Tensor q = (num / num.sum()).clamp_min(1e-12);
        torch::Tensor w = ((early ? o.exaggeration : 1.0) * p - q) * num;
        torch::Tensor grad = 4.0 * (w.sum(1, true) * y - w.mm(y));
        torch::Tensor same_sign = (grad > 0) == (update > 0);
        gains = torch::where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01);
        update = (early ? 0.5 : 0.8) * update - learning_rate * gains * grad;
        y = y + update;
    }
    return y - y.mean(0, true);
}

json project_stored_representation(const EmbeddingRequest& request) {
    auto store = Store::open_existing(request.db);
    auto artifact = store.artifact_of(request.run_id, "representations");
    if (!artifact)
        throw std::runtime_error("run " + std::to_string(request.run_id) + " has no stored representations (its model's "
                                 "representations are wider than " + std::to_string(kMaxStoredWidth) + " values, or it did not finish)");
    StoredRepresentations stored = load_representations(request.db, *artifact);
    auto names_of = [](const TensorMap& map) {
        std::string names;
        for (const auto& [name, t] : map) names += (names.empty() ? "" : ", ") + name;
        return names;
    };
    auto rep = stored.representations.find(request.representation);
    if (rep == stored.representations.end())
        throw std::invalid_argument("representation '" + request.representation + "' is not stored for run " +
                                    std::to_string(request.run_id) + "; stored: " + names_of(stored.representations));
    auto label = stored.labels.find(request.label);
    if (label == stored.labels.end())
        throw std::invalid_argument("label '" + request.label + "' is not stored for run " + std::to_string(request.run_id) +
                                    "; stored: " + names_of(stored.labels));
    torch::Tensor x = rep->second, labels = label->second.reshape({-1});
    const int64_t n_total = x.size(0);
    // A fixed-seed subset (std::mt19937, the same on every build), kept in row order.
    std::vector<int64_t> rows(n_total);
    std::iota(rows.begin(), rows.end(), 0);
    if (n_total > request.cap) {
        std::mt19937_64 random(20240101);
        std::shuffle(rows.begin(), rows.end(), random);
        rows.resize(request.cap);
        std::sort(rows.begin(), rows.end());
    }
    torch::Tensor index = torch::tensor(rows, torch::kInt64);
    x = x.index_select(0, index);
    labels = labels.index_select(0, index).to(torch::kInt64);

    json out = {{"method", request.method}, {"n_total", n_total}, {"rows", rows}};
    torch::Tensor points;
    if (request.method == "pca") {
        std::vector<double> explained;
        points = pca_2d(x, &explained);
        out["explained"] = explained;
    } else if (request.method == "tsne") {
        points = tsne_2d(x);
    } else {
        throw std::invalid_argument("method '" + request.method + "': use pca or tsne");
    }
    points = points.contiguous();
    json list = json::array();
    auto p = points.accessor<double, 2>();
    for (int64_t i = 0; i < points.size(0); ++i) list.push_back({p[i][0], p[i][1]});
    out["points"] = std::move(list);
    std::vector<int64_t> label_values(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
    out["labels"] = label_values;
    return out;
}

}  // namespace mvrl::host
