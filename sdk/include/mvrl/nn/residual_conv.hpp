// mvrl/nn/residual_conv.hpp — the convolutional encoder/decoder pair MRDD's released code uses
// (VQGAN-style, via L-Verse): pre-activation residual blocks (BatchNorm + swish), stride-2
// convolutions down, nearest-neighbour upsampling + convolution up. The encoder maps C×H×W to a
// latent map latent_channels × H/2^(L-1) × W/2^(L-1) for L = multipliers.size() levels; the
// decoder inverts it (one more residual block per level, as in the original).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace mvrl::nn {

// The released code's BatchNorm uses eps 1e-6.
inline torch::nn::BatchNorm2d batch_norm(int64_t channels) {
    return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(1e-6));
}

inline torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1, int64_t padding = 1) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(padding));
}

struct ResidualBlockImpl : torch::nn::Module {
    ResidualBlockImpl(int64_t in, int64_t out)
        : norm1(register_module("norm1", batch_norm(in))), conv1(register_module("conv1", conv3x3(in, out))),
          norm2(register_module("norm2", batch_norm(out))), conv2(register_module("conv2", conv3x3(out, out))) {
        if (in != out) shortcut = register_module("shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor h = conv1(torch::silu(norm1(x)));
        h = conv2(torch::silu(norm2(h)));
        return (shortcut ? shortcut(x) : x) + h;
    }
    torch::nn::BatchNorm2d norm1;
    torch::nn::Conv2d conv1;
    torch::nn::BatchNorm2d norm2;
    torch::nn::Conv2d conv2;
    torch::nn::Conv2d shortcut{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Halves the resolution: pad right/bottom by one, then a 3×3 stride-2 convolution.
struct DownsampleImpl : torch::nn::Module {
    explicit DownsampleImpl(int64_t channels) : conv(register_module("conv", conv3x3(channels, channels, 2, 0))) {}
    torch::Tensor forward(const torch::Tensor& x) {
        return conv(torch::nn::functional::pad(x, torch::nn::functional::PadFuncOptions({0, 1, 0, 1})));
    }
    torch::nn::Conv2d conv;
};
TORCH_MODULE(Downsample);

struct UpsampleImpl : torch::nn::Module {
    explicit UpsampleImpl(int64_t channels) : conv(register_module("conv", conv3x3(channels, channels))) {}
    torch::Tensor forward(const torch::Tensor& x) {
        namespace F = torch::nn::functional;
        return conv(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
    }
    torch::nn::Conv2d conv;
};
TORCH_MODULE(Upsample);

struct ConvAutoencoderOptions {
    explicit ConvAutoencoderOptions(int64_t image_channels) : image_channels_(image_channels) {}
    TORCH_ARG(int64_t, image_channels);
    TORCH_ARG(int64_t, channels) = 16;                       // base width ("basic_hidden_dim")
    TORCH_ARG(std::vector<int64_t>, multipliers) = std::vector<int64_t>{1, 2, 4};  // one per resolution level
    TORCH_ARG(int64_t, res_blocks) = 3;                      // per level (the decoder uses one more)
    TORCH_ARG(int64_t, latent_channels) = 8;
};

// How much the encoder shrinks each side: 2^(levels - 1).
inline int64_t downsampling(const ConvAutoencoderOptions& o) { return int64_t(1) << (o.multipliers().size() - 1); }

struct ConvEncoderImpl : torch::nn::Module {
    explicit ConvEncoderImpl(const ConvAutoencoderOptions& o) {
        const auto& mult = o.multipliers();
        int64_t width = o.channels();
        body->push_back(conv3x3(o.image_channels(), width));
        for (size_t level = 0; level < mult.size(); ++level) {
            for (int64_t b = 0; b < o.res_blocks(); ++b) {
                body->push_back(ResidualBlock(width, o.channels() * mult[level]));
                width = o.channels() * mult[level];
            }
            if (level + 1 < mult.size()) body->push_back(Downsample(width));
        }
        body->push_back(ResidualBlock(width, width));  // "middle" blocks
        body->push_back(ResidualBlock(width, width));
        body->push_back(batch_norm(width));
        body->push_back(torch::nn::SiLU());
        body->push_back(conv3x3(width, o.latent_channels()));
        register_module("body", body);
    }
    torch::Tensor forward(const torch::Tensor& x) { return body->forward(x); }
    torch::nn::Sequential body;
};
TORCH_MODULE(ConvEncoder);

struct ConvDecoderImpl : torch::nn::Module {
    explicit ConvDecoderImpl(const ConvAutoencoderOptions& o) {
        const auto& mult = o.multipliers();
        int64_t width = o.channels() * mult.back();
        body->push_back(conv3x3(o.latent_channels(), width));
        body->push_back(ResidualBlock(width, width));
        body->push_back(ResidualBlock(width, width));
        for (size_t level = mult.size(); level-- > 0;) {
            for (int64_t b = 0; b < o.res_blocks() + 1; ++b) {
                body->push_back(ResidualBlock(width, o.channels() * mult[level]));
                width = o.channels() * mult[level];
            }
            if (level > 0) body->push_back(Upsample(width));
        }
        body->push_back(batch_norm(width));
        body->push_back(torch::nn::SiLU());
        body->push_back(conv3x3(width, o.image_channels()));  // no output sigmoid, as released
        register_module("body", body);
    }
    torch::Tensor forward(const torch::Tensor& z) { return body->forward(z); }
    torch::nn::Sequential body;
};
TORCH_MODULE(ConvDecoder);

}  // namespace mvrl::nn
