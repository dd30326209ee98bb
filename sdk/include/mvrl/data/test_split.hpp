// mvrl/data/test_split.hpp — a train/test split the user gives as 0-based sample indices, exposed as
// the dataset's "split" tensor (N, int64: 0 train, 1 test; the svc metric reads it). A dataset
// declares the two parameters with add_test_split_params and calls apply_test_split on its tensors:
//
//   test_indices       = [3, 17, 42]            (a TOML list, for a handful)
//   test_indices_file  = "splits/fold0.txt"     (one file, for many)
//
// The file holds integers separated by whitespace, commas or semicolons (one per line, a CSV
// column or a row all work); '#' starts a comment; a first line without digits is a header and is
// skipped; integral floats ("3.000e+00", as numpy.savetxt writes) are accepted. Every index must lie
// in 0..N-1 and appear once; the test part may not be empty nor hold every sample.
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "../params.hpp"
#include "../tensor.hpp"

namespace mvrl::data {

inline ParamSchema& add_test_split_params(ParamSchema& schema) {
    return schema
        .add_int_list("test_indices", {}, "0-based indices of the test samples (a 'split' tensor: 0 train, 1 test); empty: none", 0)
        .add_string("test_indices_file", "",
                    "file of 0-based test-sample indices (whitespace/comma separated, '#' comments); empty: none");
}

inline bool has_test_split(const Params& p) {
    return !p.get_int_list("test_indices").empty() || !p.get_string("test_indices_file").empty();
}

// One index and where it came from ("test_indices[2]", "folds.txt, line 3"), for error messages.
struct SourcedIndex {
    int64_t index;
    std::string where;
};

// The indices in `file`, in file order. Throws ParamError naming the file (and line) on anything
// that is not a list of integers.
inline std::vector<SourcedIndex> read_index_file(const std::string& file) {
    std::error_code ec;
    std::ifstream in;
    std::string why;
    if (!std::filesystem::exists(file, ec))
        why = "no such file";
    else if (std::filesystem::is_directory(file, ec))
        why = "it is a folder";
    else if (in.open(file), !in)
        why = "permission denied or unreadable";
    if (!why.empty())
        throw ParamError("test_indices_file '" + file + "' cannot be read: " + why +
                         " (give a text or CSV file of 0-based sample indices; a relative path starts from the working"
                         " directory, " + std::filesystem::current_path(ec).string() + ")");
    std::vector<SourcedIndex> out;
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        for (char& c : line)
            if (c == ',' || c == ';' || c == '\t' || c == '\r') c = ' ';
        bool has_digit = line.find_first_of("0123456789") != std::string::npos;
        if (line_no == 1 && !has_digit && line.find_first_not_of(' ') != std::string::npos) continue;  // a header
        std::istringstream tokens(line);
        std::string token;
        while (tokens >> token) {
            const std::string where = file + ", line " + std::to_string(line_no);
            char* end = nullptr;
            double value = std::strtod(token.c_str(), &end);
            if (end == token.c_str() || *end != '\0' || !std::isfinite(value) || value != std::floor(value) ||
                std::fabs(value) > 9.0e15)
                throw ParamError("test_indices_file " + where + ": '" + token +
                                 "' is not an integer sample index (the file must hold 0-based indices only)");
            out.push_back({int64_t(value), where});
        }
    }
    if (in.bad()) throw ParamError("test_indices_file '" + file + "' could not be read to the end");
    if (out.empty()) throw ParamError("test_indices_file '" + file + "' holds no indices");
    return out;
}

// The test mask over n samples: 1 at every given index. Throws ParamError for an index outside
// 0..n-1, a repeated index, both parameters at once, or a split with no train or no test sample.
inline torch::Tensor test_split_of(const Params& p, int64_t n) {
    const auto listed = p.get_int_list("test_indices");
    const std::string file = p.get_string("test_indices_file");
    if (!listed.empty() && !file.empty())
        throw ParamError("give the test samples either as test_indices or as test_indices_file, not both");
    std::vector<SourcedIndex> indices;
    if (!file.empty()) {
        indices = read_index_file(file);
    } else {
        for (size_t i = 0; i < listed.size(); ++i) indices.push_back({listed[i], "test_indices[" + std::to_string(i) + "]"});
    }
    torch::Tensor split = torch::zeros({n}, torch::kInt64);
    int64_t* s = split.data_ptr<int64_t>();
    for (const auto& [index, where] : indices) {
        if (index < 0 || index >= n)
            throw ParamError(where + ": test index " + std::to_string(index) + " is out of range: the dataset has " +
                             std::to_string(n) + " samples, so indices run from 0 to " + std::to_string(n - 1) +
                             (index == n ? " (indices are 0-based: subtract 1 from 1-based ones)" : ""));
        if (s[index]) throw ParamError(where + ": test index " + std::to_string(index) + " is given twice");
        s[index] = 1;
    }
    if (int64_t(indices.size()) == n)
        throw ParamError("the test indices cover all " + std::to_string(n) + " samples: no training sample is left");
    return split;
}

// Sets data["split"] from the parameters when they give a split (replacing one the source had).
inline void apply_test_split(TensorMap& data, const Params& p) {
    if (has_test_split(p)) data["split"] = test_split_of(p, data.at("label").size(0));
}

// The parameters without the split's and the missing-view draw's: what a cache key depends on, so
// that one cache file serves every split and every missing rate.
inline Params without_split_and_missing_params(const Params& p) {
    json values = p.values();
    for (const char* key : {"test_indices", "test_indices_file", "missing_rate", "missing_seed"}) values.erase(key);
    return Params(std::move(values));
}

}  // namespace mvrl::data
