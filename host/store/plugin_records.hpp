// The plugins an expansion's runs use, as the store records them (with the SHA-256 of each file
// and the parameter schema, so tables resolve later without loading plugins), and the same
// records as JSON: how mvrl-worker describes plugin libraries to mvrl-run.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/experiment.hpp"
#include "registry/plugin_registry.hpp"
#include "store.hpp"

namespace mvrl::host {

std::string file_sha256(const std::filesystem::path& path);

PluginRecord record_of(const Plugin& plugin);
// (name, version) of each plugin the runs' resolved configs name: dataset, model, metrics, estimators.
std::set<std::pair<std::string, std::string>> plugin_versions_used(const std::vector<PlannedRun>& runs);
std::vector<PluginRecord> records_of_plugins_used(const std::vector<PlannedRun>& runs, const PluginRegistry& registry);

// The reverse: a described plugin (known, not callable), and a registry of them.
Plugin plugin_of(const PluginRecord& record);
PluginRegistry registry_of_records(const std::vector<PluginRecord>& records);

json json_of(const PluginRecord& record);
PluginRecord record_of_json(const json& j);  // throws json::exception when a field is missing

// `mvrl-worker --describe-plugins`: every library of the search path loaded in a registry of its
// own, so that what is said of a file depends on the file alone (mvrl-run caches it by the file's
// digest, and refuses a name that an earlier library took when it assembles its registry):
//   {"plugins": [record, ...], "refusals": [{"path": ..., "reason": ...}, ...]}
json describe_libraries(const std::vector<std::filesystem::path>& search_path);

}  // namespace mvrl::host
