// kmeans: k-means on a representation, scored against the labels with ACC (Hungarian matching),
// NMI (arithmetic) and ARI — the clustering protocol of MRDD, CONAN and DCMEM. Runs on the
// representation's device (GPU when the host passes one).
//
// Unsupervised, as those papers score: every row is clustered and scored, whatever the dataset's
// "split" says (train, test and validation rows alike). The labels only score the clusters, never
// fit them, so there is no part to hold out.
//
// Follows scikit-learn's KMeans (lloyd): greedy k-means++ seeding with 2 + floor(ln k) local trials,
// n_init restarts keeping the lowest inertia, stop when the squared centre shift falls below
// tol × mean per-feature variance. An empty cluster keeps its previous centre (sklearn moves it to
// a far point; with k-means++ seeding this practically never matters).
#include <cmath>
#include <set>

#include <mvrl/eval/clustering_scores.hpp>
#include <mvrl/plugin.hpp>

#include "lloyd_kernel.hpp"

namespace {

// Squared Euclidean distances between the rows of a (N×D) and b (K×D); a_norms = ||a_i||^2 (N×1),
// computed once per evaluation since a is the whole representation.
torch::Tensor squared_distances(const torch::Tensor& a, const torch::Tensor& a_norms, const torch::Tensor& b) {
    return (torch::addmm(a_norms, a, b.t(), /*beta=*/1, /*alpha=*/-2) + b.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
}

torch::Tensor squared_norms(const torch::Tensor& a) { return a.pow(2).sum(1, true); }

class KMeans : public mvrl::Metric {
public:
    static constexpr const char* name = "kmeans";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "k-means (k-means++, n_init restarts) scored by ACC (Hungarian), NMI, ARI";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("k", 0, "number of clusters; 0 = number of classes in the labels", 0, 100000)
            .add_int("n_init", 10, "restarts; the lowest inertia wins (sklearn default 10)", 1, 10000)
            .add_int("max_iter", 300, "Lloyd iterations per restart", 1, 1000000)
            .add_float("tol", 1e-4, "relative tolerance on the centre shift (× mean feature variance)", 0.0, 1.0)
            .add_int("seed", -1, "seed of the initialisation; -1 = the run's seed", -1, 2147483647);
    }

    KMeans(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p) {
        int64_t seed = p.get_int("seed");
        seed_ = seed >= 0 ? uint64_t(seed) : ctx.seed();
    }

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        torch::Tensor x = mvrl::require_input(inputs, "representation");
        x = x.reshape({x.size(0), -1});
        x = x.scalar_type() == torch::kFloat64 ? x : x.to(torch::kFloat32);
        std::vector<int64_t> labels = mvrl::to_int64_vector(mvrl::require_input(inputs, "label"));
        if (!torch::isfinite(x).all().item<bool>()) throw mvrl::ParamError("kmeans: the representation contains NaN or Inf");
        if (int64_t(labels.size()) != x.size(0)) throw mvrl::ParamError("kmeans: representation and label differ in length");
        int64_t classes = int64_t(std::set<int64_t>(labels.begin(), labels.end()).size());
        if (classes < 2) throw mvrl::ParamError("kmeans: the labels hold one class only; ACC, NMI and ARI need two or more");
        const int64_t k = p_.get_int("k") > 0 ? p_.get_int("k") : classes;
        if (x.size(0) < k)
            throw mvrl::ParamError("kmeans: " + std::to_string(x.size(0)) + " samples are fewer than the " +
                                   std::to_string(k) + " clusters asked for");

        torch::Generator gen = at::detail::createCPUGenerator(seed_);
        const double tol = p_.get_float("tol") * x.var(0, /*unbiased=*/false).mean().item<double>();
        x_norms_ = squared_norms(x);
        torch::Tensor best_assignment;
        double best_inertia = std::numeric_limits<double>::infinity();
        for (int64_t run = 0; run < p_.get_int("n_init"); ++run) {
            auto [assignment, inertia] = lloyd(x, kmeans_plus_plus(x, k, gen), tol);
            if (inertia < best_inertia) best_inertia = inertia, best_assignment = assignment;
        }
        auto table = mvrl::eval::contingency(labels, mvrl::to_int64_vector(best_assignment));
        return {{"ACC", mvrl::eval::clustering_accuracy(table)},
                {"NMI", mvrl::eval::normalized_mutual_information(table)},
                {"ARI", mvrl::eval::adjusted_rand_index(table)},
                {"inertia", best_inertia}};
    }

private:
    // Greedy k-means++ (Arthur & Vassilvitskii 2007, as in sklearn): each new centre is the best of
    // 2 + floor(ln k) candidates drawn with probability proportional to the squared distance.
    torch::Tensor kmeans_plus_plus(const torch::Tensor& x, int64_t k, torch::Generator& gen) const {
        const int64_t n = x.size(0), trials = 2 + int64_t(std::log(double(k)));
        std::vector<int64_t> chosen = {at::randint(n, {1}, gen, torch::kInt64).item<int64_t>()};
        torch::Tensor closest = squared_distances(x, x_norms_, x.index({torch::tensor(chosen)}).to(x.device())).squeeze(1);
        for (int64_t c = 1; c < k; ++c) {
            torch::Tensor cumulative = closest.cumsum(0).to(torch::kCPU, torch::kFloat64);
            torch::Tensor draws = at::rand({trials}, gen, torch::kFloat64) * cumulative[-1];
            torch::Tensor candidates = torch::searchsorted(cumulative, draws).clamp_max(n - 1);
            torch::Tensor picked = x.index_select(0, candidates.to(x.device()));
            torch::Tensor to_candidates = squared_distances(x, x_norms_, picked).t();  // ||x||² computed once, not per centre
            torch::Tensor potentials = torch::minimum(closest.unsqueeze(0), to_candidates).sum(1);
            int64_t best = potentials.argmin().item<int64_t>();
            chosen.push_back(candidates[best].item<int64_t>());
            closest = torch::minimum(closest, to_candidates[best]);
        }
        return x.index_select(0, torch::tensor(chosen).to(x.device())).clone();
    }

    // Lloyd iterations from `centres` until the squared centre shift is at most tol; returns the
    // final assignment (one more E-step, as sklearn) and its inertia.
    std::pair<torch::Tensor, double> lloyd(const torch::Tensor& x, torch::Tensor centres, double tol) const {
        return x.is_cpu() ? lloyd_on_cpu(x, centres, tol) : lloyd_on_device(x, centres, tol);
    }

    // CPU: per block of rows, one BLAS product for the dot products and one fused pass
    // (lloyd_kernel.cpp) for the assignment and the M-step's sums, blocks in parallel; each
    // block's partial sums are kept apart and added in block order, so the result does not depend
    // on the number of threads.
    std::pair<torch::Tensor, double> lloyd_on_cpu(const torch::Tensor& x_in, torch::Tensor centres, double tol) const {
        const torch::Tensor x = x_in.contiguous();
        const int64_t n = x.size(0), d = x.size(1), k = centres.size(0);
        constexpr int64_t kBlockRows = 2048;
        const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
        torch::Tensor labels = torch::empty({n}, torch::kInt64);
        torch::Tensor block_sums = torch::empty({blocks, k, d}, torch::kFloat64);
        torch::Tensor block_counts = torch::empty({blocks, k}, torch::kInt64);
        torch::Tensor block_inertia = torch::empty({blocks}, torch::kFloat64);
        auto assign = [&](const torch::Tensor& c) {
            torch::Tensor c_t = c.t().contiguous(), c_norms = c.pow(2).sum(1).contiguous();
            block_sums.zero_(), block_counts.zero_(), block_inertia.zero_();
            AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "kmeans_assign", [&] {
                at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
                    for (int64_t b = first; b < last; ++b) {
                        const int64_t lo = b * kBlockRows, hi = std::min(n, lo + kBlockRows);
                        torch::Tensor dots = torch::mm(x.slice(0, lo, hi), c_t).contiguous();  // one BLAS call per block
                        mvrl::kmeans::assign_rows(x.data_ptr<scalar_t>(), lo, hi, d, dots.data_ptr<scalar_t>(),
                                                  c_norms.data_ptr<scalar_t>(), k, labels.data_ptr<int64_t>(),
                                                  block_sums[b].data_ptr<double>(), block_counts[b].data_ptr<int64_t>(),
                                                  block_inertia.data_ptr<double>() + b);
                    }
                });
            });
        };
        for (int64_t iter = 0; iter < p_.get_int("max_iter"); ++iter) {
            assign(centres);
            torch::Tensor counts = block_counts.sum(0).unsqueeze(1);
            torch::Tensor means = (block_sums.sum(0) / counts.clamp_min(1)).to(x.scalar_type());
            torch::Tensor updated = torch::where(counts > 0, means, centres);  // an empty cluster keeps its centre
            double shift = (updated - centres).pow(2).sum().item<double>();
            centres = updated;
            if (shift <= tol) break;
        }
        assign(centres);
        return {labels.clone(), block_inertia.sum().item<double>()};
    }

    // GPU (or any other device): tensor ops that stay on the device. The convergence test is read
    // back only every kCheckEvery iterations; a converged start freezes its centres, so the extra
    // iterations change nothing and the result equals stopping at once.
    std::pair<torch::Tensor, double> lloyd_on_device(const torch::Tensor& x, torch::Tensor centres, double tol) const {
        constexpr int64_t kCheckEvery = 8;
        const int64_t k = centres.size(0);
        torch::Tensor converged = torch::zeros({}, x.options().dtype(torch::kBool));
        for (int64_t iter = 0; iter < p_.get_int("max_iter"); ++iter) {
            torch::Tensor assignment = squared_distances(x, x_norms_, centres).argmin(1);
            torch::Tensor sums = torch::zeros_like(centres).index_add_(0, assignment, x);
            torch::Tensor counts = torch::bincount(assignment, {}, k).to(x.scalar_type()).unsqueeze(1);
            torch::Tensor updated = torch::where(counts > 0, sums / counts.clamp_min(1), centres);
            updated = torch::where(converged, centres, updated);
            converged = converged.logical_or((updated - centres).pow(2).sum() <= tol);
            centres = updated;
            if ((iter + 1) % kCheckEvery == 0 && converged.item<bool>()) break;
        }
        auto [nearest, index] = squared_distances(x, x_norms_, centres).min(1);
        return {index, nearest.sum().item<double>()};
    }

    mvrl::Params p_;
    uint64_t seed_;
    torch::Tensor x_norms_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<KMeans>())
