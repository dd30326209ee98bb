// Reference values computed by the scripts in tests/fixtures/ (scikit-learn), read once per test
// binary. Needs FIXTURE_DIR.
#pragma once

#include <fstream>
#include <map>
#include <string>

#include <mvrl/params.hpp>

inline const mvrl::json& fixture(const std::string& file) {
    static std::map<std::string, mvrl::json> loaded;
    auto it = loaded.find(file);
    if (it == loaded.end()) it = loaded.emplace(file, mvrl::json::parse(std::ifstream(FIXTURE_DIR "/" + file))).first;
    return it->second;
}
