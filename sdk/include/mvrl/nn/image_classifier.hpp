// mvrl/nn/image_classifier.hpp — a small CNN that reads a class off an image, with its training
// loop and save/load: the judges of the coherence metric (IDMVAE, Zhang, Shen & Wang, §4.1: "classifiers
// trained on original images" predict the digit and the quadrant of generated ones).
//
// A stem (3×3 convolution of stride 2, BatchNorm, ReLU) at `width` channels, then per further level
// a 3×3 convolution doubling the channels, BatchNorm, ReLU and 2×2 max pooling, and one more 3×3
// convolution at the bottom (its receptive field covers a quadrant's digit). The head pools the
// bottom map one of two ways: Pooling::global, the maximum over positions — what is seen, wherever
// it is (a digit in any quadrant: the four positions share one classifier instead of learning four);
// Pooling::grid, the average over each cell of a 4×4 grid — where it is (the quadrant). Then a hidden
// ReLU layer and the logits. The paper's judges are ResNets; this reaches the accuracy the metric
// needs at a CPU cost a test can afford (tests/metrics/coherence_test.cpp measures both): the
// full-resolution first level a plain CNN would have costs most of its time on one core.
//
// Training: Adam on the cross-entropy of mini-batches reshuffled every epoch (the incomplete last
// batch dropped), the learning rate decayed along a cosine to zero. The batch order and the
// initialisation follow `seed` and nothing else: the same data and settings give the same classifier
// (bit for bit on one CPU thread).
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "residual_conv.hpp"  // conv3x3

namespace mvrl::nn {

enum class Pooling { global, grid };

struct ImageClassifierOptions {
    ImageClassifierOptions(int64_t image_channels, int64_t height, int64_t width_px, int64_t classes)
        : image_channels_(image_channels), height_(height), width_px_(width_px), classes_(classes) {}
    TORCH_ARG(int64_t, image_channels);
    TORCH_ARG(int64_t, height);
    TORCH_ARG(int64_t, width_px);
    TORCH_ARG(int64_t, classes);
    TORCH_ARG(int64_t, width) = 8;          // channels of the stem, doubling per further level
    TORCH_ARG(int64_t, levels) = 0;         // halvings (the stem's included); 0: while the side stays ≥ 4
    TORCH_ARG(int64_t, hidden) = 128;       // units of the hidden layer
    TORCH_ARG(Pooling, pooling) = Pooling::global;

public:  // TORCH_ARG leaves the section private
    int64_t resolved_levels() const {
        if (levels_ > 0) return levels_;
        int64_t levels = 1;
        for (int64_t side = (std::min(height_, width_px_) + 1) / 2; side / 2 >= 4 && levels < 6; side /= 2) ++levels;
        return levels;
    }
    void check() const {
        if (image_channels_ < 1 || height_ < 2 || width_px_ < 2 || classes_ < 2 || width_ < 1 || hidden_ < 1)
            throw std::invalid_argument("image classifier: needs ≥ 1 channel, a side of ≥ 2 px, ≥ 2 classes and positive widths");
        if ((std::min(height_, width_px_) >> resolved_levels()) < 1)
            throw std::invalid_argument("image classifier: a " + std::to_string(height_) + "×" + std::to_string(width_px_) +
                                        " image does not halve " + std::to_string(resolved_levels()) + " times");
    }
};

struct ImageClassifierImpl : torch::nn::Module {
    explicit ImageClassifierImpl(const ImageClassifierOptions& o) : options(o) {
        o.check();
        auto block = [&](int64_t in, int64_t out, int64_t stride) {
            features->push_back(conv3x3(in, out, stride));
            features->push_back(torch::nn::BatchNorm2d(out));
            features->push_back(torch::nn::ReLU());
        };
        block(o.image_channels(), o.width(), 2);
        int64_t channels = o.width();
        for (int64_t level = 1; level < o.resolved_levels(); ++level, channels *= 2) {
            block(channels, 2 * channels, 1);
            features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        }
        block(channels, channels, 1);
        register_module("features", features);
        const int64_t pooled = o.pooling() == Pooling::grid ? channels * 16 : channels;
        hidden = register_module("hidden", torch::nn::Linear(pooled, o.hidden()));
        logits = register_module("logits", torch::nn::Linear(o.hidden(), o.classes()));
    }
    torch::Tensor forward(const torch::Tensor& images) {
        torch::Tensor map = features->forward(images);
        torch::Tensor pooled = options.pooling() == Pooling::grid ? torch::adaptive_avg_pool2d(map, {4, 4}).flatten(1)
                                                                  : std::get<0>(map.flatten(2).max(2));
        return logits(torch::relu(hidden(pooled)));
    }
    ImageClassifierOptions options;
    torch::nn::Sequential features;
    torch::nn::Linear hidden{nullptr}, logits{nullptr};
};
TORCH_MODULE(ImageClassifier);

struct ImageClassifierTraining {
    int64_t epochs = 6;
    int64_t batch_size = 64;
    double learning_rate = 5e-3;
    uint64_t seed = 0;
};

// A new classifier initialised from `seed` alone (the default CPU generator is seeded for the
// construction and given its state back, so the caller's random stream is left as it was).
inline ImageClassifier make_image_classifier(const ImageClassifierOptions& options, uint64_t seed, const torch::Device& device) {
    torch::Generator gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor saved;
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        saved = gen.get_state();
        gen.set_current_seed(seed);
    }
    ImageClassifier net(options);
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(saved);
    }
    net->to(device);
    return net;
}

// Trains `net` on (images N×C×H×W float in [0, 1], labels N int64 in 0..classes-1), on the
// network's device. Returns the mean training loss of the last epoch.
inline double train_image_classifier(ImageClassifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                                     const ImageClassifierTraining& t) {
    const torch::Device device = net->parameters().front().device();
    const int64_t n = images.size(0), b = std::min(t.batch_size, n);
    if (n < 2) throw std::invalid_argument("image classifier: needs at least two training images");
    torch::Tensor x = images.to(device, torch::kFloat32), y = labels.to(device, torch::kInt64);
    torch::Generator gen = at::detail::createCPUGenerator(t.seed + 1);  // not the initialisation's stream
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(t.learning_rate));
    const int64_t steps_per_epoch = n / b, total = std::max<int64_t>(1, t.epochs * steps_per_epoch);
    int64_t step = 0;
    double last_epoch_loss = 0;
    net->train();
    for (int64_t epoch = 0; epoch < t.epochs; ++epoch) {
        torch::Tensor order = at::randperm(n, gen, torch::kInt64).to(device);
        torch::Tensor loss_sum = torch::zeros({}, x.options());
        for (int64_t i = 0; i < steps_per_epoch; ++i, ++step) {  // the incomplete last batch is dropped
            for (auto& group : optimizer.param_groups())
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(t.learning_rate * 0.5 * (1 + std::cos(M_PI * double(step) / double(total))));
            torch::Tensor rows = order.slice(0, i * b, (i + 1) * b);
            torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x.index_select(0, rows)),
                                                                      y.index_select(0, rows));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            loss_sum += loss.detach();
        }
        last_epoch_loss = loss_sum.item<double>() / double(std::max<int64_t>(1, steps_per_epoch));
    }
    net->eval();
    if (!std::isfinite(last_epoch_loss)) throw std::runtime_error("image classifier: the training loss diverged (lower learning_rate)");
    return last_epoch_loss;
}

// The predicted class of every image (N int64, on the CPU), in batches on the network's device.
inline torch::Tensor predict_classes(ImageClassifier& net, const torch::Tensor& images, int64_t batch_size = 512) {
    torch::NoGradGuard no_grad;
    const torch::Device device = net->parameters().front().device();
    net->eval();
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < images.size(0); start += batch_size)
        parts.push_back(net->forward(images.slice(0, start, start + batch_size).to(device, torch::kFloat32)).argmax(1).cpu());
    return parts.empty() ? torch::empty({0}, torch::kInt64) : torch::cat(parts);
}

// Weights and BatchNorm statistics; load() needs a classifier built with the same options.
inline void save_image_classifier(ImageClassifier& net, const std::string& path) { torch::save(net, path); }
inline void load_image_classifier(ImageClassifier& net, const std::string& path, const torch::Device& device) {
    torch::load(net, path, device);
    net->eval();
}

}  // namespace mvrl::nn
