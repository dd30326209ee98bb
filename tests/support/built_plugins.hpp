// The plugins of this build (build/plugins), loaded once per test binary. Needs PLUGIN_DIR.
#pragma once

#include "registry/plugin_registry.hpp"

inline const mvrl::host::PluginRegistry& built_plugins() {
    static const mvrl::host::PluginRegistry registry = [] {
        mvrl::host::PluginRegistry loaded;
        loaded.load({PLUGIN_DIR});
        return loaded;
    }();
    return registry;
}
