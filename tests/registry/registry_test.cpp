// The host loads real plugin libraries, refuses each broken one with its specific reason, and
// keeps loading the good ones. Also: the plain-C99 metric works through the same path.
#include <gtest/gtest.h>

#include <cstdlib>

#include "registry/plugin_call.hpp"
#include "registry/plugin_registry.hpp"

using namespace mvrl::host;

namespace {

std::string refusal_for(const PluginRegistry& r, const std::string& file) {
    for (const auto& x : r.refusals())
        if (x.path.filename() == file) return x.reason;
    return "";
}

PluginRegistry load_fixtures() {
    PluginRegistry r;
    r.load({BROKEN_PLUGIN_DIR, PLUGIN_DIR});
    return r;
}

}  // namespace

TEST(Registry, RefusesMissingEntrySymbol) {
    auto r = load_fixtures();
    EXPECT_EQ(refusal_for(r, "missing-entry.so").rfind("no entry symbol 'mvrl_plugin_entry'", 0), 0u)
        << refusal_for(r, "missing-entry.so");
}

TEST(Registry, RefusesOtherAbiMajor) {
    auto r = load_fixtures();
    EXPECT_NE(refusal_for(r, "wrong-abi-major.so").find("ABI major mismatch: built against mvrl ABI 2.0, this host speaks ABI 1.x"),
              std::string::npos)
        << refusal_for(r, "wrong-abi-major.so");
    EXPECT_EQ(r.find("wrong-abi-major"), nullptr);
}

TEST(Registry, RefusesTooSmallDescriptor) {
    auto r = load_fixtures();
    EXPECT_NE(refusal_for(r, "small-descriptor.so").find("descriptor too small: struct_size 12 bytes"), std::string::npos)
        << refusal_for(r, "small-descriptor.so");
    EXPECT_EQ(r.find("small-descriptor"), nullptr);
}

TEST(Registry, RefusesOtherTorchVersion) {
    auto r = load_fixtures();
    EXPECT_NE(refusal_for(r, "other-torch.so")
                  .find("built against libtorch 0.0.0-other, this host runs libtorch " + host_torch_version()),
              std::string::npos)
        << refusal_for(r, "other-torch.so");
    EXPECT_EQ(r.find("other-torch"), nullptr);
}

TEST(Registry, RefusesDuplicateNameAndKeepsTheFirst) {
    auto r = load_fixtures();
    std::string reason = refusal_for(r, "duplicate-b.so");
    EXPECT_NE(reason.find("duplicate plugin name 'duplicate-metric': already loaded from"), std::string::npos) << reason;
    EXPECT_NE(reason.find("duplicate-a.so"), std::string::npos) << reason;
    ASSERT_NE(r.find("duplicate-metric"), nullptr);
    EXPECT_EQ(r.find("duplicate-metric")->path.filename(), "duplicate-a.so");
}

TEST(Registry, RefusesFileThatIsNotALibrary) {
    auto r = load_fixtures();
    EXPECT_EQ(refusal_for(r, "not-a-library.so").rfind("cannot be loaded: ", 0), 0u) << refusal_for(r, "not-a-library.so");
}

TEST(Registry, LoadsTheGoodPluginsBesideTheBrokenOnes) {
    auto r = load_fixtures();
    EXPECT_EQ(r.refusals().size(), 6u);
    for (const char* name : {"good-fake", "duplicate-metric", "nearest-centroid", "multiview-synthetic", "linear-ae",
                             "gaussian-mi"})
        EXPECT_NE(r.find(name), nullptr) << name;
    EXPECT_EQ(r.find("nearest-centroid")->kind, MVRL_KIND_METRIC);
    EXPECT_EQ(r.find("nearest-centroid")->torch_version, "");
    EXPECT_EQ(r.find("linear-ae")->torch_version, host_torch_version());
}

TEST(Registry, SameFileTwiceLoadsOnce) {
    PluginRegistry r;
    r.load({PLUGIN_DIR, PLUGIN_DIR, std::string(PLUGIN_DIR) + "/nearest-centroid.so"});
    EXPECT_TRUE(r.refusals().empty());
    EXPECT_NE(r.find("nearest-centroid"), nullptr);
}

TEST(Registry, MissingFolderIsReported) {
    PluginRegistry r;
    r.load({"/nonexistent/mvrl-plugins"});
    ASSERT_EQ(r.refusals().size(), 1u);
    EXPECT_EQ(r.refusals()[0].path, "/nonexistent/mvrl-plugins");
}

TEST(Registry, RequireNamesWhatIsThere) {
    auto r = load_fixtures();
    try {
        r.require("mrdd-typo", MVRL_KIND_MODEL);
        FAIL() << "expected PluginNotFound";
    } catch (const PluginNotFound& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("no model plugin named 'mrdd-typo'"), std::string::npos) << m;
        EXPECT_NE(m.find("linear-ae"), std::string::npos) << m;
        EXPECT_NE(m.find("--plugin-path"), std::string::npos) << m;
    }
    EXPECT_THROW(r.require("nearest-centroid", MVRL_KIND_DATASET), PluginNotFound);
}

TEST(SearchPath, CliThenEnvironmentThenBesideTheExecutable) {
    auto path = plugin_search_path({"/a:/b", "/c"}, "/d::/e", "/nonexistent/bin/mvrl-run");
    std::vector<fs::path> expected = {"/a", "/b", "/c", "/d", "/e"};
    EXPECT_EQ(path, expected);
}

// ---- the C99 plugin, called through the registry like any other ----

namespace {

struct CpuTensor {  // a DLPack view of a std::vector, lent to one call
    CpuTensor(void* data, std::vector<int64_t> shape, DLDataType dtype) : shape(std::move(shape)) {
        managed.dl_tensor = {data, {kDLCPU, 0}, (int32_t)this->shape.size(), dtype, this->shape.data(), nullptr, 0};
    }
    std::vector<int64_t> shape;
    DLManagedTensor managed{};
};

struct MetricResult {
    mvrl_status status;
    std::string error;
    std::vector<std::pair<std::string, double>> values;
};

MetricResult evaluate(const Plugin& p, std::vector<std::pair<const char*, CpuTensor*>> tensors, const char* params = "{}") {
    std::vector<mvrl_named_tensor> items;
    for (auto& [name, t] : tensors) items.push_back({name, &t->managed});
    mvrl_tensor_list inputs{sizeof(mvrl_tensor_list), (uint32_t)items.size(), items.data(), nullptr, nullptr};
    mvrl_context ctx{sizeof(mvrl_context), "cpu", 0, 1, nullptr, nullptr, nullptr};
    mvrl_scalar_list out{};
    ErrorBuffer err;
    MetricResult result;
    result.status = p.metric()->evaluate(params, &inputs, &ctx, &out, err.get());
    result.error = err.text();
    for (uint32_t i = 0; result.status == MVRL_OK && i < out.count; ++i)
        result.values.emplace_back(out.items[i].name, out.items[i].value);
    if (result.status == MVRL_OK && out.release) out.release(&out);
    return result;
}

}  // namespace

TEST(C99Plugin, NearestCentroidAccuracyOnAKnownSplit) {
    auto r = load_fixtures();
    const Plugin& p = r.require("nearest-centroid", MVRL_KIND_METRIC);
    // Train: class 0 around (0,0), class 1 around (10,10). Test: three points, the last one is a
    // class-0 point that lies nearer class 1's centroid, so the expected accuracy is 2/3.
    std::vector<float> x = {0, 0, 0, 2, 10, 10, 10, 12, /*test*/ 1, 1, 9, 9, 8, 8};
    std::vector<int64_t> y = {0, 0, 1, 1, 0, 1, 0};
    std::vector<int64_t> split = {0, 0, 0, 0, 1, 1, 1};
    CpuTensor xt(x.data(), {7, 2}, {kDLFloat, 32, 1}), yt(y.data(), {7}, {kDLInt, 64, 1}),
        st(split.data(), {7}, {kDLInt, 64, 1});
    auto result = evaluate(p, {{"representation", &xt}, {"label", &yt}, {"split", &st}});
    ASSERT_EQ(result.status, MVRL_OK) << result.error;
    ASSERT_EQ(result.values.size(), 2u);
    EXPECT_EQ(result.values[0].first, "ACC");
    EXPECT_DOUBLE_EQ(result.values[0].second, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(result.values[1].second, 3.0);
}

TEST(C99Plugin, ErrorsNameTheInputOrParameter) {
    auto r = load_fixtures();
    const Plugin& p = r.require("nearest-centroid", MVRL_KIND_METRIC);
    std::vector<float> x = {0, 1};
    CpuTensor xt(x.data(), {2, 1}, {kDLFloat, 32, 1});
    auto missing = evaluate(p, {{"representation", &xt}});
    EXPECT_EQ(missing.status, MVRL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(missing.error, "nearest-centroid: missing input tensor 'label'");
    std::vector<int64_t> y = {0, 1};
    CpuTensor yt(y.data(), {2}, {kDLInt, 64, 1});
    auto unknown = evaluate(p, {{"representation", &xt}, {"label", &yt}}, R"({"k": 3})");
    EXPECT_EQ(unknown.status, MVRL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(unknown.error.find("unknown parameter"), std::string::npos) << unknown.error;
    ErrorBuffer err;
    err.get();
    EXPECT_THROW(check_call(MVRL_ERR_INVALID_ARGUMENT, err, p, "evaluate"), PluginCallError);
}

// ABI 1.1 makes a model's training calls and its checkpoint calls optional, each group all or
// none; a 1.0 plugin, which had to fill them all, still loads when it did.
TEST(Registry, AdmitsModelTablesAsTheirAbiMinorAllows) {
    PluginRegistry r;
    r.load({MODEL_ABI_PLUGIN_DIR});
    ASSERT_NE(r.find("model-1-0-full"), nullptr) << "a 1.0 model with every call loads";
    EXPECT_EQ(r.find("model-1-0-full")->abi_minor, 0u);
    ASSERT_NE(r.find("model-1-1-untrained"), nullptr) << "a 1.1 model without training or checkpoints loads";
    EXPECT_EQ(r.find("model-1-1-untrained")->model()->stages, nullptr);
    EXPECT_EQ(r.find("model-1-0-no-checkpoints"), nullptr);
    EXPECT_EQ(refusal_for(r, "model-1-0-no-checkpoints.so"), "plugin 'model-1-0-no-checkpoints': required call 'save' is NULL");
    EXPECT_EQ(r.find("model-1-1-half-checkpoints"), nullptr);
    EXPECT_EQ(refusal_for(r, "model-1-1-half-checkpoints.so"),
              "plugin 'model-1-1-half-checkpoints': 'load' NULL while the rest of checkpoints (save, load) is not: they are "
              "optional together (ABI 1.1)");
}
