// host/registry — finds plugin libraries, loads them with Boost.DLL, checks their descriptors and
// keeps the good ones loaded. A library or plugin that fails a check is refused with a reason
// that names the file; loading goes on with the others.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <mvrl/abi.h>

namespace boost::dll { class shared_library; }

namespace mvrl::host {

namespace fs = std::filesystem;

const char* kind_name(int kind);  // "dataset", "model", ... or "unknown"
int kind_from_name(const std::string& name);  // 0 when unknown

struct Plugin {
    std::string name;
    std::string version;
    std::string description;
    std::string params_schema_json;
    std::string torch_version;  // empty: the plugin does not use torch
    mvrl_kind kind{};
    uint32_t abi_major = 0, abi_minor = 0;
    fs::path path;
    const void* api = nullptr;  // the kind's function table, checked for size and required calls
    std::shared_ptr<boost::dll::shared_library> library;  // keeps the code mapped

    const mvrl_dataset_api* dataset() const { return static_cast<const mvrl_dataset_api*>(api); }
    const mvrl_model_api* model() const { return static_cast<const mvrl_model_api*>(api); }
    const mvrl_estimator_api* estimator() const { return static_cast<const mvrl_estimator_api*>(api); }
    const mvrl_metric_api* metric() const { return static_cast<const mvrl_metric_api*>(api); }
};

struct Refusal {
    fs::path path;
    std::string reason;
};

// A plugin the experiment names but no library provides.
class PluginNotFound : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The folders (or single files) to scan, in precedence order: --plugin-path entries, then
// MVRL_PLUGIN_PATH (colon-separated), then the build and install plugin folders beside the
// executable (<exe>/../plugins and <exe>/../lib/mvrl/plugins).
std::vector<fs::path> plugin_search_path(const std::vector<std::string>& cli_paths,
                                         const char* env_plugin_path, const fs::path& executable);

// One entry of a search path, expanded: a plugin library to load, or an entry that is neither an
// existing folder nor a file (the registry refuses it).
struct SearchPathEntry {
    fs::path path;
    bool exists = true;
};
// Each folder's *.so (sorted by name, not recursive) or the file itself, in search-path order; a
// file reached twice through the search path is listed once.
std::vector<SearchPathEntry> expand_search_path(const std::vector<fs::path>& search_path);
extern const char* const kMissingSearchPathEntry;  // the reason an entry that does not exist is refused

// The libtorch version this host was built with ("" if none).
std::string host_torch_version();

class PluginRegistry {
public:
    explicit PluginRegistry(std::string torch_version = host_torch_version());

    // Loads every library of expand_search_path(search_path). The first plugin found under a name
    // wins; a later one of the same name is refused.
    void load(const std::vector<fs::path>& search_path);
    void load_library(const fs::path& file);

    const std::vector<Plugin>& plugins() const { return plugins_; }
    const std::vector<Refusal>& refusals() const { return refusals_; }

    // A plugin known from a record (the store's plugins table, or mvrl-worker's description of a
    // library) rather than a loaded library: it can resolve an experiment's parameters but not be
    // called. A name already taken is refused, as for a loaded library.
    void add_described(Plugin plugin);
    void refuse(const fs::path& path, std::string reason);

    const Plugin* find(const std::string& name) const;
    // The plugin of that name and kind, or PluginNotFound saying what is there instead.
    const Plugin& require(const std::string& name, mvrl_kind kind) const;

private:
    void admit(const mvrl_plugin_info* info, const mvrl_plugin_descriptor* d, const fs::path& path,
               const std::shared_ptr<boost::dll::shared_library>& library, size_t index);

    std::string torch_version_;
    std::vector<Plugin> plugins_;
    std::vector<Refusal> refusals_;
};

}  // namespace mvrl::host
