// The plugins an expansion's runs use, as the store records them (with the SHA-256 of each file
// and the parameter schema, so tables resolve later without loading plugins).
#pragma once

#include <vector>

#include "config/experiment.hpp"
#include "registry/plugin_registry.hpp"
#include "store.hpp"

namespace mvrl::host {

PluginRecord record_of(const Plugin& plugin);
std::vector<PluginRecord> records_of_plugins_used(const std::vector<PlannedRun>& runs, const PluginRegistry& registry);

// The reverse: a registry of described plugins from the store's records.
PluginRegistry registry_of_records(const std::vector<PluginRecord>& records);

}  // namespace mvrl::host
