// The mat dataset plugin: .mat files written here with libmatio (the same library the plugin reads
// with), read back through the C ABI; and the user-given test split (mvrl/data/test_split.hpp).
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "dataset_support.hpp"

using namespace mvrl;
using dataset_test::error_of;
using dataset_test::load;

namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
    static const fs::path dir = [] {
        fs::path d = fs::path(testing::TempDir()) / ("mvrl-mat-" + std::to_string(getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

std::string params(const fs::path& file, const std::string& more = "") {
    return R"({"path": ")" + file.string() + "\"" + (more.empty() ? "" : ", " + more) + "}";
}

// A matio variable holding a rows×cols tensor (column-major, as MAT files store it).
matvar_t* dense(const char* name, const torch::Tensor& t, int flags = 0) {
    static const std::map<torch::ScalarType, std::pair<matio_classes, matio_types>> kinds = {
        {torch::kFloat64, {MAT_C_DOUBLE, MAT_T_DOUBLE}}, {torch::kFloat32, {MAT_C_SINGLE, MAT_T_SINGLE}},
        {torch::kInt32, {MAT_C_INT32, MAT_T_INT32}},     {torch::kInt64, {MAT_C_INT64, MAT_T_INT64}},
        {torch::kUInt8, {MAT_C_UINT8, MAT_T_UINT8}},     {torch::kInt16, {MAT_C_INT16, MAT_T_INT16}}};
    auto [cls, type] = kinds.at(t.scalar_type());
    torch::Tensor column_major = t.t().contiguous();
    size_t dims[2] = {size_t(t.size(0)), size_t(t.size(1))};
    return Mat_VarCreate(name, cls, type, 2, dims, column_major.data_ptr(), flags);  // copies the data
}

// A rows×cols sparse double matrix (compressed columns) with the values of t.
matvar_t* sparse(const torch::Tensor& t) {
    std::vector<mat_uint32_t> ir, jc{0};
    std::vector<double> values;
    auto a = t.to(torch::kFloat64).contiguous();
    auto acc = a.accessor<double, 2>();
    for (int64_t c = 0; c < a.size(1); ++c) {
        for (int64_t r = 0; r < a.size(0); ++r)
            if (acc[r][c] != 0) ir.push_back(mat_uint32_t(r)), values.push_back(acc[r][c]);
        jc.push_back(mat_uint32_t(ir.size()));
    }
    mat_sparse_t s{};
    s.nzmax = mat_uint32_t(values.size());
    s.ir = ir.data();
    s.nir = mat_uint32_t(ir.size());
    s.jc = jc.data();
    s.njc = mat_uint32_t(jc.size());
    s.ndata = mat_uint32_t(values.size());
    s.data = values.data();
    size_t dims[2] = {size_t(t.size(0)), size_t(t.size(1))};
    return Mat_VarCreate(nullptr, MAT_C_SPARSE, MAT_T_DOUBLE, 2, dims, &s, 0);  // copies the arrays
}

matvar_t* cell(const char* name, std::vector<matvar_t*> items) {
    size_t dims[2] = {1, items.size()};
    matvar_t* c = Mat_VarCreate(name, MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
    for (size_t i = 0; i < items.size(); ++i) Mat_VarSetCell(c, int(i), items[i]);
    return c;
}

// Writes the variables (and frees them) into a new file.
fs::path write_mat(const std::string& file, std::vector<matvar_t*> vars, mat_ft version = MAT_FT_MAT5,
                   matio_compression compression = MAT_COMPRESSION_NONE) {
    fs::path path = temp_dir() / file;
    fs::remove(path);
    mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, version);
    EXPECT_NE(mat, nullptr) << path;
    for (matvar_t* v : vars) {
        EXPECT_EQ(Mat_VarWrite(mat, v, compression), 0) << v->name;
        Mat_VarFree(v);
    }
    Mat_Close(mat);
    return path;
}

// Twelve samples, labels 3, 7, 10 (four each, interleaved), a 12×3 view and a 4×12 view.
struct Example {
    torch::Tensor a = torch::arange(36, torch::kFloat64).reshape({12, 3}) * 0.5 - 4;
    torch::Tensor b = (torch::arange(48, torch::kFloat64).reshape({4, 12}).sin() * 10).to(torch::kFloat32);
    torch::Tensor y = torch::tensor({3, 7, 10, 3, 7, 10, 3, 7, 10, 3, 7, 10}, torch::kFloat64).reshape({1, 12});
    torch::Tensor remapped = torch::tensor({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, torch::kInt64);

    fs::path write(const std::string& file, mat_ft version = MAT_FT_MAT5, matio_compression c = MAT_COMPRESSION_NONE) const {
        return write_mat(file, {cell("X", {dense(nullptr, a), dense(nullptr, b)}), dense("Y", y)}, version, c);
    }
};

void expect_example(const TensorMap& data, const Example& e) {
    ASSERT_TRUE(data.count("view0") && data.count("view1") && data.count("label"));
    EXPECT_EQ(data.at("view0").scalar_type(), torch::kFloat32);
    EXPECT_EQ(data.at("view0").sizes(), (std::vector<int64_t>{12, 3}));
    EXPECT_EQ(data.at("view1").sizes(), (std::vector<int64_t>{12, 4}));
    EXPECT_TRUE(torch::equal(data.at("view0"), e.a.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(data.at("view1"), e.b.t())) << "the 4×12 view is read with samples in columns";
    EXPECT_EQ(data.at("label").scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(data.at("label"), e.remapped));
    EXPECT_EQ(data.count("split"), 0u);
    EXPECT_EQ(data.count("present"), 0u);
}

void reads_both_orientations_and_remaps_labels() {
    Example e;
    fs::path file = e.write("example.mat");
    expect_example(load("mat", params(file, R"("normalize": "none")")), e);

    json info = dataset_test::info("mat", params(file, R"("normalize": "none")"));
    EXPECT_EQ(info["n"], 12);
    EXPECT_EQ(info["classes"], 3);
    EXPECT_EQ(info["label_values"], json({3, 7, 10})) << "label k was the value label_values[k]";
    EXPECT_EQ(info["views"], json({{{"shape", {3}}}, {{"shape", {4}}}}));
    EXPECT_EQ(info["orientation"], json({"samples_in_rows", "samples_in_columns"}));
    EXPECT_EQ(info["labels"], json({"label"}));
    EXPECT_FALSE(info["has_split"].get<bool>());
}

void compressed_v7_and_hdf5_v73_files_read_the_same() {
    Example e;
    expect_example(load("mat", params(e.write("v7.mat", MAT_FT_MAT5, MAT_COMPRESSION_ZLIB), R"("normalize": "none")")), e);
    expect_example(load("mat", params(e.write("v73.mat", MAT_FT_MAT73), R"("normalize": "none")")), e);
}

void integer_logical_and_sparse_classes_and_integer_labels() {
    torch::Tensor ints = torch::arange(-20, 20, torch::kInt32).reshape({10, 4});
    torch::Tensor bytes = (torch::arange(30, torch::kInt64).reshape({10, 3}) % 7).to(torch::kUInt8);
    torch::Tensor sparse_values = torch::zeros({5, 10}, torch::kFloat64);  // 5×10: samples in columns
    sparse_values[0][1] = 2.5, sparse_values[3][1] = -1, sparse_values[4][9] = 7, sparse_values[2][0] = 0.25;
    torch::Tensor y = torch::tensor({-1, 5, 5, -1, 2, 2, 5, -1, 2, 5}, torch::kInt64).reshape({10, 1});
    torch::Tensor truth = (torch::arange(20).reshape({10, 2}) % 3 == 0).to(torch::kUInt8);
    fs::path file = write_mat("classes.mat", {cell("X", {dense(nullptr, ints), dense(nullptr, bytes), sparse(sparse_values),
                                                         dense(nullptr, truth, MAT_F_LOGICAL)}),
                                              dense("Y", y)});
    auto data = load("mat", params(file, R"("normalize": "none")"));
    EXPECT_TRUE(torch::equal(data["view0"], ints.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(data["view1"], bytes.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(data["view2"], sparse_values.t().to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(data["view3"], truth.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(data["label"], torch::tensor({0, 2, 2, 0, 1, 1, 2, 0, 1, 2}, torch::kInt64)));
    EXPECT_EQ(dataset_test::info("mat", params(file))["label_values"], json({-1, 2, 5}));
}

void orientation_parameter_decides_square_views() {
    torch::Tensor square = torch::arange(16, torch::kFloat64).reshape({4, 4});
    fs::path file = write_mat("square.mat", {cell("X", {dense(nullptr, square)}), dense("Y", torch::tensor({{1.0, 2.0, 1.0, 2.0}}))});
    std::string m = error_of("mat", params(file));
    EXPECT_NE(m.find("X{1} is 4×4 and Y has 4 labels, so either axis could hold the samples; set orientation"), std::string::npos) << m;
    EXPECT_NE(m.find(file.string()), std::string::npos) << m;
    auto rows = load("mat", params(file, R"("normalize": "none", "orientation": "samples_in_rows")"));
    auto cols = load("mat", params(file, R"("normalize": "none", "orientation": "samples_in_columns")"));
    EXPECT_TRUE(torch::equal(rows["view0"], square.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(cols["view0"], square.t().to(torch::kFloat32)));
}

void normalization_per_feature() {
    torch::Tensor a = torch::stack({torch::arange(10, torch::kFloat64) * 3 - 5, torch::full({10}, 4.0),
                                    torch::arange(10, torch::kFloat64).pow(2)}, 1);  // the second feature is constant
    torch::Tensor y = (torch::arange(10, torch::kFloat64) % 2).reshape({10, 1});
    fs::path file = write_mat("scales.mat", {cell("X", {dense(nullptr, a)}), dense("Y", y)});

    torch::Tensor minmax = load("mat", params(file))["view0"];  // the default
    EXPECT_TRUE(torch::allclose(minmax.amin(0), torch::tensor({0.0f, 0.0f, 0.0f})));
    EXPECT_TRUE(torch::allclose(minmax.amax(0), torch::tensor({1.0f, 0.0f, 1.0f}))) << "a constant feature becomes 0";
    EXPECT_TRUE(torch::allclose(minmax.select(1, 2), (torch::arange(10).pow(2) / 81.0).to(torch::kFloat32)));

    torch::Tensor standard = load("mat", params(file, R"("normalize": "standard")"))["view0"];
    EXPECT_TRUE(torch::allclose(standard.mean(0), torch::zeros({3}), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(standard.std(0, /*unbiased=*/false), torch::tensor({1.0f, 0.0f, 1.0f}), 1e-5, 1e-5));
}

void class_balance_split_and_missing_views_by_seed() {
    Example e;
    fs::path file = e.write("split.mat");
    auto data = load("mat", params(file, R"("test_indices": [0, 5, 11])"));
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({3}, 4, torch::kInt64)));
    EXPECT_GE(data["view0"].min().item<float>(), 0.0f);
    EXPECT_LE(data["view1"].max().item<float>(), 1.0f);
    EXPECT_TRUE(torch::equal(data["split"], torch::tensor({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1}, torch::kInt64)));
    EXPECT_TRUE(dataset_test::info("mat", params(file, R"("test_indices": [0, 5, 11])"))["has_split"].get<bool>());

    fs::path indices = temp_dir() / "test.csv";
    std::ofstream(indices) << "index\n# the test part\n0\n5.000000000000000000e+00\n11,\n";
    EXPECT_TRUE(torch::equal(load("mat", params(file, R"("test_indices_file": ")" + indices.string() + "\""))["split"], data["split"]));

    const std::string missing = R"("missing_rate": 0.5, "missing_seed": 3)";
    auto a = load("mat", params(file, missing)), b = load("mat", params(file, missing));
    auto c = load("mat", params(file, R"("missing_rate": 0.5, "missing_seed": 4)"));
    EXPECT_EQ(a["present"].sizes(), (std::vector<int64_t>{12, 2}));
    EXPECT_TRUE(torch::equal(a["present"], b["present"])) << "same seed, same mask";
    EXPECT_FALSE(torch::equal(a["present"], c["present"])) << "another seed, another mask";
    EXPECT_GE(a["present"].sum(1).min().item<int64_t>(), 1);
}

void split_errors_name_the_index_and_the_fix() {
    fs::path file = Example().write("split-errors.mat");
    std::string m = error_of("mat", params(file, R"("test_indices": [3, 12])"));
    EXPECT_NE(m.find("test_indices[1]: test index 12 is out of range: the dataset has 12 samples, so indices run from 0 to 11 "
                     "(indices are 0-based"), std::string::npos) << m;
    m = error_of("mat", params(file, R"("test_indices": [3, 3])"));
    EXPECT_NE(m.find("test index 3 is given twice"), std::string::npos) << m;

    m = error_of("mat", params(file, R"("test_indices_file": "/nonexistent/fold.txt")"));
    EXPECT_NE(m.find("test_indices_file '/nonexistent/fold.txt' cannot be read: no such file"), std::string::npos) << m;
    fs::path bad = temp_dir() / "bad.txt";
    std::ofstream(bad) << "1\n2\nthree\n";
    m = error_of("mat", params(file, R"("test_indices_file": ")" + bad.string() + "\""));
    EXPECT_NE(m.find(bad.string() + ", line 3: 'three' is not an integer sample index"), std::string::npos) << m;
    fs::path far = temp_dir() / "far.txt";
    std::ofstream(far) << "1 2 40\n";
    m = error_of("mat", params(file, R"("test_indices_file": ")" + far.string() + "\""));
    EXPECT_NE(m.find(far.string() + ", line 1: test index 40 is out of range"), std::string::npos) << m;
    m = error_of("mat", params(file, R"("test_indices": [1], "test_indices_file": ")" + far.string() + "\""));
    EXPECT_NE(m.find("either as test_indices or as test_indices_file, not both"), std::string::npos) << m;
}

void file_errors_name_the_file_and_the_fix() {
    std::string m = error_of("mat", "{}");
    EXPECT_NE(m.find("invalid argument: parameter 'path' of plugin 'mat' is required"), std::string::npos) << m;

    m = error_of("mat", params("/nonexistent/data.mat"));
    EXPECT_NE(m.find("'/nonexistent/data.mat': no such file (set path to a .mat file"), std::string::npos) << m;

    fs::path text = temp_dir() / "notes.mat";
    std::ofstream(text) << "these are not the views you are looking for\n";
    m = error_of("mat", params(text));
    EXPECT_NE(m.find("'" + text.string() + "' is not a MAT file or is damaged"), std::string::npos) << m;

    // A real file cut in half: the header is fine, the data is not.
    torch::Tensor big = torch::rand({200, 50}, torch::kFloat64);
    fs::path cut = write_mat("truncated.mat", {dense("Y", torch::ones({200, 1}, torch::kFloat64)), cell("X", {dense(nullptr, big)})});
    fs::resize_file(cut, fs::file_size(cut) / 2);
    m = error_of("mat", params(cut));
    EXPECT_NE(m.find(cut.string()), std::string::npos) << m;
    EXPECT_NE(m.find("'X'"), std::string::npos) << m;
    EXPECT_NE(m.find("truncated or damaged"), std::string::npos) << m;
}

void content_errors_name_the_variable_and_the_fix() {
    torch::Tensor a = torch::rand({6, 2}, torch::kFloat64), y = torch::tensor({{1.0, 2.0, 1.0, 2.0, 1.0, 2.0}});
    fs::path file = write_mat("names.mat", {cell("data", {dense(nullptr, a)}), dense("gt", y), dense("extra", a)});
    std::string m = error_of("mat", params(file));
    EXPECT_NE(m.find("'" + file.string() + "' has no variable 'X'; its variables: data, gt, extra (set x_variable"),
              std::string::npos) << m;
    m = error_of("mat", params(file, R"("x_variable": "data", "y_variable": "Y")"));
    EXPECT_NE(m.find("has no variable 'Y'; its variables: data, gt, extra (set y_variable"), std::string::npos) << m;
    EXPECT_EQ(load("mat", params(file, R"("x_variable": "data", "y_variable": "gt")"))["view0"].size(0), 6);

    m = error_of("mat", params(file, R"("x_variable": "extra", "y_variable": "gt")"));
    EXPECT_NE(m.find("variable 'extra' is a 6×2 double matrix, not a cell array of views"), std::string::npos) << m;
    EXPECT_NE(m.find("X = {X1, X2}"), std::string::npos) << m;

    fs::path uneven = write_mat("uneven.mat", {cell("X", {dense(nullptr, a), dense(nullptr, torch::rand({5, 3}, torch::kFloat64))}),
                                               dense("Y", y)});
    m = error_of("mat", params(uneven));
    EXPECT_NE(m.find("variable 'X': the views have different numbers of samples (X{1} is 6×2, X{2} is 5×3; Y has 6 labels)"),
              std::string::npos) << m;
    m = error_of("mat", params(uneven, R"("orientation": "samples_in_rows")"));
    EXPECT_NE(m.find("the views have different numbers of samples with orientation = samples_in_rows"), std::string::npos) << m;

    fs::path short_y = write_mat("short-y.mat", {cell("X", {dense(nullptr, a), dense(nullptr, torch::rand({3, 6}, torch::kFloat64))}),
                                                 dense("Y", torch::tensor({{1.0, 2.0, 1.0, 2.0, 1.0}}))});
    m = error_of("mat", params(short_y));
    EXPECT_NE(m.find("variable 'X': Y has 5 labels but the views hold 6 samples"), std::string::npos) << m;

    torch::Tensor holes = a.clone();
    holes[4][1] = std::numeric_limits<double>::quiet_NaN();
    fs::path nan = write_mat("nan.mat", {cell("X", {dense(nullptr, a), dense(nullptr, holes)}), dense("Y", y)});
    m = error_of("mat", params(nan));
    EXPECT_NE(m.find("variable 'X', view 1 (X{2}) holds 1 NaN or Inf value, the first at sample 4, feature 1 (0-based); replace them"),
              std::string::npos) << m;
    fs::path nan_y = write_mat("nan-y.mat", {cell("X", {dense(nullptr, a)}),
                                             dense("Y", torch::tensor({{1.0, 2.0, double(INFINITY), 2.0, 1.0, 2.0}}))});
    m = error_of("mat", params(nan_y));
    EXPECT_NE(m.find("variable 'Y' holds NaN or Inf labels (first at sample 2"), std::string::npos) << m;

    fs::path matrix_y = write_mat("onehot.mat", {cell("X", {dense(nullptr, a)}), dense("Y", torch::eye(6, torch::kFloat64))});
    m = error_of("mat", params(matrix_y));
    EXPECT_NE(m.find("variable 'Y' is a 6×6 double matrix: expected a label vector"), std::string::npos) << m;
}

// Labels as the literature's files name them: 1, 2 in gt; 5, 6 (the other way round) in Y.
struct NamedLabels {
    torch::Tensor a = torch::arange(12, torch::kFloat64).reshape({6, 2});
    torch::Tensor ones_twos = torch::tensor({{1.0, 2.0, 1.0, 2.0, 2.0, 2.0}});
    torch::Tensor sixes_fives = torch::tensor({{6.0, 5.0, 6.0, 5.0, 5.0, 5.0}});
    torch::Tensor remapped = torch::tensor({0, 1, 0, 1, 1, 1}, torch::kInt64);

    // X plus the label variables named, each holding ones_twos (Y: sixes_fives).
    fs::path write(const std::string& file, const std::vector<const char*>& label_names) const {
        std::vector<matvar_t*> vars{cell("X", {dense(nullptr, a)})};
        for (const char* name : label_names) vars.push_back(dense(name, std::string(name) == "Y" ? sixes_fives : ones_twos));
        vars.push_back(dense("extra", a));
        return write_mat(file, vars);
    }
};

// y_variable = "auto" reads `file` and says in the log which variable it took.
void expect_auto_takes(const fs::path& file, const std::string& variable, const torch::Tensor& labels) {
    testing::internal::CaptureStderr();
    auto data = load("mat", params(file));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(torch::equal(data["label"], labels)) << variable;
    EXPECT_NE(log.find("[dataset 'mat'] info: '" + file.string() + "': the labels are variable '" + variable + "' (y_variable = \"auto\")"),
              std::string::npos) << log;
    EXPECT_EQ(dataset_test::info("mat", params(file))["y_variable"], variable);
}

void auto_label_variable_takes_the_one_the_file_holds() {
    NamedLabels l;
    expect_auto_takes(l.write("gt.mat", {"gt"}), "gt", l.remapped);
    expect_auto_takes(l.write("truelabel.mat", {"truelabel"}), "truelabel", l.remapped);
    expect_auto_takes(l.write("capital-y.mat", {"Y"}), "Y", 1 - l.remapped);
    for (const char* name : {"y", "label", "labels", "truth"}) expect_auto_takes(l.write(std::string(name) + ".mat", {name}), name, l.remapped);
}

void auto_label_variable_errors_name_the_candidates_or_the_variables() {
    NamedLabels l;
    fs::path two = l.write("two-labels.mat", {"Y", "gt"});
    std::string m = error_of("mat", params(two));
    EXPECT_NE(m.find("'" + two.string() + "' has 2 variables that could hold the labels, 'Y' and 'gt' (set y_variable to the one that does)"),
              std::string::npos) << m;
    fs::path three = l.write("three-labels.mat", {"gt", "truelabel", "labels"});
    m = error_of("mat", params(three));
    EXPECT_NE(m.find("has 3 variables that could hold the labels, 'gt', 'labels' and 'truelabel' (set y_variable"), std::string::npos) << m;

    fs::path none = l.write("no-labels.mat", {});
    m = error_of("mat", params(none));
    EXPECT_NE(m.find("'" + none.string() + "' has no label variable under the usual names ('Y', 'y', 'gt', 'label', 'labels', 'truelabel' "
                     "and 'truth'); its variables: X, extra (set y_variable to the one that holds the labels)"),
              std::string::npos) << m;
}

void explicit_label_variable_is_read_as_given() {
    NamedLabels l;
    fs::path two = l.write("explicit.mat", {"Y", "gt"});
    testing::internal::CaptureStderr();
    auto from_gt = load("mat", params(two, R"("y_variable": "gt")"));
    EXPECT_EQ(testing::internal::GetCapturedStderr().find("the labels are variable"), std::string::npos) << "no guess, nothing to say";
    EXPECT_TRUE(torch::equal(from_gt["label"], l.remapped));
    EXPECT_TRUE(torch::equal(load("mat", params(two, R"("y_variable": "Y")"))["label"], 1 - l.remapped));
    std::string m = error_of("mat", params(two, R"("y_variable": "labels")"));
    EXPECT_NE(m.find("'" + two.string() + "' has no variable 'labels'; its variables: X, Y, gt, extra (set y_variable to the right one)"),
              std::string::npos) << m;
}

}  // namespace

// Each TEST is one process under ctest, and every process loads all plugins first (about 1.5 s),
// so related checks share a TEST.
TEST(MatDataset, ReadsBothOrientationsEveryFileVersionAndRemapsLabels) {
    reads_both_orientations_and_remaps_labels();
    compressed_v7_and_hdf5_v73_files_read_the_same();
}

TEST(MatDataset, NumericClassesSparseViewsAndTheOrientationParameter) {
    integer_logical_and_sparse_classes_and_integer_labels();
    orientation_parameter_decides_square_views();
}

TEST(MatDataset, NormalizationBalanceSplitAndMissingViewsBySeed) {
    normalization_per_feature();
    class_balance_split_and_missing_views_by_seed();
}

TEST(MatDataset, SplitErrorsNameTheIndexAndTheFix) {
    split_errors_name_the_index_and_the_fix();
}

TEST(MatDataset, AutoLabelVariableTakesTheOneOfTheUsualNamesTheFileHolds) {
    auto_label_variable_takes_the_one_the_file_holds();
    auto_label_variable_errors_name_the_candidates_or_the_variables();
    explicit_label_variable_is_read_as_given();
}

TEST(MatDataset, ErrorsNameTheFileTheVariableAndTheFix) {
    file_errors_name_the_file_and_the_fix();
    content_errors_name_the_variable_and_the_fix();
}

// The UCI Handwritten set the repository ships (data/multiview/handwritten.mat, see its README),
// read as it is: the test runs in the checkout's root, as mvrl-run does.
TEST(MatDataset, ReadsTheShippedUciHandwrittenSet) {
    const std::string shipped = R"({"path": "data/multiview/handwritten.mat", "normalize": "none"})";
    ASSERT_TRUE(fs::exists("data/multiview/handwritten.mat")) << "run from the checkout's root; cwd " << fs::current_path();
    json info = dataset_test::info("mat", shipped);
    EXPECT_EQ(info["n"], 2000);
    EXPECT_EQ(info["classes"], 10);
    EXPECT_EQ(info["views"], json({{{"shape", {240}}}, {{"shape", {76}}}, {{"shape", {216}}}, {{"shape", {47}}}, {{"shape", {64}}},
                                   {{"shape", {6}}}}))
        << "pixel averages, Fourier, profile correlations, Zernike, Karhunen–Loève, morphological";
    EXPECT_EQ(info["orientation"], json(std::vector<std::string>(6, "samples_in_rows")));
    EXPECT_EQ(info["y_variable"], "Y");
    EXPECT_EQ(info["label_values"], json({0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << "the digits are their own labels";

    TensorMap data = load("mat", shipped);
    EXPECT_TRUE(torch::equal(torch::bincount(data["label"]), torch::full({10}, 200, torch::kInt64)));
    EXPECT_TRUE(torch::equal(data["label"], torch::arange(10, torch::kInt64).repeat_interleave(200))) << "in class order";
    // The pixel view holds averages of 6 binary pixels (0..6); the morphological view is unscaled.
    EXPECT_EQ(data["view0"].min().item<float>(), 0.0f);
    EXPECT_EQ(data["view0"].max().item<float>(), 6.0f);
    EXPECT_GT(data["view5"].max().item<float>(), 10000.0f);

    TensorMap scaled = load("mat", R"({"path": "data/multiview/handwritten.mat"})");  // minmax, the default
    for (int64_t v = 0; v < 6; ++v) {
        const torch::Tensor& view = scaled["view" + std::to_string(v)];
        EXPECT_GE(view.min().item<float>(), 0.0f) << v;
        EXPECT_LE(view.max().item<float>(), 1.0f) << v;
        EXPECT_FALSE(torch::isnan(view).any().item<bool>()) << v;
    }
}
