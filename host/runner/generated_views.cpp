#include "generated_views.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

namespace mvrl::host {

namespace {

// Test rows when the dataset splits, else all; `samples` of them in a seeded random order (a
// generator of its own: the run's default generator, which generate draws from, is untouched).
torch::Tensor evaluated_rows(const TensorMap& data, int64_t samples, uint64_t seed) {
    const int64_t n = data.at("view0").size(0);
    torch::Tensor rows = torch::arange(n, torch::kLong);
    if (data.count("split")) rows = torch::nonzero(data.at("split").cpu() == 1).flatten();
    if (rows.numel() == 0) throw std::runtime_error("generations: the dataset's test split is empty");
    torch::Generator generator = at::detail::createCPUGenerator(seed);
    torch::Tensor order = torch::randperm(rows.numel(), generator, torch::TensorOptions().dtype(torch::kLong));
    return rows.index_select(0, order.slice(0, 0, std::min(samples, rows.numel())));
}

class GeneratedViews {
public:
    GeneratedViews(ModelHandle& model, std::string model_name) : model_(model), model_name_(std::move(model_name)) {}

    // One generate call; each expected view is appended under prefix + "view<t>".
    void add(const std::string& prefix, const json& request, const TensorMap& inputs, const std::vector<int64_t>& expected) {
        TensorMap out = model_.generate(request, inputs);
        for (int64_t t : expected) {
            const std::string view = "view" + std::to_string(t);
            auto it = out.find(view);
            if (it == out.end())
                throw std::runtime_error("model '" + model_name_ + "' generate(" + request.dump() + ") returned no '" + view +
                                         "' (it must return view<t> for every modality it generates; see mvrl/models/mmvae_plus.hpp)");
            parts_[prefix + view].push_back(it->second);
        }
    }

    TensorMap take() {
        TensorMap out;
        for (auto& [name, list] : parts_) out[name] = torch::cat(list, 0);
        return out;
    }

private:
    ModelHandle& model_;
    std::string model_name_;
    std::map<std::string, std::vector<torch::Tensor>> parts_;
};

}  // namespace

TensorMap generate_for_evaluation(ModelHandle& model, const std::string& model_name, const TensorMap& data, int64_t views,
                                  int64_t samples, int64_t batch_size, uint64_t seed) {
    if (!model.generates())
        throw std::runtime_error("[[evaluate]] representation = \"" + kGenerationsRepresentation + "\" needs a model that generates; '" +
                                 model_name + "' has no generate call (mmvae-plus and idmvae do)");
    torch::NoGradGuard no_grad;
    torch::Tensor rows = evaluated_rows(data, samples, seed);
    std::vector<int64_t> all;
    for (int64_t t = 0; t < views; ++t) all.push_back(t);
    GeneratedViews generated(model, model_name);
    for (int64_t begin = 0; begin < rows.numel(); begin += batch_size) {
        torch::Tensor batch_rows = rows.slice(0, begin, std::min(rows.numel(), begin + batch_size)).to(data.at("view0").device());
        for (int64_t s = 0; s < views; ++s) {
            const std::string view = "view" + std::to_string(s);
            TensorMap given{{view, data.at(view).index_select(0, batch_rows)}};
            generated.add("generated/cross" + std::to_string(s) + "/", {{"mode", "cross"}, {"given", json::array({s})}}, given, all);
            generated.add("generated/private" + std::to_string(s) + "/", {{"mode", "private"}, {"given", json::array({s})}}, given, {s});
        }
        generated.add("generated/unconditional/", {{"mode", "unconditional"}, {"n", batch_rows.numel()}}, {}, all);
    }
    TensorMap out = generated.take();
    out["generated/index"] = rows;
    return out;
}

}  // namespace mvrl::host
