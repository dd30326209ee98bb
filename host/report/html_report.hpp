// host/report — `mvrl-run report`: one self-contained HTML page per experiment. Every [[table]] as
// `mvrl-run table` renders it, the [[figure]]s as inline SVG (svg_chart.hpp), each variant's
// training curves, the run list with each run's resolved configuration, and the sweep's provenance.
// Nothing is fetched: the page opens from any folder with the network off.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host {

// A figure that cannot be drawn from this store (a column no finished run has, a loss never
// recorded, an embedding of a representation not stored); the message names the file, line and key.
class ReportError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// One embedding a figure needs: the run of a variant it projects (its first finished run in
// planned order), and what mvrl-worker --project returned for it.
struct EmbeddingJob {
    size_t figure = 0;  // index into experiment.figures
    std::string variant;
    const PlannedRun* run = nullptr;
    int64_t run_id = 0;
    json projection;  // {"points", "labels", "rows", "n_total", ...} or {"error": ...}
};

struct ReportInputs {
    const Experiment* experiment = nullptr;
    std::vector<PlannedRun> runs;
    std::vector<std::pair<std::string, MetricValue>> metrics;
    std::vector<std::pair<std::string, double>> final_losses;
    std::vector<CurvePoint> curves;
    std::vector<RunRow> run_rows;          // the runs the store has, by key
    std::map<int64_t, std::vector<RunWarning>> warnings;  // by run id: what plugins and the host logged as warnings
    std::optional<SweepRow> sweep;         // the experiment's latest sweep
    std::vector<PluginRecord> plugins;     // the plugins its runs name
    std::vector<EmbeddingJob> embeddings;
    std::string generated_at;              // when the page was written (UTC)
};

// The embeddings the experiment's figures need, one per figure and variant with a finished run;
// `run_rows` give each run's id. The caller fills in `projection`.
std::vector<EmbeddingJob> plan_embeddings(const Experiment& experiment, const std::vector<PlannedRun>& runs,
                                          const std::vector<RunRow>& run_rows);

// The page. Throws ReportError when a figure asks for what the store does not have.
std::string render_report(const ReportInputs& inputs);

}  // namespace mvrl::host
