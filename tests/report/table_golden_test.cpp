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
    Fixture() {
        registry.load({PLUGIN_DIR});
        experiment = load_experiment(GOLDEN_TOML);
        runs = expand_runs(experiment, registry);
        db = testing::TempDir() + "/golden-" + std::to_string(getpid()) + ".sqlite";
        std::remove(db.c_str());
        Store store = Store::open_for_writing(db);
        int64_t sweep = store.begin_sweep({experiment.name, GOLDEN_TOML, experiment.source_text, "test", "host", "rev"});
        store.record_plugins(records_of_plugins_used(runs, registry));
        store.queue_runs(sweep, runs, false);
        while (auto run = store.claim_next_run(sweep, "test", 1, "host")) {
            int v = run->variant == "baseline" ? 0 : run->variant == "w/o fusion" ? 1 : 2;
            double s = double(run->seed);
            store.finish_run(run->id,
                             {{"z", "nearest-centroid", "ACC", 0.5 + 0.1 * v + 0.01 * s},
                              {"z", "nearest-centroid", "NMI", 0.4 - 0.05 * v + 0.02 * s},
                              {"z", "nearest-centroid", "loss", 1.0 - 0.1 * v}},
                             RunTimings{});
        }
    }
    std::string render(TableFormat format) {
        std::vector<std::string> keys;
        for (const auto& r : runs) keys.push_back(r.key);
        auto metrics = Store::open_existing(db).metrics_of_keys(keys);
        return render_table(experiment.tables.at(0), runs, metrics, format);
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
