#include "table_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace mvrl::host {

namespace {

struct ColumnSpec {
    std::string header, representation, metric, name;  // representation empty: any
    bool lower_is_better = false;
    std::vector<ColumnSpec> parts;  // "mean(a, b, ...)": the per-run mean of these columns
};

ColumnSpec parse_column(const std::string& spec, const TableSpec& table) {
    ColumnSpec c;
    for (const auto& l : table.lower_is_better) c.lower_is_better |= l == spec;
    const auto parts = mean_column_parts(spec);
    if (!parts.empty()) {
        c.header = spec;
        for (const auto& part : parts) c.parts.push_back(parse_column(part, table));
        return c;
    }
    std::string rest = spec.substr(std::string("metric:").size());
    c.header = rest;
    auto slash = rest.find('/');
    if (slash != std::string::npos) c.representation = rest.substr(0, slash), rest = rest.substr(slash + 1);
    auto dot = rest.find('.');
    c.metric = rest.substr(0, dot);
    c.name = rest.substr(dot + 1);
    return c;
}

std::string row_header(const std::string& row_key) {
    if (row_key == "ablation") return "variant";
    auto dot = row_key.rfind('.');
    return dot == std::string::npos ? row_key : row_key.substr(dot + 1);
}


using Cell = TableCell;

struct Row {
    std::vector<std::string> labels;
    std::vector<Cell> cells;
    int runs_finished = 0;
    std::vector<const PlannedRun*> runs;  // planned order
    // With [[table]] select: the chosen run's values (n = 1 each), seed and final loss.
    std::vector<Cell> selected;
    const PlannedRun* selected_run = nullptr;
    double selected_score = 0;  // its final loss, or its value of the select column
};

Cell aggregate(const std::vector<double>& values) {
    Cell c;
    c.n = int(values.size());
    if (!c.n) return c;
    for (double v : values) c.mean += v;
    c.mean /= c.n;
    if (c.n > 1) {
        double ss = 0;
        for (double v : values) ss += (v - c.mean) * (v - c.mean);
        c.std = std::sqrt(ss / (c.n - 1));  // sample standard deviation, as papers report over seeds
    }
    return c;
}

void rank_columns(std::vector<Row>& rows, const std::vector<ColumnSpec>& columns, std::vector<Cell> Row::*cells) {
    for (size_t j = 0; j < columns.size(); ++j) {
        std::set<double> means;
        for (const auto& r : rows)
            if ((r.*cells)[j].n) means.insert((r.*cells)[j].mean);
        if (means.size() < 2) continue;  // nothing to compare
        std::vector<double> ordered(means.begin(), means.end());
        if (!columns[j].lower_is_better) std::reverse(ordered.begin(), ordered.end());
        for (auto& r : rows) {
            Cell& c = (r.*cells)[j];
            if (!c.n) continue;
            if (c.mean == ordered[0]) c.rank = 1;
            else if (c.mean == ordered[1]) c.rank = 2;
        }
    }
}

bool column_matches(const ColumnSpec& c, const MetricValue& m) {
    return m.metric == c.metric && m.name == c.name && (c.representation.empty() || c.representation == m.representation);
}

// One run's value in a column: its matching metric, or for a mean column the mean of its parts
// when the run has every one.
std::optional<double> run_value(const ColumnSpec& c, const std::vector<const MetricValue*>& run_metrics) {
    if (!c.parts.empty()) {
        double sum = 0;
        for (const auto& part : c.parts) {
            auto v = run_value(part, run_metrics);
            if (!v) return std::nullopt;
            sum += *v;
        }
        return sum / double(c.parts.size());
    }
    for (const MetricValue* m : run_metrics)
        if (column_matches(c, *m)) return m->value;
    return std::nullopt;
}

// [[table]] select = "min:loss" or "max:<column>" / "min:<column>": per row, the finished run with
// the lowest final training loss (or the best value of the column, e.g. a validation accuracy;
// the first in planned order on a tie), and its value in every column.
void select_runs(std::vector<Row>& rows, const std::vector<ColumnSpec>& columns, const TableSpec& table,
                 const std::unordered_map<std::string, std::vector<const MetricValue*>>& metrics_of,
                 const std::vector<std::pair<std::string, double>>& final_losses) {
    const auto colon = table.select.find(':');
    const bool maximise = table.select.substr(0, colon) == "max";
    const std::string criterion = table.select.substr(colon + 1);
    std::unordered_map<std::string, double> loss_of(final_losses.begin(), final_losses.end());
    const std::optional<ColumnSpec> column = criterion == "loss" ? std::nullopt : std::optional(parse_column(criterion, table));
    auto score_of = [&](const std::string& key) -> std::optional<double> {
        if (!metrics_of.count(key)) return std::nullopt;
        if (column) return run_value(*column, metrics_of.at(key));
        auto loss = loss_of.find(key);
        return loss == loss_of.end() ? std::nullopt : std::optional(loss->second);
    };
    for (auto& r : rows) {
        r.selected.assign(columns.size(), Cell{});
        for (const PlannedRun* run : r.runs) {
            auto score = score_of(run->key);
            if (!score || !std::isfinite(*score)) continue;
            if (!r.selected_run || (maximise ? *score > r.selected_score : *score < r.selected_score))
                r.selected_run = run, r.selected_score = *score;
        }
        if (!r.selected_run) continue;
        for (size_t j = 0; j < columns.size(); ++j)
            if (auto v = run_value(columns[j], metrics_of.at(r.selected_run->key))) r.selected[j].mean = *v, r.selected[j].n = 1;
    }
}

// What a table selects by, as its headers say it: "loss", or a column without "metric:".
std::string select_criterion(const TableSpec& t) {
    std::string criterion = t.select.substr(t.select.find(':') + 1);
    return criterion.rfind("metric:", 0) == 0 ? criterion.substr(7) : criterion;
}

// " (min loss)", " (max prediction.val_ACC)": what the selected columns were chosen by.
std::string selected_suffix(const TableSpec& t) {
    return " (" + t.select.substr(0, t.select.find(':')) + " " + select_criterion(t) + ")";
}

// The CSV's column of the selected run's score: "selected final_loss" or "selected <column>".
std::string selected_score_header(const TableSpec& t) {
    const std::string criterion = select_criterion(t);
    return criterion == "loss" ? "selected final_loss" : "selected " + criterion;
}

std::string number(double x, const TableSpec& t) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", t.digits, x * t.scale);
    return text;
}

std::string latex_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (std::string("&%$#_{}").find(ch) != std::string::npos) out += '\\';
        out += ch;
    }
    return out;
}

class Writer {
public:
    Writer(const TableSpec& t, TableFormat f, const std::vector<std::string>& row_keys, const std::vector<ColumnSpec>& columns)
        : t_(t), f_(f), row_keys_(row_keys), columns_(columns) {}

    // "51.0 ± 1.0", with "(n=2)" when some of the row's runs have no value.
    std::string value_text(const Cell& c, int row_runs) const {
        std::string text = number(c.mean, t_);
        if (c.n > 1) text += (f_ == TableFormat::Latex ? " $\\pm$ " : " ± ") + number(c.std, t_);
        if (c.n != row_runs) text += " (n=" + std::to_string(c.n) + ")";
        return text;
    }

    std::string cell(const Cell& c, int row_runs) const {
        if (!c.n) return f_ == TableFormat::Latex ? "--" : "–";
        const std::string text = value_text(c, row_runs);
        if (c.rank == 1) return f_ == TableFormat::Latex ? "\\textbf{" + text + "}" : "**" + text + "**";
        if (c.rank == 2) return f_ == TableFormat::Latex ? "\\underline{" + text + "}" : "<u>" + text + "</u>";
        return text;
    }

    std::string render(const std::vector<Row>& rows) const {
        std::ostringstream out;
        if (f_ == TableFormat::Csv) return csv(rows);
        if (f_ == TableFormat::Html) return html(rows);
        const bool select = !t_.select.empty();
        std::vector<std::string> header;
        for (const auto& k : row_keys_) header.push_back(row_header(k));
        for (const auto& c : columns_) header.push_back(c.header);
        header.push_back("n");
        if (select) {
            for (const auto& c : columns_) header.push_back(c.header + selected_suffix(t_));
            header.push_back("seed");
        }
        if (f_ == TableFormat::Markdown) {
            char scale[32];
            std::snprintf(scale, sizeof scale, "%g", t_.scale);
            out << "**" << t_.name << "**" << (t_.scale != 1 ? std::string(" (values × ") + scale + ")" : "") << "\n\n";
            line(out, header);
            out << "|";
            for (size_t i = 0; i < header.size(); ++i) out << (i < row_keys_.size() ? " --- |" : " ---: |");
            out << "\n";
        } else {
            out << "% " << t_.name << "\n\\begin{tabular}{" << std::string(row_keys_.size(), 'l')
                << std::string(header.size() - row_keys_.size(), 'r') << "}\n\\hline\n";
            line(out, header);
            out << "\\hline\n";
        }
        for (const auto& r : rows) {
            std::vector<std::string> cells = r.labels;
            for (const auto& c : r.cells) cells.push_back(cell(c, r.runs_finished));
            cells.push_back(std::to_string(r.runs_finished));
            if (select) {
                for (const auto& c : r.selected) cells.push_back(cell(c, 1));
                cells.push_back(r.selected_run ? std::to_string(r.selected_run->seed) : "");
            }
            line(out, cells);
        }
        // A paper that selects one run reports that run: its numbers go under the selected columns.
        for (const auto& p : t_.published) {
            std::vector<std::string> cells(row_keys_.size(), "");
            cells[0] = p.label;
            if (select) cells.insert(cells.end(), columns_.size() + 1, "");
            for (const auto& v : p.values) cells.push_back(v ? number(*v / t_.scale, t_) : (f_ == TableFormat::Latex ? "--" : "–"));
            cells.push_back("");
            line(out, cells);
        }
        if (f_ == TableFormat::Latex) out << "\\hline\n\\end{tabular}\n";
        return out.str();
    }

private:
    void line(std::ostringstream& out, const std::vector<std::string>& cells) const {
        if (f_ == TableFormat::Markdown) {
            out << "|";
            for (const auto& c : cells) out << " " << c << " |";
            out << "\n";
        } else {
            for (size_t i = 0; i < cells.size(); ++i)
                out << (i ? " & " : "") << (cells[i].find('\\') == std::string::npos ? latex_escape(cells[i]) : cells[i]);
            out << " \\\\\n";
        }
    }

    std::string html_cell(const Cell& c, int row_runs) const {
        if (!c.n) return "<td class=\"value\" data-n=\"0\">–</td>";
        std::string text = value_text(c, row_runs);
        if (c.rank == 1) text = "<b>" + text + "</b>";
        if (c.rank == 2) text = "<u>" + text + "</u>";
        return "<td class=\"value\" data-mean=\"" + raw(c.mean) + "\" data-std=\"" + (c.n > 1 ? raw(c.std) : "") +
               "\" data-n=\"" + std::to_string(c.n) + "\">" + text + "</td>";
    }

    // One element per line, so that a test can read the page line by line.
    std::string html(const std::vector<Row>& rows) const {
        std::ostringstream out;
        const bool select = !t_.select.empty();
        char scale[32];
        std::snprintf(scale, sizeof scale, "%g", t_.scale);
        out << "<table class=\"result\" data-table=\"" << html_escape(t_.name) << "\">\n<caption>" << html_escape(t_.name)
            << (t_.scale != 1 ? std::string(" (values × ") + scale + ")" : "") << "</caption>\n<thead><tr>";
        for (const auto& k : row_keys_) out << "<th>" << html_escape(row_header(k)) << "</th>";
        for (const auto& c : columns_) out << "<th>" << html_escape(c.header) << "</th>";
        out << "<th>n</th>";
        if (select) {
            for (const auto& c : columns_) out << "<th>" << html_escape(c.header + selected_suffix(t_)) << "</th>";
            out << "<th>seed</th>";
        }
        out << "</tr></thead>\n<tbody>\n";
        for (const auto& r : rows) {
            out << "<tr class=\"row\">";
            for (const auto& l : r.labels) out << "<th>" << html_escape(l) << "</th>";
            for (const auto& c : r.cells) out << html_cell(c, r.runs_finished);
            out << "<td>" << r.runs_finished << "</td>";
            if (select) {
                for (const auto& c : r.selected) out << html_cell(c, 1);
                out << "<td>" << (r.selected_run ? std::to_string(r.selected_run->seed) : "") << "</td>";
            }
            out << "</tr>\n";
        }
        for (const auto& p : t_.published) {
            out << "<tr class=\"published\"><th colspan=\"" << row_keys_.size() << "\">" << html_escape(p.label) << "</th>";
            if (select) out << "<td colspan=\"" << columns_.size() + 1 << "\"></td>";
            for (const auto& v : p.values)
                out << (v ? "<td data-mean=\"" + raw(*v / t_.scale) + "\">" + number(*v / t_.scale, t_) + "</td>" : "<td>–</td>");
            out << "<td></td></tr>\n";
        }
        out << "</tbody>\n</table>\n";
        return out.str();
    }

    // Full precision, in the table's displayed units.
    std::string raw(double x) const {
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", x * t_.scale);
        return text;
    }

    std::string csv(const std::vector<Row>& rows) const {
        std::ostringstream out;
        auto quote = [](const std::string& s) {
            if (s.find_first_of(",\"\n") == std::string::npos) return s;
            std::string q = "\"";
            for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            return q + "\"";
        };
        std::vector<std::string> header;
        for (const auto& k : row_keys_) header.push_back(row_header(k));
        const bool select = !t_.select.empty();
        for (const auto& c : columns_)
            for (const char* part : {" mean", " std", " n"}) header.push_back(c.header + part);
        header.push_back("runs");
        if (select) {
            for (const auto& c : columns_) header.push_back(c.header + selected_suffix(t_));
            header.push_back("selected seed");
            header.push_back(selected_score_header(t_));
        }
        for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << quote(header[i]);
        out << "\n";
        for (const auto& r : rows) {
            std::vector<std::string> cells = r.labels;
            for (const auto& c : r.cells) {
                cells.push_back(c.n ? raw(c.mean) : "");
                cells.push_back(c.n > 1 ? raw(c.std) : "");
                cells.push_back(std::to_string(c.n));
            }
            cells.push_back(std::to_string(r.runs_finished));
            if (select) {
                for (const auto& c : r.selected) cells.push_back(c.n ? raw(c.mean) : "");
                cells.push_back(r.selected_run ? std::to_string(r.selected_run->seed) : "");
                char loss[64];
                std::snprintf(loss, sizeof loss, "%.17g", r.selected_score);
                cells.push_back(r.selected_run ? loss : "");
            }
            for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << quote(cells[i]);
            out << "\n";
        }
        for (const auto& p : t_.published) {
            out << quote(p.label);
            for (size_t i = 1; i < row_keys_.size(); ++i) out << ",";
            if (select) {
                for (size_t i = 0; i < columns_.size(); ++i) out << ",,,";
                out << ",";
                for (const auto& v : p.values) out << "," << (v ? raw(*v / t_.scale) : "");
                out << ",,\n";
                continue;
            }
            for (const auto& v : p.values) out << "," << (v ? raw(*v / t_.scale) : "") << ",,";
            out << ",\n";
        }
        return out.str();
    }

    const TableSpec& t_;
    TableFormat f_;
    const std::vector<std::string>& row_keys_;
    const std::vector<ColumnSpec>& columns_;
};

// A column that names no representation must match one only.
void check_unambiguous(const std::vector<ColumnSpec>& columns,
                       const std::vector<std::pair<std::string, MetricValue>>& metrics) {
    for (const auto& c : columns) {
        check_unambiguous(c.parts, metrics);
        if (!c.parts.empty() || !c.representation.empty()) continue;
        std::set<std::string> reps;
        for (const auto& [key, m] : metrics)
            if (m.metric == c.metric && m.name == c.name) reps.insert(m.representation);
        if (reps.size() > 1) {
            std::string list;
            for (const auto& r : reps) list += (list.empty() ? "" : ", ") + r;
            throw std::invalid_argument("column 'metric:" + c.header + "' is ambiguous: " + c.metric +
                                        " was evaluated on " + list + "; write metric:<representation>/" + c.header);
        }
    }
}

}  // namespace

TableFormat parse_table_format(const std::string& name) {
    if (name == "markdown" || name == "md") return TableFormat::Markdown;
    if (name == "latex" || name == "tex") return TableFormat::Latex;
    if (name == "csv") return TableFormat::Csv;
    if (name == "html") return TableFormat::Html;
    throw std::invalid_argument("unknown table format '" + name + "' (markdown, latex, csv or html)");
}

std::string row_label(const PlannedRun& run, const std::string& row_key) {
    if (row_key == "ablation") return run.variant;
    if (row_key == "dataset") return run.config["dataset"]["plugin"];
    json v = get_dotted(run.config, row_key);
    if (v.is_null()) return "–";
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string html_escape(const std::string& text) {
    std::string out;
    for (char ch : text) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += ch;
        }
    }
    return out;
}

namespace {

struct Aggregation {
    std::vector<ColumnSpec> columns;
    std::vector<Row> rows;
    std::unordered_map<std::string, std::vector<const MetricValue*>> metrics_of;
};

Aggregation aggregate(const TableSpec& table, const std::vector<PlannedRun>& runs,
                      const std::vector<std::pair<std::string, MetricValue>>& metrics) {
    Aggregation a;
    auto& columns = a.columns;
    auto& rows = a.rows;
    auto& metrics_of = a.metrics_of;
    for (size_t j = 0; j < table.columns.size(); ++j) {
        columns.push_back(parse_column(table.columns[j], table));
        if (j < table.headers.size()) columns.back().header = table.headers[j];
    }

    // Group runs into rows, in the order the experiment plans them.
    std::map<std::vector<std::string>, size_t> row_of_labels;
    // One run may sit in several rows (two variants that resolve to the same configuration).
    std::unordered_map<std::string, std::vector<size_t>> rows_of_key;
    for (const auto& run : runs) {
        std::vector<std::string> labels;
        for (const auto& k : table.rows) labels.push_back(row_label(run, k));
        auto [it, inserted] = row_of_labels.emplace(labels, rows.size());
        if (inserted) rows.push_back({labels, {}, 0});
        rows[it->second].runs.push_back(&run);
        auto& of_key = rows_of_key[run.key];
        if (std::find(of_key.begin(), of_key.end(), it->second) == of_key.end()) of_key.push_back(it->second);
    }
    // Values per row and column; a run counts as finished when it has any metric.
    // Runs in the order their metrics come, so that a cell's mean sums its values in a fixed order.
    std::vector<std::string> keys_in_order;
    for (const auto& [key, m] : metrics) {
        auto& list = metrics_of[key];
        if (list.empty()) keys_in_order.push_back(key);
        list.push_back(&m);
    }
    std::vector<std::vector<std::vector<double>>> values(rows.size(), std::vector<std::vector<double>>(columns.size()));
    for (const auto& key : keys_in_order) {
        const auto& run_metrics = metrics_of.at(key);
        auto of_key = rows_of_key.find(key);
        if (of_key == rows_of_key.end()) continue;
        for (size_t row : of_key->second) {
            ++rows[row].runs_finished;
            for (size_t j = 0; j < columns.size(); ++j)
                if (auto v = run_value(columns[j], run_metrics)) values[row][j].push_back(*v);
        }
    }
    check_unambiguous(columns, metrics);
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < columns.size(); ++j) rows[i].cells.push_back(aggregate(values[i][j]));
    rank_columns(rows, columns, &Row::cells);
    return a;
}

}  // namespace

std::vector<TableRow> aggregate_table(const TableSpec& table, const std::vector<PlannedRun>& runs,
                                      const std::vector<std::pair<std::string, MetricValue>>& metrics) {
    std::vector<TableRow> out;
    for (auto& r : aggregate(table, runs, metrics).rows) out.push_back({std::move(r.labels), std::move(r.cells), r.runs_finished});
    return out;
}

std::string render_table(const TableSpec& table, const std::vector<PlannedRun>& runs,
                         const std::vector<std::pair<std::string, MetricValue>>& metrics, TableFormat format,
                         const std::vector<std::pair<std::string, double>>& final_losses) {
    Aggregation a = aggregate(table, runs, metrics);
    if (!table.select.empty()) {
        select_runs(a.rows, a.columns, table, a.metrics_of, final_losses);
        rank_columns(a.rows, a.columns, &Row::selected);
    }
    return Writer(table, format, table.rows, a.columns).render(a.rows);
}

}  // namespace mvrl::host
