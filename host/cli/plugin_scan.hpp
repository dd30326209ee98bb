// mvrl-run's plugin registry, built without loading a plugin library into mvrl-run (the torch
// plugins would bring libtorch, hundreds of MB): mvrl-worker describes the libraries, and the
// descriptions are cached, each checked against the SHA-256 of its file, so that a later call
// starts mvrl-worker only for new or changed files.
#pragma once

#include <filesystem>
#include <vector>

#include "registry/plugin_registry.hpp"

namespace mvrl::cli {

namespace fs = std::filesystem;

// Where mvrl-run keeps caches: $MVRL_CACHE_DIR, else $XDG_CACHE_HOME/mvrl, else ~/.cache/mvrl;
// empty when none of these variables is set.
fs::path user_cache_dir();

struct PluginScan {
    fs::path worker;     // the mvrl-worker that describes libraries
    fs::path cache_dir;  // empty: no cache, every library described on every call
};

// The same plugins and refusals, in the same order, as PluginRegistry::load(search_path) in this
// process would give; the plugins are described, not callable. A library whose description
// crashes mvrl-worker is refused with the signal, and a warning names it.
host::PluginRegistry scan_plugins(const std::vector<fs::path>& search_path, const PluginScan& scan);

}  // namespace mvrl::cli
