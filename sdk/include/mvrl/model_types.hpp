// mvrl/model_types.hpp — what the ABI passes a model as JSON, as types: the dataset's info (given to
// create) and the training plan (returned by stages). model_plugin<T>() parses and writes them
// once, so a model reads `info.views[0].shape` instead of digging in JSON, and a malformed info is
// one error naming the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "params.hpp"

namespace mvrl {

struct ViewInfo {
    std::vector<int64_t> shape;  // per sample: [C, H, W] for an image, [d] for a vector
    int64_t size() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

// A dataset's info() object (mvrl/abi.h, mvrl_dataset_api.info).
struct DatasetInfo {
    int64_t n = 0;
    std::vector<ViewInfo> views;
    int64_t classes = 0;  // 0: the dataset does not say
    bool has_missing = false, has_split = false;
    std::vector<std::string> labels = {"label"};

    // "1×32×32, 3×32×32": the views' shapes, for error messages.
    std::string shapes() const {
        std::string out;
        for (const auto& v : views) {
            out += out.empty() ? "" : ", ";
            for (size_t i = 0; i < v.shape.size(); ++i) out += (i ? "×" : "") + std::to_string(v.shape[i]);
        }
        return out.empty() ? "no views" : out;
    }

    static DatasetInfo from_json(const json& info) {
        auto fail = [](const std::string& why) { throw ParamError("dataset info: " + why); };
        if (!info.is_object()) fail("not a JSON object: " + info.dump());
        DatasetInfo out;
        try {
            out.n = info.value("n", int64_t(0));
            out.classes = info.value("classes", int64_t(0));
            out.has_missing = info.value("has_missing", false);
            out.has_split = info.value("has_split", false);
            if (info.contains("labels")) out.labels = info.at("labels").get<std::vector<std::string>>();
            if (!info.contains("views") || !info.at("views").is_array()) fail("needs \"views\": a list of {\"shape\": [...]}");
            for (const auto& view : info.at("views")) {
                if (!view.is_object() || !view.contains("shape")) fail("view " + view.dump() + " needs a \"shape\"");
                ViewInfo v{view.at("shape").get<std::vector<int64_t>>()};
                for (int64_t d : v.shape)
                    if (d < 1) fail("view shape " + view.at("shape").dump() + " has a dimension below 1");
                out.views.push_back(std::move(v));
            }
        } catch (const json::exception& e) {
            fail(std::string("a key of the wrong type (") + e.what() + "): " + info.dump());
        }
        return out;
    }
};

// One training stage, as stages() returns it (mvrl/abi.h, mvrl_model_api.stages).
struct Stage {
    std::string name;
    int64_t epochs = 0;
    // The loss of train_step the stage minimises; optimises_nothing for a stage that only collects
    // statistics (e.g. the data a clustering head is initialised from).
    std::string objective = "loss";
    bool optimises_nothing = false;

    json to_json() const {
        json out = {{"name", name}, {"epochs", epochs}};
        if (optimises_nothing) out["objective"] = nullptr;
        else if (objective != "loss") out["objective"] = objective;
        return out;
    }
};

inline json stages_to_json(const std::vector<Stage>& stages) {
    json out = json::array();
    for (const auto& s : stages) out.push_back(s.to_json());
    return out;
}

}  // namespace mvrl
