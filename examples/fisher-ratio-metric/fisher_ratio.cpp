// fisher-ratio: how well a representation separates classes, as the ratio of the between-class
// to the within-class scatter, tr(S_B) / tr(S_W). An example of a third-party metric plugin.
#include <mvrl/plugin.hpp>

class FisherRatio : public mvrl::Metric {
public:
    static constexpr const char* name = "fisher-ratio";
    static constexpr const char* version = "0.1.0";
    static constexpr const char* description = "Between-class over within-class scatter, tr(S_B)/tr(S_W)";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema().add_bool("standardize", false, "scale each dimension to unit variance first");
    }

    FisherRatio(const mvrl::Params& p, const mvrl::Context&) : standardize_(p.get_bool("standardize")) {}

    mvrl::ScalarList evaluate(const mvrl::TensorMap& inputs) override {
        torch::Tensor x = mvrl::require_input(inputs, "representation").to(torch::kFloat64);
        torch::Tensor y = mvrl::require_input(inputs, "label");
        if (standardize_) x = (x - x.mean(0)) / x.std(0).clamp_min(1e-12);
        torch::Tensor mean = x.mean(0);
        double between = 0, within = 0;
        for (int64_t c : classes(y)) {
            torch::Tensor xc = x.index({y == c});
            torch::Tensor mc = xc.mean(0);
            between += xc.size(0) * (mc - mean).pow(2).sum().item<double>();
            within += (xc - mc).pow(2).sum().item<double>();
        }
        return {{"fisher_ratio", between / within}};
    }

private:
    static std::vector<int64_t> classes(const torch::Tensor& y) {
        torch::Tensor u = std::get<0>(at::_unique(y)).cpu().contiguous();
        return std::vector<int64_t>(u.data_ptr<int64_t>(), u.data_ptr<int64_t>() + u.numel());
    }
    bool standardize_;
};

MVRL_EXPORT_PLUGINS(mvrl::metric_plugin<FisherRatio>())
