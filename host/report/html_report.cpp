#include "html_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "report/svg_chart.hpp"
#include "report/table_report.hpp"

namespace mvrl::host {

namespace {

[[noreturn]] void figure_error(const Experiment& e, const FigureSpec& f, const std::string& key, const std::string& message) {
    throw ReportError(e.path.string() + ":" + std::to_string(f.line) + ": [[figure]] '" + f.name + "' " + key + ": " + message);
}

std::string json_label(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

const std::vector<json>& grid_values(const Experiment& e, const std::string& key) {
    for (const auto& [k, values] : e.grid)
        if (k == key) return values;
    throw std::logic_error("not a swept key: " + key);  // load_experiment checked it
}

// "metric:svc.ACC" for a column no finished run has: name the columns the store does have.
std::string recorded_columns(const std::vector<std::pair<std::string, MetricValue>>& metrics) {
    std::set<std::string> columns;
    for (const auto& [key, m] : metrics) columns.insert("metric:" + m.representation + "/" + m.metric + "." + m.name);
    std::string list;
    size_t shown = 0;
    for (const auto& c : columns) {
        if (shown++ == 24) {
            list += ", …";
            break;
        }
        list += (list.empty() ? "" : ", ") + c;
    }
    return list.empty() ? "none" : list;
}

// The figure's column aggregated over `rows`, as its [[table]] would be; a column that no
// finished run has is an error.
std::vector<TableRow> aggregate_column(const Experiment& e, const FigureSpec& f, const char* key, const std::string& column,
                                       std::vector<std::string> rows, const ReportInputs& in) {
    TableSpec t;
    t.name = f.name;
    t.rows = std::move(rows);
    t.columns = {column};
    std::vector<TableRow> out;
    try {
        out = aggregate_table(t, in.runs, in.metrics);
    } catch (const std::invalid_argument& ambiguous) {
        figure_error(e, f, key, ambiguous.what());
    }
    for (const auto& r : out)
        if (r.cells[0].n) return out;
    figure_error(e, f, key, "no finished run has '" + column + "'; recorded: " + recorded_columns(in.metrics));
}

std::string pooled_note(const Experiment& e, const std::vector<std::string>& drawn) {
    std::string pooled;
    for (const auto& [k, values] : e.grid)
        if (std::find(drawn.begin(), drawn.end(), k) == drawn.end() && values.size() > 1) pooled += (pooled.empty() ? "" : ", ") + k;
    return pooled.empty() ? "" : "<p class=\"note\">Pooled over the other swept keys: " + html_escape(pooled) + ".</p>\n";
}

// A chart's series with numeric x in increasing order, whatever order the grid lists.
void sort_by_x(ChartSeries& s) {
    std::vector<size_t> order(s.x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    ChartSeries sorted{s.name, {}, {}, {}, {}, {}};
    for (size_t i : order)
        sorted.x.push_back(s.x[i]), sorted.y.push_back(s.y[i]), sorted.low.push_back(s.low[i]), sorted.high.push_back(s.high[i]),
            sorted.notes.push_back(s.notes[i]);
    s = std::move(sorted);
}

// One chart per dataset (unless the lines are the datasets), one line per value of `lines`.
std::string line_figure(const Experiment& e, const FigureSpec& f, const ReportInputs& in) {
    const bool by_dataset = f.lines == "dataset";
    auto rows = aggregate_column(e, f, "y", f.y, {"dataset", f.lines, f.x}, in);
    const auto& values = grid_values(e, f.x);
    bool numeric = true;
    std::vector<std::string> x_labels;
    for (const auto& v : values) numeric &= v.is_number(), x_labels.push_back(json_label(v));
    std::vector<std::string> charts_of;  // the chart's dataset ("" when one chart holds them all)
    std::vector<LineChart> charts;
    std::vector<std::map<std::string, size_t>> series_of;
    for (const auto& r : rows) {
        const TableCell& cell = r.cells[0];
        if (!cell.n) continue;
        auto at = std::find(x_labels.begin(), x_labels.end(), r.labels[2]);
        if (at == x_labels.end()) continue;  // a variant that overrides the swept key
        const std::string chart_key = by_dataset ? "" : r.labels[0];
        size_t k = size_t(std::find(charts_of.begin(), charts_of.end(), chart_key) - charts_of.begin());
        if (k == charts_of.size()) {
            charts_of.push_back(chart_key);
            LineChart c;
            c.kind = "line";
            c.title = f.name + (!by_dataset && e.datasets.size() > 1 ? " — " + chart_key : "");
            c.x_label = f.x;
            c.y_label = f.y;
            if (!numeric) c.x_categories = x_labels;
            charts.push_back(std::move(c));
            series_of.emplace_back();
        }
        const size_t i = size_t(at - x_labels.begin());
        auto [it, added] = series_of[k].emplace(r.labels[1], charts[k].series.size());
        if (added) charts[k].series.push_back({r.labels[1], {}, {}, {}, {}, {}});
        ChartSeries& s = charts[k].series[it->second];
        s.x.push_back(numeric ? values[i].get<double>() : double(i));
        s.y.push_back(cell.mean * f.scale);
        s.low.push_back((cell.mean - cell.std) * f.scale);
        s.high.push_back((cell.mean + cell.std) * f.scale);
        s.notes.push_back("n=" + std::to_string(cell.n));
    }
    std::string html;
    for (auto& c : charts) {
        for (auto& s : c.series) sort_by_x(s);
        html += svg_line_chart(c);
    }
    return html + "<p class=\"note\">Mean over seeds; error bars: ± one standard deviation.</p>\n" + pooled_note(e, {f.x});
}

std::string heatmap_figure(const Experiment& e, const FigureSpec& f, const ReportInputs& in) {
    auto rows = aggregate_column(e, f, "column", f.column, {"dataset", "ablation", f.x, f.y}, in);
    std::vector<std::string> xs, ys;
    for (const auto& v : grid_values(e, f.x)) xs.push_back(json_label(v));
    for (const auto& v : grid_values(e, f.y)) ys.push_back(json_label(v));
    // One heatmap per dataset and variant, in planned order.
    std::vector<std::pair<std::string, std::string>> groups;
    for (const auto& r : rows)
        if (std::find(groups.begin(), groups.end(), std::make_pair(r.labels[0], r.labels[1])) == groups.end())
            groups.emplace_back(r.labels[0], r.labels[1]);
    std::string html;
    for (const auto& [dataset, variant] : groups) {
        Heatmap m;
        m.title = f.name;
        if (e.datasets.size() > 1) m.title += " — " + dataset;
        if (e.variants.size() > 1) m.title += " — " + variant;
        m.x_label = f.x;
        m.y_label = f.y;
        m.x_values = xs;
        m.y_values = ys;
        m.cells.assign(ys.size(), std::vector<std::optional<double>>(xs.size()));
        m.notes.assign(ys.size(), std::vector<std::string>(xs.size()));
        bool any = false;
        for (const auto& r : rows) {
            if (r.labels[0] != dataset || r.labels[1] != variant || !r.cells[0].n) continue;
            auto xi = std::find(xs.begin(), xs.end(), r.labels[2]) - xs.begin();
            auto yi = std::find(ys.begin(), ys.end(), r.labels[3]) - ys.begin();
            if (size_t(xi) == xs.size() || size_t(yi) == ys.size()) continue;
            m.cells[yi][xi] = r.cells[0].mean * f.scale;
            m.notes[yi][xi] = "n=" + std::to_string(r.cells[0].n);
            any = true;
        }
        if (any) html += svg_heatmap(m);
    }
    return html + "<p class=\"note\">Each cell: the mean over seeds of " + html_escape(f.column) + ".</p>\n" +
           pooled_note(e, {f.x, f.y});
}

// Timings recorded beside the losses: not drawn unless a figure names them.
bool is_timing(const std::string& name) { return name == "epoch_seconds" || name == "samples_per_second"; }

// One chart per value of `by` and per stage, one line per loss: the mean over that group's runs
// at each epoch, with a min–max band.
std::string curve_charts(const ReportInputs& in, const std::string& by, const std::string& only_stage,
                         const std::vector<std::string>& only_losses) {
    std::unordered_map<std::string, std::vector<const CurvePoint*>> curves_of;
    for (const auto& c : in.curves) curves_of[c.key].push_back(&c);
    // group label -> stage -> loss -> epoch -> values over runs
    std::vector<std::string> groups;
    std::map<std::string, std::map<std::string, std::map<std::string, std::map<int64_t, std::vector<double>>>>> data;
    std::map<std::string, std::set<std::string>> runs_of_group;
    for (const auto& run : in.runs) {
        auto it = curves_of.find(run.key);
        if (it == curves_of.end()) continue;
        const std::string group = row_label(run, by);
        if (!runs_of_group[group].insert(run.key).second) continue;  // one run listed twice under one label
        if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
        for (const CurvePoint* p : it->second) {
            if (!only_stage.empty() && p->stage != only_stage) continue;
            const bool listed = std::find(only_losses.begin(), only_losses.end(), p->name) != only_losses.end();
            if (only_losses.empty() ? is_timing(p->name) : !listed) continue;
            data[group][p->stage][p->name][p->epoch].push_back(p->value);
        }
    }
    std::string html;
    for (const auto& group : groups)
        for (const auto& [stage, losses] : data[group]) {
            LineChart c;
            c.kind = "curves";
            c.title = (by == "ablation" ? group : by + " = " + group) + " — stage " + stage + " (" +
                      std::to_string(runs_of_group[group].size()) + " runs)";
            c.x_label = "epoch";
            c.y_label = "value";
            c.band = true;
            c.markers = false;
            for (const auto& [loss, epochs] : losses) {
                ChartSeries s{loss, {}, {}, {}, {}, {}};
                for (const auto& [epoch, values] : epochs) {
                    double sum = 0;
                    for (double v : values) sum += v;
                    s.x.push_back(double(epoch));
                    s.y.push_back(sum / double(values.size()));
                    s.low.push_back(*std::min_element(values.begin(), values.end()));
                    s.high.push_back(*std::max_element(values.begin(), values.end()));
                    s.notes.push_back(std::to_string(values.size()) + " runs");
                }
                c.series.push_back(std::move(s));
            }
            html += svg_line_chart(c);
        }
    return html;
}

std::string curves_figure(const Experiment& e, const FigureSpec& f, const ReportInputs& in) {
    std::set<std::string> stages, losses;
    for (const auto& c : in.curves) stages.insert(c.stage), losses.insert(c.name);
    auto list = [](const std::set<std::string>& names) {
        std::string out;
        for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
        return out.empty() ? std::string("none") : out;
    };
    if (!f.stage.empty() && !stages.count(f.stage)) figure_error(e, f, "stage", "no finished run recorded stage '" + f.stage + "'; recorded: " + list(stages));
    for (const auto& l : f.losses)
        if (!losses.count(l)) figure_error(e, f, "losses", "no finished run recorded '" + l + "'; recorded: " + list(losses));
    std::string html = curve_charts(in, f.by, f.stage, f.losses);
    if (html.empty()) figure_error(e, f, "kind", "no finished run has training curves");
    return html + "<p class=\"note\">Mean over the group's runs by epoch; band: min to max.</p>\n";
}

std::string embedding_figure(const Experiment& e, size_t index, const ReportInputs& in) {
    const FigureSpec& f = e.figures[index];
    std::string html, first_error, skipped;
    for (const auto& job : in.embeddings) {
        if (job.figure != index) continue;
        // A variant whose model does not give the representation is left out, said under the
        // figure; a representation no variant has is an error.
        if (job.projection.contains("error")) {
            if (first_error.empty())
                first_error = "run " + std::to_string(job.run_id) + " (variant '" + job.variant + "'): " + job.projection["error"].get<std::string>();
            skipped += (skipped.empty() ? "" : ", ") + job.variant;
            continue;
        }
        Scatter s;
        const auto& points = job.projection.at("points");
        for (const auto& p : points) s.x.push_back(p[0].get<double>()), s.y.push_back(p[1].get<double>());
        s.labels = job.projection.at("labels").get<std::vector<int64_t>>();
        s.rows = job.projection.at("rows").get<std::vector<int64_t>>();
        s.title = job.variant + ": " + f.representation + " by " + (f.method == "pca" ? "PCA" : "t-SNE") + " (run " +
                  std::to_string(job.run_id) + ", seed " + std::to_string(job.run->seed) + ", " + std::to_string(points.size()) +
                  " of " + std::to_string(job.projection.at("n_total").get<int64_t>()) + " samples)";
        s.x_label = f.method == "pca" ? "PC 1" : "t-SNE 1";
        s.y_label = f.method == "pca" ? "PC 2" : "t-SNE 2";
        if (job.projection.contains("explained")) {
            auto ex = job.projection["explained"];
            s.x_label += " (" + short_number(100 * ex[0].get<double>(), 3) + " % of variance)";
            s.y_label += " (" + short_number(100 * ex[1].get<double>(), 3) + " %)";
        }
        html += svg_scatter(s);
    }
    if (html.empty()) figure_error(e, f, "representation", first_error.empty() ? "no variant has a finished run to project" : first_error);
    return html + "<p class=\"note\">Coloured by " + html_escape(f.label) + "; at most " + std::to_string(f.cap) +
           " samples, a fixed random subset." + (skipped.empty() ? "" : " Not drawn (" + html_escape(first_error) + "): " +
           html_escape(skipped) + ".") + "</p>\n";
}

// A run's warnings under its error, one click away.
std::string warnings_of(const ReportInputs& in, const RunRow* r) {
    auto it = r ? in.warnings.find(r->id) : in.warnings.end();
    if (it == in.warnings.end() || it->second.empty()) return "";
    std::string html = "<details class=\"warnings\"><summary>" + std::to_string(it->second.size()) + " warning" +
                       (it->second.size() > 1 ? "s" : "") + "</summary><ul>";
    for (const auto& w : it->second) html += "<li>" + html_escape(w.source + ": " + w.message) + "</li>";
    return html + "</ul></details>";
}

std::string run_list(const ReportInputs& in) {
    std::unordered_map<std::string, const RunRow*> row_of;
    for (const auto& r : in.run_rows) row_of[r.key] = &r;
    std::ostringstream out;
    out << "<table class=\"runs\">\n<thead><tr><th>run</th><th>variant</th><th>grid point</th><th>seed</th><th>status</th>"
           "<th>device</th><th>started</th><th>finished</th><th>train s</th><th>samples/s</th><th>error</th><th>configuration</th>"
           "</tr></thead>\n<tbody>\n";
    for (const auto& run : in.runs) {
        auto it = row_of.find(run.key);
        const RunRow* r = it == row_of.end() ? nullptr : it->second;
        const std::string status = r ? r->status : "not queued";
        out << "<tr class=\"run\" data-status=\"" << status << "\"><td>" << (r ? std::to_string(r->id) : "") << "</td><td>"
            << html_escape(run.variant) << "</td><td>" << html_escape(run.grid_point.empty() ? "" : run.grid_point.dump())
            << "</td><td>" << run.seed << "</td><td class=\"status " << status << "\">" << status << "</td><td>"
            << html_escape(r ? r->device : "") << "</td><td>" << html_escape(r ? r->started_at : "") << "</td><td>"
            << html_escape(r ? r->finished_at : "") << "</td><td>" << (r && r->train_seconds > 0 ? short_number(r->train_seconds, 4) : "")
            << "</td><td>" << (r && r->samples_per_second > 0 ? short_number(r->samples_per_second, 4) : "") << "</td><td>"
            << html_escape(r ? r->error : "") << warnings_of(in, r) << "</td><td><details><summary>" << run.key.substr(0, 12)
            << "</summary><pre>" << html_escape(run.config.dump(2)) << "</pre></details></td></tr>\n";
    }
    out << "</tbody>\n</table>\n";
    return out.str();
}

std::string provenance(const ReportInputs& in) {
    std::ostringstream out;
    out << "<dl class=\"provenance\">\n";
    if (in.sweep) {
        out << "<dt>sweep</dt><dd>" << in.sweep->id << ", started " << html_escape(in.sweep->started_at) << " on "
            << html_escape(in.sweep->host) << "</dd>\n<dt>command line</dt><dd><code>" << html_escape(in.sweep->command_line)
            << "</code></dd>\n<dt>revision</dt><dd><code>" << html_escape(in.sweep->revision) << "</code></dd>\n";
    }
    out << "<dt>report written</dt><dd>" << html_escape(in.generated_at) << "</dd>\n</dl>\n";
    out << "<table class=\"plugins\">\n<thead><tr><th>plugin</th><th>kind</th><th>version</th><th>ABI</th><th>libtorch</th>"
           "<th>SHA-256</th></tr></thead>\n<tbody>\n";
    for (const auto& p : in.plugins)
        out << "<tr><td>" << html_escape(p.name) << "</td><td>" << html_escape(p.kind) << "</td><td>" << html_escape(p.version)
            << "</td><td>" << html_escape(p.abi) << "</td><td>" << html_escape(p.torch_version) << "</td><td><code>"
            << html_escape(p.sha256) << "</code></td></tr>\n";
    out << "</tbody>\n</table>\n<details><summary>the experiment file as the sweep read it</summary><pre>"
        << html_escape(in.experiment->source_text) << "</pre></details>\n";
    return out.str();
}

constexpr const char* kStyle = R"css(
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
nav a { margin-right: 1em; } .note { color: #666; font-size: 0.9em; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: right; vertical-align: top; }
th { text-align: left; } caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
tr.published { color: #555; font-style: italic; background: #fafafa; }
td.status.finished { color: #2a7a2a; } td.status.failed { color: #b22; } td.status.interrupted { color: #b70; }
table.runs td:nth-child(11) { max-width: 22em; text-align: left; white-space: normal; }
pre { text-align: left; font-size: 0.85em; background: #f6f6f6; padding: 0.5em; overflow-x: auto; max-width: 60em; }
svg.chart { margin: 0.5em 1em 0.5em 0; border: 1px solid #eee; width: 520px; height: auto; }
.figure { margin-bottom: 1.5em; display: flex; flex-wrap: wrap; align-items: flex-start; }
.figure > h3, .figure > p { flex-basis: 100%; }
dl.provenance dt { font-weight: bold; float: left; clear: left; width: 9em; } dl.provenance dd { margin-left: 10em; }
)css";

}  // namespace

std::vector<EmbeddingJob> plan_embeddings(const Experiment& e, const std::vector<PlannedRun>& runs, const std::vector<RunRow>& run_rows) {
    std::unordered_map<std::string, const RunRow*> row_of;
    for (const auto& r : run_rows) row_of[r.key] = &r;
    std::vector<EmbeddingJob> jobs;
    for (size_t i = 0; i < e.figures.size(); ++i) {
        if (e.figures[i].kind != "embedding") continue;
        for (const auto& variant : e.variants)
            for (const auto& run : runs) {
                auto it = row_of.find(run.key);
                if (run.variant != variant.name || it == row_of.end() || it->second->status != "finished") continue;
                jobs.push_back({i, variant.name, &run, it->second->id, json()});
                break;
            }
    }
    return jobs;
}

std::string render_report(const ReportInputs& in) {
    const Experiment& e = *in.experiment;
    std::ostringstream out;
    StatusCounts counts;
    {
        std::unordered_map<std::string, std::string> status_of;
        for (const auto& r : in.run_rows) status_of[r.key] = r.status;
        for (const auto& run : in.runs)
            if (status_of.count(run.key)) counts.add(status_of[run.key]);
    }
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(e.name)
        << " — mvrl report</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
    out << "<h1>" << html_escape(e.name) << "</h1>\n<p>" << html_escape(e.description) << "</p>\n<p class=\"summary\">"
        << in.runs.size() << " planned runs: " << counts.finished << " finished, " << counts.failed << " failed, "
        << counts.interrupted << " interrupted, " << counts.running << " running, " << counts.queued << " queued.</p>\n";
    out << "<nav><a href=\"#tables\">tables</a><a href=\"#figures\">figures</a><a href=\"#curves\">training curves</a>"
           "<a href=\"#runs\">runs</a><a href=\"#provenance\">provenance</a></nav>\n";

    out << "<section id=\"tables\">\n<h2>Tables</h2>\n";
    for (const auto& t : e.tables) {
        try {
            out << render_table(t, in.runs, in.metrics, TableFormat::Html, in.final_losses);
        } catch (const std::invalid_argument& error) {
            throw ReportError(e.path.string() + ": [[table]] '" + t.name + "': " + error.what());
        }
    }
    if (e.tables.empty()) out << "<p class=\"note\">The experiment has no [[table]].</p>\n";
    out << "</section>\n<section id=\"figures\">\n<h2>Figures</h2>\n";
    for (size_t i = 0; i < e.figures.size(); ++i) {
        const FigureSpec& f = e.figures[i];
        out << "<div class=\"figure\" data-figure=\"" << html_escape(f.name) << "\" data-kind=\"" << f.kind << "\">\n<h3>"
            << html_escape(f.name) << "</h3>\n";
        if (f.kind == "line") out << line_figure(e, f, in);
        else if (f.kind == "heatmap") out << heatmap_figure(e, f, in);
        else if (f.kind == "curves") out << curves_figure(e, f, in);
        else out << embedding_figure(e, i, in);
        out << "</div>\n";
    }
    if (e.figures.empty()) out << "<p class=\"note\">The experiment has no [[figure]].</p>\n";
    out << "</section>\n<section id=\"curves\">\n<h2>Training curves</h2>\n<p class=\"note\">Per variant and stage, each "
           "loss by epoch: the mean over the variant's finished runs (seeds and grid points), with a min–max band.</p>\n"
        << "<div class=\"figure\" data-figure=\"training curves\" data-kind=\"curves\">\n" << curve_charts(in, "ablation", "", {})
        << "</div>\n</section>\n<section id=\"runs\">\n<h2>Runs</h2>\n" << run_list(in) << "</section>\n"
        << "<section id=\"provenance\">\n<h2>Provenance</h2>\n" << provenance(in) << "</section>\n</body>\n</html>\n";
    return out.str();
}

}  // namespace mvrl::host
