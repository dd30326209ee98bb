// gaussian-mi: the mutual information of x and y under a joint Gaussian fit,
//   I(x; y) = 1/2 (log det S_x + log det S_y - log det S_xy)      [nats]
// with S the sample covariances (ridge added to the diagonal). Exact for jointly Gaussian data,
// a lower bound's worth of signal otherwise (it sees only linear dependence): the reference the
// neural estimators (mine, club, infonce) are compared with.
#include <mvrl/plugin.hpp>

namespace {

class GaussianMI : public mvrl::Estimator {
public:
    static constexpr const char* name = "gaussian-mi";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "Mutual information of a joint Gaussian fit (log-determinants of covariances)";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema().add_float("ridge", 1e-6, "added to the covariance diagonal for stability", 0.0, 1.0);
    }

    GaussianMI(const mvrl::Params& p, const mvrl::Context&) : ridge_(p.get_float("ridge")) {}

    mvrl::ScalarList estimate(const mvrl::TensorMap& inputs) override {
        torch::Tensor x = as_matrix(mvrl::require_input(inputs, "x"), "x");
        torch::Tensor y = as_matrix(mvrl::require_input(inputs, "y"), "y");
        if (x.size(0) != y.size(0))
            throw mvrl::ParamError("x and y have different numbers of samples (" + std::to_string(x.size(0)) + " vs " +
                                   std::to_string(y.size(0)) + ")");
        if (x.size(0) < 2) throw mvrl::ParamError("gaussian-mi needs at least 2 samples");
        torch::Tensor xy = torch::cat({x, y}, 1);
        double mi = 0.5 * (log_det_cov(x) + log_det_cov(y) - log_det_cov(xy));
        return {{"mi", mi}, {"n", static_cast<double>(x.size(0))}};
    }

private:
    static torch::Tensor as_matrix(const torch::Tensor& t, const char* name) {
        torch::Tensor m = t.reshape({t.size(0), -1}).to(torch::kFloat64);
        if (!torch::isfinite(m).all().item<bool>())
            throw mvrl::ParamError(std::string("input '") + name + "' contains NaN or Inf");
        return m;
    }

    double log_det_cov(const torch::Tensor& m) const {
        torch::Tensor centred = m - m.mean(0, true);
        torch::Tensor cov = centred.t().matmul(centred) / double(m.size(0) - 1);
        cov = cov + ridge_ * torch::eye(cov.size(0), cov.options());
        return torch::logdet(cov).item<double>();
    }

    double ridge_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::estimator_plugin<GaussianMI>())
