// mvrl/status.hpp — turning C++ exceptions into mvrl_status + message at the ABI edge, and the
// owned C lists the ABI hands back (scalars). Header-only, no torch.
#pragma once

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "abi.h"
#include "params.hpp"

namespace mvrl {

// Copies `message` into the caller-owned buffer, truncating to fit.
inline void write_error(mvrl_error* err, const std::string& message) noexcept {
    if (!err || !err->message || err->capacity == 0) return;
    size_t n = std::min(message.size(), err->capacity - 1);
    std::memcpy(err->message, message.data(), n);
    err->message[n] = '\0';
}

// Runs `body`, mapping any exception to a status and a message. Nothing escapes: this is what
// stands between a plugin's C++ and the C caller.
template <class Body>
mvrl_status guarded(mvrl_error* err, Body&& body) noexcept {
    try {
        body();
        return MVRL_OK;
    } catch (const ParamError& e) {
        write_error(err, e.what());
        return MVRL_ERR_INVALID_ARGUMENT;
    } catch (const std::bad_alloc&) {
        write_error(err, "out of memory");
        return MVRL_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        write_error(err, e.what());
        return MVRL_ERR_RUNTIME;
    } catch (...) {
        write_error(err, "unknown exception inside the plugin");
        return MVRL_ERR_RUNTIME;
    }
}

using ScalarList = std::vector<std::pair<std::string, double>>;

// Fills an ABI scalar list from C++ values; the consumer calls out->release(out).
inline void export_scalars(const ScalarList& values, mvrl_scalar_list* out) {
    auto* items = static_cast<mvrl_named_scalar*>(std::calloc(values.size() + 1, sizeof(mvrl_named_scalar)));
    if (!items) throw std::bad_alloc();
    for (size_t i = 0; i < values.size(); ++i) {
        items[i].name = strdup(values[i].first.c_str());
        items[i].value = values[i].second;
    }
    out->struct_size = sizeof(mvrl_scalar_list);
    out->count = static_cast<uint32_t>(values.size());
    out->items = items;
    out->release_context = nullptr;
    out->release = [](mvrl_scalar_list* self) {
        for (uint32_t i = 0; i < self->count; ++i) std::free(const_cast<char*>(self->items[i].name));
        std::free(self->items);
        self->items = nullptr;
        self->count = 0;
    };
}

// Takes an ABI scalar list produced by the other side and releases it.
inline ScalarList take_scalars(mvrl_scalar_list* list) {
    ScalarList values;
    for (uint32_t i = 0; i < list->count; ++i)
        values.emplace_back(list->items[i].name ? list->items[i].name : "", list->items[i].value);
    if (list->release) list->release(list);
    return values;
}

}  // namespace mvrl
