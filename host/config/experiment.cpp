#include "experiment.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "registry/plugin_registry.hpp"

namespace mvrl::host {

namespace {

// ---- TOML reading with positions ----

class Reader {
public:
    explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
        std::ostringstream out;
        out << file_.string();
        if (where.begin.line) out << ":" << where.begin.line << ":" << where.begin.column;
        out << ": " << message;
        throw ConfigError(out.str());
    }
    [[noreturn]] void fail(const std::string& message) const { throw ConfigError(file_.string() + ": " + message); }

    // Unknown keys are errors, with the nearest known key suggested.
    void check_keys(const toml::table& t, const std::string& section, std::initializer_list<const char*> known) const {
        for (auto&& [key, node] : t) {
            bool ok = false;
            for (const char* k : known) ok = ok || key.str() == k;
            if (ok) continue;
            std::string message = "unknown key '" + std::string(key.str()) + "' in " + section;
            const char* best = nullptr;
            size_t best_distance = 3;
            for (const char* k : known) {
                size_t d = mvrl::detail::edit_distance(std::string(key.str()), k);
                if (d < best_distance) best_distance = d, best = k;
            }
            if (best) message += " (did you mean '" + std::string(best) + "'?)";
            message += "; known keys:";
            for (const char* k : known) message += std::string(" ") + k;
            fail(key.source(), message);
        }
    }

    const toml::table& require_table(const toml::table& parent, const char* key, const std::string& section) const {
        const toml::node* node = parent.get(key);
        if (!node) fail("missing section " + section);
        if (!node->is_table()) fail(node->source(), section + " must be a table");
        return *node->as_table();
    }

    std::string require_string(const toml::table& t, const char* key, const std::string& section) const {
        const toml::node* node = t.get(key);
        if (!node) fail(t.source(), "missing key '" + std::string(key) + "' in " + section);
        if (!node->is_string()) fail(node->source(), section + "." + key + " must be a string");
        return std::string(node->as_string()->get());
    }

    std::string optional_string(const toml::table& t, const char* key, const std::string& section,
                                const std::string& fallback) const {
        return t.get(key) ? require_string(t, key, section) : fallback;
    }

    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
};

json to_json(const toml::node& node) {
    if (auto* t = node.as_table()) {
        json out = json::object();
        for (auto&& [k, v] : *t) out[std::string(k.str())] = to_json(v);
        return out;
    }
    if (auto* a = node.as_array()) {
        json out = json::array();
        for (auto&& v : *a) out.push_back(to_json(v));
        return out;
    }
    if (auto* s = node.as_string()) return s->get();
    if (auto* i = node.as_integer()) return i->get();
    if (auto* f = node.as_floating_point()) return f->get();
    if (auto* b = node.as_boolean()) return b->get();
    std::ostringstream text;  // dates and times: as written
    node.visit([&](const auto& value) { text << value; });
    return text.str();
}

// --set a.b.c=value: the value is TOML when it parses as TOML, a plain string otherwise.
void apply_override(toml::table& root, const std::string& assignment, const Reader& reader) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        reader.fail("--set '" + assignment + "': expected key=value, e.g. --set model.params.lr=0.001");
    std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    toml::table parsed;
    try {
        parsed = toml::parse("v = " + text);
    } catch (const toml::parse_error&) {
        parsed.insert_or_assign("v", text);
    }
    toml::table* table = &root;
    std::stringstream parts(key);
    std::vector<std::string> path;
    for (std::string part; std::getline(parts, part, '.');) path.push_back(part);
    for (size_t i = 0; i + 1 < path.size(); ++i) {
        toml::node* next = table->get(path[i]);
        if (!next) {
            table->insert_or_assign(path[i], toml::table{});
            next = table->get(path[i]);
        }
        if (!next->is_table()) reader.fail("--set " + key + ": '" + path[i] + "' is not a table in the file");
        table = next->as_table();
    }
    table->insert_or_assign(path.back(), *parsed.get("v"));
}

constexpr const char* kOverridableSections = "dataset, model or train";

void check_override_key(const std::string& key, const toml::source_region& where, const Reader& reader) {
    auto dot = key.find('.');
    std::string head = key.substr(0, dot);
    if (dot == std::string::npos || (head != "dataset" && head != "model" && head != "train"))
        reader.fail(where, "'" + key + "' is not a dotted key under " + kOverridableSections +
                               " (e.g. \"model.params.lr\")");
}

json read_plugin_section(const toml::table& t, const std::string& section, const Reader& reader) {
    reader.check_keys(t, section, {"plugin", "params"});
    json out = {{"plugin", reader.require_string(t, "plugin", section)}, {"params", json::object()}};
    if (const toml::node* params = t.get("params")) {
        if (!params->is_table()) reader.fail(params->source(), section + ".params must be a table");
        out["params"] = to_json(*params);
    }
    return out;
}

// [train] split, split_seed and rows: the supervised protocol (runner/stratified_split.hpp). No
// defaults are filled in, so that runs planned before these keys existed keep their run keys.
void check_supervised_protocol(const json& train, const std::string& where, const Reader& reader) {
    if (train.contains("split")) {
        const json& split = train["split"];
        bool ok = split.is_array() && (split.size() == 2 || split.size() == 3);
        double sum = 0;
        for (const auto& f : ok ? split : json::array()) {
            ok = ok && f.is_number() && f.get<double>() >= 0;
            if (ok) sum += f.get<double>();
        }
        if (!ok || std::abs(sum - 1.0) > 1e-6 || split[0].get<double>() <= 0 || split[1].get<double>() <= 0)
            reader.fail(where + ": train.split must be [train, test] or [train, test, validation] fractions that sum to 1, "
                        "with some training and some test rows (e.g. [0.7, 0.2, 0.1]), got " + split.dump());
    }
    if (train.contains("split_seed") && (!train["split_seed"].is_number_integer() || train["split_seed"].get<int64_t>() < 0))
        reader.fail(where + ": train.split_seed must be a non-negative integer, got " + train["split_seed"].dump());
    if (train.contains("split_seed") && !train.contains("split"))
        reader.fail(where + ": train.split_seed is set without train.split (the fractions it would draw)");
    if (train.contains("rows") && train["rows"] != "train" && train["rows"] != "all")
        reader.fail(where + ": train.rows must be \"train\" (train on the split's training rows only: test and "
                    "validation rows and their labels never reach the model's training) or \"all\", got " + train["rows"].dump());
}

// [train] missing_view, missing_share and missing_seed: the missing-modality protocol
// (runner/missing_view.hpp). Like the supervised protocol's keys, no defaults are filled in.
void check_missing_protocol(const json& train, const std::string& where, const Reader& reader) {
    const bool view = train.contains("missing_view"), share = train.contains("missing_share");
    if (view && (!train["missing_view"].is_number_integer() || train["missing_view"].get<int64_t>() < 0))
        reader.fail(where + ": train.missing_view must be the index of the view to drop (0, 1, ...), got " + train["missing_view"].dump());
    if (share && (!train["missing_share"].is_number() || !(train["missing_share"].get<double>() > 0) ||
                  !(train["missing_share"].get<double>() < 1)))
        reader.fail(where + ": train.missing_share must be the share of samples that lose the view, above 0 and below 1 "
                    "(e.g. 0.5), got " + train["missing_share"].dump());
    if (view != share)
        reader.fail(where + ": train.missing_view and train.missing_share go together (which view is dropped, and from what "
                    "share of the samples); set both or neither");
    if (train.contains("missing_seed") && (!train["missing_seed"].is_number_integer() || train["missing_seed"].get<int64_t>() < 0))
        reader.fail(where + ": train.missing_seed must be a non-negative integer, got " + train["missing_seed"].dump());
    if (train.contains("missing_seed") && !view)
        reader.fail(where + ": train.missing_seed is set without train.missing_view and train.missing_share (the draw it seeds)");
}

// [train]: the host's loop settings, with defaults. Checked again after overrides.
void check_train(json& train, const std::string& where, const Reader& reader) {
    auto need_int = [&](const char* key, int64_t def, int64_t min) {
        if (!train.contains(key)) train[key] = def;
        if (!train[key].is_number_integer() || train[key].get<int64_t>() < min)
            reader.fail(where + ": train." + key + " must be an integer >= " + std::to_string(min) + ", got " +
                        train[key].dump());
    };
    need_int("batch_size", 256, 1);
    need_int("eval_batch_size", 4096, 1);
    need_int("threads", 0, 0);
    need_int("checkpoint_every", 0, 0);
    if (!train.contains("shuffle")) train["shuffle"] = true;
    if (!train["shuffle"].is_boolean()) reader.fail(where + ": train.shuffle must be true or false");
    check_supervised_protocol(train, where, reader);
    check_missing_protocol(train, where, reader);
    static const std::set<std::string> known = {"batch_size", "checkpoint_every", "eval_batch_size", "missing_seed", "missing_share",
                                                "missing_view", "rows", "shuffle", "split", "split_seed", "threads"};
    for (auto it = train.begin(); it != train.end(); ++it)
        if (!known.count(it.key()))
            reader.fail(where + ": unknown key 'train." + it.key() + "'; known keys: batch_size checkpoint_every "
                        "eval_batch_size missing_seed missing_share missing_view rows shuffle split split_seed threads");
}

std::vector<std::string> string_list(const toml::node& node, const std::string& what, const Reader& reader) {
    std::vector<std::string> out;
    if (node.is_string()) return {std::string(node.as_string()->get())};
    if (!node.is_array()) reader.fail(node.source(), what + " must be a string or a list of strings");
    for (auto&& v : *node.as_array()) {
        if (!v.is_string()) reader.fail(v.source(), what + " must hold strings");
        out.emplace_back(v.as_string()->get());
    }
    return out;
}

// `models` of an [[evaluate]] or [[estimate]] entry: only runs of these model plugins get the entry
// (an experiment that compares models whose representations differ, e.g. CONAN's `cluster`
// against raw's `concat`).
void read_models_filter(const toml::table& t, const std::string& section, json& entry, const Reader& reader) {
    const toml::node* models = t.get("models");
    if (!models) return;
    entry["models"] = string_list(*models, section + " models", reader);
    if (entry["models"].empty()) reader.fail(models->source(), section + " models is empty: the entry would apply to no run");
}

json read_evaluate(const toml::table& t, const Reader& reader) {
    reader.check_keys(t, "[[evaluate]]", {"representation", "metric", "label", "params", "models", "samples"});
    json entry = {{"representation", reader.require_string(t, "representation", "[[evaluate]]")},
                  {"metric", reader.require_string(t, "metric", "[[evaluate]]")},
                  {"label", reader.optional_string(t, "label", "[[evaluate]]", "label")},
                  {"params", t.get("params") ? to_json(*t.get("params")) : json::object()}};
    read_models_filter(t, "[[evaluate]]", entry, reader);
    // samples: how many rows the model generates from, for representation = "generations" only
    // (host/runner/generated_views.hpp); absent, the host takes 1,000.
    if (const toml::node* samples = t.get("samples")) {
        if (entry["representation"] != "generations")
            reader.fail(samples->source(), "[[evaluate]] samples is for representation = \"generations\" (the rows a model generates from)");
        const auto value = samples->value<int64_t>();
        if (!samples->is_integer() || !value || *value < 1)
            reader.fail(samples->source(), "[[evaluate]] samples must be a whole number ≥ 1 (the rows a model generates from)");
        entry["samples"] = *value;
    }
    return entry;
}

// An estimator between representations x and y; stored as representation "x;y" (store.hpp), so
// neither name may hold the ';' that separates them.
json read_estimate(const toml::table& t, const Reader& reader) {
    reader.check_keys(t, "[[estimate]]", {"x", "y", "estimator", "params", "models"});
    json entry = {{"estimator", reader.require_string(t, "estimator", "[[estimate]]")}, {"params", json::object()}};
    for (const char* key : {"x", "y"}) {
        const std::string name = reader.require_string(t, key, "[[estimate]]");
        if (name.empty() || name.find(';') != std::string::npos)
            reader.fail(t.get(key)->source(), std::string("[[estimate]] ") + key + " = \"" + name +
                                                  "\" must name one representation the model gives (no ';')");
        entry[key] = name;
    }
    if (const toml::node* params = t.get("params")) {
        if (!params->is_table()) reader.fail(params->source(), "[[estimate]] params must be a table");
        entry["params"] = to_json(*params);
    }
    read_models_filter(t, "[[estimate]]", entry, reader);
    return entry;
}

std::string describe_estimate(const json& entry) {
    return "[[estimate]] x = \"" + entry["x"].get<std::string>() + "\", y = \"" + entry["y"].get<std::string>() +
           "\", estimator = \"" + entry["estimator"].get<std::string>() + "\"";
}

// The entries that apply to runs of `model`; `models` itself is not part of the run.
json entries_for_model(const json& entries, const json& model) {
    json out = json::array();
    for (json entry : entries) {
        if (entry.contains("models")) {
            const json& models = entry["models"];
            if (std::find(models.begin(), models.end(), model) == models.end()) continue;
            entry.erase("models");
        }
        out.push_back(std::move(entry));
    }
    return out;
}

double read_number(const toml::node& node, const std::string& what, const Reader& reader) {
    if (!node.is_number()) reader.fail(node.source(), what + " must be a number");
    return node.is_integer() ? double(node.as_integer()->get()) : node.as_floating_point()->get();
}

// Table rows, line-figure lines and curve groups: "ablation", "dataset", "seed" or a dotted key.
void check_row_key(const std::string& row, const std::string& what, const toml::node& node, const Reader& reader) {
    const auto dot = row.find('.');
    const std::string head = row.substr(0, dot);
    const bool dotted = dot != std::string::npos && (head == "dataset" || head == "model" || head == "train");
    if (row != "ablation" && row != "dataset" && row != "seed" && !dotted)
        reader.fail(node.source(), what + ": '" + row + "' is not a row key; use "
                    "\"ablation\" (the variant's label), \"dataset\", \"seed\" or a dotted key under dataset, model or "
                    "train (e.g. \"model.params.lr\")");
}

TableSpec read_table(const toml::table& t, const Reader& reader) {
    reader.check_keys(t, "[[table]]", {"name", "rows", "columns", "headers", "lower_is_better", "scale", "digits", "select", "published"});
    TableSpec spec;
    spec.name = reader.require_string(t, "name", "[[table]]");
    spec.rows = t.get("rows") ? string_list(*t.get("rows"), "[[table]] rows", reader) : std::vector<std::string>{"ablation"};
    for (auto& row : spec.rows) {
        if (row == "variant") row = "ablation";  // the header the table shows for it
        check_row_key(row, "[[table]] '" + spec.name + "' rows", *t.get("rows"), reader);
    }
    if (!t.get("columns")) reader.fail(t.source(), "[[table]] '" + spec.name + "' needs columns");
    spec.columns = string_list(*t.get("columns"), "[[table]] columns", reader);
    for (const auto& c : spec.columns)
        if (auto problem = column_spec_problem(c); !problem.empty()) reader.fail(t.get("columns")->source(), problem);
    if (const toml::node* headers = t.get("headers")) {
        spec.headers = string_list(*headers, "[[table]] headers", reader);
        if (spec.headers.size() != spec.columns.size())
            reader.fail(headers->source(), "[[table]] '" + spec.name + "' has " + std::to_string(spec.headers.size()) + " headers for " +
                                               std::to_string(spec.columns.size()) + " columns (one per column, in order)");
    }
    if (t.get("lower_is_better")) spec.lower_is_better = string_list(*t.get("lower_is_better"), "lower_is_better", reader);
    if (auto* s = t.get("scale")) spec.scale = read_number(*s, "[[table]] scale", reader);
    if (auto* d = t.get("digits")) {
        if (!d->is_integer() || d->as_integer()->get() < 0 || d->as_integer()->get() > 12)
            reader.fail(d->source(), "[[table]] digits must be an integer from 0 to 12");
        spec.digits = int(d->as_integer()->get());
    }
    if (auto* s = t.get("select")) {
        if (!s->is_string()) reader.fail(s->source(), "[[table]] select must be a string such as \"min:loss\"");
        std::string text(s->as_string()->get());
        auto colon = text.find(':');
        std::string direction = text.substr(0, colon), criterion = colon == std::string::npos ? "" : text.substr(colon + 1);
        const bool by_loss = direction == "min" && criterion == "loss";
        const bool by_column = (direction == "min" || direction == "max") && column_spec_problem(criterion).empty();
        if (!by_loss && !by_column)
            reader.fail(s->source(), "[[table]] select = \"" + text + "\" is not supported; use \"min:loss\" (per row, "
                                     "the run with the lowest final training loss, as CONAN's protocol picks one of its "
                                     "seeds) or \"max:<column>\" / \"min:<column>\" (the run with the best value of a "
                                     "column, e.g. \"max:metric:prediction.val_ACC\": model selection on validation rows)");
        spec.select = text;
    }
    if (auto* p = t.get("published")) {
        if (!p->is_array_of_tables()) reader.fail(p->source(), "published must be a list of {label, values} tables");
        for (auto&& row : *p->as_array()) {
            const toml::table& r = *row.as_table();
            reader.check_keys(r, "published row", {"label", "values"});
            PublishedRow out;
            out.label = reader.require_string(r, "label", "published row");
            const toml::node* values = r.get("values");
            if (!values || !values->is_array()) reader.fail(r.source(), "published row needs values = [...]");
            for (auto&& v : *values->as_array()) {
                if (!v.is_number()) reader.fail(v.source(), "published values must be numbers (nan for none)");
                double x = v.is_integer() ? double(v.as_integer()->get()) : v.as_floating_point()->get();
                out.values.push_back(std::isnan(x) ? std::nullopt : std::optional<double>(x));
            }
            if (out.values.size() != spec.columns.size())
                reader.fail(values->source(), "published row '" + out.label + "' has " + std::to_string(out.values.size()) +
                                                  " values for " + std::to_string(spec.columns.size()) + " columns");
            spec.published.push_back(std::move(out));
        }
    }
    return spec;
}

// A swept key a figure draws along: it must be one of [sweep]'s keys.
std::string read_grid_key(const toml::table& t, const char* key, const std::string& figure,
                          const std::vector<std::pair<std::string, std::vector<json>>>& grid, const Reader& reader) {
    std::string value = reader.require_string(t, key, figure);
    std::string swept;
    for (const auto& [k, values] : grid) {
        if (k == value) return value;
        swept += (swept.empty() ? "" : ", ") + ("\"" + k + "\"");
    }
    reader.fail(t.get(key)->source(), figure + " " + key + " = \"" + value + "\" is not a swept key; " +
                                          (swept.empty() ? std::string("the experiment has no [sweep]")
                                                         : "the [sweep] keys: " + swept));
}

FigureSpec read_figure(const toml::table& t, const std::vector<std::pair<std::string, std::vector<json>>>& grid,
                       const Reader& reader) {
    FigureSpec f;
    f.name = reader.require_string(t, "name", "[[figure]]");
    f.kind = reader.require_string(t, "kind", "[[figure]]");
    f.line = int(t.source().begin.line);
    const std::string what = "[[figure]] '" + f.name + "'";
    if (f.kind == "line") {
        reader.check_keys(t, what + " (line)", {"name", "kind", "x", "y", "lines", "scale"});
        f.x = read_grid_key(t, "x", what, grid, reader);
        f.y = reader.require_string(t, "y", what);
        if (auto problem = column_spec_problem(f.y); !problem.empty()) reader.fail(t.get("y")->source(), what + " y: " + problem);
        f.lines = reader.optional_string(t, "lines", what, "ablation");
        if (f.lines == "variant") f.lines = "ablation";
        if (t.get("lines")) check_row_key(f.lines, what + " lines", *t.get("lines"), reader);
    } else if (f.kind == "heatmap") {
        reader.check_keys(t, what + " (heatmap)", {"name", "kind", "x", "y", "column", "scale"});
        f.x = read_grid_key(t, "x", what, grid, reader);
        f.y = read_grid_key(t, "y", what, grid, reader);
        if (f.x == f.y) reader.fail(t.get("y")->source(), what + ": x and y are both \"" + f.x + "\"; a heatmap needs two swept keys");
        f.column = reader.require_string(t, "column", what);
        if (auto problem = column_spec_problem(f.column); !problem.empty()) reader.fail(t.get("column")->source(), what + " column: " + problem);
    } else if (f.kind == "curves") {
        reader.check_keys(t, what + " (curves)", {"name", "kind", "losses", "stage", "by"});
        if (t.get("losses")) f.losses = string_list(*t.get("losses"), what + " losses", reader);
        f.stage = reader.optional_string(t, "stage", what, "");
        f.by = reader.optional_string(t, "by", what, "ablation");
        if (f.by == "variant") f.by = "ablation";
        if (t.get("by")) check_row_key(f.by, what + " by", *t.get("by"), reader);
    } else if (f.kind == "embedding") {
        reader.check_keys(t, what + " (embedding)", {"name", "kind", "representation", "label", "method", "cap"});
        f.representation = reader.require_string(t, "representation", what);
        f.label = reader.optional_string(t, "label", what, "label");
        f.method = reader.optional_string(t, "method", what, "pca");
        if (f.method != "pca" && f.method != "tsne")
            reader.fail(t.get("method")->source(), what + " method = \"" + f.method + "\": use \"pca\" or \"tsne\"");
        if (const toml::node* cap = t.get("cap")) {
            const int64_t limit = f.method == "tsne" ? kMaxTsneSamples : kMaxEmbeddingSamples;
            if (!cap->is_integer() || cap->as_integer()->get() < 2 || cap->as_integer()->get() > limit)
                reader.fail(cap->source(), what + " cap must be an integer from 2 to " + std::to_string(limit) + " for " + f.method);
            f.cap = cap->as_integer()->get();
        }
    } else {
        reader.fail(t.get("kind")->source(), what + " kind = \"" + f.kind + "\": use \"line\", \"heatmap\", \"curves\" or \"embedding\"");
    }
    if (const toml::node* scale = t.get("scale")) f.scale = read_number(*scale, what + " scale", reader);
    return f;
}

std::vector<json> cartesian(const std::vector<std::pair<std::string, std::vector<json>>>& grid) {
    std::vector<json> points = {json::object()};
    for (const auto& [key, values] : grid) {
        std::vector<json> next;
        for (const auto& p : points)
            for (const auto& v : values) {
                json q = p;
                q[key] = v;
                next.push_back(std::move(q));
            }
        points = std::move(next);
    }
    return points;
}

// Validates a plugin section of a run's config against the plugin's schema: fills defaults and
// records the plugin's version. Schemas are parsed once per expansion, not once per run.
class PluginResolver {
public:
    explicit PluginResolver(const PluginRegistry& registry) : registry_(registry) {}

    void resolve(json& section, mvrl_kind kind) {
        const Plugin& plugin = registry_.require(section.at("plugin").get<std::string>(), kind);
        auto it = schemas_.find(plugin.name);
        if (it == schemas_.end()) it = schemas_.emplace(plugin.name, ParamSchema::from_json(plugin.params_schema_json)).first;
        if (!section.contains("params")) section["params"] = json::object();
        section["params"] = it->second.resolve_object(section["params"], plugin.name).values();
        section["version"] = plugin.version;
    }

    // An [[evaluate]] or [[estimate]] entry whose plugin is named by entry[plugin_key]: its params
    // resolved in place and the plugin's version added.
    void resolve_entry(json& entry, const char* plugin_key, mvrl_kind kind) {
        json section = {{"plugin", entry[plugin_key]}, {"params", entry["params"]}};
        resolve(section, kind);
        entry["params"] = section["params"];
        entry["version"] = section["version"];
    }

private:
    const PluginRegistry& registry_;
    std::map<std::string, ParamSchema> schemas_;
};

// Each estimate's params resolved against its estimator's schema. Two entries of one run with the
// same x, y and estimator would write the same metric rows, so they are refused.
void resolve_estimates(json& estimates, PluginResolver& resolver, const std::string& where, const Reader& reader) {
    std::set<std::string> seen;
    for (auto& estimate : estimates) {
        const std::string what = describe_estimate(estimate);
        try {
            resolver.resolve_entry(estimate, "estimator", MVRL_KIND_ESTIMATOR);
        } catch (const std::exception& error) {
            reader.fail(where + ": " + what + ": " + error.what());
        }
        if (!seen.insert(estimate["x"].dump() + estimate["y"].dump() + estimate["estimator"].dump()).second)
            reader.fail(where + ": " + what + " appears twice: both would record the same rows; give one of them other "
                        "representations or use `models` to apply each to other models");
    }
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += hex[digest[i] >> 4], out += hex[digest[i] & 15];
    return out;
}

// How often a run checkpoints does not change what it computes (a resumed run equals an
// uninterrupted one), so it is not part of the identity.
std::string run_key_of(const json& resolved_config) {
    json identity = resolved_config;
    if (identity.contains("train") && identity["train"].is_object()) identity["train"].erase("checkpoint_every");
    return sha256_hex(identity.dump());
}

std::vector<std::string> mean_column_parts(const std::string& column) {
    std::vector<std::string> parts;
    if (column.rfind("mean(", 0) != 0 || column.back() != ')') return parts;
    std::stringstream inner(column.substr(5, column.size() - 6));
    for (std::string part; std::getline(inner, part, ',');) {
        part.erase(0, part.find_first_not_of(' '));
        part.erase(part.find_last_not_of(' ') + 1);
        parts.push_back(part);
    }
    return parts;
}

void set_dotted(json& target, const std::string& dotted_key, const json& value) {
    json* node = &target;
    std::stringstream parts(dotted_key);
    std::string part;
    std::vector<std::string> path;
    while (std::getline(parts, part, '.')) path.push_back(part);
    for (size_t i = 0; i + 1 < path.size(); ++i) {
        if (!node->contains(path[i]) || !(*node)[path[i]].is_object()) (*node)[path[i]] = json::object();
        node = &(*node)[path[i]];
    }
    (*node)[path.back()] = value;
}

json get_dotted(const json& source, const std::string& dotted_key) {
    const json* node = &source;
    std::stringstream parts(dotted_key);
    for (std::string part; std::getline(parts, part, '.');) {
        if (!node->is_object() || !node->contains(part)) return nullptr;
        node = &(*node)[part];
    }
    return *node;
}

json flatten(const json& nested) {
    json flat = json::object();
    const json pointers = nested.flatten();  // kept alive: items() only refers to it
    for (auto& [key, value] : pointers.items()) {
        if (key.empty()) continue;  // an empty object flattens to {"": null}
        std::string dotted = key.substr(1);  // "/model/params/lr" -> "model.params.lr"
        std::replace(dotted.begin(), dotted.end(), '/', '.');
        flat[dotted] = value;
    }
    return flat;
}

Experiment load_experiment(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
    Reader reader(file);
    std::ifstream in(file);
    if (!in) throw ConfigError(file.string() + ": cannot read the experiment file (does it exist?)");
    Experiment e;
    e.path = file;
    e.source_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());

    toml::table root;
    try {
        root = toml::parse(e.source_text, file.string());
    } catch (const toml::parse_error& err) {
        reader.fail(err.source(), "TOML syntax error: " + std::string(err.description()));
    }
    for (const auto& o : overrides) apply_override(root, o, reader);
    reader.check_keys(root, "the experiment", {"experiment", "dataset", "model", "train", "evaluate", "estimate", "sweep", "ablation", "table", "figure"});

    const toml::table& exp = reader.require_table(root, "experiment", "[experiment]");
    reader.check_keys(exp, "[experiment]", {"name", "description", "seeds", "device", "baseline"});
    e.name = reader.require_string(exp, "name", "[experiment]");
    e.description = reader.optional_string(exp, "description", "[experiment]", "");
    e.device = reader.optional_string(exp, "device", "[experiment]", "auto");
    if (e.device != "auto" && e.device != "cpu" && e.device != "cuda" && e.device.rfind("cuda:", 0) != 0)
        reader.fail(exp.get("device")->source(), "device must be auto, cpu, cuda or cuda:N, got '" + e.device + "'");
    e.seeds = {0};
    if (const toml::node* seeds = exp.get("seeds")) {
        e.seeds.clear();
        if (!seeds->is_array()) reader.fail(seeds->source(), "[experiment] seeds must be a list of integers");
        for (auto&& s : *seeds->as_array()) {
            if (!s.is_integer() || s.as_integer()->get() < 0) reader.fail(s.source(), "seeds must be non-negative integers");
            e.seeds.push_back(s.as_integer()->get());
        }
        if (e.seeds.empty()) reader.fail(seeds->source(), "[experiment] seeds is empty: the sweep would have no runs");
    }

    const toml::node* dataset = root.get("dataset");
    if (!dataset) reader.fail("missing section [dataset]");
    if (dataset->is_table()) {
        e.datasets.push_back(read_plugin_section(*dataset->as_table(), "[dataset]", reader));
    } else if (dataset->is_array_of_tables()) {
        for (auto&& d : *dataset->as_array()) e.datasets.push_back(read_plugin_section(*d.as_table(), "[[dataset]]", reader));
    } else {
        reader.fail(dataset->source(), "[dataset] must be a table or [[dataset]] a list of tables");
    }
    e.model = read_plugin_section(reader.require_table(root, "model", "[model]"), "[model]", reader);

    e.train = root.get("train") ? to_json(reader.require_table(root, "train", "[train]")) : json::object();
    check_train(e.train, file.string() + ": [train]", reader);

    if (const toml::node* evaluate = root.get("evaluate")) {
        if (!evaluate->is_array_of_tables()) reader.fail(evaluate->source(), "evaluate must be written [[evaluate]]");
        for (auto&& node : *evaluate->as_array()) e.evaluate.push_back(read_evaluate(*node.as_table(), reader));
    }
    if (const toml::node* estimate = root.get("estimate")) {
        if (!estimate->is_array_of_tables()) reader.fail(estimate->source(), "estimate must be written [[estimate]]");
        for (auto&& node : *estimate->as_array()) e.estimate.push_back(read_estimate(*node.as_table(), reader));
    }

    if (const toml::node* sweep = root.get("sweep")) {
        if (!sweep->is_table()) reader.fail(sweep->source(), "[sweep] must be a table of \"dotted.key\" = [values]");
        for (auto&& [key, values] : *sweep->as_table()) {
            std::string k(key.str());
            check_override_key(k, key.source(), reader);
            if (!values.is_array()) reader.fail(values.source(), "[sweep] \"" + k + "\" must be a list of values");
            if (values.as_array()->empty()) reader.fail(values.source(), "[sweep] \"" + k + "\" is an empty list: the sweep would have no runs");
            std::vector<json> list;
            for (auto&& v : *values.as_array()) list.push_back(to_json(v));
            e.grid.emplace_back(k, std::move(list));
        }
    }

    // The unmodified configuration's row; "baseline" unless the experiment names it.
    e.variants.push_back({reader.optional_string(exp, "baseline", "[experiment]", "baseline"), {}});
    if (const toml::node* ablations = root.get("ablation")) {
        if (!ablations->is_array_of_tables()) reader.fail(ablations->source(), "ablations must be written [[ablation]]");
        for (auto&& node : *ablations->as_array()) {
            const toml::table& t = *node.as_table();
            Variant v;
            v.name = reader.require_string(t, "name", "[[ablation]]");
            for (const auto& earlier : e.variants)
                if (earlier.name == v.name) reader.fail(t.get("name")->source(), "two variants are named '" + v.name + "'");
            for (auto&& [key, value] : t) {
                if (key.str() == "name") continue;
                check_override_key(std::string(key.str()), key.source(), reader);
                for (const auto& [grid_key, values] : e.grid)
                    if (grid_key == key.str())
                        reader.fail(key.source(), "'" + grid_key + "' is set by both [sweep] and ablation '" + v.name + "'");
                v.overrides.emplace_back(std::string(key.str()), to_json(value));
            }
            e.variants.push_back(std::move(v));
        }
    }

    if (const toml::node* tables = root.get("table")) {
        if (!tables->is_array_of_tables()) reader.fail(tables->source(), "tables must be written [[table]]");
        for (auto&& node : *tables->as_array()) e.tables.push_back(read_table(*node.as_table(), reader));
    }
    if (const toml::node* figures = root.get("figure")) {
        if (!figures->is_array_of_tables()) reader.fail(figures->source(), "figures must be written [[figure]]");
        for (auto&& node : *figures->as_array()) {
            e.figures.push_back(read_figure(*node.as_table(), e.grid, reader));
            for (size_t i = 0; i + 1 < e.figures.size(); ++i)
                if (e.figures[i].name == e.figures.back().name)
                    reader.fail(node.as_table()->get("name")->source(), "two [[figure]]s are named '" + e.figures.back().name + "'");
        }
    }
    return e;
}

std::string column_spec_problem(const std::string& c) {
    // mean(metric:a, metric:b, ...): per run, the mean of the listed columns (e.g. over modalities).
    std::vector<std::string> parts = mean_column_parts(c);
    if (parts.empty() && c.rfind("mean(", 0) == 0) return "column '" + c + "' must look like mean(metric:..., metric:...)";
    if (parts.empty()) parts.push_back(c);
    for (const auto& part : parts)
        if (part.rfind("metric:", 0) != 0 || part.find('.') == std::string::npos)
            return "column '" + c + "' must look like metric:<metric>.<value> "
                   "or metric:<representation>/<metric>.<value> (an [[estimate]]: "
                   "metric:<x>;<y>/<estimator>.<value>, e.g. metric:c;s0/mine.mi), or "
                   "mean(metric:..., metric:...), the per-run mean of several";
    return "";
}

std::vector<PlannedRun> expand_runs(const Experiment& e, const PluginRegistry& registry) {
    Reader reader(e.path);
    PluginResolver resolver(registry);
    std::vector<PlannedRun> runs;
    const auto points = cartesian(e.grid);
    for (const auto& dataset : e.datasets)
        for (const auto& variant : e.variants)
            for (const auto& point : points) {
                json config = {{"dataset", dataset}, {"model", e.model}, {"train", e.train}, {"evaluate", json::array()},
                               {"device", e.device}};
                for (const auto& [key, value] : variant.overrides) set_dotted(config, key, value);
                for (auto it = point.begin(); it != point.end(); ++it) set_dotted(config, it.key(), it.value());
                config["evaluate"] = entries_for_model(e.evaluate, config["model"]["plugin"]);
                // Absent rather than empty without estimates: runs planned before [[estimate]] keep their keys.
                json estimates = entries_for_model(e.estimate, config["model"]["plugin"]);
                if (!estimates.empty()) config["estimate"] = std::move(estimates);
                std::string where = "variant '" + variant.name + "'" + (point.empty() ? "" : ", grid point " + point.dump());
                try {
                    resolver.resolve(config["dataset"], MVRL_KIND_DATASET);
                    resolver.resolve(config["model"], MVRL_KIND_MODEL);
                    for (auto& evaluate : config["evaluate"]) resolver.resolve_entry(evaluate, "metric", MVRL_KIND_METRIC);
                } catch (const std::exception& error) {
                    reader.fail(where + ": " + error.what());
                }
                if (config.contains("estimate")) resolve_estimates(config["estimate"], resolver, where, reader);
                check_train(config["train"], e.path.string() + ": " + where, reader);
                for (int64_t seed : e.seeds) {
                    PlannedRun run;
                    run.experiment = e.name;
                    run.variant = variant.name;
                    run.grid_point = point;
                    run.seed = seed;
                    run.config = config;
                    run.config["seed"] = seed;
                    run.key = run_key_of(run.config);
                    runs.push_back(std::move(run));
                }
            }
    return runs;
}

std::vector<PlannedRun> distinct_runs(const std::vector<PlannedRun>& runs) {
    std::vector<PlannedRun> out;
    std::set<std::string> seen;
    for (const auto& r : runs)
        if (seen.insert(r.key).second) out.push_back(r);
    return out;
}

}  // namespace mvrl::host
