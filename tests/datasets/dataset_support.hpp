// What the dataset tests share: a plugin's load() and info() through the C ABI (as the host calls
// them), and a check that `mvrl-run plugins --describe NAME` lists every parameter of its schema.
// Needs PLUGIN_DIR and MVRL_RUN.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

namespace dataset_test {

inline mvrl::TensorMap load(const std::string& plugin, const std::string& params, const std::string& cache_dir = "") {
    mvrl::host::HostContext ctx("cpu", 0, 0, cache_dir);
    mvrl::host::DatasetHandle dataset(built_plugins().require(plugin, MVRL_KIND_DATASET), params, ctx);
    return dataset.load();
}

// info() after load(), as the host asks for it.
inline mvrl::json info(const std::string& plugin, const std::string& params) {
    mvrl::host::HostContext ctx("cpu", 0);
    mvrl::host::DatasetHandle dataset(built_plugins().require(plugin, MVRL_KIND_DATASET), params, ctx);
    dataset.load();
    return dataset.info();
}

// The message of the error that opening + loading gives (fails the test when there is none).
inline std::string error_of(const std::string& plugin, const std::string& params) {
    try {
        load(plugin, params);
    } catch (const mvrl::host::PluginCallError& e) {
        return e.what();
    }
    ADD_FAILURE() << plugin << " " << params << ": expected an error";
    return "";
}

inline std::string output_of(const std::string& command) {
    std::string out;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    pclose(pipe);
    return out;
}

// Every parameter of the plugin's published schema is a row "  NAME  TYPE ..." of --describe.
inline void expect_describe_lists_every_parameter(const std::string& plugin) {
    const std::string out = output_of(std::string(MVRL_RUN) + " --plugin-path " + PLUGIN_DIR + " plugins --describe " + plugin);
    EXPECT_NE(out.find(plugin + " "), std::string::npos) << out;
    auto schema = mvrl::ParamSchema::from_json(built_plugins().require(plugin, MVRL_KIND_DATASET).params_schema_json);
    ASSERT_FALSE(schema.specs().empty());
    for (const auto& spec : schema.specs()) {
        std::regex row("\n  " + spec.name + " +" + mvrl::to_string(spec.type) + " ");
        EXPECT_TRUE(std::regex_search(out, row)) << "--describe " << plugin << " lacks parameter " << spec.name << ":\n" << out;
    }
}

}  // namespace dataset_test
