// linear-ae: a linear multi-view autoencoder, the smallest real model. Each view v has a linear
// encoder to z_v and a linear decoder; the fused code is the mean z = (1/V) sum_v z_v and every
// view is reconstructed from z (so z must carry what the views share):
//   L = sum_v || x_v - D_v(z) ||^2 / N
// It exists to exercise the host's loop and the ABI end to end, and as a baseline a learned model
// must beat.
#include <mvrl/nn/checkpoint.hpp>
#include <mvrl/plugin.hpp>

namespace {

struct LinearAutoencoderImpl : torch::nn::Module {
    LinearAutoencoderImpl(const std::vector<int64_t>& view_dims, int64_t latent_dim) {
        for (size_t v = 0; v < view_dims.size(); ++v) {
            encoders.push_back(register_module("encoder" + std::to_string(v), torch::nn::Linear(view_dims[v], latent_dim)));
            decoders.push_back(register_module("decoder" + std::to_string(v), torch::nn::Linear(latent_dim, view_dims[v])));
        }
    }
    std::vector<torch::Tensor> encode_views(const std::vector<torch::Tensor>& views) {
        std::vector<torch::Tensor> codes;
        for (size_t v = 0; v < views.size(); ++v) codes.push_back(encoders[v]->forward(views[v]));
        return codes;
    }
    static torch::Tensor fuse(const std::vector<torch::Tensor>& codes) { return torch::stack(codes).mean(0); }

    std::vector<torch::nn::Linear> encoders, decoders;
};
TORCH_MODULE(LinearAutoencoder);

class LinearAE : public mvrl::Model {
public:
    static constexpr const char* name = "linear-ae";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "Linear multi-view autoencoder: mean-fused code z reconstructs every view";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("latent_dim", 8, "dimension of z", 1, 100000)
            .add_int("epochs", 20, "training epochs", 0, 1000000)
            .add_float("lr", 1e-2, "Adam learning rate", 0.0, 10.0);
    }

    LinearAE(const mvrl::Params& p, const mvrl::DatasetInfo& dataset_info, const mvrl::Context& ctx)
        : p_(p), device_(ctx.device()), net_(nullptr) {
        torch::manual_seed(ctx.seed());
        for (const auto& view : dataset_info.views) view_dims_.push_back(view.size());
        if (view_dims_.empty()) throw mvrl::ParamError("linear-ae needs a dataset with at least one view");
        net_ = LinearAutoencoder(view_dims_, p.get_int("latent_dim"));
        net_->to(device_);
        optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(p.get_float("lr")));
        checkpoint_.add("net", net_).add("adam", *optimizer_);
    }

    std::vector<mvrl::Stage> stages() { return {{"train", p_.get_int("epochs"), "reconstruction"}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        auto views = flat_views(batch);
        torch::Tensor z = LinearAutoencoderImpl::fuse(net_->encode_views(views));
        torch::Tensor loss = torch::zeros({}, z.options());
        for (size_t v = 0; v < views.size(); ++v)
            loss = loss + (net_->decoders[v]->forward(z) - views[v]).pow(2).sum(1).mean();
        optimizer_->zero_grad();
        loss.backward();
        optimizer_->step();
        return {{"reconstruction", loss.item<double>()}};
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        net_->eval();
        auto codes = net_->encode_views(flat_views(batch));
        net_->train();
        mvrl::TensorMap out{{"z", LinearAutoencoderImpl::fuse(codes)}, {"concat", torch::cat(codes, 1)}};
        for (size_t v = 0; v < codes.size(); ++v) out["z" + std::to_string(v)] = codes[v];
        return out;
    }

    void save(const std::string& path) { checkpoint_.save(path); }
    void load(const std::string& path) { checkpoint_.load(path, device_); }

private:
    std::vector<torch::Tensor> flat_views(const mvrl::TensorMap& batch) const {
        std::vector<torch::Tensor> views;
        for (size_t v = 0; v < view_dims_.size(); ++v)
            views.push_back(mvrl::require_input(batch, "view" + std::to_string(v)).reshape({-1, view_dims_[v]}).to(torch::kFloat32));
        return views;
    }

    mvrl::Params p_;
    torch::Device device_;
    std::vector<int64_t> view_dims_;
    LinearAutoencoder net_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    mvrl::nn::Checkpoint checkpoint_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<LinearAE>())
