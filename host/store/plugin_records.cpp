#include "plugin_records.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

namespace mvrl::host {

std::string file_sha256(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return sha256_hex(bytes);
}

PluginRecord record_of(const Plugin& p) {
    return {p.name, kind_name(p.kind), p.version, std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor),
            p.path.string(), file_sha256(p.path), p.torch_version, p.params_schema_json, p.description};
}

std::set<std::pair<std::string, std::string>> plugin_versions_used(const std::vector<PlannedRun>& runs) {
    std::set<std::pair<std::string, std::string>> used;
    for (const auto& r : runs) {
        const json& c = r.config;
        // A config resolved against a registry always has each version; "" where one does not.
        for (const char* section : {"dataset", "model"}) used.emplace(c.at(section).at("plugin"), c.at(section).value("version", ""));
        for (const auto& e : c.at("evaluate")) used.emplace(e.at("metric"), e.value("version", ""));
        for (const auto& e : c.value("estimate", json::array())) used.emplace(e.at("estimator"), e.value("version", ""));
    }
    return used;
}

std::vector<PluginRecord> records_of_plugins_used(const std::vector<PlannedRun>& runs, const PluginRegistry& registry) {
    std::set<std::string> names;
    for (const auto& [name, version] : plugin_versions_used(runs)) names.insert(name);
    std::vector<PluginRecord> records;
    for (const auto& name : names) {
        if (const Plugin* p = registry.find(name)) records.push_back(record_of(*p));
    }
    return records;
}

Plugin plugin_of(const PluginRecord& r) {
    Plugin p;
    p.name = r.name;
    p.kind = static_cast<mvrl_kind>(kind_from_name(r.kind));
    p.version = r.version;
    p.description = r.description;
    p.params_schema_json = r.params_schema;
    p.torch_version = r.torch_version;
    p.path = r.path;
    if (std::sscanf(r.abi.c_str(), "%u.%u", &p.abi_major, &p.abi_minor) != 2) p.abi_major = p.abi_minor = 0;
    return p;
}

PluginRegistry registry_of_records(const std::vector<PluginRecord>& records) {
    PluginRegistry registry;
    for (const auto& r : records) registry.add_described(plugin_of(r));
    return registry;
}

json json_of(const PluginRecord& r) {
    return {{"name", r.name},     {"kind", r.kind},     {"version", r.version},
            {"abi", r.abi},       {"path", r.path},     {"sha256", r.sha256},
            {"torch_version", r.torch_version}, {"params_schema", r.params_schema},
            {"description", r.description}};
}

PluginRecord record_of_json(const json& j) {
    return {j.at("name"), j.at("kind"), j.at("version"), j.at("abi"), j.at("path"),
            j.at("sha256"), j.at("torch_version"), j.at("params_schema"), j.at("description")};
}

json describe_libraries(const std::vector<std::filesystem::path>& search_path) {
    json plugins = json::array(), refusals = json::array();
    for (const auto& entry : expand_search_path(search_path)) {
        PluginRegistry one;
        entry.exists ? one.load_library(entry.path) : one.refuse(entry.path, kMissingSearchPathEntry);
        for (const auto& p : one.plugins()) plugins.push_back(json_of(record_of(p)));
        for (const auto& r : one.refusals()) refusals.push_back({{"path", r.path.string()}, {"reason", r.reason}});
    }
    return {{"plugins", plugins}, {"refusals", refusals}};
}

}  // namespace mvrl::host
