// mvrl/data/tensor_cache.hpp — a dataset's tensors cached on disk, keyed by plugin name, version
// and resolved parameters, so that the second load skips decoding and preprocessing.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../params.hpp"
#include "../plugin.hpp"

namespace mvrl::data {

// Returns build() and stores it under ctx.cache_dir(), or the stored copy when there is one.
// Without a cache folder it just builds. A corrupt cache file is rebuilt, never trusted.
inline TensorMap cached_tensors(const Context& ctx, const std::string& plugin, const std::string& version,
                                const Params& params, const std::function<TensorMap()>& build) {
    if (ctx.cache_dir().empty()) return build();
    std::string key = plugin + "|" + version + "|" + params.values().dump();
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
    std::filesystem::path file = std::filesystem::path(ctx.cache_dir()) / (plugin + "-" + version + "-" + hex + ".pt");
    std::filesystem::path names_file = file;
    names_file += ".names";
    if (std::filesystem::exists(file) && std::filesystem::exists(names_file)) {
        try {
            std::vector<torch::Tensor> tensors;
            torch::load(tensors, file.string());
            std::ifstream in(names_file);
            std::string stored_key;
            std::getline(in, stored_key);
            TensorMap out;
            std::string name;
            for (size_t i = 0; std::getline(in, name) && i < tensors.size(); ++i) out[name] = tensors[i];
            if (stored_key == key && out.size() == tensors.size()) return out;
        } catch (const std::exception&) {
        }
        ctx.log(MVRL_LOG_WARNING, "ignoring an unreadable cache file " + file.string());
    }
    TensorMap built = build();
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    std::vector<torch::Tensor> tensors;
    std::string names;
    for (const auto& [name, t] : built) tensors.push_back(t), names += name + "\n";
    std::filesystem::path partial = file;
    partial += ".partial";
    try {  // a failed write (full disk) costs the cache, never the data
        torch::save(tensors, partial.string());
        std::ofstream(names_file) << key << "\n" << names;
        std::filesystem::rename(partial, file);
    } catch (const std::exception& e) {
        std::filesystem::remove(partial, ec);
        ctx.log(MVRL_LOG_WARNING, std::string("cannot write the dataset cache: ") + e.what());
    }
    return built;
}

}  // namespace mvrl::data
