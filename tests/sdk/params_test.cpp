// Parameter validation against a plugin's schema: every error names the plugin and the key.
#include <gtest/gtest.h>

#include <mvrl/params.hpp>

using mvrl::ParamError;
using mvrl::ParamSchema;

namespace {

ParamSchema example_schema() {
    return ParamSchema()
        .add_int("epochs", 10, "training epochs", 0, 1000)
        .add_float("mask_ratio", 0.7, "share of masked patches", 0.0, 1.0)
        .add_bool("use_mcp", true, "masked cross-view prediction")
        .add_string("mask_strategy", "random", "how patches are chosen", {"random", "block", "grid"})
        .add_int_list("dims", {10, 20}, "dimensions", 1, {});
}

std::string error_of(const std::string& json) {
    try {
        example_schema().resolve(json, "mrdd");
    } catch (const ParamError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Params, DefaultsFillWhatIsNotGiven) {
    auto p = example_schema().resolve(R"({"epochs": 3})", "mrdd");
    EXPECT_EQ(p.get_int("epochs"), 3);
    EXPECT_DOUBLE_EQ(p.get_float("mask_ratio"), 0.7);
    EXPECT_TRUE(p.get_bool("use_mcp"));
    EXPECT_EQ(p.get_string("mask_strategy"), "random");
    EXPECT_EQ(p.get_int_list("dims"), (std::vector<int64_t>{10, 20}));
}

TEST(Params, IntAcceptedForFloat) {
    auto p = example_schema().resolve(R"({"mask_ratio": 1})", "mrdd");
    EXPECT_DOUBLE_EQ(p.get_float("mask_ratio"), 1.0);
    EXPECT_TRUE(p.values()["mask_ratio"].is_number_float());
}

TEST(Params, UnknownKeySuggestsTheNearestAndListsAll) {
    EXPECT_EQ(error_of(R"({"mask_ration": 0.5})"),
              "unknown parameter 'mask_ration' for plugin 'mrdd' (did you mean 'mask_ratio'?); known parameters: "
              "epochs, mask_ratio, use_mcp, mask_strategy, dims");
    EXPECT_EQ(error_of(R"({"zzz": 1})").find("did you mean"), std::string::npos);
}

TEST(Params, WrongTypeNamesKeyExpectedAndGiven) {
    EXPECT_EQ(error_of(R"({"epochs": "ten"})"), "parameter 'epochs' of plugin 'mrdd': expected int, got string \"ten\"");
    EXPECT_EQ(error_of(R"({"epochs": 2.5})"), "parameter 'epochs' of plugin 'mrdd': expected int, got float 2.5");
    EXPECT_EQ(error_of(R"({"use_mcp": 1})"), "parameter 'use_mcp' of plugin 'mrdd': expected bool, got int 1");
    EXPECT_EQ(error_of(R"({"mask_ratio": true})"), "parameter 'mask_ratio' of plugin 'mrdd': expected float, got bool true");
    EXPECT_EQ(error_of(R"({"dims": [1, "x"]})"), "parameter 'dims' of plugin 'mrdd': expected int_list, got list [1,\"x\"]");
}

TEST(Params, OutOfRangeAndChoices) {
    EXPECT_EQ(error_of(R"({"mask_ratio": 1.5})"), "parameter 'mask_ratio' of plugin 'mrdd': 1.5 is above the maximum 1.0");
    EXPECT_EQ(error_of(R"({"epochs": -1})"), "parameter 'epochs' of plugin 'mrdd': -1.0 is below the minimum 0.0");
    EXPECT_EQ(error_of(R"({"dims": [0]})"), "parameter 'dims' of plugin 'mrdd': 0.0 is below the minimum 1.0");
    EXPECT_EQ(error_of(R"({"mask_strategy": "diagonal"})"),
              "parameter 'mask_strategy' of plugin 'mrdd': \"diagonal\" is not one of: random, block, grid");
}

TEST(Params, NotAnObject) {
    EXPECT_EQ(error_of("[1, 2]"), "parameters of plugin 'mrdd' are not a JSON object");
    EXPECT_EQ(error_of("{oops"), "parameters of plugin 'mrdd' are not a JSON object");
}

TEST(Params, SchemaRoundTripsThroughJson) {
    auto schema = example_schema();
    auto back = ParamSchema::from_json(schema.to_json());
    EXPECT_EQ(back.to_json(), schema.to_json());
    ASSERT_NE(back.find("mask_strategy"), nullptr);
    EXPECT_EQ(back.find("mask_strategy")->choices.size(), 3u);
    EXPECT_THROW(ParamSchema::from_json(R"([{"name": "x", "type": "complex"}])"), ParamError);
    EXPECT_THROW(ParamSchema::from_json("not json"), ParamError);
}

TEST(Params, BadDefaultIsCaughtWhenTheSchemaIsWritten) {
    EXPECT_THROW(ParamSchema().add_float("p", 2.0, "doc", 0.0, 1.0), ParamError);
    EXPECT_THROW(ParamSchema().add_int("p", 1, "doc").add_int("p", 2, "doc"), std::logic_error);
}
