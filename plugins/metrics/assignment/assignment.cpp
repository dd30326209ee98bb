// assignment: scores a model's own cluster assignment against the labels — ACC (Hungarian
// matching), NMI (arithmetic), ARI, as the kmeans metric does, but with no clustering of its own.
// The representation is either an N×K soft (or one-hot) assignment, read by argmax over K, or N
// (or N×1) integer cluster labels. CONAN's DDC/DEC head (`cluster`) is scored this way, as the
// paper does (predictions are the head's argmax).
//
// Every row is scored, whatever the dataset's "split" says (train, test and validation alike): a
// clustering is unsupervised and the labels only score it. A supervised model's predicted classes
// are `prediction`'s, which scores the test and validation rows apart.
#include <set>

#include <mvrl/eval/clustering_scores.hpp>
#include <mvrl/eval/predicted_ids.hpp>
#include <mvrl/plugin.hpp>

namespace {

class Assignment : public mvrl::Metric {
public:
    static constexpr const char* name = "assignment";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "A given cluster assignment (N×K soft → argmax, or N labels) scored by ACC (Hungarian), NMI, ARI";

    static mvrl::ParamSchema schema() { return mvrl::ParamSchema(); }

    Assignment(const mvrl::Params&, const mvrl::Context&) {}

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        torch::Tensor clusters =
            mvrl::eval::predicted_ids(mvrl::require_input(inputs, "representation"), name, "cluster labels", "soft assignments");
        std::vector<int64_t> labels = mvrl::to_int64_vector(mvrl::require_input(inputs, "label"));
        if (clusters.size(0) != int64_t(labels.size())) throw mvrl::ParamError("assignment: representation and label differ in length");
        std::vector<int64_t> assigned = mvrl::to_int64_vector(clusters);
        if (std::set<int64_t>(labels.begin(), labels.end()).size() < 2)
            throw mvrl::ParamError("assignment: the labels hold one class only; ACC, NMI and ARI need two or more");
        auto table = mvrl::eval::contingency(labels, assigned);
        return {{"ACC", mvrl::eval::clustering_accuracy(table)},
                {"NMI", mvrl::eval::normalized_mutual_information(table)},
                {"ARI", mvrl::eval::adjusted_rand_index(table)},
                {"clusters_used", double(std::set<int64_t>(assigned.begin(), assigned.end()).size())}};
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<Assignment>())
