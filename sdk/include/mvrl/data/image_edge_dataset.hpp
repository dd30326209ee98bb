// mvrl/data/image_edge_dataset.hpp — what every "image + edge map" dataset (E-MNIST, E-FMNIST)
// shares: the info() of two 1×size×size views over 10 classes, and a load() served from the
// on-disk cache, and the missing-view mask (its schema must call add_missing_view_params). A
// concrete dataset supplies only build(): reading its source files.
#pragma once

#include "../plugin.hpp"
#include "edge_views.hpp"
#include "missing_views.hpp"
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
                {"has_missing", p_.get_float("missing_rate") > 0},
                {"has_split", has_split()},
                {"labels", {"label"}}};
    }

    TensorMap load() override {
        json source_params = p_.values();  // the missing-view draw comes after the cache, so one cache serves every rate
        source_params.erase("missing_rate");
        source_params.erase("missing_seed");
        auto data = cached_tensors(ctx_, Derived::name, Derived::version, Params(source_params), [&] { return build(); });
        if (p_.get_float("missing_rate") > 0)
            drop_views(data, 2, p_.get_float("missing_rate"), uint64_t(p_.get_int("missing_seed")));
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
