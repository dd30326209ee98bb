// mvrl/eval/clustering_scores.hpp — scores of a cluster assignment against class labels, as the
// multi-view clustering papers report them and as scikit-learn computes them:
//   ACC: accuracy under the best one-to-one cluster→class matching (Hungarian algorithm);
//   NMI: mutual information normalised by the arithmetic mean of the two entropies
//        (sklearn.metrics.normalized_mutual_info_score, average_method="arithmetic");
//   ARI: adjusted Rand index (sklearn.metrics.adjusted_rand_score).
// Plain C++ on host vectors: the contingency table is tiny whatever the data size.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <vector>

namespace mvrl::eval {

// counts[i][j]: samples of cluster i (rows) in class j (columns), over the distinct values present.
struct Contingency {
    std::vector<std::vector<double>> counts;
    double n = 0;
};

inline Contingency contingency(const std::vector<int64_t>& classes, const std::vector<int64_t>& clusters) {
    if (classes.size() != clusters.size()) throw std::invalid_argument("labels and assignment differ in length");
    std::map<int64_t, size_t> class_index, cluster_index;
    for (int64_t c : classes) class_index.emplace(c, 0);
    for (int64_t c : clusters) cluster_index.emplace(c, 0);
    size_t i = 0;
    for (auto& kv : class_index) kv.second = i++;
    i = 0;
    for (auto& kv : cluster_index) kv.second = i++;
    Contingency t;
    t.counts.assign(cluster_index.size(), std::vector<double>(class_index.size(), 0.0));
    for (size_t s = 0; s < classes.size(); ++s) t.counts[cluster_index[clusters[s]]][class_index[classes[s]]] += 1;
    t.n = double(classes.size());
    return t;
}

// Minimum-cost assignment of rows to columns of a square cost matrix (Hungarian algorithm, O(n^3),
// potentials form). Returns column of each row.
inline std::vector<size_t> hungarian_min_cost(const std::vector<std::vector<double>>& cost) {
    const size_t n = cost.size();
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> u(n + 1, 0), v(n + 1, 0), min_to(n + 1);
    std::vector<size_t> row_of_col(n + 1, 0), way(n + 1, 0);
    for (size_t row = 1; row <= n; ++row) {
        row_of_col[0] = row;
        size_t col0 = 0;
        std::fill(min_to.begin(), min_to.end(), inf);
        std::vector<bool> used(n + 1, false);
        do {
            used[col0] = true;
            size_t r = row_of_col[col0], col1 = 0;
            double delta = inf;
            for (size_t c = 1; c <= n; ++c) {
                if (used[c]) continue;
                double reduced = cost[r - 1][c - 1] - u[r] - v[c];
                if (reduced < min_to[c]) min_to[c] = reduced, way[c] = col0;
                if (min_to[c] < delta) delta = min_to[c], col1 = c;
            }
            for (size_t c = 0; c <= n; ++c) {
                if (used[c]) u[row_of_col[c]] += delta, v[c] -= delta;
                else min_to[c] -= delta;
            }
            col0 = col1;
        } while (row_of_col[col0] != 0);
        do {
            size_t col1 = way[col0];
            row_of_col[col0] = row_of_col[col1];
            col0 = col1;
        } while (col0);
    }
    std::vector<size_t> col_of_row(n);
    for (size_t c = 1; c <= n; ++c)
        if (row_of_col[c]) col_of_row[row_of_col[c] - 1] = c - 1;
    return col_of_row;
}

// ACC = max over one-to-one matchings of matched samples / n (unmatched clusters count as wrong).
inline double clustering_accuracy(const Contingency& t) {
    size_t size = std::max(t.counts.size(), t.counts.empty() ? 0 : t.counts[0].size());
    std::vector<std::vector<double>> cost(size, std::vector<double>(size, 0.0));
    for (size_t i = 0; i < t.counts.size(); ++i)
        for (size_t j = 0; j < t.counts[i].size(); ++j) cost[i][j] = -t.counts[i][j];
    auto match = hungarian_min_cost(cost);
    double matched = 0;
    for (size_t i = 0; i < size; ++i) matched -= cost[i][match[i]];
    return matched / t.n;
}

namespace detail {
inline double entropy(const std::vector<double>& counts, double n) {
    double h = 0;
    for (double c : counts)
        if (c > 0) h -= c / n * std::log(c / n);
    return h;
}
inline double pairs(double x) { return x * (x - 1) / 2; }
}  // namespace detail

inline double normalized_mutual_information(const Contingency& t) {
    std::vector<double> rows(t.counts.size(), 0), cols(t.counts.empty() ? 0 : t.counts[0].size(), 0);
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < cols.size(); ++j) rows[i] += t.counts[i][j], cols[j] += t.counts[i][j];
    // sklearn: identical single-cluster labelings are perfectly correlated
    if (rows.size() == 1 && cols.size() == 1) return 1.0;
    double mi = 0;
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < cols.size(); ++j)
            if (t.counts[i][j] > 0) mi += t.counts[i][j] / t.n * std::log(t.n * t.counts[i][j] / (rows[i] * cols[j]));
    double normaliser = (detail::entropy(rows, t.n) + detail::entropy(cols, t.n)) / 2;
    return normaliser > 0 ? std::max(mi, 0.0) / normaliser : 0.0;
}

inline double adjusted_rand_index(const Contingency& t) {
    double index = 0, sum_rows = 0, sum_cols = 0;
    std::vector<double> cols(t.counts.empty() ? 0 : t.counts[0].size(), 0);
    for (const auto& row : t.counts) {
        double r = 0;
        for (size_t j = 0; j < row.size(); ++j) index += detail::pairs(row[j]), r += row[j], cols[j] += row[j];
        sum_rows += detail::pairs(r);
    }
    for (double c : cols) sum_cols += detail::pairs(c);
    double expected = sum_rows * sum_cols / detail::pairs(t.n), maximum = (sum_rows + sum_cols) / 2;
    if (maximum == expected) return 1.0;  // sklearn's convention for degenerate labelings
    return (index - expected) / (maximum - expected);
}

}  // namespace mvrl::eval
