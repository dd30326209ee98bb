#include "plugin_records.hpp"

#include <fstream>
#include <iterator>
#include <set>

namespace mvrl::host {

namespace {

std::string file_sha256(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return sha256_hex(bytes);
}

}  // namespace

PluginRecord record_of(const Plugin& p) {
    return {p.name, kind_name(p.kind), p.version, std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor),
            p.path.string(), file_sha256(p.path), p.torch_version, p.params_schema_json};
}

std::vector<PluginRecord> records_of_plugins_used(const std::vector<PlannedRun>& runs, const PluginRegistry& registry) {
    std::set<std::string> names;
    for (const auto& r : runs) {
        names.insert(r.config["dataset"]["plugin"]);
        names.insert(r.config["model"]["plugin"]);
        for (const auto& e : r.config["evaluate"]) names.insert(e["metric"]);
        for (const auto& e : r.config.value("estimate", json::array())) names.insert(e["estimator"]);
    }
    std::vector<PluginRecord> records;
    for (const auto& name : names) {
        if (const Plugin* p = registry.find(name)) records.push_back(record_of(*p));
    }
    return records;
}

PluginRegistry registry_of_records(const std::vector<PluginRecord>& records) {
    PluginRegistry registry;
    for (const auto& r : records) {
        Plugin p;
        p.name = r.name;
        p.kind = static_cast<mvrl_kind>(kind_from_name(r.kind));
        p.version = r.version;
        p.params_schema_json = r.params_schema;
        p.torch_version = r.torch_version;
        p.path = r.path;
        registry.add_described(std::move(p));
    }
    return registry;
}

}  // namespace mvrl::host
