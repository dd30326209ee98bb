// host/report — the report's figures as inline SVG, written by the host: no script, no library,
// nothing fetched, so the page opens offline and a test can read every value from the DOM. One
// element per line; each point, cell and sample carries its exact value (data-*) and a hover
// <title>.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mvrl::host {

struct ChartSeries {
    std::string name;
    std::vector<double> x, y;
    std::vector<double> low, high;  // per point, empty for none: error bars, or a band with `band`
    std::vector<std::string> notes;  // per point, empty for none: added to its hover title (e.g. "n=3")
};

struct LineChart {
    std::string title, x_label, y_label;
    // Non-empty: a categorical x axis, x holds indexes into these labels.
    std::vector<std::string> x_categories;
    std::vector<ChartSeries> series;
    bool band = false;     // low/high as a shaded min–max band instead of error bars
    bool markers = true;   // a circle per point (curves with many epochs leave them out)
    std::string kind;      // the figure's kind, as data-kind on the <svg>
};
std::string svg_line_chart(const LineChart& chart);

struct Heatmap {
    std::string title, x_label, y_label;
    std::vector<std::string> x_values, y_values;
    std::vector<std::vector<std::optional<double>>> cells;  // [y][x]; none: no finished run
    std::vector<std::vector<std::string>> notes;            // [y][x], optional: added to each title
    int digits = 3;
};
std::string svg_heatmap(const Heatmap& map);

struct Scatter {
    std::string title, x_label, y_label;
    std::vector<double> x, y;
    std::vector<int64_t> labels;  // colours the points; the legend lists each value
    std::vector<int64_t> rows;    // each point's row in the dataset, for its hover title
};
std::string svg_scatter(const Scatter& scatter);

// A number as the page shows it: up to `digits` significant digits, no trailing zeros.
std::string short_number(double x, int digits = 4);

}  // namespace mvrl::host
