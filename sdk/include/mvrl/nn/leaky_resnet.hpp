// mvrl/nn/leaky_resnet.hpp — the ResNet image encoder/decoder of the MMVAE+ release
// (epalu/mmvaeplus, src/models/vae_polymnist.py; reused by IDMVAE's PolyMNIST code): residual
// blocks without normalisation, LeakyReLU(0.2) before each 3×3 convolution, out = shortcut + 0.1 dx;
// average pooling down, nearest-neighbour upsampling up. Channels double per level from `width`
// up to `max_width`. Released sizes: 28 px with 2 levels (7×7 at the bottom), 64 px with 3 (8×8);
// 32 px with 3 levels gives 4×4.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "residual_conv.hpp"  // conv3x3

namespace mvrl::nn {

inline torch::Tensor leaky_relu02(const torch::Tensor& x) {
    return torch::nn::functional::leaky_relu(x, torch::nn::functional::LeakyReLUFuncOptions().negative_slope(0.2));
}

// The release's ResnetBlock: hidden width min(in, out), a bias-free 1×1 shortcut when in != out.
struct LeakyResidualBlockImpl : torch::nn::Module {
    LeakyResidualBlockImpl(int64_t in, int64_t out)
        : conv0(register_module("conv0", conv3x3(in, std::min(in, out)))), conv1(register_module("conv1", conv3x3(std::min(in, out), out))) {
        if (in != out)
            shortcut = register_module("shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor dx = conv1(leaky_relu02(conv0(leaky_relu02(x))));
        return (shortcut ? shortcut(x) : x) + 0.1 * dx;
    }
    torch::nn::Conv2d conv0, conv1;
    torch::nn::Conv2d shortcut{nullptr};
};
TORCH_MODULE(LeakyResidualBlock);

struct LeakyResNetOptions {
    LeakyResNetOptions(int64_t image_channels, int64_t size) : image_channels_(image_channels), size_(size) {}
    TORCH_ARG(int64_t, image_channels);
    TORCH_ARG(int64_t, size);            // image side in pixels
    TORCH_ARG(int64_t, width) = 64;      // channels of the first level (release: nf = 64)
    TORCH_ARG(int64_t, max_width) = 512; // cap on the doubling (release: nf_max = 512)
    TORCH_ARG(int64_t, levels) = 0;      // halvings; 0: by size as released (28 → 2, else 3)

public:  // TORCH_ARG leaves the section private

    int64_t resolved_levels() const { return levels_ > 0 ? levels_ : (size_ == 28 ? 2 : 3); }
    // The side of the bottom feature map (the release's s0).
    int64_t bottom_side() const { return size_ >> resolved_levels(); }
    int64_t width_at(int64_t level) const { return std::min(width_ << level, max_width_); }
    int64_t bottom_width() const { return width_at(resolved_levels()); }
    int64_t feature_size() const { return bottom_width() * bottom_side() * bottom_side(); }

    // An error naming the problem when the size does not halve `levels` times.
    void check() const {
        const int64_t levels = resolved_levels();
        if (size_ < 1 || levels < 1 || levels > 8 || size_ % (int64_t(1) << levels) != 0)
            throw std::invalid_argument("leaky ResNet: a " + std::to_string(size_) + " px image does not halve " + std::to_string(levels) +
                                        " times evenly (choose levels so that size / 2^levels is whole)");
    }
};

// Image → flat features (feature_size()): conv, a block at `width`, then per level
// AvgPool(3, 2, 1) and a block doubling the channels.
struct LeakyResNetEncoderImpl : torch::nn::Module {
    explicit LeakyResNetEncoderImpl(const LeakyResNetOptions& o) : options(o) {
        o.check();
        body->push_back(conv3x3(o.image_channels(), o.width()));
        body->push_back(LeakyResidualBlock(o.width(), o.width()));
        for (int64_t level = 0; level < o.resolved_levels(); ++level) {
            body->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(3).stride(2).padding(1)));
            body->push_back(LeakyResidualBlock(o.width_at(level), o.width_at(level + 1)));
        }
        register_module("body", body);
    }
    torch::Tensor forward(const torch::Tensor& x) { return body->forward(x).flatten(1); }
    LeakyResNetOptions options;
    torch::nn::Sequential body;
};
TORCH_MODULE(LeakyResNetEncoder);

// Code → image mean: Linear to the bottom map, per level a block halving the channels and ×2
// nearest upsampling, a block at `width`, LeakyReLU and a conv to the image channels. The MMVAE+
// release leaves the output unbounded; IDMVAE's 64 px PolyMNIST code ends with a sigmoid.
struct LeakyResNetDecoderImpl : torch::nn::Module {
    LeakyResNetDecoderImpl(const LeakyResNetOptions& o, int64_t code_dim, bool sigmoid) : options(o), sigmoid(sigmoid) {
        o.check();
        const int64_t levels = o.resolved_levels();
        from_code = register_module("from_code", torch::nn::Linear(code_dim, o.feature_size()));
        for (int64_t level = levels; level > 0; --level) {
            body->push_back(LeakyResidualBlock(o.width_at(level), o.width_at(level - 1)));
            body->push_back(torch::nn::Upsample(torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
        }
        body->push_back(LeakyResidualBlock(o.width(), o.width()));
        register_module("body", body);
        to_image = register_module("to_image", conv3x3(o.width(), o.image_channels()));
    }
    torch::Tensor forward(const torch::Tensor& code) {
        const int64_t side = options.bottom_side();
        torch::Tensor h = body->forward(from_code(code).view({code.size(0), options.bottom_width(), side, side}));
        torch::Tensor image = to_image(leaky_relu02(h));
        return sigmoid ? torch::sigmoid(image) : image;
    }
    LeakyResNetOptions options;
    bool sigmoid;
    torch::nn::Linear from_code{nullptr};
    torch::nn::Sequential body;
    torch::nn::Conv2d to_image{nullptr};
};
TORCH_MODULE(LeakyResNetDecoder);

}  // namespace mvrl::nn
