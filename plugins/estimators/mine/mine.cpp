// mine: MINE (Belghazi et al., ICML 2018), the Donsker–Varadhan lower bound of I(x; y) read off a
// statistics network trained as a probe. Defaults are MRDD's MI probe: 3 hidden layers of 100 with
// ReLU (20-100-100-100-1 for 10 + 10 dimensions), Adam 1e-4, batch 128; the training loss uses the
// paper's bias-corrected gradient (moving average of E[exp T]). The protocol (split, held-out
// reading averaged over the last steps) is mvrl/nn/mi_probe.hpp's.
#include <mvrl/nn/mi_probe.hpp>
#include <mvrl/nn/mine.hpp>
#include <mvrl/plugin.hpp>

namespace {

class MineEstimator : public mvrl::Estimator {
public:
    static constexpr const char* name = "mine";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "MINE: Donsker-Varadhan lower bound of I(x; y) from a trained statistics network";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema s;
        s.add_int("hidden", 100, "units per hidden layer (MRDD's probe: 100)", 1, 100000)
            .add_int("layers", 3, "hidden layers (MRDD's probe: 3)", 1, 100)
            .add_bool("bias_correction", true, "train with the moving-average gradient of Sec. 3.2 (else the plain bound)")
            .add_float("moving_average_rate", 0.01, "rate of the moving average of E[exp T]", 1e-6, 1.0);
        return mvrl::nn::ProbeSettings::add_params(s, {/*lr=*/1e-4, /*batch_size=*/128, /*steps=*/5000, /*average_last=*/500});
    }

    MineEstimator(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), settings_(mvrl::nn::ProbeSettings::from(p, ctx)) {}

    mvrl::ScalarList estimate(const mvrl::TensorMap& inputs) override {
        auto data = mvrl::nn::ProbeData::from(inputs, settings_, name);
        auto options = mvrl::nn::MineOptions(data.x_train.size(1), data.y_train.size(1))
                           .hidden(p_.get_int("hidden"))
                           .layers(p_.get_int("layers"))
                           .moving_average_rate(p_.get_float("moving_average_rate"));
        mvrl::nn::Mine mine = mvrl::nn::make_seeded(settings_.seed, [&] { return mvrl::nn::Mine(options); });
        mine->to(data.x_train.device());
        const bool corrected = p_.get_bool("bias_correction");
        auto bound = [&](const mvrl::nn::ProbeBatch& b) { return mine->lower_bound(b.x, b.y, b.y_marginal); };
        return mvrl::nn::train_probe(
            data, settings_, mine->parameters(),
            [&](const mvrl::nn::ProbeBatch& b) { return corrected ? mine->loss(b.x, b.y, b.y_marginal) : -bound(b); }, bound);
    }

private:
    mvrl::Params p_;
    mvrl::nn::ProbeSettings settings_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::estimator_plugin<MineEstimator>())
