// mvrl/nn/training.hpp — a training step's bookkeeping without a host round trip per value.
// On a GPU every tensor.item() waits for the device: a step that returns three losses and clips
// its gradients with libtorch's clip_grad_norm_ (which reads the norm back as a double) stalls the
// device four times. These do the same with one copy, or none.
#pragma once

#include <mvrl/plugin.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace mvrl::nn {

// The step's named scalar tensors as the ScalarList train_step returns: one device-to-host copy.
inline ScalarList step_scalars(const std::vector<std::pair<std::string, torch::Tensor>>& named) {
    std::vector<torch::Tensor> values;
    for (const auto& entry : named) values.push_back(entry.second.detach().reshape({}).to(torch::kFloat64));
    torch::Tensor host = torch::stack(values).cpu();
    const double* v = host.data_ptr<double>();
    ScalarList out;
    for (size_t i = 0; i < named.size(); ++i) out.emplace_back(named[i].first, v[i]);
    return out;
}

// Scales the gradients so that their joint L2 norm is at most max_norm, as PyTorch's
// clip_grad_norm_ (coefficient max_norm / (norm + 1e-6), clamped at 1), with the coefficient kept
// on the device instead of read back.
inline void clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
    std::vector<torch::Tensor> norms;
    for (const auto& p : parameters)
        if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2));
    if (norms.empty()) return;
    torch::Tensor coefficient = (max_norm / (torch::stack(norms).norm(2) + 1e-6)).clamp_max(1.0);
    for (const auto& p : parameters)
        if (p.grad().defined()) p.grad().detach().mul_(coefficient);
}

// On the CPU, puts a module's 4-D parameters (convolution weights) in channels-last (NHWC) order;
// the values and shapes stay, only the strides change, so the tensors an optimizer or a checkpoint
// holds are the same. oneDNN then runs every convolution on NHWC activations instead of
// reordering NCHW ones to its blocked layout and back around each one. Measured with libtorch
// 1.13 on 2 cores (scripts/bench-mrdd, bench-idmvae, bench-dcmem): MRDD +20-24 %, MMVAE+ +27 %,
// DCMEM +20 % samples/s; CONAN's 5×5 convolutions and max-pools ran 10 % slower, so it stays NCHW.
// On other devices nothing changes: the layout is unmeasured there. Inputs need no conversion: a
// convolution follows its weight's layout.
inline void use_channels_last_on_cpu(torch::nn::Module& module, const torch::Device& device) {
    if (!device.is_cpu()) return;
    torch::NoGradGuard no_grad;
    for (auto& p : module.parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace mvrl::nn
