// linear-probe: how linearly a label can be read off a representation — L2-regularised logistic
// regression (liblinear), trained on one part and scored on the other with ACC and macro F1. Any
// label tensor the dataset gives can be the target ([[evaluate]] label = "..."): IDMVAE's latent
// cross-classification (z → digit, z → quadrant, w → quadrant, w → digit) is four such entries.
//
// Matches scikit-learn's LogisticRegression(solver="liblinear", C=1.0, tol=1e-4): the same library,
// one-vs-rest for more than two classes, an intercept learned as a constant feature of value 1 (and
// regularised, as liblinear does). standardize (default true) first z-scores every feature with the
// training part's mean and deviation, as sklearn's StandardScaler would: it makes C mean the same
// thing for every representation and helps the solver converge.
// The split is mvrl/eval/classification_split.hpp's: the dataset's when it gives one, else a
// stratified random 80/20 split seeded by the run's seed.
#include <linear.h>

#include <mvrl/eval/classification_scores.hpp>
#include <mvrl/eval/classification_split.hpp>
#include <mvrl/eval/standardize.hpp>
#include <mvrl/plugin.hpp>

namespace {

void silent(const char*) {}

class LinearProbe : public mvrl::Metric {
public:
    static constexpr const char* name = "linear-probe";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "L2 logistic regression (liblinear) on a representation: ACC and macro F1 on a test split";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema s;
        s.add_float("C", 1.0, "inverse regularisation strength (sklearn default 1.0)", 1e-12, 1e12)
            .add_string("solver", "primal", "liblinear solver: primal (trust-region Newton, sklearn's) or dual", {"primal", "dual"})
            .add_float("tol", 1e-4, "liblinear stopping tolerance (sklearn default 1e-4)", 1e-12, 1.0)
            .add_bool("standardize", true, "z-score each feature with the training part's statistics first");
        return mvrl::eval::add_split_params(s);
    }

    LinearProbe(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), ctx_(ctx) { set_print_string_function(silent); }

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        auto s = mvrl::eval::ClassificationSplit::from(inputs, p_, ctx_, name);
        if (p_.get_bool("standardize")) mvrl::eval::standardize_columns(s.x_train, s.x_test);
        auto predicted = train_and_predict(s.x_train, s.y_train, s.x_test);
        auto truth = mvrl::to_int64_vector(s.y_test);
        return {{"ACC", mvrl::eval::accuracy(truth, predicted)},
                {"F1", mvrl::eval::macro_f1(truth, predicted)},
                {"n_test", double(truth.size())}};
    }

private:
    // Dense rows as liblinear nodes: features 1..D, the intercept's constant feature D+1, then the
    // -1 terminator.
    static std::vector<feature_node> nodes_of(const torch::Tensor& x) {
        const int64_t n = x.size(0), d = x.size(1), width = d + 2;
        const double* data = x.data_ptr<double>();  // contiguous: fresh from the split or standardize_columns
        std::vector<feature_node> nodes(size_t(n * width));
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < d; ++j) nodes[i * width + j] = {int(j + 1), data[i * d + j]};
            nodes[i * width + d] = {int(d + 1), 1.0};
            nodes[i * width + d + 1] = {-1, 0.0};
        }
        return nodes;
    }

    std::vector<int64_t> train_and_predict(const torch::Tensor& x_train, const torch::Tensor& y_train,
                                           const torch::Tensor& x_test) const {
        const int64_t d = x_train.size(1), width = d + 2;
        std::vector<feature_node> train_nodes = nodes_of(x_train), test_nodes = nodes_of(x_test);
        std::vector<feature_node*> rows;
        std::vector<double> targets;
        for (int64_t label : mvrl::to_int64_vector(y_train)) {
            rows.push_back(&train_nodes[rows.size() * size_t(width)]);
            targets.push_back(double(label));
        }
        problem prob{int(rows.size()), int(d + 1), targets.data(), rows.data(), /*bias=*/1.0};
        parameter param{};
        param.solver_type = p_.get_string("solver") == "dual" ? L2R_LR_DUAL : L2R_LR;
        param.eps = p_.get_float("tol");
        param.C = p_.get_float("C");
        param.p = 0.1;  // used by the regression solvers only
        if (const char* problem_text = check_parameter(&prob, &param))
            throw mvrl::ParamError(std::string("linear-probe: liblinear refuses the parameters: ") + problem_text);
        model* trained = train(&prob, &param);
        std::vector<int64_t> predicted;
        for (int64_t i = 0; i < x_test.size(0); ++i) predicted.push_back(int64_t(predict(trained, &test_nodes[size_t(i * width)])));
        free_and_destroy_model(&trained);
        return predicted;
    }

    mvrl::Params p_;
    mvrl::Context ctx_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<LinearProbe>())
