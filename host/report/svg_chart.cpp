#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "report/table_report.hpp"

namespace mvrl::host {

namespace {

// Tableau's 10 colours: distinct for the colour-blind common cases, and what matplotlib users know.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* colour(size_t i) { return kPalette[i % 10]; }

constexpr double kWidth = 640, kHeight = 360;
constexpr double kLeft = 70, kRight = 170, kTop = 34, kBottom = 52;  // the legend sits on the right

// The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
std::string full(double x) {
    char text[40];
    for (int precision = 15; precision <= 17; ++precision) {
        std::snprintf(text, sizeof text, "%.*g", precision, x);
        if (std::strtod(text, nullptr) == x) break;
    }
    return text;
}

std::string coord(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", x);
    return text;
}

// An axis from lo to hi, widened to round ticks (1, 2 or 5 × 10^k apart).
struct Axis {
    double lo = 0, hi = 1;
    std::vector<double> ticks;
};

Axis nice_axis(double lo, double hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
        const double pad = std::abs(hi) > 0 ? std::abs(hi) * 0.05 : 1;
        lo -= pad, hi += pad;
    }
    const double raw_step = (hi - lo) / 5;
    const double magnitude = std::pow(10, std::floor(std::log10(raw_step)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= raw_step) {
            step = m * magnitude;
            break;
        }
    Axis a;
    a.lo = std::floor(lo / step) * step;
    a.hi = std::ceil(hi / step) * step;
    for (double t = a.lo; t <= a.hi + step * 1e-9; t += step) a.ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
    return a;
}

// The x title under the plot area and the y title beside it, turned upright.
void axis_titles(std::ostringstream& out, const std::string& x_label, const std::string& y_label) {
    out << "<text x=\"" << coord((kLeft + kWidth - kRight) / 2) << "\" y=\"" << coord(kHeight - 12)
        << "\" text-anchor=\"middle\">" << html_escape(x_label) << "</text>\n";
    out << "<text transform=\"translate(16," << coord((kTop + kHeight - kBottom) / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
        << html_escape(y_label) << "</text>\n";
}

class Frame {
public:
    Frame(Axis x, Axis y) : x_(std::move(x)), y_(std::move(y)) {}
    double px(double x) const { return kLeft + (x - x_.lo) / (x_.hi - x_.lo) * (kWidth - kLeft - kRight); }
    double py(double y) const { return kHeight - kBottom - (y - y_.lo) / (y_.hi - y_.lo) * (kHeight - kTop - kBottom); }

    // Axes, ticks, grid lines and labels; `x_categories` replace the x ticks when given.
    void draw(std::ostringstream& out, const std::string& x_label, const std::string& y_label,
              const std::vector<std::string>& x_categories) const {
        out << "<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n";
        for (double t : y_.ticks)
            out << "<line x1=\"" << coord(kLeft) << "\" x2=\"" << coord(kWidth - kRight) << "\" y1=\"" << coord(py(t)) << "\" y2=\""
                << coord(py(t)) << "\" stroke=\"#e4e4e4\"/><text x=\"" << coord(kLeft - 6) << "\" y=\"" << coord(py(t) + 4)
                << "\" text-anchor=\"end\">" << short_number(t) << "</text>\n";
        if (x_categories.empty()) {
            for (double t : x_.ticks)
                out << "<text x=\"" << coord(px(t)) << "\" y=\"" << coord(kHeight - kBottom + 16) << "\" text-anchor=\"middle\">"
                    << short_number(t) << "</text>\n";
        } else {
            for (size_t i = 0; i < x_categories.size(); ++i)
                out << "<text x=\"" << coord(px(double(i))) << "\" y=\"" << coord(kHeight - kBottom + 16)
                    << "\" text-anchor=\"middle\">" << html_escape(x_categories[i]) << "</text>\n";
        }
        out << "<rect x=\"" << coord(kLeft) << "\" y=\"" << coord(kTop) << "\" width=\"" << coord(kWidth - kLeft - kRight)
            << "\" height=\"" << coord(kHeight - kTop - kBottom) << "\" fill=\"none\" stroke=\"#999\"/>\n";
        axis_titles(out, x_label, y_label);
        out << "</g>\n";
    }

private:
    Axis x_, y_;
};

void open_svg(std::ostringstream& out, const std::string& kind, const std::string& title) {
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-kind=\"" << kind << "\" viewBox=\"0 0 " << kWidth << " "
        << kHeight << "\" width=\"" << kWidth << "\" height=\"" << kHeight << "\" font-family=\"sans-serif\">\n"
        << "<text x=\"" << coord(kLeft) << "\" y=\"20\" font-size=\"13\" font-weight=\"bold\">" << html_escape(title) << "</text>\n";
}

void legend_entry(std::ostringstream& out, size_t i, const std::string& name) {
    const double y = kTop + 8 + 16 * double(i);
    out << "<g class=\"legend-entry\"><rect x=\"" << coord(kWidth - kRight + 12) << "\" y=\"" << coord(y - 8)
        << "\" width=\"10\" height=\"10\" fill=\"" << colour(i) << "\"/><text x=\"" << coord(kWidth - kRight + 27) << "\" y=\""
        << coord(y + 1) << "\" font-size=\"11\">" << html_escape(name) << "</text></g>\n";
}

}  // namespace

std::string short_number(double x, int digits) {
    char text[40];
    std::snprintf(text, sizeof text, "%.*g", digits, x);
    return text;
}

std::string svg_line_chart(const LineChart& c) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (const auto& s : c.series)
        for (size_t i = 0; i < s.x.size(); ++i) {
            xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
            ylo = std::min({ylo, s.y[i], s.low.empty() ? s.y[i] : s.low[i]});
            yhi = std::max({yhi, s.y[i], s.high.empty() ? s.y[i] : s.high[i]});
        }
    // A little room either side, so that the first and last points do not sit on the frame.
    const double pad = (xhi > xlo ? xhi - xlo : 1) * 0.04;
    Axis x_axis = nice_axis(xlo, xhi);
    if (c.markers) x_axis.lo = std::min(x_axis.lo, xlo - pad), x_axis.hi = std::max(x_axis.hi, xhi + pad);
    if (!c.x_categories.empty()) x_axis = {-0.5, double(c.x_categories.size()) - 0.5, {}};
    Frame f(x_axis, nice_axis(ylo, yhi));
    std::ostringstream out;
    open_svg(out, c.kind.empty() ? "line" : c.kind, c.title);
    f.draw(out, c.x_label, c.y_label, c.x_categories);
    for (size_t k = 0; k < c.series.size(); ++k) {
        const auto& s = c.series[k];
        out << "<g class=\"series\" data-name=\"" << html_escape(s.name) << "\" data-points=\"" << s.x.size() << "\">\n";
        if (c.band && !s.low.empty() && s.x.size() > 1) {
            out << "<path class=\"band\" fill=\"" << colour(k) << "\" fill-opacity=\"0.18\" stroke=\"none\" d=\"";
            for (size_t i = 0; i < s.x.size(); ++i) out << (i ? " L" : "M") << coord(f.px(s.x[i])) << "," << coord(f.py(s.high[i]));
            for (size_t i = s.x.size(); i-- > 0;) out << " L" << coord(f.px(s.x[i])) << "," << coord(f.py(s.low[i]));
            out << " Z\"/>\n";
        }
        out << "<path class=\"line\" fill=\"none\" stroke=\"" << colour(k) << "\" stroke-width=\"2\" d=\"";
        for (size_t i = 0; i < s.x.size(); ++i) out << (i ? " L" : "M") << coord(f.px(s.x[i])) << "," << coord(f.py(s.y[i]));
        out << "\"/>\n";
        for (size_t i = 0; i < s.x.size(); ++i) {
            const std::string x_text = c.x_categories.empty() ? short_number(s.x[i], 6) : c.x_categories[size_t(s.x[i])];
            std::string title = s.name + ": " + c.x_label + " = " + x_text + ", " + c.y_label + " = " + full(s.y[i]);
            if (!s.low.empty()) title += c.band ? " (min " + full(s.low[i]) + ", max " + full(s.high[i]) + ")"
                                                : " ± " + full(s.high[i] - s.y[i]);
            if (!s.notes.empty() && !s.notes[i].empty()) title += ", " + s.notes[i];
            if (!c.band && !s.low.empty() && s.high[i] > s.low[i])
                out << "<line class=\"error-bar\" x1=\"" << coord(f.px(s.x[i])) << "\" x2=\"" << coord(f.px(s.x[i])) << "\" y1=\""
                    << coord(f.py(s.low[i])) << "\" y2=\"" << coord(f.py(s.high[i])) << "\" stroke=\"" << colour(k) << "\"/>\n";
            out << "<circle class=\"point\" data-x=\"" << full(s.x[i]) << "\" data-y=\"" << full(s.y[i]) << "\" cx=\""
                << coord(f.px(s.x[i])) << "\" cy=\"" << coord(f.py(s.y[i])) << "\" r=\"" << (c.markers ? 3.5 : 2.5) << "\" fill=\""
                << colour(k) << "\"" << (c.markers ? "" : " fill-opacity=\"0\"") << "><title>" << html_escape(title)
                << "</title></circle>\n";
        }
        out << "</g>\n";
        legend_entry(out, k, s.name);
    }
    out << "</svg>\n";
    return out.str();
}

std::string svg_heatmap(const Heatmap& m) {
    std::ostringstream out;
    open_svg(out, "heatmap", m.title);
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& row : m.cells)
        for (const auto& v : row)
            if (v) lo = std::min(lo, *v), hi = std::max(hi, *v);
    const double w = (kWidth - kLeft - kRight) / double(std::max<size_t>(1, m.x_values.size()));
    const double h = (kHeight - kTop - kBottom) / double(std::max<size_t>(1, m.y_values.size()));
    // Viridis's ends and middle, interpolated: dark is low, yellow is high.
    auto shade = [&](double v) {
        const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
        const double stops[3][3] = {{68, 1, 84}, {33, 145, 140}, {253, 231, 37}};
        const int seg = t < 0.5 ? 0 : 1;
        const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
        char text[16];
        std::snprintf(text, sizeof text, "#%02x%02x%02x", int(stops[seg][0] + u * (stops[seg + 1][0] - stops[seg][0])),
                      int(stops[seg][1] + u * (stops[seg + 1][1] - stops[seg][1])),
                      int(stops[seg][2] + u * (stops[seg + 1][2] - stops[seg][2])));
        return std::string(text);
    };
    out << "<g class=\"cells\" font-size=\"11\">\n";
    for (size_t yi = 0; yi < m.y_values.size(); ++yi)
        for (size_t xi = 0; xi < m.x_values.size(); ++xi) {
            // The first y value at the bottom, as on a plot's axis.
            const double x = kLeft + w * double(xi), y = kHeight - kBottom - h * double(yi + 1);
            const auto& v = m.cells[yi][xi];
            std::string title = m.x_label + " = " + m.x_values[xi] + ", " + m.y_label + " = " + m.y_values[yi] + ": " +
                                (v ? full(*v) : "no finished run");
            if (yi < m.notes.size() && xi < m.notes[yi].size() && !m.notes[yi][xi].empty()) title += ", " + m.notes[yi][xi];
            out << "<rect class=\"cell\"" << (v ? " data-value=\"" + full(*v) + "\"" : std::string(" data-value=\"\""))
                << " x=\"" << coord(x) << "\" y=\"" << coord(y) << "\" width=\"" << coord(w - 1) << "\" height=\"" << coord(h - 1)
                << "\" fill=\"" << (v ? shade(*v) : "#eeeeee") << "\"><title>" << html_escape(title) << "</title></rect>\n";
            if (v) {
                const bool dark = hi > lo && (*v - lo) / (hi - lo) < 0.6;
                char text[40];
                std::snprintf(text, sizeof text, "%.*f", m.digits, *v);
                out << "<text x=\"" << coord(x + w / 2) << "\" y=\"" << coord(y + h / 2 + 4) << "\" text-anchor=\"middle\" fill=\""
                    << (dark ? "#fff" : "#000") << "\" pointer-events=\"none\">" << text << "</text>\n";
            }
        }
    out << "</g>\n<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n";
    for (size_t xi = 0; xi < m.x_values.size(); ++xi)
        out << "<text x=\"" << coord(kLeft + w * (double(xi) + 0.5)) << "\" y=\"" << coord(kHeight - kBottom + 16)
            << "\" text-anchor=\"middle\">" << html_escape(m.x_values[xi]) << "</text>\n";
    for (size_t yi = 0; yi < m.y_values.size(); ++yi)
        out << "<text x=\"" << coord(kLeft - 6) << "\" y=\"" << coord(kHeight - kBottom - h * (double(yi) + 0.5) + 4)
            << "\" text-anchor=\"end\">" << html_escape(m.y_values[yi]) << "</text>\n";
    axis_titles(out, m.x_label, m.y_label);
    out << "</g>\n";
    if (std::isfinite(lo)) {
        out << "<g class=\"colour-scale\" font-size=\"11\"><rect x=\"" << coord(kWidth - kRight + 12) << "\" y=\"" << coord(kTop)
            << "\" width=\"12\" height=\"12\" fill=\"" << shade(hi) << "\"/><text x=\"" << coord(kWidth - kRight + 30) << "\" y=\""
            << coord(kTop + 10) << "\">" << short_number(hi) << " (max)</text><rect x=\"" << coord(kWidth - kRight + 12) << "\" y=\""
            << coord(kTop + 18) << "\" width=\"12\" height=\"12\" fill=\"" << shade(lo) << "\"/><text x=\""
            << coord(kWidth - kRight + 30) << "\" y=\"" << coord(kTop + 28) << "\">" << short_number(lo) << " (min)</text></g>\n";
    }
    out << "</svg>\n";
    return out.str();
}

std::string svg_scatter(const Scatter& s) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < s.x.size(); ++i)
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]), ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    Frame f(nice_axis(xlo, xhi), nice_axis(ylo, yhi));
    std::ostringstream out;
    open_svg(out, "embedding", s.title);
    f.draw(out, s.x_label, s.y_label, {});
    std::map<int64_t, size_t> colour_of;
    for (int64_t l : s.labels) colour_of.emplace(l, 0);
    size_t next = 0;
    for (auto& [label, c] : colour_of) c = next++;
    out << "<g class=\"samples\" fill-opacity=\"0.75\">\n";
    for (size_t i = 0; i < s.x.size(); ++i) {
        const int64_t label = s.labels[i];
        out << "<circle class=\"sample\" data-label=\"" << label << "\" cx=\"" << coord(f.px(s.x[i])) << "\" cy=\""
            << coord(f.py(s.y[i])) << "\" r=\"2.5\" fill=\"" << colour(colour_of[label]) << "\"><title>row "
            << (i < s.rows.size() ? s.rows[i] : int64_t(i)) << ", label " << label << "</title></circle>\n";
    }
    out << "</g>\n";
    size_t k = 0;
    for (const auto& [label, c] : colour_of)
        if (k < 18) legend_entry(out, k++, "label " + std::to_string(label));
    out << "</svg>\n";
    return out.str();
}

}  // namespace mvrl::host
