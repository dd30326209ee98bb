// mvrl/nn/mi_probe.hpp — what the `mine`, `club` and `infonce` estimator plugins share: checking
// the two representations, the seeded train/held-out split, the parameters of the probe's training,
// and the training loop that reads the estimate.
//
// Protocol. The samples are split at random (seeded) into a training part and a held-out part
// (`test_fraction`, default 20%); with `standardize` every dimension of x and y is z-scored with the
// training part's mean and deviation (mutual information does not change under per-dimension affine
// maps, and the probes train better on unit-scale inputs). The probe trains for `steps` Adam steps
// on mini-batches of the training part (reshuffled every epoch). The reported estimate, "mi", is the
// bound read on a random HELD-OUT batch after each of the last `average_last` steps, averaged: held
// out, so that a critic that has memorised its training pairs does not inflate the estimate, and
// averaged over steps, so that one noisy batch or one noisy update does not decide it. With
// test_fraction = 0 the bound is read on batches of all samples instead. Diagnostics: "mi_sd" (the
// spread of those readings), "mi_train" (the same bound on the training batches of those steps: a
// gap to "mi" means overfitting), "loss" (the training loss over those steps), "steps", "n_train",
// "n_test" (the samples the bound is read on), "batch_size".
#pragma once

#include <cmath>
#include <functional>
#include <mutex>
#include <string>

#include "../eval/standardize.hpp"
#include "../plugin.hpp"

namespace mvrl::nn {

// Defaults a plugin picks for the parameters every probe has.
struct ProbeDefaults {
    double lr = 1e-3;
    int64_t batch_size = 128;
    int64_t steps = 2000;
    int64_t average_last = 200;
};

struct ProbeSettings {
    double lr = 1e-3, test_fraction = 0.2;
    int64_t batch_size = 128, steps = 2000, average_last = 200;
    bool standardize = true;
    uint64_t seed = 0;

    static ParamSchema& add_params(ParamSchema& schema, const ProbeDefaults& d) {
        return schema.add_float("lr", d.lr, "Adam learning rate", 1e-8, 1.0)
            .add_int("batch_size", d.batch_size, "samples per training step and per held-out reading", 2, 1000000)
            .add_int("steps", d.steps, "optimisation steps", 1, 100000000)
            .add_int("average_last", d.average_last, "the estimate is the mean held-out bound over this many last steps", 1,
                     100000000)
            .add_float("test_fraction", 0.2, "share of samples held out to read the bound on; 0 = read it on all samples", 0.0,
                       0.9)
            .add_bool("standardize", true, "z-score every dimension of x and y (training part's statistics) first")
            .add_int("seed", -1, "seed of the split, the batches and the network's initialisation; -1 = the run's seed", -1,
                     2147483647);
    }

    static ProbeSettings from(const Params& p, const Context& ctx) {
        ProbeSettings s;
        s.lr = p.get_float("lr");
        s.test_fraction = p.get_float("test_fraction");
        s.batch_size = p.get_int("batch_size");
        s.steps = p.get_int("steps");
        s.average_last = std::min(p.get_int("average_last"), s.steps);
        s.standardize = p.get_bool("standardize");
        s.seed = p.get_int("seed") >= 0 ? uint64_t(p.get_int("seed")) : ctx.seed();
        return s;
    }
};

// x and y, checked, as float32 matrices on their device, split into a training and a held-out part.
struct ProbeData {
    torch::Tensor x_train, y_train, x_test, y_test;  // test: the training part again when test_fraction = 0

    static ProbeData from(const TensorMap& inputs, const ProbeSettings& s, const std::string& estimator) {
        torch::Tensor x = matrix(require_input(inputs, "x"), "x", estimator);
        torch::Tensor y = matrix(require_input(inputs, "y"), "y", estimator);
        const int64_t n = x.size(0);
        if (y.size(0) != n)
            throw ParamError(estimator + ": x and y have different numbers of samples (" + std::to_string(n) + " vs " +
                             std::to_string(y.size(0)) + ")");
        const int64_t n_test = int64_t(std::llround(s.test_fraction * double(n))), n_train = n - n_test;
        if (n_train < s.batch_size || (s.test_fraction > 0 && n_test < s.batch_size))
            throw ParamError(estimator + ": " + std::to_string(n) + " samples give " + std::to_string(n_train) + " to train on and " +
                             std::to_string(n_test) + " held out (test_fraction " + json(s.test_fraction).dump() +
                             "); each part needs at least batch_size = " + std::to_string(s.batch_size) +
                             ": lower batch_size or test_fraction, or pass more samples");
        torch::Generator gen = at::detail::createCPUGenerator(s.seed);
        torch::Tensor order = at::randperm(n, gen, torch::kInt64).to(x.device());
        torch::Tensor train = order.slice(0, 0, n_train), test = n_test > 0 ? order.slice(0, n_train) : train;
        ProbeData d{x.index_select(0, train), y.index_select(0, train), x.index_select(0, test), y.index_select(0, test)};
        if (s.standardize) {
            eval::standardize_columns(d.x_train, d.x_test);
            eval::standardize_columns(d.y_train, d.y_test);
        }
        return d;
    }

private:
    static torch::Tensor matrix(const torch::Tensor& t, const char* name, const std::string& estimator) {
        if (t.dim() == 0) throw ParamError(estimator + ": input '" + name + "' is a scalar, expected N × D");
        torch::Tensor m = t.reshape({t.size(0), -1}).to(torch::kFloat32);
        if (!torch::isfinite(m).all().item<bool>()) throw ParamError(estimator + ": input '" + name + "' contains NaN or Inf");
        return m;
    }
};

// One step's batch: paired (x_i, y_i), and y of an independent draw of samples, y_marginal, which
// paired with x is a sample of the product of the marginals (MINE's second expectation).
struct ProbeBatch {
    torch::Tensor x, y, y_marginal;
};

// Builds a module with the default CPU generator seeded, then gives the generator its state back:
// the initialisation is reproducible and the caller's random stream is left as it was.
template <class Make>
auto make_seeded(uint64_t seed, Make&& make) {
    torch::Generator gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor saved;
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        saved = gen.get_state();
        gen.set_current_seed(seed);
    }
    auto module = make();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(saved);
    return module;
}

// Trains `parameters` with Adam on `loss(batch)` and reads `bound(batch)` as described at the top.
// Both return scalar tensors; `bound` is called without gradients.
inline ScalarList train_probe(const ProbeData& d, const ProbeSettings& s, std::vector<torch::Tensor> parameters,
                              const std::function<torch::Tensor(const ProbeBatch&)>& loss,
                              const std::function<torch::Tensor(const ProbeBatch&)>& bound) {
    const torch::Device device = d.x_train.device();
    const int64_t n_train = d.x_train.size(0), n_test = d.x_test.size(0), b = s.batch_size;
    torch::Generator gen = at::detail::createCPUGenerator(s.seed + 1);  // not the split's stream
    auto draw = [&](int64_t n) { return at::randperm(n, gen, torch::kInt64).slice(0, 0, b).to(device); };
    auto batch_of = [&](const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& rows) {
        return ProbeBatch{x.index_select(0, rows), y.index_select(0, rows), y.index_select(0, draw(y.size(0)))};
    };

    torch::optim::Adam optimizer(std::move(parameters), torch::optim::AdamOptions(s.lr));
    torch::Tensor epoch_order;
    int64_t cursor = n_train;  // start with a fresh permutation
    double loss_sum = 0, train_sum = 0, test_sum = 0, test_square_sum = 0;
    for (int64_t step = 0; step < s.steps; ++step) {
        if (cursor + b > n_train) {  // the incomplete last batch of an epoch is dropped
            epoch_order = at::randperm(n_train, gen, torch::kInt64).to(device);
            cursor = 0;
        }
        ProbeBatch batch = batch_of(d.x_train, d.y_train, epoch_order.slice(0, cursor, cursor + b));
        cursor += b;
        optimizer.zero_grad();
        torch::Tensor value = loss(batch);
        value.backward();
        optimizer.step();
        if (step < s.steps - s.average_last) continue;

        torch::NoGradGuard no_grad;
        double held_out = bound(batch_of(d.x_test, d.y_test, draw(n_test))).item<double>();
        loss_sum += value.item<double>();
        train_sum += bound(batch).item<double>();
        test_sum += held_out;
        test_square_sum += held_out * held_out;
    }
    const double k = double(s.average_last), mean = test_sum / k;
    const double sd = k > 1 ? std::sqrt(std::max(0.0, (test_square_sum - k * mean * mean) / (k - 1))) : 0.0;
    if (!std::isfinite(mean) || !std::isfinite(loss_sum))
        throw std::runtime_error("the probe diverged (the estimate is " + std::to_string(mean) +
                                 "): lower lr, or check the scale of x and y (standardize = true)");
    return {{"mi", mean},
            {"mi_sd", sd},
            {"mi_train", train_sum / k},
            {"loss", loss_sum / k},
            {"steps", double(s.steps)},
            {"n_train", double(n_train)},
            {"n_test", double(n_test)},
            {"batch_size", double(b)}};
}

}  // namespace mvrl::nn
