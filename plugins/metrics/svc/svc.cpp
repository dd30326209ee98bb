// svc: classification of a representation by a support vector machine (libsvm, C-SVC with an RBF
// kernel), the classification protocol of MRDD (Table 2/6): train on 80%, report accuracy and
// macro F1 on 20%. Defaults are scikit-learn's SVC(): C = 1, gamma = "scale" = 1 / (D · Var(X_train)),
// tol 1e-3, 200 MB kernel cache — scikit-learn wraps the same libsvm.
//
// The split is mvrl/eval/classification_split.hpp's: the dataset's when it gives one, else a
// stratified random 80/20 split seeded by the run's seed.
#include <svm.h>

#include <mvrl/eval/classification_scores.hpp>
#include <mvrl/eval/classification_split.hpp>
#include <mvrl/plugin.hpp>

namespace {

void silent(const char*) {}

class Svc : public mvrl::Metric {
public:
    static constexpr const char* name = "svc";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "RBF support vector classifier (libsvm): ACC and macro F1 on a 20% test split";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema s;
        s.add_float("C", 1.0, "regularisation (sklearn default 1.0)", 1e-12, 1e12)
            .add_float("gamma", 0.0, "RBF width; 0 = \"scale\", 1 / (features × variance of the training data)", 0.0, 1e12)
            .add_float("tol", 1e-3, "libsvm stopping tolerance (sklearn default 1e-3)", 1e-12, 1.0);
        return mvrl::eval::add_split_params(s);
    }

    Svc(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), ctx_(ctx) { svm_set_print_string_function(silent); }

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        auto s = mvrl::eval::ClassificationSplit::from(inputs, p_, ctx_, name);
        double gamma = p_.get_float("gamma");
        if (gamma == 0) {
            double variance = s.x_train.var(/*unbiased=*/false).item<double>();
            gamma = variance > 0 ? 1.0 / (double(s.x_train.size(1)) * variance) : 1.0;
        }
        auto predicted = train_and_predict(s.x_train, s.y_train, s.x_test, gamma);
        auto truth = mvrl::to_int64_vector(s.y_test);
        return {{"ACC", mvrl::eval::accuracy(truth, predicted)},
                {"F1", mvrl::eval::macro_f1(truth, predicted)},
                {"n_test", double(truth.size())}};
    }

private:
    // Dense rows as libsvm nodes: index 1..D, then the -1 terminator.
    static std::vector<svm_node> nodes_of(const torch::Tensor& x) {
        const int64_t n = x.size(0), d = x.size(1);
        const double* data = x.data_ptr<double>();
        std::vector<svm_node> nodes(size_t(n * (d + 1)));
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < d; ++j) nodes[i * (d + 1) + j] = {int(j + 1), data[i * d + j]};
            nodes[i * (d + 1) + d] = {-1, 0.0};
        }
        return nodes;
    }

    std::vector<int64_t> train_and_predict(const torch::Tensor& x_train, const torch::Tensor& y_train,
                                           const torch::Tensor& x_test, double gamma) const {
        const int64_t d = x_train.size(1);
        std::vector<svm_node> train_nodes = nodes_of(x_train.contiguous()), test_nodes = nodes_of(x_test.contiguous());
        std::vector<svm_node*> rows;
        std::vector<double> targets;
        for (int64_t label : mvrl::to_int64_vector(y_train)) {
            rows.push_back(&train_nodes[rows.size() * size_t(d + 1)]);
            targets.push_back(double(label));
        }
        svm_problem problem{int(rows.size()), targets.data(), rows.data()};
        svm_parameter param{};
        param.svm_type = C_SVC;
        param.kernel_type = RBF;
        param.gamma = gamma;
        param.C = p_.get_float("C");
        param.cache_size = 200;
        param.eps = p_.get_float("tol");
        param.shrinking = 1;
        if (const char* problem_text = svm_check_parameter(&problem, &param))
            throw mvrl::ParamError(std::string("svc: libsvm refuses the parameters: ") + problem_text);
        svm_model* model = svm_train(&problem, &param);
        std::vector<int64_t> predicted;
        for (int64_t i = 0; i < x_test.size(0); ++i)
            predicted.push_back(int64_t(svm_predict(model, &test_nodes[size_t(i * (d + 1))])));
        svm_free_and_destroy_model(&model);
        return predicted;
    }

    mvrl::Params p_;
    mvrl::Context ctx_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<Svc>())
