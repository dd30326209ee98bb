// infonce: the InfoNCE lower bound of I(x; y) (van den Oord et al. 2018; Poole et al. 2019, Eq. 12)
// with a separable critic f(x, y) = g(x)^T h(y) trained as a probe. The bound cannot exceed
// log(batch_size) — reported as "log_batch" — so it tracks the truth only while the true MI is well
// below that. The protocol (split, held-out reading averaged over the last steps) is
// mvrl/nn/mi_probe.hpp's.
#include <mvrl/nn/infonce.hpp>
#include <mvrl/nn/mi_probe.hpp>
#include <mvrl/plugin.hpp>

namespace {

class InfoNceEstimator : public mvrl::Estimator {
public:
    static constexpr const char* name = "infonce";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "InfoNCE lower bound of I(x; y) (at most log batch_size) from a separable critic";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema s;
        s.add_int("hidden", 128, "hidden units of each side of the critic (two hidden layers)", 1, 100000)
            .add_int("embedding", 32, "dimension of g(x) and h(y), whose dot product is the score", 1, 100000);
        return mvrl::nn::ProbeSettings::add_params(s, {/*lr=*/1e-3, /*batch_size=*/128, /*steps=*/1000, /*average_last=*/200});
    }

    InfoNceEstimator(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), settings_(mvrl::nn::ProbeSettings::from(p, ctx)) {}

    mvrl::ScalarList estimate(const mvrl::TensorMap& inputs) override {
        auto data = mvrl::nn::ProbeData::from(inputs, settings_, name);
        auto options = mvrl::nn::InfoNceCriticOptions(data.x_train.size(1), data.y_train.size(1))
                           .hidden(p_.get_int("hidden"))
                           .embedding(p_.get_int("embedding"));
        mvrl::nn::InfoNceCritic critic = mvrl::nn::make_seeded(settings_.seed, [&] { return mvrl::nn::InfoNceCritic(options); });
        critic->to(data.x_train.device());
        auto out = mvrl::nn::train_probe(
            data, settings_, critic->parameters(),
            [&](const mvrl::nn::ProbeBatch& b) { return mvrl::nn::info_nce_loss(critic->scores(b.x, b.y)); },
            [&](const mvrl::nn::ProbeBatch& b) { return mvrl::nn::info_nce_bound(critic->scores(b.x, b.y)); });
        out.emplace_back("log_batch", std::log(double(settings_.batch_size)));
        return out;
    }

private:
    mvrl::Params p_;
    mvrl::nn::ProbeSettings settings_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::estimator_plugin<InfoNceEstimator>())
