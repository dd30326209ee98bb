// multiview-synthetic: V views generated from one shared factor and one specific factor per view
// through random nonlinear maps, with the ground-truth factors and class labels exposed, so tests
// can check whether a model separates consistent from view-specific information.
//
//   y ~ uniform{0..K-1} (balanced)           class label
//   c = mu_y + sigma_c * e,   e ~ N(0, I)    shared factor (shared_dim), carries the class
//   s_v ~ N(0, I)                            specific factor of view v (specific_dim), no class
//   x_v = W2_v tanh(W1_v [c; s_v] + b1_v) + noise * e_v     view v (view_dim)
//
// The data is a function of `data_seed` only, not of the run's seed: every run of a sweep sees the
// same dataset.
#include <mvrl/data/missing_views.hpp>
#include <mvrl/plugin.hpp>

namespace {

class MultiviewSynthetic : public mvrl::Dataset {
public:
    static constexpr const char* name = "multiview-synthetic";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "V views of a shared class-bearing factor and per-view specific factors through random nonlinear maps";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_int("n", 2000, "number of samples", 1, 10000000)
            .add_int("views", 2, "number of views V", 1, 64)
            .add_int("classes", 4, "number of classes K (balanced)", 1, 1000)
            .add_int("shared_dim", 2, "dimension of the shared factor c", 1, 1024)
            .add_int("specific_dim", 2, "dimension of each view's specific factor s_v", 0, 1024)
            .add_int("view_dim", 20, "dimension of each view x_v", 1, 100000)
            .add_int("hidden_dim", 32, "width of each view's random map", 1, 100000)
            .add_float("separation", 3.0, "scale of the class centroids mu_y in c", 0.0, 1e6)
            .add_float("shared_noise", 0.5, "standard deviation of c around its class centroid", 0.0, 1e6)
            .add_float("noise", 0.05, "standard deviation of the additive noise on each view", 0.0, 1e6)
            .add_int("data_seed", 0, "seed of the generated data (independent of the run's seed)", 0, 2147483647);
        return mvrl::data::add_missing_view_params(schema);
    }

    MultiviewSynthetic(const mvrl::Params& p, const mvrl::Context&) : p_(p) {}

    mvrl::json info() override {
        mvrl::json views = mvrl::json::array();
        for (int64_t v = 0; v < p_.get_int("views"); ++v) views.push_back({{"shape", {p_.get_int("view_dim")}}});
        return {{"n", p_.get_int("n")},
                {"views", views},
                {"classes", p_.get_int("classes")},
                {"has_missing", p_.get_float("missing_rate") > 0},
                {"has_split", false},
                {"labels", {"label"}},
                {"factors", {"factor_shared", "factor_specific<v>"}}};
    }

    mvrl::TensorMap load() override {
        const int64_t n = p_.get_int("n"), V = p_.get_int("views"), K = p_.get_int("classes");
        const int64_t dc = p_.get_int("shared_dim"), ds = p_.get_int("specific_dim");
        torch::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(p_.get_int("data_seed")));
        auto randn = [&](std::vector<int64_t> shape) { return at::randn(shape, gen, torch::kFloat32); };

        torch::Tensor label = torch::arange(n, torch::kInt64).remainder(K);
        label = label.index_select(0, at::randperm(n, gen, torch::kInt64));
        torch::Tensor centroids = randn({K, dc}) * p_.get_float("separation");
        torch::Tensor shared = centroids.index_select(0, label) + p_.get_float("shared_noise") * randn({n, dc});

        mvrl::TensorMap out{{"label", label}, {"factor_shared", shared}};
        for (int64_t v = 0; v < V; ++v) {
            torch::Tensor specific = randn({n, ds});
            torch::Tensor factors = torch::cat({shared, specific}, 1);
            out["view" + std::to_string(v)] = random_map(factors, gen) + p_.get_float("noise") * randn({n, p_.get_int("view_dim")});
            out["factor_specific" + std::to_string(v)] = specific;
        }
        if (p_.get_float("missing_rate") > 0)
            mvrl::data::drop_views(out, V, p_.get_float("missing_rate"), uint64_t(p_.get_int("missing_seed")));
        return out;
    }

private:
    // A random two-layer tanh network, scaled so its outputs have roughly unit variance.
    torch::Tensor random_map(const torch::Tensor& factors, torch::Generator& gen) const {
        const int64_t in = factors.size(1), hidden = p_.get_int("hidden_dim"), out = p_.get_int("view_dim");
        torch::Tensor w1 = at::randn({in, hidden}, gen, torch::kFloat32) / std::sqrt(double(in));
        torch::Tensor b1 = at::randn({hidden}, gen, torch::kFloat32) * 0.1;
        torch::Tensor w2 = at::randn({hidden, out}, gen, torch::kFloat32) / std::sqrt(double(hidden));
        return torch::tanh(factors.matmul(w1) + b1).matmul(w2);
    }

    mvrl::Params p_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<MultiviewSynthetic>())
