// host/report — renders an experiment's [[table]] from stored metrics: mean ± std over seeds, n,
// best bold and second underlined per column, the papers' published rows and, with `select`, the
// values of each row's selected run (the lowest final training loss) beside the means.
#pragma once

#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host {

enum class TableFormat { Markdown, Latex, Csv };

TableFormat parse_table_format(const std::string& name);  // throws std::invalid_argument

// `runs`: the experiment's planned runs (their order gives the row order); `metrics`: values of
// the finished ones, by run key; `final_losses`: their final training losses, by run key, which a
// table with `select = "min:loss"` picks each row's reported run by.
std::string render_table(const TableSpec& table, const std::vector<PlannedRun>& runs,
                         const std::vector<std::pair<std::string, MetricValue>>& metrics, TableFormat format,
                         const std::vector<std::pair<std::string, double>>& final_losses = {});

}  // namespace mvrl::host
