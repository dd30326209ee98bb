// A [[table]] rendered from a store holding known values: correct mean ± std (sample std over
// seeds), best bold, second underlined, published row; identical output every time (golden file).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/experiment.hpp"
#include "registry/plugin_registry.hpp"
#include "report/table_report.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

using namespace mvrl::host;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string run_command(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command;
    return out;
}

// ACC = 0.5 + 0.1 v + 0.01 s, NMI = 0.4 - 0.05 v + 0.02 s, loss = 1 - 0.1 v (variant v, seed s):
// over seeds 0..2 the ACC mean is 0.5 + 0.1 v + 0.01 and its sample std exactly 0.01.
struct Fixture {
    Fixture(const std::string& toml = GOLDEN_TOML, double (*final_loss)(int variant, int64_t seed) = nullptr) {
        registry.load({PLUGIN_DIR});
        experiment = load_experiment(toml);
        runs = expand_runs(experiment, registry);
        db = testing::TempDir() + "/golden-" + std::to_string(getpid()) + ".sqlite";
        std::remove(db.c_str());
        Store store = Store::open_for_writing(db);
        int64_t sweep = store.begin_sweep({experiment.name, toml, experiment.source_text, "test", "host", "rev"});
        store.record_plugins(records_of_plugins_used(runs, registry));
        store.queue_runs(sweep, runs, false);
        while (auto run = store.claim_next_run(sweep, "test", 1, "host")) {
            int v = run->variant == "baseline" ? 0 : run->variant == "w/o fusion" ? 1 : 2;
            double s = double(run->seed);
            RunTimings timings;
            if (final_loss) timings.final_loss = final_loss(v, run->seed);
            store.finish_run(run->id,
                             {{"z", "nearest-centroid", "ACC", 0.5 + 0.1 * v + 0.01 * s},
                              {"z", "nearest-centroid", "NMI", 0.4 - 0.05 * v + 0.02 * s},
                              {"z", "nearest-centroid", "loss", 1.0 - 0.1 * v}},
                             timings);
        }
    }
    std::string render(TableFormat format) {
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        Store store = Store::open_existing(db);
        return render_table(experiment.tables.at(0), runs, store.metrics_of_keys(keys), format, store.final_losses_of_keys(keys));
    }
    PluginRegistry registry;
    Experiment experiment;
    std::vector<PlannedRun> runs;
    std::string db;
};

}  // namespace

TEST(TableReport, MarkdownMatchesTheGoldenFile) {
    Fixture f;
    ASSERT_EQ(f.runs.size(), 9u);
    std::string markdown = f.render(TableFormat::Markdown);
    // MVRL_UPDATE_GOLDEN=1 rewrites the golden file after a deliberate change of format; review its diff.
    if (std::getenv("MVRL_UPDATE_GOLDEN")) std::ofstream(GOLDEN_DIR "/table3.md") << markdown;
    EXPECT_EQ(markdown, read_file(GOLDEN_DIR "/table3.md")) << markdown;
    EXPECT_NE(markdown.find("| baseline | 51.00 ± 1.00 | **42.00 ± 2.00** | 100.00 ± 0.00 | 3 |"), std::string::npos);
    EXPECT_NE(markdown.find("| w/o views | **71.00 ± 1.00** | 32.00 ± 2.00 | **80.00 ± 0.00** | 3 |"), std::string::npos);
    EXPECT_NE(markdown.find("| paper | 58.25 | 55.10 | – |"), std::string::npos);
}

TEST(TableReport, CliRendersTheSameTwice) {
    Fixture f;
    std::string command = std::string(MVRL_RUN) + " --plugin-path " + PLUGIN_DIR + " table " + GOLDEN_TOML + " --db " + f.db;
    std::string first = run_command(command), second = run_command(command);
    EXPECT_EQ(first, second);
    EXPECT_EQ(first, read_file(GOLDEN_DIR "/table3.md"));
}

TEST(TableReport, LatexAndCsv) {
    Fixture f;
    std::string latex = f.render(TableFormat::Latex);
    EXPECT_NE(latex.find("w/o views & \\textbf{71.00 $\\pm$ 1.00} & 32.00 $\\pm$ 2.00 & \\textbf{80.00 $\\pm$ 0.00} & 3 \\\\"),
              std::string::npos) << latex;
    std::string csv = f.render(TableFormat::Csv);
    EXPECT_NE(csv.find("variant,z/nearest-centroid.ACC mean,z/nearest-centroid.ACC std,z/nearest-centroid.ACC n,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("baseline,51,1.0000000000000009,3,"), std::string::npos) << csv;
}

TEST(TableReport, AmbiguousColumnIsAnError) {
    Fixture f;
    TableSpec table = f.experiment.tables.at(0);
    table.published.clear();
    std::vector<std::pair<std::string, MetricValue>> metrics = {{f.runs[0].key, {"z", "nearest-centroid", "NMI", 0.1}},
                                                               {f.runs[0].key, {"c", "nearest-centroid", "NMI", 0.2}}};
    EXPECT_THROW(render_table(table, f.runs, metrics, TableFormat::Markdown), std::invalid_argument);
}

// Final losses: baseline seeds 0, 1, 2 → 0.3, 0.1, 0.2 (seed 1 selected); w/o fusion → 0.5, 0.6, 0.4 (seed 2).
double selection_loss(int variant, int64_t seed) {
    static const double losses[2][3] = {{0.3, 0.1, 0.2}, {0.5, 0.6, 0.4}};
    return losses[variant][seed];
}

TEST(TableReport, SelectMinLossReportsEachRowsLowestLossRunBesideTheMean) {
    Fixture f(SELECT_TOML, selection_loss);
    std::string markdown = f.render(TableFormat::Markdown);
    if (std::getenv("MVRL_UPDATE_GOLDEN")) std::ofstream(GOLDEN_DIR "/select.md") << markdown;
    EXPECT_EQ(markdown, read_file(GOLDEN_DIR "/select.md")) << markdown;
    // baseline: mean ACC 51.0 ± 1.0; seed 1 has the lowest loss, its ACC is 51.0 and NMI 42.0.
    EXPECT_NE(markdown.find("| variant | nearest-centroid.ACC | nearest-centroid.NMI | n | nearest-centroid.ACC (min loss) | "
                            "nearest-centroid.NMI (min loss) | seed |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("| baseline | <u>51.0 ± 1.0</u> | **42.0 ± 2.0** | 3 | <u>51.0</u> | **42.0** | 1 |"), std::string::npos) << markdown;
    // w/o fusion: seed 2 → ACC 0.6 + 0.02, NMI 0.35 + 0.04.
    EXPECT_NE(markdown.find("| w/o fusion | **61.0 ± 1.0** | <u>37.0 ± 2.0</u> | 3 | **62.0** | <u>39.0</u> | 2 |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("| paper |  |  |  | 59.2 | 55.2 |  |"), std::string::npos) << markdown;

    std::string csv = f.render(TableFormat::Csv);
    EXPECT_NE(csv.find(",runs,nearest-centroid.ACC (min loss),nearest-centroid.NMI (min loss),selected seed,selected final_loss\n"),
              std::string::npos) << csv;
    EXPECT_NE(csv.find("w/o fusion,61,1.0000000000000009,3,37.000000000000007,1.9999999999999991,3,3,62,39,2,0.40000000000000002\n"), std::string::npos) << csv;
    std::string latex = f.render(TableFormat::Latex);
    EXPECT_NE(latex.find("\\begin{tabular}{lrrrrrr}"), std::string::npos) << latex;

    // The CLI reads the final losses from the store too.
    std::string cli = run_command(std::string(MVRL_RUN) + " --plugin-path " + PLUGIN_DIR + " table " + SELECT_TOML + " --db " + f.db);
    EXPECT_EQ(cli, markdown);
}

TEST(TableReport, SelectWithoutFinalLossesLeavesTheSelectedColumnsEmpty) {
    Fixture f(SELECT_TOML);  // no final loss recorded, as for a model without training (raw)
    std::vector<std::string> keys;
    for (const auto& r : f.runs) keys.push_back(r.key);
    auto metrics = Store::open_existing(f.db).metrics_of_keys(keys);
    std::string none = render_table(f.experiment.tables.at(0), f.runs, metrics, TableFormat::Markdown, {});
    EXPECT_NE(none.find("| baseline | <u>51.0 ± 1.0</u> | **42.0 ± 2.0** | 3 | – | – |  |"), std::string::npos) << none;
    EXPECT_EQ(f.render(TableFormat::Markdown), none) << "a NULL final_loss must not be selected as if it were 0";
    Fixture tied(SELECT_TOML, [](int, int64_t) { return 0.0; });  // equal losses: the first planned run wins
    std::string ties = tied.render(TableFormat::Markdown);
    EXPECT_NE(ties.find("| baseline | <u>51.0 ± 1.0</u> | **42.0 ± 2.0** | 3 | <u>50.0</u> | **40.0** | 0 |"), std::string::npos) << ties;
}

// select = "max:<column>": per row the run with the best value of a column (model selection on
// validation rows, e.g. max:metric:prediction.val_ACC). NMI = 0.4 - 0.05 v + 0.02 s is highest at
// seed 2 in every row; min:<column> picks seed 0.
TEST(TableReport, SelectByTheBestValueOfAColumn) {
    Fixture f(SELECT_TOML);
    std::vector<std::string> keys;
    for (const auto& r : f.runs) keys.push_back(r.key);
    auto metrics = Store::open_existing(f.db).metrics_of_keys(keys);
    TableSpec table = f.experiment.tables.at(0);
    table.published.clear();
    table.select = "max:metric:nearest-centroid.NMI";
    std::string best = render_table(table, f.runs, metrics, TableFormat::Markdown, {});
    EXPECT_NE(best.find("nearest-centroid.ACC (max nearest-centroid.NMI)"), std::string::npos) << best;
    EXPECT_NE(best.find("| baseline | <u>51.0 ± 1.0</u> | **42.0 ± 2.0** | 3 | <u>52.0</u> | **44.0** | 2 |"), std::string::npos) << best;
    std::string csv = render_table(table, f.runs, metrics, TableFormat::Csv, {});
    EXPECT_NE(csv.find(",selected seed,selected nearest-centroid.NMI\n"), std::string::npos) << csv;
    table.select = "min:metric:nearest-centroid.NMI";
    std::string worst = render_table(table, f.runs, metrics, TableFormat::Markdown, {});
    EXPECT_NE(worst.find("| baseline | <u>51.0 ± 1.0</u> | **42.0 ± 2.0** | 3 | <u>50.0</u> | **40.0** | 0 |"), std::string::npos) << worst;
}
