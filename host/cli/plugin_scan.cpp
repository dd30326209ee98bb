#include "plugin_scan.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>

#include <mvrl/abi.h>

#include "runner/processes.hpp"
#include "store/plugin_records.hpp"

namespace mvrl::cli {

namespace {

using host::PluginRecord;

constexpr int kCacheFormat = 1;

// What mvrl-worker said of one library: its plugins, and why the rest of it was refused.
struct LibraryDescription {
    std::vector<PluginRecord> plugins;
    std::vector<std::string> refusals;
    bool cacheable = true;  // false for a crash while describing, which need not happen again
};

// A library as last described. The description holds while the file's digest is `sha256`; an
// unchanged size and modification time let a call skip hashing the file.
struct CachedLibrary {
    uintmax_t size = 0;
    int64_t mtime = 0;
    std::string sha256;
    LibraryDescription description;
};

using LibraryCache = std::map<std::string, CachedLibrary>;  // by absolute path

void stamp(CachedLibrary& library, const fs::path& file) {
    std::error_code ec;
    library.size = fs::file_size(file, ec);
    library.mtime = int64_t(fs::last_write_time(file, ec).time_since_epoch().count());
}

bool same_stamp(const CachedLibrary& a, const CachedLibrary& b) { return a.size == b.size && a.mtime == b.mtime; }

// Descriptions made by another mvrl-worker (rebuilt, another ABI or libtorch: other checks) do
// not hold for this one.
std::string describer_of(const fs::path& worker) {
    CachedLibrary w;
    stamp(w, worker);
    return fs::absolute(worker).string() + " " + std::to_string(w.size) + " " + std::to_string(w.mtime) + " ABI " +
           std::to_string(MVRL_ABI_VERSION_MAJOR) + "." + std::to_string(MVRL_ABI_VERSION_MINOR) + " libtorch " +
           host::host_torch_version();
}

// One cache file per mvrl-worker, so that a build tree and an installation do not overwrite
// each other's descriptions.
fs::path cache_file_of(const PluginScan& scan) {
    if (scan.cache_dir.empty()) return {};
    return scan.cache_dir / ("plugins-" + host::sha256_hex(fs::absolute(scan.worker).string()).substr(0, 16) + ".json");
}

json json_of(const CachedLibrary& c) {
    json plugins = json::array();
    for (const auto& r : c.description.plugins) plugins.push_back(host::json_of(r));
    return {{"size", c.size}, {"mtime", c.mtime}, {"sha256", c.sha256}, {"plugins", plugins},
            {"refusals", c.description.refusals}};
}

CachedLibrary cached_library_of_json(const json& j) {
    CachedLibrary c{j.at("size"), j.at("mtime"), j.at("sha256"), {}};
    for (const auto& r : j.at("plugins")) c.description.plugins.push_back(host::record_of_json(r));
    c.description.refusals = j.at("refusals").get<std::vector<std::string>>();
    return c;
}

// The cache as written by `describer`; empty when missing, corrupt or by another describer (a
// bad cache only makes this call slower: everything is described again).
LibraryCache read_cache(const fs::path& file, const std::string& describer) {
    std::ifstream in(file);
    if (!in) return {};
    const json j = json::parse(in, nullptr, false);
    try {
        if (j.at("format") != kCacheFormat || j.at("describer") != describer) return {};
        LibraryCache cache;
        for (const auto& [path, library] : j.at("libraries").items()) cache[path] = cached_library_of_json(library);
        return cache;
    } catch (const json::exception&) {
        return {};
    }
}

// Adds `updates` to the cache as it is now on disk (another mvrl-run may have written since it was
// read), drops files that no longer exist, and replaces the file at once (written beside, renamed),
// so that a concurrent reader sees the old cache or the new one. Failing to write is not an error:
// the next call describes again.
void write_cache(const fs::path& file, const std::string& describer, const LibraryCache& updates) {
    LibraryCache cache = read_cache(file, describer);
    for (const auto& [path, library] : updates)
        if (library.description.cacheable) cache[path] = library;
    json libraries = json::object();
    std::error_code ec;
    for (const auto& [path, library] : cache)
        if (fs::exists(path, ec)) libraries[path] = json_of(library);
    fs::create_directories(file.parent_path(), ec);
    fs::path temp = file;
    temp += ".tmp-" + host::this_host_name() + "-" + std::to_string(getpid());
    {
        std::ofstream out(temp, std::ios::trunc);
        out << json{{"format", kCacheFormat}, {"describer", describer}, {"libraries", libraries}}.dump();
        if (!out.flush()) return (void)fs::remove(temp, ec);
    }
    fs::rename(temp, file, ec);
    if (ec) fs::remove(temp, ec);
}

// How one mvrl-worker --describe-plugins call went: the libraries' descriptions, or why none.
struct Describing {
    std::map<std::string, LibraryDescription> libraries;
    std::string failure;  // empty when it succeeded
};

std::map<std::string, LibraryDescription> descriptions_of_json(const json& j, const std::vector<std::string>& files) {
    std::map<std::string, LibraryDescription> libraries;
    for (const auto& f : files) libraries[f];
    for (const auto& r : j.at("plugins")) {
        PluginRecord record = host::record_of_json(r);
        libraries.at(record.path).plugins.push_back(record);
    }
    for (const auto& r : j.at("refusals"))
        libraries.at(r.at("path").get<std::string>()).refusals.push_back(r.at("reason").get<std::string>());
    return libraries;
}

Describing run_describer(const std::vector<std::string>& files, const fs::path& worker) {
    std::vector<std::string> argv = {worker.string(), "--describe-plugins"};
    argv.insert(argv.end(), files.begin(), files.end());
    const host::CapturedOutput run = host::run_capturing_stdout(argv);
    if (!run.succeeded()) return {{}, "mvrl-worker " + run.how_it_ended()};
    try {
        return {descriptions_of_json(json::parse(run.out), files), ""};
    } catch (const std::exception& e) {
        return {{}, std::string("mvrl-worker printed no valid description (") + e.what() + ")"};
    }
}

LibraryDescription refused_after_failure(const std::string& file, const std::string& failure) {
    std::fprintf(stderr, "mvrl-run: %s while describing plugin library %s; it is refused\n", failure.c_str(),
                 file.c_str());
    return {{}, {failure + " while describing this library (loading it or reading its descriptor)"}, false};
}

// One mvrl-worker describes all the files; when it fails, each half is described again, down to
// single files, so that a crash names its library (a few more processes, not one per file).
std::map<std::string, LibraryDescription> describe_with_worker(const std::vector<std::string>& files,
                                                               const fs::path& worker) {
    if (files.empty()) return {};
    std::error_code ec;
    if (!fs::is_regular_file(worker, ec))
        throw std::runtime_error("cannot read plugin descriptors: no mvrl-worker at " + worker.string() +
                                 " (mvrl-run leaves loading plugin libraries, and libtorch, to it)");
    Describing all = run_describer(files, worker);
    if (all.failure.empty()) return all.libraries;
    if (files.size() == 1) return {{files[0], refused_after_failure(files[0], all.failure)}};
    std::fprintf(stderr, "mvrl-run: %s while describing %zu plugin libraries; describing them again in halves\n",
                 all.failure.c_str(), files.size());
    const auto middle = files.begin() + files.size() / 2;
    auto described = describe_with_worker({files.begin(), middle}, worker);
    described.merge(describe_with_worker({middle, files.end()}, worker));
    return described;
}

// Takes `library`'s description (it is stamped for `file`) from the cache while it holds: the same
// stamp, or else the same digest (a file touched, not changed; `restamped` is then set). False
// when the file must be described.
bool reuse_cached(const LibraryCache& cache, const std::string& key, const fs::path& file, CachedLibrary& library,
                  bool& restamped) {
    auto cached = cache.find(key);
    if (cached != cache.end() && same_stamp(cached->second, library)) {
        library = cached->second;
        return true;
    }
    library.sha256 = host::file_sha256(file);
    if (cached == cache.end() || cached->second.sha256 != library.sha256) return false;
    library.description = cached->second.description;
    restamped = true;
    return true;
}

// This call's libraries by absolute path, each from the cache while it holds, else described by
// mvrl-worker (all new or changed files in one process); the cache is updated.
LibraryCache current_descriptions(const std::vector<host::SearchPathEntry>& entries, const PluginScan& scan) {
    const fs::path cache_file = cache_file_of(scan);
    const std::string describer = describer_of(scan.worker);
    const LibraryCache cache = cache_file.empty() ? LibraryCache{} : read_cache(cache_file, describer);
    LibraryCache libraries;
    std::vector<std::string> to_describe;
    bool restamped = false;
    for (const auto& entry : entries) {
        if (!entry.exists) continue;
        const std::string key = fs::absolute(entry.path).string();
        CachedLibrary& library = libraries[key];
        stamp(library, entry.path);
        if (!reuse_cached(cache, key, entry.path, library, restamped)) to_describe.push_back(key);
    }
    for (auto& [key, description] : describe_with_worker(to_describe, scan.worker))
        libraries[key].description = std::move(description);
    if (!cache_file.empty() && (restamped || !to_describe.empty())) write_cache(cache_file, describer, libraries);
    return libraries;
}

}  // namespace

fs::path user_cache_dir() {
    if (const char* dir = std::getenv("MVRL_CACHE_DIR"); dir && *dir) return dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "mvrl";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "mvrl";
    return {};
}

host::PluginRegistry scan_plugins(const std::vector<fs::path>& search_path, const PluginScan& scan) {
    const auto entries = host::expand_search_path(search_path);
    const LibraryCache libraries = current_descriptions(entries, scan);
    host::PluginRegistry registry;
    for (const auto& entry : entries) {
        if (!entry.exists) {
            registry.refuse(entry.path, host::kMissingSearchPathEntry);
            continue;
        }
        const LibraryDescription& d = libraries.at(fs::absolute(entry.path).string()).description;
        for (const auto& record : d.plugins) {
            host::Plugin plugin = host::plugin_of(record);
            plugin.path = entry.path;  // as this call's search path names it
            registry.add_described(std::move(plugin));
        }
        for (const auto& reason : d.refusals) registry.refuse(entry.path, reason);
    }
    return registry;
}

}  // namespace mvrl::cli
