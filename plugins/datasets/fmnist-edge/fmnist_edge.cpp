// fmnist-edge: E-FMNIST of the MRDD and CONAN papers — view 0 a Fashion-MNIST image, view 1 its
// edge map (mvrl/data/edge_views.hpp), resized to `size`. All 70,000 images from Debian's package
// dataset-fashion-mnist (IDX files, gzip); the official 60,000/10,000 split is exposed as "split".
#include <zlib.h>

#include <mvrl/data/image_edge_dataset.hpp>

namespace {

namespace fs = std::filesystem;

constexpr const char* kDebianDir = "/usr/share/datasets/fashion-mnist";

// An IDX file (big-endian header: magic, dims; then uint8 data), gzip-compressed.
torch::Tensor read_idx_gz(const fs::path& file) {
    gzFile in = gzopen(file.c_str(), "rb");
    if (!in) throw std::runtime_error("fmnist-edge: cannot open " + file.string());
    auto read_bytes = [&](void* into, unsigned n) {
        if (gzread(in, into, n) != int(n)) {
            gzclose(in);
            throw std::runtime_error("fmnist-edge: " + file.string() + " is truncated or not an IDX file");
        }
    };
    unsigned char magic[4];
    read_bytes(magic, 4);
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08) {
        gzclose(in);
        throw std::runtime_error("fmnist-edge: " + file.string() + " is not an IDX file of unsigned bytes");
    }
    std::vector<int64_t> shape;
    for (int d = 0; d < magic[3]; ++d) {
        unsigned char b[4];
        read_bytes(b, 4);
        shape.push_back((int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    }
    torch::Tensor data = torch::empty(shape, torch::kUInt8);
    read_bytes(data.data_ptr(), unsigned(data.numel()));
    gzclose(in);
    return data;
}

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
            .add_string("fmnist_dir", kDebianDir, "folder of the IDX .gz files");
        return mvrl::data::add_missing_view_params(schema);
    }

    using ImageEdgeDataset::ImageEdgeDataset;

private:
    bool has_split() const override { return p_.get_string("split") == "all"; }

    // Images and labels of one part ("train" or "t10k"), first per_class of each class if asked.
    std::pair<torch::Tensor, torch::Tensor> read_part(const fs::path& dir, const std::string& part) const {
        torch::Tensor images = read_idx_gz(dir / (part + "-images-idx3-ubyte.gz"));
        torch::Tensor labels = read_idx_gz(dir / (part + "-labels-idx1-ubyte.gz")).to(torch::kInt64);
        if (images.size(0) != labels.size(0))
            throw std::runtime_error("fmnist-edge: " + part + " images and labels differ in number");
        if (int64_t k = p_.get_int("per_class")) {
            std::vector<torch::Tensor> keep;
            for (int c = 0; c < 10; ++c) keep.push_back(torch::nonzero(labels == c).flatten().slice(0, 0, k));
            torch::Tensor index = std::get<0>(torch::sort(torch::cat(keep)));
            images = images.index_select(0, index), labels = labels.index_select(0, index);
        }
        return {images.unsqueeze(1).to(torch::kFloat32) / 255.0, labels};
    }

    mvrl::TensorMap build() const override {
        fs::path dir = p_.get_string("fmnist_dir");
        if (!fs::exists(dir / "train-images-idx3-ubyte.gz"))
            throw std::runtime_error("fmnist-edge: Fashion-MNIST not found in " + dir.string() +
                                     " (Debian package dataset-fashion-mnist); install it with the README's set-up "
                                     "command (scripts/setup), or pass the folder as fmnist_dir");
        const std::string split = p_.get_string("split");
        std::vector<torch::Tensor> images, labels, parts;
        for (const auto& [part, id] : {std::pair<std::string, int64_t>{"train", 0}, {"t10k", 1}}) {
            if ((split == "train" && id != 0) || (split == "test" && id != 1)) continue;
            auto [x, y] = read_part(dir, part);
            images.push_back(x), labels.push_back(y), parts.push_back(torch::full({y.size(0)}, id, torch::kInt64));
        }
        auto [view0, view1] = mvrl::data::image_and_edge_views(torch::cat(images), p_.get_int("size"));
        mvrl::TensorMap out{{"view0", view0}, {"view1", view1}, {"label", torch::cat(labels)}};
        if (split == "all") out["split"] = torch::cat(parts);
        return out;
    }
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::dataset_plugin<FmnistEdge>())
