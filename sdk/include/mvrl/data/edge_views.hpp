// mvrl/data/edge_views.hpp — the two-view "image + edge map" construction of E-MNIST / E-FMNIST
// (MRDD and CONAN papers), shared by the dataset plugins that build such pairs.
#pragma once

#include <torch/torch.h>

namespace mvrl::data {

// Edge map as in MRDD's released code: morphological gradient dilate(x, 3×3 ones) - x, i.e. the
// pixels just outside the shape light up, the shape's interior is 0. Images are N×1×H×W in [0, 1].
// (The papers only say "edge detection"; this is the operator the authors' code uses, without a
// threshold: the edge view keeps grey levels.)
inline torch::Tensor edge_map(const torch::Tensor& images) {
    return torch::max_pool2d(images, /*kernel_size=*/3, /*stride=*/1, /*padding=*/1) - images;
}

// Bilinear resize of N×C×H×W images to size×size, clamped to [0, 1].
inline torch::Tensor resize_images(const torch::Tensor& images, int64_t size) {
    if (images.size(2) == size && images.size(3) == size) return images;
    namespace F = torch::nn::functional;
    return F::interpolate(images, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{size, size})
                                      .mode(torch::kBilinear)
                                      .align_corners(false))
        .clamp(0, 1);
}

// view0 = the image, view1 = its edge map, both computed at the source resolution and then resized
// to `size` (resizing first would blur the edge map into a second copy of the shape's outline).
inline std::pair<torch::Tensor, torch::Tensor> image_and_edge_views(const torch::Tensor& images, int64_t size) {
    torch::Tensor edges = edge_map(images);
    return {resize_images(images, size).contiguous(), resize_images(edges, size).contiguous()};
}

}  // namespace mvrl::data
