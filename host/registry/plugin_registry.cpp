#include "plugin_registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <sstream>

#include <boost/dll/shared_library.hpp>
#include <torch/version.h>

#include <mvrl/params.hpp>

namespace mvrl::host {

const char* kind_name(int kind) {
    switch (kind) {
    case MVRL_KIND_DATASET: return "dataset";
    case MVRL_KIND_MODEL: return "model";
    case MVRL_KIND_ESTIMATOR: return "estimator";
    case MVRL_KIND_METRIC: return "metric";
    }
    return "unknown";
}

std::string host_torch_version() { return TORCH_VERSION; }

namespace {

std::vector<std::string> split_colon_list(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ':');)
        if (!part.empty()) parts.push_back(part);
    return parts;
}

bool is_plugin_file(const fs::path& p) {
    auto ext = p.extension().string();
    return ext == ".so" || ext == ".dylib" || ext == ".dll";
}

// Boost.DLL resets dlerror(), which holds the useful reason (missing dependency, undefined
// symbol); ask the loader once more for it.
std::string why_not_loadable(const fs::path& file, const std::string& fallback) {
    void* h = dlopen(file.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        dlclose(h);
        return fallback;
    }
    const char* e = dlerror();
    return e ? e : fallback;
}

// The smallest table size of ABI 1.0 for a kind, and whether every required call is present.
size_t minimum_api_size(int kind) {
    switch (kind) {
    case MVRL_KIND_DATASET: return MVRL_DATASET_API_SIZE_V1_0;
    case MVRL_KIND_MODEL: return MVRL_MODEL_API_SIZE_V1_0;
    case MVRL_KIND_ESTIMATOR: return MVRL_ESTIMATOR_API_SIZE_V1_0;
    case MVRL_KIND_METRIC: return MVRL_METRIC_API_SIZE_V1_0;
    }
    return 0;
}

// Why a function table cannot be used ("" when it can): a required call that is NULL, or half of
// a group that ABI 1.1 makes optional together (training: stages, train_step, end_epoch;
// checkpoints: save, load). A 1.0 plugin had to fill every model call, so one with a NULL there is
// refused as it always was.
std::string unusable_calls(int kind, const void* api, uint32_t abi_minor) {
    using Calls = std::initializer_list<std::pair<const char*, const void*>>;
    auto missing = [](Calls calls) -> std::string {
        for (const auto& [name, fn] : calls)
            if (!fn) return std::string("required call '") + name + "' is NULL";
        return "";
    };
    auto all_or_none = [](Calls calls, const char* what) -> std::string {
        size_t present = 0;
        std::string null_ones;
        for (const auto& [name, fn] : calls) {
            if (fn) ++present;
            else null_ones += (null_ones.empty() ? "'" : ", '") + std::string(name) + "'";
        }
        if (present == 0 || present == calls.size()) return "";
        return null_ones + " NULL while the rest of " + what + " is not: they are optional together (ABI 1.1)";
    };
    switch (kind) {
    case MVRL_KIND_DATASET: {
        auto* t = static_cast<const mvrl_dataset_api*>(api);
        return missing({{"open", (const void*)t->open}, {"close", (const void*)t->close},
                        {"info", (const void*)t->info}, {"load", (const void*)t->load}});
    }
    case MVRL_KIND_MODEL: {
        auto* t = static_cast<const mvrl_model_api*>(api);
        Calls training = {{"stages", (const void*)t->stages}, {"train_step", (const void*)t->train_step},
                          {"end_epoch", (const void*)t->end_epoch}};
        Calls checkpoints = {{"save", (const void*)t->save}, {"load", (const void*)t->load}};
        std::string why = missing({{"create", (const void*)t->create}, {"destroy", (const void*)t->destroy},
                                   {"encode", (const void*)t->encode}});
        if (why.empty() && abi_minor == 0) why = missing(training);
        if (why.empty() && abi_minor == 0) why = missing(checkpoints);
        if (why.empty()) why = all_or_none(training, "training (stages, train_step, end_epoch)");
        if (why.empty()) why = all_or_none(checkpoints, "checkpoints (save, load)");
        return why;
    }
    case MVRL_KIND_ESTIMATOR:
        return missing({{"estimate", (const void*)static_cast<const mvrl_estimator_api*>(api)->estimate}});
    case MVRL_KIND_METRIC:
        return missing({{"evaluate", (const void*)static_cast<const mvrl_metric_api*>(api)->evaluate}});
    }
    return "";
}

std::string duplicate_name_reason(const Plugin& earlier) {
    return "duplicate plugin name '" + earlier.name + "': already loaded from " + earlier.path.string() +
           " (the first found in the search path wins)";
}

}  // namespace

std::vector<fs::path> plugin_search_path(const std::vector<std::string>& cli_paths,
                                         const char* env_plugin_path, const fs::path& executable) {
    std::vector<fs::path> path;
    for (const auto& entry : cli_paths)
        for (const auto& p : split_colon_list(entry)) path.emplace_back(p);
    if (env_plugin_path)
        for (const auto& p : split_colon_list(env_plugin_path)) path.emplace_back(p);
    fs::path prefix = executable.parent_path().parent_path();
    for (const fs::path& p : {prefix / "plugins", prefix / "lib" / "mvrl" / "plugins"})
        if (fs::is_directory(p)) path.push_back(p);
    return path;
}

PluginRegistry::PluginRegistry(std::string torch_version) : torch_version_(std::move(torch_version)) {}

void PluginRegistry::refuse(const fs::path& path, std::string reason) {
    refusals_.push_back({path, std::move(reason)});
}

const char* const kMissingSearchPathEntry = "plugin path does not exist or is not a folder or file";

std::vector<SearchPathEntry> expand_search_path(const std::vector<fs::path>& search_path) {
    std::vector<SearchPathEntry> entries;
    std::vector<fs::path> seen;  // canonical paths of the files listed
    auto add_file = [&](const fs::path& file) {
        std::error_code ec;
        fs::path canonical = fs::weakly_canonical(file, ec);
        if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) return;
        seen.push_back(canonical);
        entries.push_back({file});
    };
    for (const auto& entry : search_path) {
        std::error_code ec;
        if (fs::is_regular_file(entry, ec)) {
            add_file(entry);
            continue;
        }
        if (!fs::is_directory(entry, ec)) {
            entries.push_back({entry, false});
            continue;
        }
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(entry, ec))
            if (f.is_regular_file() && is_plugin_file(f.path())) files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) add_file(f);
    }
    return entries;
}

void PluginRegistry::load(const std::vector<fs::path>& search_path) {
    for (const auto& entry : expand_search_path(search_path))
        entry.exists ? load_library(entry.path) : refuse(entry.path, kMissingSearchPathEntry);
}

void PluginRegistry::load_library(const fs::path& file) {
    auto library = std::make_shared<boost::dll::shared_library>();
    boost::dll::fs::error_code ec;
    library->load(boost::dll::fs::path(file.string()), ec,
                  boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
    if (ec) return refuse(file, "cannot be loaded: " + why_not_loadable(file, ec.message()));
    if (!library->has(MVRL_PLUGIN_ENTRY_SYMBOL))
        return refuse(file, std::string("no entry symbol '") + MVRL_PLUGIN_ENTRY_SYMBOL +
                                "': not an mvrl plugin (a plugin exports it with MVRL_EXPORT_PLUGINS "
                                "or defines it in C)");
    auto entry = library->get<const mvrl_plugin_descriptor*()>(MVRL_PLUGIN_ENTRY_SYMBOL);
    const mvrl_plugin_descriptor* d = entry();
    if (!d) return refuse(file, "mvrl_plugin_entry returned NULL");

    const size_t version_prefix = MVRL_SIZE_THROUGH(mvrl_plugin_descriptor, abi_minor);
    if (d->struct_size < version_prefix)
        return refuse(file, "descriptor too small: struct_size " + std::to_string(d->struct_size) +
                                " bytes cannot even hold the ABI version (corrupt descriptor?)");
    if (d->abi_major != MVRL_ABI_VERSION_MAJOR)
        return refuse(file, "ABI major mismatch: built against mvrl ABI " + std::to_string(d->abi_major) +
                                "." + std::to_string(d->abi_minor) + ", this host speaks ABI " +
                                std::to_string(MVRL_ABI_VERSION_MAJOR) +
                                ".x; rebuild the plugin against this host's SDK");
    if (d->struct_size < MVRL_PLUGIN_DESCRIPTOR_SIZE_V1_0)
        return refuse(file, "descriptor too small: struct_size " + std::to_string(d->struct_size) +
                                " bytes, ABI " + std::to_string(MVRL_ABI_VERSION_MAJOR) + ".0 needs at least " +
                                std::to_string(MVRL_PLUGIN_DESCRIPTOR_SIZE_V1_0));
    if (d->plugin_count == 0 || !d->plugins) return refuse(file, "descriptor lists no plugins");
    for (uint32_t i = 0; i < d->plugin_count; ++i) admit(d->plugins[i], d, file, library, i);
}

void PluginRegistry::admit(const mvrl_plugin_info* info, const mvrl_plugin_descriptor* d,
                           const fs::path& path,
                           const std::shared_ptr<boost::dll::shared_library>& library, size_t index) {
    std::string which = "plugin #" + std::to_string(index);
    if (!info) return refuse(path, which + ": NULL info");
    if (info->struct_size < MVRL_PLUGIN_INFO_SIZE_V1_0)
        return refuse(path, which + ": info too small: struct_size " + std::to_string(info->struct_size) +
                                " bytes, ABI 1.0 needs at least " + std::to_string(MVRL_PLUGIN_INFO_SIZE_V1_0));
    if (!info->name || !*info->name) return refuse(path, which + ": empty name");
    which = "plugin '" + std::string(info->name) + "'";
    size_t api_size = minimum_api_size(info->kind);
    if (api_size == 0) return refuse(path, which + ": unknown kind " + std::to_string(info->kind));
    if (!info->api) return refuse(path, which + ": NULL function table");
    uint32_t table_size = *static_cast<const uint32_t*>(info->api);
    if (table_size < api_size)
        return refuse(path, which + ": " + kind_name(info->kind) + " function table too small: struct_size " +
                                std::to_string(table_size) + " bytes, ABI 1.0 needs at least " +
                                std::to_string(api_size));
    std::string unusable = unusable_calls(info->kind, info->api, d->abi_minor);
    if (!unusable.empty()) return refuse(path, which + ": " + unusable);
    std::string torch = info->torch_version ? info->torch_version : "";
    if (!torch.empty() && torch != torch_version_)
        return refuse(path, which + ": built against libtorch " + torch + ", this host runs libtorch " +
                                (torch_version_.empty() ? "none" : torch_version_) +
                                "; two libtorch copies in one process corrupt each other: rebuild the "
                                "plugin against this host's libtorch");
    try {
        ParamSchema::from_json(info->params_schema_json ? info->params_schema_json : "[]");
    } catch (const std::exception& e) {
        return refuse(path, which + ": malformed parameter schema: " + e.what());
    }
    if (const Plugin* earlier = find(info->name)) return refuse(path, duplicate_name_reason(*earlier));

    Plugin p;
    p.name = info->name;
    p.version = info->version ? info->version : "";
    p.description = info->description ? info->description : "";
    p.params_schema_json = info->params_schema_json ? info->params_schema_json : "[]";
    p.torch_version = torch;
    p.kind = static_cast<mvrl_kind>(info->kind);
    p.abi_major = d->abi_major;
    p.abi_minor = d->abi_minor;
    p.path = path;
    p.api = info->api;
    p.library = library;
    plugins_.push_back(std::move(p));
}

void PluginRegistry::add_described(Plugin plugin) {
    if (const Plugin* earlier = find(plugin.name)) return refuse(plugin.path, duplicate_name_reason(*earlier));
    plugins_.push_back(std::move(plugin));
}

int kind_from_name(const std::string& name) {
    for (int k : {MVRL_KIND_DATASET, MVRL_KIND_MODEL, MVRL_KIND_ESTIMATOR, MVRL_KIND_METRIC})
        if (name == kind_name(k)) return k;
    return 0;
}

const Plugin* PluginRegistry::find(const std::string& name) const {
    for (const auto& p : plugins_)
        if (p.name == name) return &p;
    return nullptr;
}

const Plugin& PluginRegistry::require(const std::string& name, mvrl_kind kind) const {
    const Plugin* p = find(name);
    if (p && p->kind == kind) return *p;
    std::ostringstream msg;
    if (p) {
        msg << "plugin '" << name << "' is a " << kind_name(p->kind) << ", not a " << kind_name(kind);
    } else {
        msg << "no " << kind_name(kind) << " plugin named '" << name << "'";
    }
    msg << "; " << kind_name(kind) << " plugins found:";
    bool any = false;
    for (const auto& q : plugins_)
        if (q.kind == kind) msg << (any ? ", " : " ") << q.name, any = true;
    if (!any) msg << " none";
    if (!refusals_.empty())
        msg << " (" << refusals_.size() << " librar" << (refusals_.size() == 1 ? "y was" : "ies were")
            << " refused: see `mvrl-run plugins`)";
    msg << ". Add the folder holding it with --plugin-path or MVRL_PLUGIN_PATH.";
    throw PluginNotFound(msg.str());
}

}  // namespace mvrl::host
