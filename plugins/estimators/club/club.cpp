// club: CLUB (Cheng et al., ICML 2020), the contrastive log-ratio upper bound of I(x; y), read off a
// variational q(y|x) = N(mu(x), diag exp logvar(x)) fitted as a probe by maximum likelihood (the
// same module MRDD minimises between its consistent and specific codes). The bound holds while q
// fits p(y|x); q's log-variance is kept in [-1, 1] (tanh, as in the authors' code), which with
// standardised inputs limits it to about 3 nats per dimension of y. The protocol (split, held-out
// reading averaged over the last steps) is mvrl/nn/mi_probe.hpp's.
#include <mvrl/nn/club.hpp>
#include <mvrl/nn/mi_probe.hpp>
#include <mvrl/plugin.hpp>

namespace {

class ClubEstimator : public mvrl::Estimator {
public:
    static constexpr const char* name = "club";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "CLUB: contrastive log-ratio upper bound of I(x; y) from a fitted q(y|x)";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema s;
        s.add_int("hidden", 100, "hidden units of q's mean and log-variance networks (MRDD: 100)", 1, 100000);
        return mvrl::nn::ProbeSettings::add_params(s, {/*lr=*/1e-3, /*batch_size=*/128, /*steps=*/2000, /*average_last=*/200});
    }

    ClubEstimator(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p), settings_(mvrl::nn::ProbeSettings::from(p, ctx)) {}

    mvrl::ScalarList estimate(const mvrl::TensorMap& inputs) override {
        auto data = mvrl::nn::ProbeData::from(inputs, settings_, name);
        auto options = mvrl::nn::ClubOptions(data.x_train.size(1), data.y_train.size(1)).hidden(p_.get_int("hidden"));
        mvrl::nn::Club club = mvrl::nn::make_seeded(settings_.seed, [&] { return mvrl::nn::Club(options); });
        club->to(data.x_train.device());
        return mvrl::nn::train_probe(
            data, settings_, club->parameters(),
            [&](const mvrl::nn::ProbeBatch& b) { return club->learning_loss(b.x, b.y); },
            [&](const mvrl::nn::ProbeBatch& b) { return club->upper_bound(b.x, b.y); });
    }

private:
    mvrl::Params p_;
    mvrl::nn::ProbeSettings settings_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::estimator_plugin<ClubEstimator>())
