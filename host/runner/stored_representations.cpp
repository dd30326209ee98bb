#include "stored_representations.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "config/experiment.hpp"
#include "plugin_handles.hpp"

namespace mvrl::host {

namespace {

c10::Dict<std::string, at::Tensor> dict_of(const TensorMap& tensors) {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, t] : tensors) dict.insert(name, t.detach().cpu().contiguous());
    return dict;
}

TensorMap map_of(const c10::IValue& value, const std::string& what) {
    if (!value.isGenericDict()) throw std::runtime_error("'" + what + "' is not a dict");
    TensorMap tensors;
    for (const auto& entry : value.toGenericDict()) tensors[entry.key().toStringRef()] = entry.value().toTensor();
    return tensors;
}

}  // namespace

ArtifactRecord save_representations(const std::filesystem::path& files_dir, const std::string& run_key, const TensorMap& reps,
                                    const TensorMap& data) {
    TensorMap kept, labels;
    for (const auto& [name, t] : reps)
        if (t.dim() > 0 && t.size(0) > 0 && t.numel() / t.size(0) <= kMaxStoredWidth) kept[name] = t;
    for (const auto& [name, t] : data)
        if (!is_view_tensor(name)) labels[name] = t;

    c10::impl::GenericDict file(c10::StringType::get(), c10::AnyType::get());
    file.insert("representations", dict_of(kept));
    file.insert("labels", dict_of(labels));
    std::vector<char> bytes = torch::pickle_save(file);

    ArtifactRecord record{"representations", "artifacts/" + run_key + "/representations.pt", int64_t(bytes.size()),
                          sha256_hex(std::string(bytes.begin(), bytes.end()))};
    const std::filesystem::path path = files_dir / record.path;
    // Written beside and renamed into place: a reader never sees half a file.
    const std::filesystem::path partial = path.string() + ".partial." + std::to_string(getpid());
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!ec && out) std::filesystem::rename(partial, path, ec);
    if (ec || !out) {
        std::filesystem::remove(partial, ec);
        throw std::runtime_error("cannot write the run's representations to " + path.string());
    }
    return record;
}

StoredRepresentations load_representations(const std::filesystem::path& database, const ArtifactRecord& record) {
    const std::filesystem::path path = database.parent_path() / record.path;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("the stored representations " + path.string() + " are missing (moved or deleted?)");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!record.sha256.empty() && sha256_hex(std::string(bytes.begin(), bytes.end())) != record.sha256)
        throw std::runtime_error("the stored representations " + path.string() +
                                 " changed since the run wrote them (SHA-256 differs from the store's record)");
    c10::IValue file = torch::pickle_load(bytes);
    if (!file.isGenericDict()) throw std::runtime_error(path.string() + " is not a representations file");
    auto dict = file.toGenericDict();
    return {map_of(dict.at("representations"), "representations"), map_of(dict.at("labels"), "labels")};
}

}  // namespace mvrl::host
