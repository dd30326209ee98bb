// fmnist-edge: E-FMNIST of the MRDD and CONAN papers — view 0 a Fashion-MNIST image, view 1 its
// edge map (mvrl/data/edge_views.hpp), resized to `size`. All 70,000 images from Debian's package
// dataset-fashion-mnist (IDX files, gzip); the official 60,000/10,000 split is exposed as "split".
#include <mvrl/data/fashion_mnist.hpp>
#include <mvrl/data/image_edge_dataset.hpp>

namespace {

class FmnistEdge : public mvrl::data::ImageEdgeDataset<FmnistEdge> {
public:
    static constexpr const char* name = "fmnist-edge";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "E-FMNIST: Fashion-MNIST image + edge-map views, all 70,000 images (Debian package dataset-fashion-mnist)";

    static mvrl::ParamSchema schema() {
        mvrl::ParamSchema schema;
        schema
            .add_int("size", 32, "side of the square views in pixels (MRDD: 32)", 8, 256)
            .add_string("split", "all", "which images: all (with a 'split' tensor), train (60,000) or test (10,000)",
                        {"all", "train", "test"})
            .add_int("per_class", 0, "keep the first k images of each class in each part (balanced); 0 keeps all", 0, 100000)
            .add_string("fmnist_dir", mvrl::data::kFashionMnistDebianDir, "folder of the IDX .gz files");
        return mvrl::data::add_missing_view_params(schema);
    }

    using ImageEdgeDataset::ImageEdgeDataset;

private:
    bool has_split() const override { return p_.get_string("split") == "all"; }

    mvrl::TensorMap build() const override {
        const std::string split = p_.get_string("split");
        auto fmnist = mvrl::data::read_fashion_mnist(p_.get_string("fmnist_dir"), split, p_.get_int("per_class"));
        auto [view0, view1] = mvrl::data::image_and_edge_views(fmnist.data.images, p_.get_int("size"));
        mvrl::TensorMap out{{"view0", view0}, {"view1", view1}, {"label", fmnist.data.labels}};
        if (split == "all") out["split"] = fmnist.part;
        return out;
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<FmnistEdge>())
