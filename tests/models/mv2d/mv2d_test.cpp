// The mv2d model plugin through the C ABI, on multiview-synthetic's labelled views: the KL it
// distils by, the n = 1 reduction to VSD, 2, 3 and 6 views, each term lowered by training, and
// its refusal of batches that hold test rows.
#include <gtest/gtest.h>

#include <mvrl/nn/distillation.hpp>

#include "runner/plugin_handles.hpp"
#include "support/built_plugins.hpp"

using namespace mvrl;
using namespace mvrl::host;

namespace {

const HostContext& ctx() {
    static HostContext c("cpu", 0, 1);
    return c;
}

struct Labelled {
    TensorMap data;
    json info;
};

// 240 samples of `views` views (8 wide each), 3 classes; every row a training row.
Labelled synthetic(int views) {
    DatasetHandle dataset(built_plugins().require("multiview-synthetic", MVRL_KIND_DATASET),
                          json{{"n", 240}, {"views", views}, {"classes", 3}, {"view_dim", 8}, {"separation", 3.0}}.dump(), ctx());
    Labelled l{dataset.load(), dataset.info()};
    l.data["split"] = torch::zeros({240}, torch::kInt64);
    return l;
}

std::unique_ptr<ModelHandle> model(const Labelled& l, json params) {
    json base = {{"hidden", 32}, {"feature_dim", 16}, {"z_dim", 8}, {"epochs", 1}, {"lr", 1e-2}};
    base.update(params);
    return std::make_unique<ModelHandle>(built_plugins().require("mv2d", MVRL_KIND_MODEL), base.dump(), l.info, ctx());
}

TensorMap rows(const TensorMap& data, int64_t begin, int64_t size) {
    TensorMap batch;
    for (const auto& [name, t] : data) batch[name] = t.narrow(0, begin, size);
    return batch;
}

// Each reported term per step, over `steps` steps through the data in batches of 60.
std::map<std::string, std::vector<double>> train(ModelHandle& m, const Labelled& l, int steps) {
    std::map<std::string, std::vector<double>> terms;
    for (int s = 0; s < steps; ++s)
        for (const auto& [name, value] : m.train_step("train", rows(l.data, (s % 4) * 60, 60))) terms[name].push_back(value);
    return terms;
}

double mean_of(const std::vector<double>& v, size_t from, size_t count) {
    double sum = 0;
    for (size_t i = from; i < from + count; ++i) sum += v[i];
    return sum / double(count);
}

}  // namespace

TEST(DistillationKl, ZeroWhenTeacherEqualsStudentAndPositiveOtherwise) {
    torch::manual_seed(0);
    torch::Tensor a = torch::randn({16, 5}), b = torch::randn({16, 5});
    EXPECT_NEAR(nn::distillation_kl(a, a).item<double>(), 0.0, 1e-7);
    EXPECT_NEAR(nn::distillation_kl(a, a + 3.0).item<double>(), 0.0, 1e-6) << "the same distribution: logits up to a shift";
    EXPECT_GT(nn::distillation_kl(a, b).item<double>(), 1e-3);
    nn::DistillationOptions reverse;
    reverse.reverse = true;
    EXPECT_GT(nn::distillation_kl(a, b, reverse).item<double>(), 1e-3);
    EXPECT_NE(nn::distillation_kl(a, b).item<double>(), nn::distillation_kl(a, b, reverse).item<double>()) << "KL is not symmetric";
    // The teacher gets no gradient when detached, the student always does.
    torch::Tensor teacher = a.clone().requires_grad_(), student = b.clone().requires_grad_();
    nn::distillation_kl(teacher, student).backward();
    EXPECT_FALSE(teacher.grad().defined());
    EXPECT_GT(student.grad().abs().sum().item<double>(), 0.0);
    nn::DistillationOptions attached;
    attached.detach_teacher = false;
    torch::Tensor t2 = a.clone().requires_grad_();
    nn::distillation_kl(t2, b, attached).backward();
    EXPECT_GT(t2.grad().abs().sum().item<double>(), 0.0);
}

// Each variant reports the terms it has, positive while its heads disagree (at initialisation),
// and zero the terms it does not have.
TEST(Mv2d, EachVariantHasItsOwnTerms) {
    const auto l = synthetic(3);
    const std::map<std::string, std::vector<std::string>> own = {
        {"mv2d", {"kl_sufficiency", "kl_consistency"}}, {"vsd", {"kl_sufficiency"}}, {"vcd", {"kl_cross"}},
        {"vmd", {"kl_mutual"}}, {"vcd+vmd", {"kl_cross", "kl_mutual"}}, {"encoder", {}}, {"encoder+ib", {}}, {"cib", {"ib"}}};
    for (const auto& [variant, terms] : own) {
        auto step = train(*model(l, {{"variant", variant}}), l, 1);
        for (const char* term : {"kl_sufficiency", "kl_consistency", "kl_cross", "kl_mutual", "ib"}) {
            const bool has = std::find(terms.begin(), terms.end(), term) != terms.end();
            if (has) EXPECT_GT(step[term][0], 1e-6) << variant << ": " << term;
            else EXPECT_EQ(step[term][0], 0.0) << variant << ": " << term;
        }
        EXPECT_GT(step["cross_entropy"][0], 0.5) << variant;
    }
}

// Sec. 4.4: with one view there is no Z\i and P_Z is P_{z_1}, so MV2D is VSD — the same network,
// the same losses step by step and the same codes, to the bit.
TEST(Mv2d, OneViewReducesMv2dToVsdExactly) {
    const auto l = synthetic(1);
    // Each built right before its run: construction seeds the generator that z's noise draws from.
    auto mv2d = model(l, {{"variant", "mv2d"}});
    auto a = train(*mv2d, l, 12);
    auto vsd = model(l, {{"variant", "vsd"}});
    auto b = train(*vsd, l, 12);
    EXPECT_EQ(a["loss"], b["loss"]);
    EXPECT_EQ(a["kl_consistency"], std::vector<double>(12, 0.0));
    auto codes_a = mv2d->encode(rows(l.data, 0, 240)), codes_b = vsd->encode(rows(l.data, 0, 240));
    EXPECT_TRUE(torch::equal(codes_a.at("z"), codes_b.at("z")));
    EXPECT_TRUE(torch::equal(codes_a.at("pred"), codes_b.at("pred")));
}

// 2, 3 and 6 views train: the loss falls, the training accuracy rises, and encode gives pred,
// z (the concatenated means), z0..z{n-1} and v.
TEST(Mv2d, TwoThreeAndSixViewsTrain) {
    for (int views : {2, 3, 6}) {
        const auto l = synthetic(views);
        auto m = model(l, json::object());
        auto terms = train(*m, l, 60);
        EXPECT_LT(mean_of(terms["loss"], 55, 5), 0.5 * mean_of(terms["loss"], 0, 5)) << views << " views";
        EXPECT_GT(mean_of(terms["train_accuracy"], 55, 5), 0.9) << views << " views";
        auto codes = m->encode(rows(l.data, 0, 240));
        EXPECT_EQ(codes.at("pred").sizes(), (torch::IntArrayRef{240, 1}));
        EXPECT_EQ(codes.at("z").size(1), 8 * views);
        EXPECT_EQ(codes.at("v").size(1), 16 * views);
        EXPECT_TRUE(codes.count("z" + std::to_string(views - 1)));
        const double accuracy = (codes.at("pred").flatten().to(torch::kInt64) == l.data.at("label")).to(torch::kFloat64).mean().item<double>();
        EXPECT_GT(accuracy, 0.9) << views << " views";
    }
}

// A short run lowers every term each variant optimises.
TEST(Mv2d, ShortRunLowersEachTerm) {
    const auto l = synthetic(3);
    const std::map<std::string, std::vector<std::string>> optimised = {
        {"mv2d", {"cross_entropy", "kl_sufficiency", "kl_consistency"}}, {"vcd+vmd", {"kl_cross", "kl_mutual"}}, {"cib", {"ib"}}};
    for (const auto& [variant, terms] : optimised) {
        // cib with a large β: its bound is what the run mostly minimises (a small β lets the
        // cross-entropy raise I(v; z) above its value at initialisation).
        auto run = train(*model(l, {{"variant", variant}, {"lr", 1e-2}, {"ib_beta", 10.0}}), l, 60);
        for (const auto& term : terms) {
            const double first = mean_of(run[term], 0, 4), last = mean_of(run[term], 56, 4);
            EXPECT_LT(last, 0.8 * first) << variant << ": " << term << " from " << first << " to " << last;
        }
    }
}

// A batch with a test or validation row means test labels reached training: refused by name.
TEST(Mv2d, RefusesBatchesThatHoldTestRows) {
    auto l = synthetic(2);
    auto m = model(l, json::object());
    l.data["split"][5] = 1;
    try {
        m->train_step("train", rows(l.data, 0, 60));
        FAIL() << "trained on a test row";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("rows = \"train\""), std::string::npos) << e.what();
    }
    TensorMap no_split = rows(l.data, 60, 60);
    no_split.erase("split");
    EXPECT_THROW(m->train_step("train", no_split), std::exception);
}
