// mvrl/data/image_edge_dataset.hpp — what every "image + edge map" dataset (E-MNIST, E-FMNIST)
// shares: the info() of two 1×size×size views over 10 classes, and a load() served from the
// on-disk cache. A concrete dataset supplies only build(): reading its source files.
#pragma once

#include "../plugin.hpp"
#include "edge_views.hpp"
#include "tensor_cache.hpp"

namespace mvrl::data {

template <class Derived>
class ImageEdgeDataset : public Dataset {
public:
    ImageEdgeDataset(const Params& p, const Context& ctx) : p_(p), ctx_(ctx) {}

    json info() override {
        int64_t s = p_.get_int("size");
        return {{"n", n_ ? n_ : -1},
                {"views", {{{"shape", {1, s, s}}}, {{"shape", {1, s, s}}}}},
                {"classes", 10},
                {"has_missing", false},
                {"has_split", has_split()},
                {"labels", {"label"}}};
    }

    TensorMap load() override {
        auto data = cached_tensors(ctx_, Derived::name, Derived::version, p_, [&] { return build(); });
        n_ = data.at("label").size(0);
        return data;
    }

protected:
    // view0, view1 (image_and_edge_views), label and, where the source has one, split.
    virtual TensorMap build() const = 0;
    virtual bool has_split() const { return false; }

    Params p_;
    Context ctx_;

private:
    int64_t n_ = 0;
};

}  // namespace mvrl::data
