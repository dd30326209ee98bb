// test-faults: a test-only model that trains a real linear autoencoder on view0 and misbehaves on
// request, so the engine's handling of crashes, NaN losses, slow runs and kills can be tested with
// real processes: fault = segfault | abort | nan | throw at epoch `fault_epoch`; `step_sleep_ms`
// makes each step slow enough to interrupt; fault = warn logs a warning after every epoch (a
// choice rather than a parameter of its own, so that stored runs keep their keys). A second
// plugin, the dataset test-bad-data, returns what
// a broken dataset would: malformed JSON from info(), or a label with fewer rows than the views.
#include <chrono>
#include <csignal>
#include <thread>

#include <mvrl/plugin.hpp>

namespace {

class FaultModel : public mvrl::Model {
public:
    static constexpr const char* name = "test-faults";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "Test fixture: linear autoencoder that crashes, aborts or diverges on request";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema()
            .add_int("epochs", 3, "training epochs", 0, 100000)
            .add_string("fault", "none", "what goes wrong", {"none", "segfault", "abort", "nan", "throw", "warn"})
            .add_int("fault_epoch", 1, "epoch at which the fault happens", 0, 100000)
            .add_int("step_sleep_ms", 0, "sleep in every step, to make runs slow", 0, 600000);
    }

    FaultModel(const mvrl::Params& p, const mvrl::json& info, const mvrl::Context& ctx)
        : p_(p), ctx_(ctx), device_(ctx.device()), encoder_(nullptr), decoder_(nullptr) {
        torch::manual_seed(ctx.seed());
        dim_ = info.at("views").at(0).at("shape").at(0).get<int64_t>();
        encoder_ = torch::nn::Linear(dim_, 2);
        decoder_ = torch::nn::Linear(2, dim_);
        std::vector<torch::Tensor> params = encoder_->parameters();
        for (auto& t : decoder_->parameters()) params.push_back(t);
        optimizer_ = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.05));
    }

    std::vector<mvrl::Stage> stages() { return {{"train", p_.get_int("epochs"), "reconstruction"}}; }

    mvrl::ScalarList train_step(const std::string&, const mvrl::TensorMap& batch) {
        if (int64_t ms = p_.get_int("step_sleep_ms")) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        bool fault_now = epoch_ == p_.get_int("fault_epoch");
        std::string fault = p_.get_string("fault");
        if (fault_now && fault == "segfault") std::raise(SIGSEGV);
        if (fault_now && fault == "abort") std::abort();
        if (fault_now && fault == "throw") throw std::runtime_error("test-faults: failing on purpose");
        torch::Tensor x = mvrl::require_input(batch, "view0");
        torch::Tensor loss = (decoder_->forward(encoder_->forward(x)) - x).pow(2).mean();
        optimizer_->zero_grad();
        loss.backward();
        optimizer_->step();
        double value = loss.item<double>();
        if (fault_now && fault == "nan") value = std::nan("");
        return {{"reconstruction", value}};
    }

    void end_epoch(const std::string&, int epoch) {
        epoch_ = epoch + 1;
        if (p_.get_string("fault") == "warn") ctx_.log(MVRL_LOG_WARNING, "test-faults: warning on purpose after epoch " + std::to_string(epoch));
    }

    mvrl::TensorMap encode(const mvrl::TensorMap& batch) override {
        return {{"z", encoder_->forward(mvrl::require_input(batch, "view0"))}};
    }

    // No save/load: this model cannot checkpoint (its fault counter is not saved), so a killed run
    // of it restarts from scratch, the path a model without checkpoints takes.

private:
    mvrl::Params p_;
    mvrl::Context ctx_;  // the host's context stays valid until destroy (mvrl/abi.h)
    torch::Device device_;
    int64_t dim_ = 0;
    int epoch_ = 0;
    torch::nn::Linear encoder_, decoder_;
    std::unique_ptr<torch::optim::SGD> optimizer_;
};

class BadDataset : public mvrl::Dataset {
public:
    static constexpr const char* name = "test-bad-data";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "Test fixture: a 2-view dataset that returns malformed info() or a short label";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema().add_string("fault", "none", "what it returns wrong", {"none", "malformed-info", "short-label"});
    }

    BadDataset(const mvrl::Params& p, const mvrl::Context&) : fault_(p.get_string("fault")) {}

    static constexpr int64_t kRows = 64;
    mvrl::json info() override {
        return {{"n", kRows}, {"classes", 2}, {"views", {{{"shape", {4}}}, {{"shape", {4}}}}}};
    }
    // What info() sends across the ABI: the SDK always writes valid JSON, so the fault is injected here.
    const char* info_text() {
        info_text_ = fault_ == "malformed-info" ? R"({"n": 64, "classes": 2, "views": [{"shape": [4]}, {"shape": [4])"
                                                : info().dump();
        return info_text_.c_str();
    }
    mvrl::TensorMap load() override {
        torch::Generator gen = at::detail::createCPUGenerator(7);
        const int64_t label_rows = fault_ == "short-label" ? kRows / 2 : kRows;
        return {{"view0", at::randn({kRows, 4}, gen, torch::kFloat32)},
                {"view1", at::randn({kRows, 4}, gen, torch::kFloat32)},
                {"label", torch::arange(label_rows, torch::kInt64) % 2}};
    }

private:
    std::string fault_, info_text_;
};

// The SDK's dataset table, with info() replaced by one that can return broken text.
const mvrl_plugin_info* bad_dataset_plugin() {
    static mvrl_dataset_api api = [] {
        mvrl_dataset_api a = *static_cast<const mvrl_dataset_api*>(mvrl::dataset_plugin<BadDataset>()->api);
        a.info = [](void* h, const char** out, mvrl_error*) -> mvrl_status {
            *out = mvrl::detail::handle_of<BadDataset>(h)->impl->info_text();
            return MVRL_OK;
        };
        return a;
    }();
    static mvrl_plugin_info info = [] {
        mvrl_plugin_info i = *mvrl::dataset_plugin<BadDataset>();
        i.api = &api;
        return i;
    }();
    return &info;
}

// A labelled 2-view dataset with its own three-way split (row i: i % 10 < 7 train, 7–8 test, 9
// validation) whose held-out labels can be poisoned: what a supervised model's training may not see.
class LabelledDataset : public mvrl::Dataset {
public:
    static constexpr const char* name = "test-labelled-data";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description = "Test fixture: 2 views, 3 classes, a fixed split; held-out labels poisoned on request";

    static mvrl::ParamSchema schema() {
        return mvrl::ParamSchema().add_bool("poison_held_out", false, "replace every test and validation label by another class");
    }

    LabelledDataset(const mvrl::Params& p, const mvrl::Context&) : poison_(p.get_bool("poison_held_out")) {}

    static constexpr int64_t kRows = 300, kClasses = 3;
    mvrl::json info() override {
        return {{"n", kRows}, {"classes", kClasses}, {"has_split", true}, {"views", {{{"shape", {6}}}, {{"shape", {6}}}}}};
    }
    mvrl::TensorMap load() override {
        torch::Generator gen = at::detail::createCPUGenerator(11);
        torch::Tensor label = torch::arange(kRows, torch::kInt64) % kClasses;
        torch::Tensor centres = at::randn({kClasses, 6}, gen, torch::kFloat32) * 3;
        torch::Tensor rest = torch::arange(kRows, torch::kInt64) % 10;
        torch::Tensor split = torch::where(rest < 7, torch::zeros_like(rest), torch::where(rest < 9, torch::ones_like(rest), torch::full_like(rest, 2)));
        mvrl::TensorMap out = {{"view0", centres.index_select(0, label) + at::randn({kRows, 6}, gen, torch::kFloat32)},
                               {"view1", centres.index_select(0, label) + at::randn({kRows, 6}, gen, torch::kFloat32)},
                               {"split", split}};
        out["label"] = poison_ ? torch::where(split == 0, label, (label + 1) % kClasses) : label;
        return out;
    }

private:
    bool poison_;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<FaultModel>(), bad_dataset_plugin(), mvrl::dataset_plugin<LabelledDataset>())
