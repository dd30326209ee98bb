// mvrl/data/fashion_mnist.hpp — Fashion-MNIST from Debian's package dataset-fashion-mnist (IDX
// files, gzip): 60,000 training and 10,000 test images of 10 classes. Read by fmnist-edge and
// augmented. A plugin that includes this header links zlib (find_package(ZLIB), ZLIB::ZLIB).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include <torch/torch.h>

#include "mnist_npm.hpp"  // LabelledImages

namespace mvrl::data {

constexpr const char* kFashionMnistDebianDir = "/usr/share/datasets/fashion-mnist";

// An IDX file (big-endian header: magic, dims; then uint8 data), gzip-compressed.
inline torch::Tensor read_idx_gz(const std::filesystem::path& file) {
    gzFile in = gzopen(file.c_str(), "rb");
    if (!in) throw std::runtime_error("cannot open " + file.string());
    auto read_bytes = [&](void* into, unsigned n) {
        if (gzread(in, into, n) != int(n)) {
            gzclose(in);
            throw std::runtime_error(file.string() + " is truncated or not an IDX file");
        }
    };
    unsigned char magic[4];
    read_bytes(magic, 4);
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08) {
        gzclose(in);
        throw std::runtime_error(file.string() + " is not an IDX file of unsigned bytes");
    }
    std::vector<int64_t> shape;
    for (int d = 0; d < magic[3]; ++d) {
        unsigned char b[4];
        read_bytes(b, 4);
        shape.push_back((int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    }
    torch::Tensor data = torch::empty(shape, torch::kUInt8);
    read_bytes(data.data_ptr(), unsigned(data.numel()));
    gzclose(in);
    return data;
}

// Fashion-MNIST images (N×1×28×28 in [0, 1]), labels and part (N, int64: 0 from the official
// training set, 1 from the test set). split: "all" (training images first), "train" or "test".
// per_class > 0 keeps the first per_class images of each class in each part (balanced).
struct FashionMnist {
    LabelledImages data;
    torch::Tensor part;
};

inline FashionMnist read_fashion_mnist(const std::string& dir_name, const std::string& split, int64_t per_class) {
    const std::filesystem::path dir = dir_name;
    if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz"))
        throw std::runtime_error("Fashion-MNIST not found in " + dir.string() +
                                 " (Debian package dataset-fashion-mnist); install it with the README's set-up "
                                 "command (scripts/setup), or pass the folder as fmnist_dir");
    std::vector<torch::Tensor> images, labels, parts;
    for (const auto& [name, id] : {std::pair<std::string, int64_t>{"train", 0}, {"t10k", 1}}) {
        if ((split == "train" && id != 0) || (split == "test" && id != 1)) continue;
        torch::Tensor x = read_idx_gz(dir / (name + "-images-idx3-ubyte.gz"));
        torch::Tensor y = read_idx_gz(dir / (name + "-labels-idx1-ubyte.gz")).to(torch::kInt64);
        if (x.size(0) != y.size(0))
            throw std::runtime_error("Fashion-MNIST " + name + " images and labels differ in number");
        if (per_class > 0) {
            std::vector<torch::Tensor> keep;
            for (int c = 0; c < 10; ++c) keep.push_back(torch::nonzero(y == c).flatten().slice(0, 0, per_class));
            torch::Tensor index = std::get<0>(torch::sort(torch::cat(keep)));
            x = x.index_select(0, index), y = y.index_select(0, index);
        }
        images.push_back(x.unsqueeze(1).to(torch::kFloat32) / 255.0);
        labels.push_back(y);
        parts.push_back(torch::full({y.size(0)}, id, torch::kInt64));
    }
    return {{torch::cat(images), torch::cat(labels)}, torch::cat(parts)};
}

}  // namespace mvrl::data
