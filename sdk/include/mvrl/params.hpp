// mvrl/params.hpp — a plugin's parameter schema and the validation of a JSON parameter object
// against it. Header-only, no torch: the host uses the same code to check an experiment's
// parameters before it queues a single run.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mvrl {

using json = nlohmann::json;

// A bad parameter: unknown key, wrong type, out of range. Becomes MVRL_ERR_INVALID_ARGUMENT.
class ParamError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

enum class ParamType { Int, Float, Bool, String, IntList, FloatList };

inline const char* to_string(ParamType t) {
    switch (t) {
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::Bool: return "bool";
    case ParamType::String: return "string";
    case ParamType::IntList: return "int_list";
    case ParamType::FloatList: return "float_list";
    }
    return "?";
}

inline ParamType param_type_from_string(const std::string& s) {
    for (ParamType t : {ParamType::Int, ParamType::Float, ParamType::Bool, ParamType::String,
                        ParamType::IntList, ParamType::FloatList})
        if (s == to_string(t)) return t;
    throw ParamError("unknown parameter type '" + s +
                     "' in schema (expected int, float, bool, string, int_list or float_list)");
}

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::Float;
    json default_value;
    std::string doc;
    std::optional<double> min, max;     // numbers and list elements
    std::vector<std::string> choices;  // strings; empty = any
};

namespace detail {

inline size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

inline std::string describe_json_type(const json& v) {
    if (v.is_boolean()) return "bool";
    if (v.is_number_integer()) return "int";
    if (v.is_number()) return "float";
    if (v.is_string()) return "string";
    if (v.is_array()) return "list";
    if (v.is_object()) return "table";
    return "null";
}

inline bool is_number_of(ParamType element, const json& v) {
    if (element == ParamType::Int) return v.is_number_integer();
    return v.is_number() && !v.is_boolean();
}

}  // namespace detail

// The validated parameters of one plugin instance: every schema key present, with its default
// where the caller gave none.
class Params {
public:
    Params() = default;
    explicit Params(json values) : values_(std::move(values)) {}

    int64_t get_int(const std::string& key) const { return at(key).get<int64_t>(); }
    double get_float(const std::string& key) const { return at(key).get<double>(); }
    bool get_bool(const std::string& key) const { return at(key).get<bool>(); }
    std::string get_string(const std::string& key) const { return at(key).get<std::string>(); }
    std::vector<int64_t> get_int_list(const std::string& key) const {
        return at(key).get<std::vector<int64_t>>();
    }
    std::vector<double> get_float_list(const std::string& key) const {
        return at(key).get<std::vector<double>>();
    }
    const json& values() const { return values_; }

private:
    const json& at(const std::string& key) const {
        auto it = values_.find(key);
        if (it == values_.end())
            throw std::logic_error("plugin read parameter '" + key + "' missing from its schema");
        return *it;
    }
    json values_ = json::object();
};

class ParamSchema {
public:
    ParamSchema& add_int(std::string name, int64_t def, std::string doc,
                         std::optional<double> min = {}, std::optional<double> max = {}) {
        return add({std::move(name), ParamType::Int, def, std::move(doc), min, max, {}});
    }
    ParamSchema& add_float(std::string name, double def, std::string doc,
                           std::optional<double> min = {}, std::optional<double> max = {}) {
        return add({std::move(name), ParamType::Float, def, std::move(doc), min, max, {}});
    }
    ParamSchema& add_bool(std::string name, bool def, std::string doc) {
        return add({std::move(name), ParamType::Bool, def, std::move(doc), {}, {}, {}});
    }
    ParamSchema& add_string(std::string name, std::string def, std::string doc,
                            std::vector<std::string> choices = {}) {
        return add({std::move(name), ParamType::String, std::move(def), std::move(doc), {}, {},
                    std::move(choices)});
    }
    ParamSchema& add_int_list(std::string name, std::vector<int64_t> def, std::string doc,
                              std::optional<double> min = {}, std::optional<double> max = {}) {
        return add({std::move(name), ParamType::IntList, def, std::move(doc), min, max, {}});
    }
    ParamSchema& add_float_list(std::string name, std::vector<double> def, std::string doc,
                                std::optional<double> min = {}, std::optional<double> max = {}) {
        return add({std::move(name), ParamType::FloatList, def, std::move(doc), min, max, {}});
    }

    const std::vector<ParamSpec>& specs() const { return specs_; }

    const ParamSpec* find(const std::string& name) const {
        for (const auto& s : specs_)
            if (s.name == name) return &s;
        return nullptr;
    }

    // The schema as published in mvrl_plugin_info::params_schema_json.
    std::string to_json() const {
        json list = json::array();
        for (const auto& s : specs_) {
            json entry = {{"name", s.name}, {"type", to_string(s.type)},
                          {"default", s.default_value}, {"doc", s.doc}};
            if (s.min) entry["min"] = *s.min;
            if (s.max) entry["max"] = *s.max;
            if (!s.choices.empty()) entry["choices"] = s.choices;
            list.push_back(std::move(entry));
        }
        return list.dump();
    }

    // Reads a published schema back (the host's side). Throws ParamError on a malformed schema.
    static ParamSchema from_json(const std::string& text) {
        ParamSchema schema;
        json list = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (!list.is_array()) throw ParamError("parameter schema is not a JSON list");
        for (const auto& e : list) {
            if (!e.is_object() || !e.contains("name") || !e.contains("type"))
                throw ParamError("parameter schema entry lacks 'name' or 'type': " + e.dump());
            ParamSpec s;
            s.name = e.at("name").get<std::string>();
            s.type = param_type_from_string(e.at("type").get<std::string>());
            s.default_value = e.value("default", json());
            s.doc = e.value("doc", "");
            if (e.contains("min")) s.min = e.at("min").get<double>();
            if (e.contains("max")) s.max = e.at("max").get<double>();
            if (e.contains("choices")) s.choices = e.at("choices").get<std::vector<std::string>>();
            schema.specs_.push_back(std::move(s));
        }
        return schema;
    }

    // Validates a JSON object of parameters for `plugin` and fills in defaults. Every error names
    // the plugin and the key, and says what would be accepted.
    Params resolve(const std::string& params_json, const std::string& plugin) const {
        json given = params_json.empty() ? json::object()
                                         : json::parse(params_json, nullptr, false);
        if (given.is_discarded() || !given.is_object())
            throw ParamError("parameters of plugin '" + plugin + "' are not a JSON object");
        return resolve_object(given, plugin);
    }

    Params resolve_object(const json& given, const std::string& plugin) const {
        for (auto it = given.begin(); it != given.end(); ++it)
            if (!find(it.key())) throw ParamError(unknown_key_message(it.key(), plugin));
        json values = json::object();
        for (const auto& s : specs_) {
            auto it = given.find(s.name);
            const json& v = it == given.end() ? s.default_value : *it;
            check_value(s, v, plugin);
            // Ints given for a float parameter are stored as floats so get_float works on both.
            values[s.name] = s.type == ParamType::Float ? json(v.get<double>()) : v;
        }
        return Params(std::move(values));
    }

private:
    ParamSchema& add(ParamSpec spec) {
        if (find(spec.name)) throw std::logic_error("parameter '" + spec.name + "' declared twice");
        check_value(spec, spec.default_value, "(schema default)");
        specs_.push_back(std::move(spec));
        return *this;
    }

    std::string unknown_key_message(const std::string& key, const std::string& plugin) const {
        std::ostringstream msg;
        msg << "unknown parameter '" << key << "' for plugin '" << plugin << "'";
        const ParamSpec* closest = nullptr;
        size_t best = 3;  // suggest only near misses
        for (const auto& s : specs_) {
            size_t d = detail::edit_distance(key, s.name);
            if (d < best) best = d, closest = &s;
        }
        if (closest) msg << " (did you mean '" << closest->name << "'?)";
        msg << "; known parameters:";
        if (specs_.empty()) msg << " none";
        for (size_t i = 0; i < specs_.size(); ++i) msg << (i ? ", " : " ") << specs_[i].name;
        return msg.str();
    }

    static void check_value(const ParamSpec& s, const json& v, const std::string& plugin) {
        auto fail = [&](const std::string& why) {
            throw ParamError("parameter '" + s.name + "' of plugin '" + plugin + "': " + why);
        };
        auto wrong_type = [&] {
            fail(std::string("expected ") + to_string(s.type) + ", got " +
                 detail::describe_json_type(v) + " " + v.dump());
        };
        auto check_range = [&](double x) {
            if (std::isnan(x)) fail("value is NaN");
            if (s.min && x < *s.min) fail(json(x).dump() + " is below the minimum " + json(*s.min).dump());
            if (s.max && x > *s.max) fail(json(x).dump() + " is above the maximum " + json(*s.max).dump());
        };
        switch (s.type) {
        case ParamType::Int:
        case ParamType::Float:
            if (!detail::is_number_of(s.type, v) || v.is_boolean()) wrong_type();
            check_range(v.get<double>());
            break;
        case ParamType::Bool:
            if (!v.is_boolean()) wrong_type();
            break;
        case ParamType::String:
            if (!v.is_string()) wrong_type();
            if (!s.choices.empty() &&
                std::find(s.choices.begin(), s.choices.end(), v.get<std::string>()) ==
                    s.choices.end()) {
                std::string allowed;
                for (const auto& c : s.choices) allowed += (allowed.empty() ? "" : ", ") + c;
                fail(v.dump() + " is not one of: " + allowed);
            }
            break;
        case ParamType::IntList:
        case ParamType::FloatList: {
            ParamType element = s.type == ParamType::IntList ? ParamType::Int : ParamType::Float;
            if (!v.is_array()) wrong_type();
            for (const auto& x : v) {
                if (!detail::is_number_of(element, x) || x.is_boolean()) wrong_type();
                check_range(x.get<double>());
            }
            break;
        }
        }
    }

    std::vector<ParamSpec> specs_;
};

}  // namespace mvrl
