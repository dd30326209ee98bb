// raw: the no-learning baseline. No training stage (no stages/train_step: the host trains
// nothing) and nothing to checkpoint; the representations are the views themselves,
// flattened: "view0".."view{V-1}" and "concat" (all views side by side), also named "z" — the name
// every model gives its main representation, so one [[evaluate]] entry scores a model and this
// baseline alike. Every table can show what a learned representation adds over the data.
#include <mvrl/plugin.hpp>

namespace {

class Raw : public mvrl::Model {
public:
    static constexpr const char* name = "raw";
    static constexpr const char* version = "1.1.0";
    static constexpr const char* description = "Baseline without learning: the flattened views (view<v>, concat = z)";
    // A missing view arrives zeroed (mvrl/data/missing_views.hpp), which is what the baseline gives.
    static constexpr bool handles_missing_views = true;

    static mvrl::ParamSchema schema() { return mvrl::ParamSchema(); }

    Raw(const mvrl::Params&, const mvrl::DatasetInfo& dataset_info, const mvrl::Context&) : views_(int64_t(dataset_info.views.size())) {}

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        mvrl::TensorMap out;
        std::vector<torch::Tensor> flat;
        for (int64_t v = 0; v < views_; ++v) {
            std::string key = "view" + std::to_string(v);
            const torch::Tensor& x = mvrl::require_input(batch, key);
            flat.push_back(x.reshape({x.size(0), -1}).to(torch::kFloat32));
            out[key] = flat.back();
        }
        out["concat"] = torch::cat(flat, 1);
        out["z"] = out["concat"];
        return out;
    }

private:
    int64_t views_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<Raw>())
