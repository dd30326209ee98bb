// mat: a multi-view dataset from a .mat file in the layout the multi-view clustering literature
// shares (Caltech101-7/20, HandWritten, BBCSport, Scene-15, ...): a cell array X of V view matrices
// and a label vector Y. Read with libmatio (MAT v5, v7 compressed and, matio being built with HDF5,
// v7.3).
//
//  - Each view is N×d_v or d_v×N (both occur in the wild). "auto" takes the axis whose length is
//    the number of labels; a square view, where both are, is an error asking for `orientation`.
//  - Numeric classes as matio gives them: double, single, (u)int8..64, logical, dense or sparse
//    (sparse views are made dense). Complex, char, struct and cell views are refused.
//  - Y: N×1 or 1×N, any numeric class; its distinct values, sorted, become 0..K-1 (int64) and
//    info()["label_values"][k] is the value that became k. The files of the literature call it
//    `Y` as often as `gt` or `truelabel`, so y_variable = "auto" (the default) takes the one of the
//    usual names (label_variable_names) that the file holds, says which in the log and in
//    info()["y_variable"], and asks for y_variable when the file holds none or several.
//  - normalize, per feature over all N samples (the literature's loaders do it before any split):
//    "minmax" (default) maps each feature to [0, 1] like scikit-learn's MinMaxScaler, which is what
//    loaders such as MFLVC's and TMC's apply to these files: the features come in wildly different
//    scales (histogram counts next to Gabor or GIST responses), and [0, 1] also matches the image
//    datasets' range. "standard" is zero mean, unit (population) variance; "none" keeps the values.
//    A constant feature becomes 0 under both, as in scikit-learn.
//  - Optional test indices give a "split" tensor (mvrl/data/test_split.hpp); missing_rate drops
//    views (mvrl/data/missing_views.hpp).
//
// The file is read when the dataset is opened, so every error comes before a model is built. It is
// not cached: reading a .mat file is fast, and a cache keyed by the path would go stale when the
// file changes.
#include <matio.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <mvrl/data/missing_views.hpp>
#include <mvrl/data/test_split.hpp>
#include <mvrl/plugin.hpp>

namespace {

namespace fs = std::filesystem;

// matio reports through a logger (stderr by default); keep its last message for our own errors.
thread_local std::string matio_last_message;
void install_matio_logger() {
    static const bool installed = [] {
        Mat_LogInitFunc("mvrl-mat", [](int, char* message) { matio_last_message = message ? message : ""; });
        return true;
    }();
    (void)installed;
}
std::string matio_says() {
    std::string m = matio_last_message;
    matio_last_message.clear();
    return m.empty() ? "" : " (matio: " + m + ")";
}

struct MatCloser {
    void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
    void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

const char* class_name(matio_classes c) {
    switch (c) {
    case MAT_C_EMPTY: return "empty";
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_CHAR: return "char";
    case MAT_C_SPARSE: return "sparse";
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    case MAT_C_FUNCTION: return "function";
    case MAT_C_OPAQUE: return "opaque";
    }
    return "unknown";
}

std::string dims_of(const matvar_t* v) {
    std::string s;
    for (int d = 0; d < v->rank; ++d) s += (d ? "×" : "") + std::to_string(v->dims[d]);
    return s.empty() ? "0×0" : s;
}

// "a 3×4 double matrix", "a 1×2 cell array", ...
std::string describe(const matvar_t* v) {
    std::string kind = v->class_type == MAT_C_CELL ? "cell array" : v->class_type == MAT_C_STRUCT ? "struct" : "matrix";
    std::string cls = v->class_type == MAT_C_CELL || v->class_type == MAT_C_STRUCT ? "" : std::string(class_name(v->class_type)) + " ";
    if (v->isLogical) cls = "logical ";
    if (v->isComplex) cls = "complex " + cls;
    return "a " + dims_of(v) + " " + cls + kind;
}

template <class T>
void append_as_double(const void* data, size_t count, std::vector<double>& out) {
    const T* p = static_cast<const T*>(data);
    out.insert(out.end(), p, p + count);
}

// `count` values of matio type `type` at `data`, as doubles. Throws a plain message (the caller adds
// file and variable) for a type it cannot read.
std::vector<double> to_doubles(const void* data, matio_types type, size_t count) {
    std::vector<double> out;
    out.reserve(count);
    switch (type) {
    case MAT_T_DOUBLE: append_as_double<double>(data, count, out); break;
    case MAT_T_SINGLE: append_as_double<float>(data, count, out); break;
    case MAT_T_INT8: append_as_double<int8_t>(data, count, out); break;
    case MAT_T_UINT8: append_as_double<uint8_t>(data, count, out); break;
    case MAT_T_INT16: append_as_double<int16_t>(data, count, out); break;
    case MAT_T_UINT16: append_as_double<uint16_t>(data, count, out); break;
    case MAT_T_INT32: append_as_double<int32_t>(data, count, out); break;
    case MAT_T_UINT32: append_as_double<uint32_t>(data, count, out); break;
    case MAT_T_INT64: append_as_double<int64_t>(data, count, out); break;
    case MAT_T_UINT64: append_as_double<uint64_t>(data, count, out); break;
    default: throw std::runtime_error("its element type (matio type " + std::to_string(int(type)) + ") is not numeric");
    }
    return out;
}

// A 2-D numeric variable (dense or sparse) as a rows×cols float64 tensor. `what` names it in errors.
torch::Tensor numeric_matrix(const matvar_t* v, const std::string& what) {
    auto fail = [&](const std::string& why) { throw std::runtime_error(what + " is " + describe(v) + ": " + why); };
    if (v->isComplex) fail("complex values are not supported; save the real part (real(...)) or split real and imaginary parts into features");
    if (v->rank != 2) fail("expected a 2-D matrix");
    const int64_t rows = int64_t(v->dims[0]), cols = int64_t(v->dims[1]);
    if (rows == 0 || cols == 0) fail("it is empty");
    std::vector<double> values;  // column-major
    if (v->class_type == MAT_C_SPARSE) {
        const auto* s = static_cast<const mat_sparse_t*>(v->data);
        if (!s) fail("its data could not be read");
        if (s->njc < size_t(cols) + 1) fail("its sparse column index is shorter than its column count");
        std::vector<double> nonzero = s->ndata ? to_doubles(s->data, v->data_type, s->ndata) : std::vector<double>{};
        values.assign(size_t(rows * cols), 0.0);
        for (int64_t c = 0; c < cols; ++c)
            for (uint32_t k = s->jc[c]; k < s->jc[c + 1]; ++k) {
                if (k >= s->nir || k >= nonzero.size() || s->ir[k] >= uint32_t(rows)) fail("its sparse structure is damaged");
                values[size_t(c * rows + s->ir[k])] = nonzero[k];
            }
    } else if (v->class_type == MAT_C_CELL || v->class_type == MAT_C_STRUCT || v->class_type == MAT_C_CHAR ||
               v->class_type == MAT_C_OBJECT || v->class_type == MAT_C_FUNCTION || v->class_type == MAT_C_OPAQUE ||
               v->class_type == MAT_C_EMPTY) {
        fail("expected a numeric matrix (double, single, integer or logical; dense or sparse)");
    } else {
        if (!v->data) fail("its data could not be read");
        try {
            values = to_doubles(v->data, v->data_type, size_t(rows * cols));
        } catch (const std::runtime_error& e) {
            fail(e.what());
        }
    }
    // Column-major rows×cols is row-major cols×rows.
    return torch::from_blob(values.data(), {cols, rows}, torch::kFloat64).t().clone();
}

std::vector<std::string> variable_names(mat_t* mat) {
    size_t n = 0;
    char** names = Mat_GetDir(mat, &n);  // owned by mat
    std::vector<std::string> out;
    for (size_t i = 0; names && i < n; ++i)
        if (names[i]) out.emplace_back(names[i]);
    return out;
}

std::string variables_of(mat_t* mat) {
    std::string list;
    for (const auto& name : variable_names(mat)) list += (list.empty() ? "" : ", ") + name;
    return list.empty() ? "none" : list;
}

// What y_variable = "auto" looks for: the names the multi-view literature's files give their labels.
const std::vector<std::string> label_variable_names = {"Y", "y", "gt", "label", "labels", "truelabel", "truth"};

// "'a'", "'a' and 'b'", "'a', 'b' and 'c'".
std::string quoted_list(const std::vector<std::string>& names) {
    std::string list;
    for (size_t i = 0; i < names.size(); ++i)
        list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + ("'" + names[i] + "'");
    return list;
}

// The label variable y_variable = "auto" means: the one of label_variable_names the file holds.
std::string auto_label_variable(mat_t* mat, const std::string& path) {
    const auto names = variable_names(mat);
    std::vector<std::string> found;
    for (const auto& candidate : label_variable_names)
        if (std::find(names.begin(), names.end(), candidate) != names.end()) found.push_back(candidate);
    if (found.size() == 1) return found[0];
    if (found.empty())
        throw std::runtime_error("'" + path + "' has no label variable under the usual names (" + quoted_list(label_variable_names) +
                                 "); its variables: " + variables_of(mat) + " (set y_variable to the one that holds the labels)");
    throw std::runtime_error("'" + path + "' has " + std::to_string(found.size()) + " variables that could hold the labels, " +
                             quoted_list(found) + " (set y_variable to the one that does)");
}

// matio reads a MAT v5/v7 file that was cut short without complaint (the missing bytes read as
// zeros), so its top-level elements are walked first: each must end inside the file. Returns the
// 0-based index of the first element that does not, with the bytes it needs, or -1.
std::pair<int64_t, uint64_t> truncated_element_v5(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const uint64_t size = fs::file_size(path);
    unsigned char header[128];
    if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return {0, 128};
    const bool swap = !(header[126] == 'I' && header[127] == 'M');  // 'MI' as written by the other byte order
    auto u32 = [&](const unsigned char* b) {
        uint32_t v = swap ? (uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3])
                          : (uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0]);
        return v;
    };
    uint64_t pos = 128;
    for (int64_t element = 0; pos < size; ++element) {
        unsigned char tag[8];
        if (pos + 8 > size || !in.seekg(std::streamoff(pos)).read(reinterpret_cast<char*>(tag), 8)) return {element, pos + 8};
        uint32_t type = u32(tag), bytes = u32(tag + 4);
        if (type >> 16) {  // a small data element: tag and data in 8 bytes
            pos += 8;
            continue;
        }
        if (pos + 8 + bytes > size) return {element, pos + 8 + bytes};
        pos += 8 + bytes;
        if (type != 15 /* miCOMPRESSED, not padded */) pos += (8 - bytes % 8) % 8;
    }
    return {-1, 0};
}

// The per-view orientation: true when samples are rows.
std::vector<bool> orient(const std::vector<std::pair<int64_t, int64_t>>& dims, int64_t labels, const std::string& mode,
                         const std::string& where, const std::string& y) {
    std::vector<bool> rows(dims.size());
    auto shape = [&](size_t v) { return "X{" + std::to_string(v + 1) + "} is " + std::to_string(dims[v].first) + "×" +
                                        std::to_string(dims[v].second); };
    if (mode != "auto") {
        const bool in_rows = mode == "samples_in_rows";
        int64_t n0 = in_rows ? dims[0].first : dims[0].second;
        for (size_t v = 0; v < dims.size(); ++v) {
            rows[v] = in_rows;
            int64_t n = in_rows ? dims[v].first : dims[v].second;
            if (n != n0)
                throw std::runtime_error(where + ": the views have different numbers of samples with orientation = " + mode + ": " +
                                         shape(0) + " (" + std::to_string(n0) + " samples), " + shape(v) + " (" +
                                         std::to_string(n) + " samples); every view must hold the same N samples" +
                                         " (check the orientation parameter, or the file)");
        }
        if (n0 != labels)
            throw std::runtime_error(where + ": the views hold " + std::to_string(n0) + " samples (orientation = " + mode +
                                     ") but " + y + " has " + std::to_string(labels) +
                                     " labels; " + y + " needs one label per sample (check y_variable and the orientation parameter)");
        return rows;
    }
    bool all_match = true;
    for (size_t v = 0; v < dims.size(); ++v) {
        bool r = dims[v].first == labels, c = dims[v].second == labels;
        if (r && c)
            throw std::runtime_error(where + ": " + shape(v) + " and " + y + " has " + std::to_string(labels) +
                                     " labels, so either axis could hold the samples; set orientation to samples_in_rows or "
                                     "samples_in_columns");
        rows[v] = r;
        all_match = all_match && (r || c);
    }
    if (all_match) return rows;
    // No axis of some view matches the label count: a wrong Y when the views agree among themselves
    // on one N, else views of different lengths.
    std::vector<int64_t> common{dims[0].first, dims[0].second};
    for (size_t v = 1; v < dims.size(); ++v)
        common.erase(std::remove_if(common.begin(), common.end(),
                                    [&](int64_t n) { return n != dims[v].first && n != dims[v].second; }),
                     common.end());
    std::string shapes;
    for (size_t v = 0; v < dims.size(); ++v) shapes += (v ? ", " : "") + shape(v);
    if (!common.empty())
        throw std::runtime_error(where + ": " + y + " has " + std::to_string(labels) + " labels but the views hold " +
                                 std::to_string(common[0]) + " samples (" + shapes + "); " + y +
                                 " needs one label per sample (check y_variable)");
    throw std::runtime_error(where + ": the views have different numbers of samples (" + shapes + "; " + y + " has " +
                             std::to_string(labels) + " labels); every view must hold the same N samples, as rows or as columns");
}

class MatDataset : public mvrl::Dataset {
public:
    static constexpr const char* name = "mat";
    static constexpr const char* version = "1.1.0";  // 1.1: y_variable = "auto"
    static constexpr const char* description =
        "Multi-view .mat file of the clustering literature: cell array X of view matrices (N×d or d×N), labels Y (libmatio)";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_string("path", "", "the .mat file (required; relative to the working directory)")
            .add_string("x_variable", "X", "name of the cell array of view matrices")
            .add_string("y_variable", "auto",
                        "name of the label vector (any numeric class; remapped to 0..K-1); auto: the one of Y, y, gt, label, labels, "
                        "truelabel, truth the file holds")
            .add_string("orientation", "auto", "where the samples are in each view: auto (the axis as long as Y), rows, columns",
                        {"auto", "samples_in_rows", "samples_in_columns"})
            .add_string("normalize", "minmax", "per feature over all samples: minmax to [0, 1] (as MFLVC/TMC loaders), standard, none",
                        {"minmax", "standard", "none"});
        mvrl::data::add_test_split_params(schema);
        return mvrl::data::add_missing_view_params(schema);
    }

    MatDataset(const mvrl::Params& p, const mvrl::Context& ctx) : p_(p) { read(ctx); }

    mvrl::json info() override {
        mvrl::json views = mvrl::json::array();
        for (int64_t d : dims_) views.push_back({{"shape", {d}}});
        return {{"n", n_},
                {"views", views},
                {"classes", int64_t(label_values_.size())},
                {"has_missing", p_.get_float("missing_rate") > 0},
                {"has_split", mvrl::data::has_test_split(p_)},
                {"labels", {"label"}},
                {"label_values", label_values_},
                {"y_variable", y_variable_},
                {"orientation", orientation_},
                {"normalize", p_.get_string("normalize")},
                {"path", p_.get_string("path")}};
    }

    mvrl::TensorMap load() override {
        mvrl::TensorMap data = data_;  // shallow: the mask below replaces views, never writes into them
        mvrl::data::apply_test_split(data, p_);
        if (p_.get_float("missing_rate") > 0)
            mvrl::data::drop_views(data, int64_t(dims_.size()), p_.get_float("missing_rate"), uint64_t(p_.get_int("missing_seed")));
        return data;
    }

private:
    void read(const mvrl::Context& ctx) {
        const std::string path = p_.get_string("path");
        const std::string x_name = p_.get_string("x_variable");
        if (path.empty()) throw mvrl::ParamError("parameter 'path' of plugin 'mat' is required: the .mat file to read");
        std::error_code ec;
        if (!fs::exists(path, ec))
            throw std::runtime_error("'" + path + "': no such file (set path to a .mat file; a relative path starts from the "
                                     "working directory, " + fs::current_path(ec).string() + ")");
        if (fs::is_directory(path, ec)) throw std::runtime_error("'" + path + "' is a folder, not a .mat file (set path to the file)");
        install_matio_logger();
        matio_last_message.clear();
        MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
        if (!mat)
            throw std::runtime_error("'" + path + "' is not a MAT file or is damaged" + matio_says() +
                                     "; save it with MATLAB's save (v5, v7 or v7.3) or scipy.io.savemat");

        if (Mat_GetVersion(mat.get()) == MAT_FT_MAT5) {
            auto [element, needed] = truncated_element_v5(path);
            if (element >= 0) {
                auto names = variable_names(mat.get());
                std::string which = size_t(element) < names.size() ? "variable '" + names[size_t(element)] + "'"
                                                                   : "variable number " + std::to_string(element + 1);
                throw std::runtime_error("'" + path + "' is truncated or damaged: " + which + " needs " + std::to_string(needed) +
                                         " bytes of file but the file has " + std::to_string(fs::file_size(path)) +
                                         "; it was cut short (an interrupted download or copy?): fetch or save it again");
            }
        }

        auto read_var = [&](const std::string& var, const char* param) {
            MatVar v(Mat_VarRead(mat.get(), var.c_str()));
            if (v) return v;
            std::string said = matio_says();
            auto names = variable_names(mat.get());
            if (std::find(names.begin(), names.end(), var) != names.end())
                throw std::runtime_error("'" + path + "': variable '" + var + "' could not be read" + said +
                                         "; the file is truncated or damaged: save it again");
            throw std::runtime_error("'" + path + "' has no variable '" + var + "'; its variables: " + variables_of(mat.get()) + " (set " +
                                     param + " to the right one)");
        };

        MatVar x = read_var(x_name, "x_variable");
        const std::string where_x = "'" + path + "', variable '" + x_name + "'";
        if (x->class_type != MAT_C_CELL)
            throw std::runtime_error(where_x + " is " + describe(x.get()) +
                                     ", not a cell array of views: the file must hold one matrix per view in a cell array (in MATLAB, "
                                     "X = {X1, X2}; save(file, 'X', 'Y')), or set x_variable to the cell array; this file's variables: " +
                                     variables_of(mat.get()));
        size_t views = 1;
        for (int d = 0; d < x->rank; ++d) views *= x->dims[d];
        if (views == 0) throw std::runtime_error(where_x + " is an empty cell array: it holds no views");

        std::string y_name = p_.get_string("y_variable");
        if (y_name == "auto") {
            y_name = auto_label_variable(mat.get(), path);
            ctx.log(MVRL_LOG_INFO, "'" + path + "': the labels are variable '" + y_name + "' (y_variable = \"auto\")");
        }
        y_variable_ = y_name;
        MatVar y = read_var(y_name, "y_variable");
        const std::string where_y = "'" + path + "', variable '" + y_name + "'";
        if (y->rank != 2 || (y->dims[0] != 1 && y->dims[1] != 1))
            throw std::runtime_error(where_y + " is " + describe(y.get()) +
                                     ": expected a label vector (N×1 or 1×N); for one-hot labels save [~, Y] = max(Y, [], 2)");
        torch::Tensor labels = numeric_matrix(y.get(), where_y).flatten();
        if (!torch::isfinite(labels).all().item<bool>())
            throw std::runtime_error(where_y + " holds NaN or Inf labels (first at sample " +
                                     std::to_string(torch::nonzero(~torch::isfinite(labels))[0][0].item<int64_t>()) +
                                     ", 0-based); every sample needs a finite class value");
        const int64_t n_labels = labels.numel();

        std::vector<torch::Tensor> matrices;
        std::vector<std::pair<int64_t, int64_t>> dims;
        for (size_t v = 0; v < views; ++v) {
            const std::string what = where_x + ", view " + std::to_string(v) + " (X{" + std::to_string(v + 1) + "})";
            matvar_t* cell = Mat_VarGetCell(x.get(), int(v));
            if (!cell) throw std::runtime_error(what + " could not be read" + matio_says() + "; the file may be damaged");
            matrices.push_back(numeric_matrix(cell, what));
            dims.push_back({matrices.back().size(0), matrices.back().size(1)});
        }
        std::vector<bool> in_rows = orient(dims, n_labels, p_.get_string("orientation"), where_x, y_name);

        // Labels: sorted distinct values -> 0..K-1.
        std::map<double, int64_t> ids;
        auto lv = labels.accessor<double, 1>();
        for (int64_t i = 0; i < n_labels; ++i) ids.emplace(lv[i], 0);
        int64_t next = 0;
        for (auto& [value, id] : ids) {
            id = next++;
            label_values_.push_back(value == std::floor(value) && std::fabs(value) < 9.0e15 ? mvrl::json(int64_t(value))
                                                                                           : mvrl::json(value));
        }
        torch::Tensor label = torch::empty({n_labels}, torch::kInt64);
        int64_t* out = label.data_ptr<int64_t>();
        for (int64_t i = 0; i < n_labels; ++i) out[i] = ids[lv[i]];
        data_["label"] = label;

        const std::string normalize = p_.get_string("normalize");
        for (size_t v = 0; v < views; ++v) {
            torch::Tensor view = in_rows[v] ? matrices[v] : matrices[v].t();
            torch::Tensor bad = ~torch::isfinite(view);
            if (int64_t count = bad.sum().item<int64_t>()) {
                torch::Tensor first = torch::nonzero(bad)[0];
                throw std::runtime_error(where_x + ", view " + std::to_string(v) + " (X{" + std::to_string(v + 1) + "}) holds " +
                                         std::to_string(count) + " NaN or Inf value" + (count > 1 ? "s" : "") +
                                         ", the first at sample " + std::to_string(first[0].item<int64_t>()) + ", feature " +
                                         std::to_string(first[1].item<int64_t>()) +
                                         " (0-based); replace them before saving (e.g. by 0 or the feature's mean) or drop those samples");
            }
            if (normalize == "minmax") {
                torch::Tensor lo = view.amin(0), range = view.amax(0) - lo;
                view = (view - lo) / torch::where(range > 0, range, torch::ones_like(range));
            } else if (normalize == "standard") {
                torch::Tensor mean = view.mean(0), sd = view.std(0, /*unbiased=*/false);
                view = (view - mean) / torch::where(sd > 0, sd, torch::ones_like(sd));
            }
            data_["view" + std::to_string(v)] = view.to(torch::kFloat32).contiguous();
            dims_.push_back(view.size(1));
            orientation_.push_back(in_rows[v] ? "samples_in_rows" : "samples_in_columns");
        }
        n_ = n_labels;
        // Checks the split parameters now, so that a bad index fails at open like every other error.
        if (mvrl::data::has_test_split(p_)) mvrl::data::test_split_of(p_, n_);
    }

    mvrl::Params p_;
    mvrl::TensorMap data_;
    std::vector<int64_t> dims_;
    std::vector<std::string> orientation_;
    mvrl::json label_values_ = mvrl::json::array();
    std::string y_variable_;
    int64_t n_ = 0;
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<MatDataset>())
