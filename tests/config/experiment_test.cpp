// Expansion of an experiment into runs: counts, keys, overrides.
#include <gtest/gtest.h>

#include <fstream>

#include "config/experiment.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl::host;

namespace {

std::string write(const std::string& name, const std::string& text) {
    std::string path = testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

const char* kBase = R"(
[experiment]
name = "x"
seeds = [0, 1]
[dataset]
plugin = "multiview-synthetic"
[model]
plugin = "linear-ae"
params = { epochs = 2 }
[sweep]
"model.params.latent_dim" = [2, 4, 8]
"train.batch_size" = [32, 64]
[[ablation]]
name = "a"
"model.params.lr" = 0.5
)";

}  // namespace

TEST(Expansion, DatasetsTimesVariantsTimesGridTimesSeeds) {
    auto runs = expand_runs(load_experiment(write("base.toml", kBase)), built_plugins());
    EXPECT_EQ(runs.size(), 2u * 3 * 2 * 2);
    std::set<std::string> keys;
    for (const auto& r : runs) keys.insert(r.key);
    EXPECT_EQ(keys.size(), runs.size()) << "every run has its own key";
    const auto& last = runs.back();
    EXPECT_EQ(last.variant, "a");
    EXPECT_EQ(last.config["model"]["params"]["lr"], 0.5);
    EXPECT_EQ(last.config["model"]["params"]["latent_dim"], 8);
    EXPECT_EQ(last.config["train"]["batch_size"], 64);
    EXPECT_EQ(last.config["model"]["version"], "1.0.0");
    EXPECT_EQ(last.config["dataset"]["params"]["n"], 2000) << "defaults are resolved into the config";
}

TEST(Expansion, KeysAreStableAndFollowTheResolvedConfig) {
    auto a = expand_runs(load_experiment(write("a.toml", kBase)), built_plugins());
    auto b = expand_runs(load_experiment(write("b.toml", kBase)), built_plugins());
    EXPECT_EQ(a[0].key, b[0].key);
    // Writing a default explicitly resolves to the same config, so the same run.
    auto c = expand_runs(load_experiment(write("c.toml", kBase), {"model.params.lr=0.01"}), built_plugins());
    EXPECT_EQ(a[0].key, c[0].key);
    auto d = expand_runs(load_experiment(write("d.toml", kBase), {"model.params.lr=0.02"}), built_plugins());
    EXPECT_NE(a[0].key, d[0].key);
}

TEST(Overrides, SetParsesTomlValuesAndBareStrings) {
    auto e = load_experiment(write("s.toml", kBase), {"experiment.seeds=[5]", "model.plugin=linear-ae", "experiment.name=renamed"});
    EXPECT_EQ(e.seeds, std::vector<int64_t>{5});
    EXPECT_EQ(e.name, "renamed");
    EXPECT_THROW(load_experiment(write("t.toml", kBase), {"no-equals-sign"}), ConfigError);
    try {
        load_experiment(write("u.toml", kBase), {"experiment.sedes=[1]"});
        FAIL();
    } catch (const ConfigError& err) {
        EXPECT_NE(std::string(err.what()).find("unknown key 'sedes' in [experiment] (did you mean 'seeds'?)"), std::string::npos)
            << err.what();
    }
}

TEST(Expansion, TheBaselineRowMayBeNamed) {
    auto runs = expand_runs(load_experiment(write("n.toml", kBase), {"experiment.baseline=linear AE"}), built_plugins());
    EXPECT_EQ(runs.front().variant, "linear AE");
    EXPECT_EQ(runs.back().variant, "a");
}

TEST(Overrides, GridAndAblationMayNotSetTheSameKey) {
    std::string text = std::string(kBase) + "\n[[ablation]]\nname = \"b\"\n\"train.batch_size\" = 8\n";
    try {
        load_experiment(write("g.toml", text));
        FAIL();
    } catch (const ConfigError& err) {
        EXPECT_NE(std::string(err.what()).find("'train.batch_size' is set by both [sweep] and ablation 'b'"), std::string::npos)
            << err.what();
    }
}

TEST(Dotted, SetGetFlatten) {
    mvrl::json j = mvrl::json::object();
    set_dotted(j, "model.params.lr", 0.1);
    EXPECT_EQ(get_dotted(j, "model.params.lr"), 0.1);
    EXPECT_TRUE(get_dotted(j, "model.params.missing").is_null());
    EXPECT_EQ(flatten(j), (mvrl::json{{"model.params.lr", 0.1}}));
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

namespace {

const char* kTable = R"(
[[table]]
name = "T"
columns = ["metric:nearest-centroid.ACC"]
select = "min:loss"
)";

}  // namespace

TEST(Table, SelectMinLossParses) {
    auto e = load_experiment(write("sel.toml", std::string(kBase) + kTable));
    ASSERT_EQ(e.tables.size(), 1u);
    EXPECT_EQ(e.tables[0].select, "min:loss");
    auto plain = load_experiment(write("nosel.toml", kBase));
    EXPECT_TRUE(plain.tables.empty());
}

TEST(Table, BadSelectIsAnErrorNamingFileLineAndTheOneChoice) {
    std::string text = std::string(kBase) + kTable;
    text.replace(text.find("min:loss"), 8, "max:foo");
    try {
        load_experiment(write("badsel.toml", text));
        FAIL();
    } catch (const ConfigError& err) {
        std::string m = err.what();
        EXPECT_NE(m.find("badsel.toml:20:10: [[table]] select = \"max:foo\" is not supported"), std::string::npos) << m;
        EXPECT_NE(m.find("\"min:loss\""), std::string::npos) << m;
    }
    std::string typo = std::string(kBase) + kTable;
    typo.replace(typo.find("select"), 6, "selct");
    try {
        load_experiment(write("typo.toml", typo));
        FAIL();
    } catch (const ConfigError& err) {
        EXPECT_NE(std::string(err.what()).find("unknown key 'selct' in [[table]] (did you mean 'select'?)"), std::string::npos)
            << err.what();
    }
}

TEST(Table, SelectByAColumnParses) {
    std::string text = std::string(kBase) + kTable;
    text.replace(text.find("min:loss"), 8, "max:metric:prediction.val_ACC");
    EXPECT_EQ(load_experiment(write("selcol.toml", text)).tables[0].select, "max:metric:prediction.val_ACC");
}

// [train] split, split_seed and rows: checked, and absent unless given (runs planned before them
// keep their keys).
TEST(Train, SupervisedProtocolKeysAreCheckedAndNotFilledIn) {
    auto plain = expand_runs(load_experiment(write("plain.toml", kBase)), built_plugins());
    EXPECT_FALSE(plain[0].config["train"].contains("split"));
    EXPECT_FALSE(plain[0].config["train"].contains("rows"));
    auto ok = load_experiment(write("ok.toml", kBase), {"train.split=[0.7, 0.2, 0.1]", "train.rows=\"train\"", "train.split_seed=3"});
    EXPECT_EQ(ok.train["split"].size(), 3u);
    const std::pair<const char*, const char*> bad[] = {
        {"train.split=[0.7, 0.2]", "fractions that sum to 1"},
        {"train.split=[0.5, 0.6, -0.1]", "fractions that sum to 1"},
        {"train.split=[1.0, 0.0]", "some test rows"},
        {"train.split_seed=4", "split_seed is set without train.split"},
        {"train.rows=\"test\"", "train.rows must be \"train\""},
    };
    for (const auto& [set, message] : bad) {
        try {
            load_experiment(write("bad-train.toml", kBase), {set});
            FAIL() << set;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << set << ": " << e.what();
        }
    }
}

// [train] missing_view, missing_share and missing_seed: checked, and absent unless given.
TEST(Train, MissingModalityKeysAreCheckedAndNotFilledIn) {
    auto plain = expand_runs(load_experiment(write("plain.toml", kBase)), built_plugins());
    EXPECT_FALSE(plain[0].config["train"].contains("missing_view"));
    EXPECT_FALSE(plain[0].config["train"].contains("missing_seed"));
    auto ok = load_experiment(write("ok.toml", kBase), {"train.missing_view=1", "train.missing_share=0.5", "train.missing_seed=2"});
    EXPECT_EQ(ok.train["missing_view"], 1);
    const std::vector<std::pair<std::vector<std::string>, const char*>> bad = {
        {{"train.missing_view=1"}, "go together"},
        {{"train.missing_share=0.5"}, "go together"},
        {{"train.missing_view=-1", "train.missing_share=0.5"}, "index of the view"},
        {{"train.missing_view=0", "train.missing_share=1.0"}, "above 0 and below 1"},
        {{"train.missing_view=0", "train.missing_share=0.0"}, "above 0 and below 1"},
        {{"train.missing_seed=3"}, "missing_seed is set without"},
        {{"train.missing_rate=0.5"}, "unknown key 'train.missing_rate'"},
    };
    for (const auto& [sets, message] : bad) {
        try {
            load_experiment(write("bad-missing.toml", kBase), sets);
            FAIL() << sets[0];
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << sets[0] << ": " << e.what();
        }
    }
}

TEST(Evaluate, ModelsLimitsAnEntryToTheRunsOfThoseModels) {
    const char* kTwoModels = R"(
[experiment]
name = "two-models"
[dataset]
plugin = "multiview-synthetic"
[model]
plugin = "linear-ae"
)";
    std::string text = std::string(kTwoModels) + R"(
[[ablation]]
name = "raw"
"model.plugin" = "raw"
"model.params" = {}
[[evaluate]]
representation = "z"
metric = "nearest-centroid"
models = ["linear-ae"]
[[evaluate]]
representation = "concat"
metric = "nearest-centroid"
)";
    auto runs = expand_runs(load_experiment(write("models.toml", text)), built_plugins());
    for (const auto& r : runs) {
        const auto& evaluate = r.config["evaluate"];
        bool linear = r.config["model"]["plugin"] == "linear-ae";
        ASSERT_EQ(evaluate.size(), linear ? 2u : 1u) << r.variant;
        EXPECT_EQ(evaluate.back()["representation"], "concat");
        for (const auto& entry : evaluate) EXPECT_FALSE(entry.contains("models")) << "not part of the run's config";
    }
    // An entry without `models` leaves the run's config (and key) as it was.
    auto without = expand_runs(load_experiment(write("nomodels.toml", kTwoModels)), built_plugins());
    auto with = expand_runs(load_experiment(write("models2.toml", std::string(kTwoModels) + R"(
[[evaluate]]
representation = "z"
metric = "nearest-centroid"
models = "raw"
)")), built_plugins());
    EXPECT_EQ(without[0].key, with[0].key);
}

namespace {

const char* kEstimateBase = R"(
[experiment]
name = "estimates"
[dataset]
plugin = "multiview-synthetic"
[model]
plugin = "linear-ae"
[[ablation]]
name = "raw"
"model.plugin" = "raw"
"model.params" = {}
)";

// The ConfigError message `text` raises when expanded (empty when it expands).
std::string expansion_error(const std::string& name, const std::string& text) {
    try {
        expand_runs(load_experiment(write(name, text)), built_plugins());
    } catch (const ConfigError& err) {
        return err.what();
    }
    return "";
}

}  // namespace

TEST(Estimate, ParamsAreResolvedWithDefaultsIntoTheRunsConfigAndKey) {
    const std::string text = std::string(kEstimateBase) + R"(
[[estimate]]
x = "z0"
y = "z1"
estimator = "mine"
params = { steps = 50 }
models = ["linear-ae"]
)";
    auto runs = expand_runs(load_experiment(write("est.toml", text)), built_plugins());
    ASSERT_EQ(runs.size(), 2u);
    const auto& linear = runs[0].config;
    ASSERT_TRUE(linear.contains("estimate"));
    ASSERT_EQ(linear["estimate"].size(), 1u);
    const auto& entry = linear["estimate"][0];
    EXPECT_EQ(entry["x"], "z0");
    EXPECT_EQ(entry["y"], "z1");
    EXPECT_EQ(entry["estimator"], "mine");
    EXPECT_EQ(entry["params"]["steps"], 50);
    EXPECT_EQ(entry["params"]["hidden"], 100) << "defaults are filled in";
    EXPECT_TRUE(entry.contains("version"));
    EXPECT_FALSE(entry.contains("models")) << "not part of the run's config";
    EXPECT_FALSE(runs[1].config.contains("estimate")) << "the raw model's run has no estimate: models = [\"linear-ae\"]";

    // Without [[estimate]], a run's config (and key) is what it was before estimates existed.
    auto without = expand_runs(load_experiment(write("noest.toml", kEstimateBase)), built_plugins());
    EXPECT_FALSE(without[0].config.contains("estimate"));
    EXPECT_EQ(without[1].key, runs[1].key);
    EXPECT_NE(without[0].key, runs[0].key);
    // Another estimator parameter, or a default written out, changes the key, or keeps it.
    std::string other = text, explicit_default = text;
    other.replace(other.find("steps = 50"), 10, "steps = 51");
    explicit_default.replace(explicit_default.find("steps = 50"), 10, "steps = 50, hidden = 100");
    EXPECT_NE(expand_runs(load_experiment(write("est2.toml", other)), built_plugins())[0].key, runs[0].key);
    EXPECT_EQ(expand_runs(load_experiment(write("est3.toml", explicit_default)), built_plugins())[0].key, runs[0].key);
}

TEST(Estimate, BadEntriesNameTheFileTheEntryAndTheKey) {
    const std::string base = std::string(kEstimateBase) + "[[estimate]]\n";
    std::string m = expansion_error("e1.toml", base + "x = \"z0\"\ny = \"z1\"\nestimator = \"mine\"\nparam = {}\n");
    EXPECT_NE(m.find("e1.toml:16:1: unknown key 'param' in [[estimate]] (did you mean 'params'?)"), std::string::npos) << m;
    m = expansion_error("e2.toml", base + "x = \"z0\"\nestimator = \"mine\"\n");
    EXPECT_NE(m.find("e2.toml:12:1: missing key 'y' in [[estimate]]"), std::string::npos) << m;
    m = expansion_error("e3.toml", base + "x = \"z0\"\ny = \"z1\"\nestimator = \"mien\"\n");
    EXPECT_NE(m.find("e3.toml: variant 'baseline': [[estimate]] x = \"z0\", y = \"z1\", estimator = \"mien\": no estimator "
                     "plugin named 'mien'"),
              std::string::npos)
        << m;
    m = expansion_error("e4.toml", base + "x = \"z0\"\ny = \"z1\"\nestimator = \"mine\"\nparams = { steps = 0 }\n");
    EXPECT_NE(m.find("e4.toml: variant 'baseline': [[estimate]] x = \"z0\", y = \"z1\", estimator = \"mine\": parameter "
                     "'steps' of plugin 'mine'"),
              std::string::npos)
        << m;
    m = expansion_error("e5.toml", base + "x = \"c;s0\"\ny = \"z1\"\nestimator = \"mine\"\n");
    EXPECT_NE(m.find("e5.toml:13:5: [[estimate]] x = \"c;s0\" must name one representation"), std::string::npos) << m;
    m = expansion_error("e6.toml", base + "x = \"z0\"\ny = \"z1\"\nestimator = \"mine\"\n" + "[[estimate]]\n" +
                                       "x = \"z0\"\ny = \"z1\"\nestimator = \"mine\"\nparams = { steps = 9 }\n");
    EXPECT_NE(m.find("estimator = \"mine\" appears twice"), std::string::npos) << m;
    m = expansion_error("e7.toml", base + "x = \"z0\"\ny = \"z1\"\nestimator = \"mine\"\nmodels = []\n");
    EXPECT_NE(m.find("e7.toml:16:10: [[estimate]] models is empty"), std::string::npos) << m;
}
