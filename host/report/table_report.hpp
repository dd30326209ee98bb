// host/report — renders an experiment's [[table]] from stored metrics: mean ± std over seeds, n,
// best bold and second underlined per column, the papers' published rows and, with `select`, the
// values of each row's selected run (the lowest final training loss) beside the means.
#pragma once

#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host {

// Html: a <table> for `mvrl-run report`; each value cell carries its unrounded mean, std and n
// (data-mean, data-std, data-n, scaled as the CSV's), so the page can be checked against the CSV.
enum class TableFormat { Markdown, Latex, Csv, Html };

TableFormat parse_table_format(const std::string& name);  // throws std::invalid_argument

// `runs`: the experiment's planned runs (their order gives the row order); `metrics`: values of
// the finished ones, by run key; `final_losses`: their final training losses, by run key, which a
// table with `select = "min:loss"` picks each row's reported run by.
std::string render_table(const TableSpec& table, const std::vector<PlannedRun>& runs,
                         const std::vector<std::pair<std::string, MetricValue>>& metrics, TableFormat format,
                         const std::vector<std::pair<std::string, double>>& final_losses = {});

// The numbers behind a table, for figures drawn from the same aggregation: one row per distinct
// label tuple over `table.rows`, in planned order; one cell per column (unscaled).
struct TableCell {
    double mean = 0, std = 0;  // std: sample standard deviation over the row's runs (0 for n < 2)
    int n = 0;
    int rank = 0;  // 1 best, 2 second in its column
};
struct TableRow {
    std::vector<std::string> labels;
    std::vector<TableCell> cells;
    int runs_finished = 0;
};
std::vector<TableRow> aggregate_table(const TableSpec& table, const std::vector<PlannedRun>& runs,
                                      const std::vector<std::pair<std::string, MetricValue>>& metrics);

// A run's label under a row key ("ablation", "dataset", "seed" or a dotted key); a key this run's
// config does not have (another model's parameter) is "–", never null.
std::string row_label(const PlannedRun& run, const std::string& row_key);

// HTML-escapes text for an element's content or a quoted attribute.
std::string html_escape(const std::string& text);

}  // namespace mvrl::host
