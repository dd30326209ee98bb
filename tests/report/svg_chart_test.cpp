// The report's SVG figures (host/report/svg_chart.hpp): what a reader hovers and what a test reads
// from the DOM — every value exact, every label escaped, axes that hold the data.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "report/svg_chart.hpp"

using namespace mvrl::host;

namespace {

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::vector<double> numbers_of(const std::string& svg, const std::string& attribute) {
    std::vector<double> out;
    std::regex pattern(attribute + "=\"([-0-9.e+]+)\"");
    for (std::sregex_iterator it(svg.begin(), svg.end(), pattern), end; it != end; ++it) out.push_back(std::stod((*it)[1]));
    return out;
}

}  // namespace

TEST(SvgChart, LineChartKeepsExactValuesAndEscapesNames) {
    LineChart c;
    c.title = "ACC <by> width & rate";
    c.x_label = "model.params.latent_dim";
    c.y_label = "ACC";
    c.series.push_back({"w/o \"MCP\"", {2, 4, 8}, {0.1234567890123, 0.5, 0.75}, {0.1, 0.4, 0.7}, {0.14, 0.6, 0.8}, {"n=3", "n=3", "n=2"}});
    c.series.push_back({"baseline", {2, 8}, {0.2, 0.3}, {}, {}, {}});
    const std::string svg = svg_line_chart(c);
    EXPECT_EQ(count(svg, "<g class=\"series\""), 2);
    EXPECT_EQ(count(svg, "<circle class=\"point\""), 5);
    EXPECT_NE(svg.find("data-y=\"0.1234567890123\""), std::string::npos);  // %.17g: no rounding
    EXPECT_NE(svg.find("ACC &lt;by&gt; width &amp; rate"), std::string::npos);
    EXPECT_NE(svg.find("data-name=\"w/o &quot;MCP&quot;\""), std::string::npos);
    EXPECT_EQ(svg.find("<by>"), std::string::npos);
    EXPECT_EQ(count(svg, "<line class=\"error-bar\""), 3);  // the second series has none
    EXPECT_NE(svg.find("n=2</title>"), std::string::npos);
    // Every point inside the plot frame.
    for (double y : numbers_of(svg, "cy")) EXPECT_TRUE(y >= 34 && y <= 360 - 52) << y;
    for (double x : numbers_of(svg, "cx")) EXPECT_TRUE(x >= 70 && x <= 640 - 170) << x;
}

TEST(SvgChart, CategoricalAxisLabelsEachCategory) {
    LineChart c;
    c.x_label = "model.params.mask";
    c.y_label = "ACC";
    c.x_categories = {"random", "block"};
    c.series.push_back({"a", {0, 1}, {1, 2}, {}, {}, {}});
    const std::string svg = svg_line_chart(c);
    EXPECT_NE(svg.find(">random</text>"), std::string::npos);
    EXPECT_NE(svg.find("model.params.mask = block, ACC = 2"), std::string::npos);
}

TEST(SvgChart, HeatmapTitlesEveryCellAndMarksMissingOnes) {
    Heatmap m;
    m.x_label = "s";
    m.y_label = "c";
    m.x_values = {"5", "10"};
    m.y_values = {"5", "10", "15"};
    m.cells = {{0.5, 0.6}, {std::nullopt, 0.7}, {0.1, 0.25}};
    const std::string svg = svg_heatmap(m);
    EXPECT_EQ(count(svg, "<rect class=\"cell\""), 6);
    EXPECT_EQ(count(svg, "data-value=\"\""), 1);
    EXPECT_NE(svg.find("s = 5, c = 10: no finished run"), std::string::npos);
    EXPECT_NE(svg.find("s = 10, c = 15: 0.25</title>"), std::string::npos);
    EXPECT_NE(svg.find("0.7 (max)"), std::string::npos);
    EXPECT_NE(svg.find("0.1 (min)"), std::string::npos);
}

TEST(SvgChart, ScatterColoursByLabelWithALegend) {
    Scatter s;
    s.x = {0, 1, 2, 3};
    s.y = {0, 1, 0, 1};
    s.labels = {7, 3, 7, 3};
    s.rows = {10, 11, 12, 13};
    const std::string svg = svg_scatter(s);
    EXPECT_EQ(count(svg, "<circle class=\"sample\""), 4);
    EXPECT_EQ(count(svg, "data-label=\"7\""), 2);
    EXPECT_EQ(count(svg, "class=\"legend-entry\""), 2);
    EXPECT_NE(svg.find("<title>row 13, label 3</title>"), std::string::npos);
}

TEST(SvgChart, ConstantSeriesStillGetsAnAxis) {
    LineChart c;
    c.series.push_back({"flat", {1, 2, 3}, {5, 5, 5}, {}, {}, {}});
    const std::string svg = svg_line_chart(c);
    for (double y : numbers_of(svg, "cy")) EXPECT_TRUE(std::isfinite(y) && y > 34 && y < 308) << y;
}
