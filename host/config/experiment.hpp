// host/config — a TOML experiment: loading (errors name file, line and column), --set
// overrides, and expansion into runs = datasets × (baseline + ablations) × grid × seeds.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <mvrl/params.hpp>

namespace mvrl::host {

class PluginRegistry;

// A bad experiment file or override; the message names the file and where in it.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PublishedRow {
    std::string label;
    std::vector<std::optional<double>> values;  // one per column, in the table's displayed units; nan: "–"
};

struct TableSpec {
    std::string name;
    std::vector<std::string> rows;     // "ablation", "dataset" or a dotted config key
    std::vector<std::string> columns;  // "metric:[representation/]metric.value"; an estimate's: "metric:x;y/estimator.value"
    std::vector<std::string> headers;  // optional, one per column: what the table shows instead of the column's text
    std::vector<std::string> lower_is_better;  // columns where the smallest mean is best
    double scale = 1.0;                // e.g. 100 for percentages
    int digits = 3;
    // "min:loss": besides mean ± std, each row also shows the values of its run with the lowest
    // final training loss (runs.final_loss); "max:<column>" / "min:<column>": of its run with the
    // best value of that column (model selection, e.g. "max:metric:prediction.val_ACC"). The
    // published rows then sit under those columns.
    std::string select;
    std::vector<PublishedRow> published;
};

// Embedding figures project at most this many samples (PCA), t-SNE at most kMaxTsneSamples: its
// exact gradient is O(N²) per step in mvrl-worker.
constexpr int64_t kMaxEmbeddingSamples = 5000;
constexpr int64_t kMaxTsneSamples = 2000;

// A [[figure]] of `mvrl-run report`. Keys a kind does not use are errors at load time.
struct FigureSpec {
    std::string name;
    std::string kind;             // "line", "heatmap", "curves" or "embedding"
    int line = 0;                 // where it starts in the file, for errors found against the store
    // line: x = a swept key, y = a column as in [[table]], one line per value of `lines`;
    // heatmap: x and y = two swept keys, `column` the value of each cell (one heatmap per variant)
    std::string x, y, column;
    std::string lines = "ablation";  // "ablation", "dataset" or a dotted key
    double scale = 1.0;
    // curves: the losses (empty: all) of `stage` (empty: every stage), one chart per value of `by`
    std::vector<std::string> losses;
    std::string stage, by = "ablation";
    // embedding: one run per variant (its first seed, first grid point), `representation`
    // projected to 2-D by `method` ("pca" or "tsne"), at most `cap` samples, coloured by `label`
    std::string representation, label = "label", method = "pca";
    int64_t cap = 1000;
};

struct Variant {
    std::string name;  // "baseline" or the ablation's name
    std::vector<std::pair<std::string, json>> overrides;  // dotted key -> value
};

struct Experiment {
    std::filesystem::path path;
    std::string source_text;  // the file as read, stored with the sweep
    std::string name, description, device;
    std::vector<int64_t> seeds;
    std::vector<json> datasets;  // each {"plugin", "params"}
    json model, train;           // {"plugin", "params"}; train with defaults filled in
    json evaluate = json::array();  // [{"representation", "metric", "label", "params"[, "models"]}]
    // [{"x", "y", "estimator", "params"[, "models"]}]: an estimator between two representations
    // the model's encode() gives; recorded as metric rows (store.hpp, estimate_row_name).
    json estimate = json::array();
    std::vector<std::pair<std::string, std::vector<json>>> grid;  // dotted key -> values, file order
    std::vector<Variant> variants;  // baseline first, then the ablations in file order
    std::vector<TableSpec> tables;
    std::vector<FigureSpec> figures;
};

// "key=value" overrides from --set; the value is read as TOML, or as a string when it is not.
Experiment load_experiment(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

struct PlannedRun {
    std::string key;  // run_key_of(config): what is computed, not where it appears
    std::string experiment, variant;  // where it appears: a membership of the run, not its identity
    json grid_point = json::object();  // dotted key -> value of this grid point
    int64_t seed = 0;
    json config;  // resolved: dataset/model with plugin versions and every parameter, train, evaluate, estimate, seed
};

// Every run of the experiment, with each plugin's parameters validated against its schema and
// completed with defaults. Throws ConfigError naming the variant and key on a bad parameter.
std::vector<PlannedRun> expand_runs(const Experiment& experiment, const PluginRegistry& registry);

// One planned run per key, in planned order: two rows that resolve to the same configuration
// are one run, listed in both rows.
std::vector<PlannedRun> distinct_runs(const std::vector<PlannedRun>& runs);

// Sets a dotted key ("model.params.lr") inside a JSON object, creating objects on the way.
void set_dotted(json& target, const std::string& dotted_key, const json& value);
// Reads a dotted key; null when absent.
json get_dotted(const json& source, const std::string& dotted_key);
// A [[table]] column "mean(metric:a, metric:b, ...)" -> its parts, each trimmed of spaces (an
// empty part stays, as ""); empty for any other column.
std::vector<std::string> mean_column_parts(const std::string& column);
// A [[table]] column's problem, or "" when it is well formed ("metric:[representation/]metric.value"
// or "mean(metric:..., ...)").
std::string column_spec_problem(const std::string& column);
// {"model": {"params": {"lr": 0.1}}} -> {"model.params.lr": 0.1}
json flatten(const json& nested);

std::string sha256_hex(const std::string& bytes);

// A run's identity: the SHA-256 of its resolved config (plugins with versions and every parameter,
// train, evaluate, estimate, device, seed). Labels are not part of it, so renaming a row or listing
// it in another experiment finds the same run; nor is train.checkpoint_every, which changes no result.
std::string run_key_of(const json& resolved_config);

}  // namespace mvrl::host
