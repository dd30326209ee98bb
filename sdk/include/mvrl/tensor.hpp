// mvrl/tensor.hpp — torch::Tensor <-> DLPack tensor lists, zero copy on CPU and GPU.
// Used by both sides: a plugin exports its outputs and borrows its inputs; the host lends batches
// and takes outputs.
#pragma once

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/DLConvertor.h>
#include <torch/torch.h>

#include "abi.h"

namespace mvrl {

// Names stay in a stable order (view0, view1, ..., label) so iteration is deterministic.
using TensorMap = std::map<std::string, torch::Tensor>;

// A view of a lent DLPack tensor as a torch::Tensor, valid while the lender keeps it alive.
// The wrapper's deleter frees only the wrapper: the lender still owns the memory.
inline torch::Tensor borrow_tensor(const DLManagedTensor* lent) {
    auto* wrapper = new DLManagedTensor{lent->dl_tensor, nullptr, [](DLManagedTensor* self) { delete self; }};
    return at::fromDLPack(wrapper);
}

inline TensorMap borrow_tensors(const mvrl_tensor_list* list) {
    TensorMap tensors;
    for (uint32_t i = 0; list && i < list->count; ++i)
        if (list->items[i].tensor) tensors[list->items[i].name] = borrow_tensor(list->items[i].tensor);
    return tensors;
}

// A tensor's values as int64 on the host (labels, assignments), in row-major order.
inline std::vector<int64_t> to_int64_vector(const torch::Tensor& t) {
    torch::Tensor c = t.to(torch::kCPU, torch::kInt64).contiguous();
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Hands tensors over: the consumer owns the list and calls list->release(list) when done.
inline void export_tensors(const TensorMap& tensors, mvrl_tensor_list* out) {
    auto* items = static_cast<mvrl_named_tensor*>(std::calloc(tensors.size() + 1, sizeof(mvrl_named_tensor)));
    if (!items) throw std::bad_alloc();
    uint32_t i = 0;
    for (const auto& [name, tensor] : tensors) {
        items[i].name = strdup(name.c_str());
        items[i].tensor = at::toDLPack(tensor);
        ++i;
    }
    out->struct_size = sizeof(mvrl_tensor_list);
    out->count = i;
    out->items = items;
    out->release_context = nullptr;
    out->release = [](mvrl_tensor_list* self) {
        for (uint32_t k = 0; k < self->count; ++k) {
            DLManagedTensor* t = self->items[k].tensor;
            if (t && t->deleter) t->deleter(t);
            std::free(const_cast<char*>(self->items[k].name));
        }
        std::free(self->items);
        self->items = nullptr;
        self->count = 0;
    };
}

// Takes every tensor out of a list the other side produced, then releases the list.
inline TensorMap take_tensors(mvrl_tensor_list* list) {
    TensorMap tensors;
    for (uint32_t i = 0; i < list->count; ++i) {
        DLManagedTensor* t = list->items[i].tensor;
        if (!t) continue;
        list->items[i].tensor = nullptr;
        tensors[list->items[i].name] = at::fromDLPack(t);
    }
    if (list->release) list->release(list);
    return tensors;
}

// Tensors lent to one call: the list and its DLPack wrappers live as long as this object; the
// tensors' memory is never copied.
class LentTensors {
public:
    explicit LentTensors(const TensorMap& tensors) {
        names_.reserve(tensors.size());
        for (const auto& [name, tensor] : tensors) {
            names_.push_back(name);
            managed_.push_back(at::toDLPack(tensor));
        }
        for (size_t i = 0; i < names_.size(); ++i) items_.push_back({names_[i].c_str(), managed_[i]});
        list_ = {sizeof(mvrl_tensor_list), static_cast<uint32_t>(items_.size()), items_.data(), nullptr, nullptr};
    }
    ~LentTensors() {
        for (DLManagedTensor* t : managed_) t->deleter(t);
    }
    LentTensors(const LentTensors&) = delete;
    LentTensors& operator=(const LentTensors&) = delete;

    const mvrl_tensor_list* list() const { return &list_; }

private:
    std::vector<std::string> names_;
    std::vector<DLManagedTensor*> managed_;
    std::vector<mvrl_named_tensor> items_;
    mvrl_tensor_list list_{};
};

}  // namespace mvrl
