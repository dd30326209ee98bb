/*
 * nearest-centroid: classification accuracy of the nearest class centroid (Euclidean) in a
 * representation. Centroids come from the training part of "split" (0 = train, 1 = test,
 * 2 = validation) and accuracy is measured on the test part; validation rows are in neither (the
 * model selects on them, so they are not held out from it). Without a split, both are the whole set.
 *
 * Written in plain C99 against mvrl/abi.h alone: the reference for third parties who do not use
 * C++ or torch. It reads CPU tensors (float32 or float64 representation, int64 labels/split).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mvrl/abi.h>

static void set_error(mvrl_error* err, const char* message) {
    if (err && err->message && err->capacity > 0) {
        strncpy(err->message, message, err->capacity - 1);
        err->message[err->capacity - 1] = '\0';
    }
}

static const DLTensor* find_input(const mvrl_tensor_list* inputs, const char* name) {
    uint32_t i;
    for (i = 0; inputs && i < inputs->count; ++i)
        if (inputs->items[i].tensor && strcmp(inputs->items[i].name, name) == 0) return &inputs->items[i].tensor->dl_tensor;
    return NULL;
}

static int is_compact(const DLTensor* t) {
    int64_t expected = 1;
    int d;
    if (!t->strides) return 1;
    for (d = t->ndim - 1; d >= 0; --d) {
        if (t->shape[d] != 1 && t->strides[d] != expected) return 0;
        expected *= t->shape[d];
    }
    return 1;
}

/* Checks device, dtype, rank and layout; writes an error naming the input otherwise. */
static int check_input(const DLTensor* t, const char* name, int ndim, mvrl_error* err) {
    char msg[256];
    if (!t) {
        snprintf(msg, sizeof msg, "nearest-centroid: missing input tensor '%s'", name);
    } else if (t->device.device_type != kDLCPU) {
        snprintf(msg, sizeof msg, "nearest-centroid: input '%s' must be on the CPU", name);
    } else if (t->ndim != ndim) {
        snprintf(msg, sizeof msg, "nearest-centroid: input '%s' must have %d dimension(s), has %d", name, ndim, (int)t->ndim);
    } else if (!is_compact(t)) {
        snprintf(msg, sizeof msg, "nearest-centroid: input '%s' must be contiguous", name);
    } else {
        return 1;
    }
    set_error(err, msg);
    return 0;
}

static double element(const DLTensor* t, int64_t index) {
    const char* base = (const char*)t->data + t->byte_offset;
    if (t->dtype.bits == 64) return ((const double*)base)[index];
    return ((const float*)base)[index];
}

static int64_t int_element(const DLTensor* t, int64_t index) {
    return ((const int64_t*)((const char*)t->data + t->byte_offset))[index];
}

static void release_scalars(mvrl_scalar_list* self) {
    free(self->items);
    self->items = NULL;
    self->count = 0;
}

static mvrl_status evaluate(const char* params_json, const mvrl_tensor_list* inputs, const mvrl_context* ctx,
                            mvrl_scalar_list* out, mvrl_error* err) {
    const DLTensor* x = find_input(inputs, "representation");
    const DLTensor* y = find_input(inputs, "label");
    const DLTensor* split = find_input(inputs, "split");
    int64_t n, d, i, k, classes = 0, correct = 0, tested = 0;
    double *sums, *counts;
    mvrl_named_scalar* items;
    (void)ctx;

    /* The schema declares no parameters: anything but an empty object is an unknown key. */
    if (params_json && strspn(params_json, " \t\r\n{}") != strlen(params_json)) {
        set_error(err, "unknown parameter for plugin 'nearest-centroid'; known parameters: none");
        return MVRL_ERR_INVALID_ARGUMENT;
    }
    if (!check_input(x, "representation", 2, err) || !check_input(y, "label", 1, err)) return MVRL_ERR_INVALID_ARGUMENT;
    if (split && !check_input(split, "split", 1, err)) return MVRL_ERR_INVALID_ARGUMENT;
    if (x->dtype.code != kDLFloat || (x->dtype.bits != 32 && x->dtype.bits != 64) || y->dtype.code != kDLInt ||
        y->dtype.bits != 64 || (split && (split->dtype.code != kDLInt || split->dtype.bits != 64))) {
        set_error(err, "nearest-centroid: representation must be float32/float64, label and split int64");
        return MVRL_ERR_INVALID_ARGUMENT;
    }
    n = x->shape[0];
    d = x->shape[1];
    if (y->shape[0] != n || (split && split->shape[0] != n)) {
        set_error(err, "nearest-centroid: representation, label and split differ in length");
        return MVRL_ERR_INVALID_ARGUMENT;
    }
    for (i = 0; i < n; ++i) {
        if (split && (int_element(split, i) < 0 || int_element(split, i) > 2)) {
            set_error(err, "nearest-centroid: split values must be 0 (train), 1 (test) or 2 (validation)");
            return MVRL_ERR_INVALID_ARGUMENT;
        }
        if (int_element(y, i) < 0) {
            set_error(err, "nearest-centroid: labels must be non-negative");
            return MVRL_ERR_INVALID_ARGUMENT;
        }
        if (int_element(y, i) + 1 > classes) classes = int_element(y, i) + 1;
    }

    sums = (double*)calloc((size_t)(classes * d + 1), sizeof(double));
    counts = (double*)calloc((size_t)(classes + 1), sizeof(double));
    items = (mvrl_named_scalar*)calloc(2, sizeof(mvrl_named_scalar));
    if (!sums || !counts || !items) {
        free(sums), free(counts), free(items);
        set_error(err, "nearest-centroid: out of memory");
        return MVRL_ERR_OUT_OF_MEMORY;
    }
    for (i = 0; i < n; ++i) {
        int64_t c = int_element(y, i), j;
        if (split && int_element(split, i) != 0) continue;
        counts[c] += 1;
        for (j = 0; j < d; ++j) sums[c * d + j] += element(x, i * d + j);
    }
    for (k = 0; k < classes; ++k) {
        int64_t j;
        for (j = 0; j < d && counts[k] > 0; ++j) sums[k * d + j] /= counts[k];
    }
    for (i = 0; i < n; ++i) {
        int64_t best = -1, j;
        double best_distance = HUGE_VAL;
        if (split && int_element(split, i) != 1) continue;
        for (k = 0; k < classes; ++k) {
            double distance = 0;
            if (counts[k] == 0) continue;
            for (j = 0; j < d; ++j) {
                double diff = element(x, i * d + j) - sums[k * d + j];
                distance += diff * diff;
            }
            if (distance < best_distance) best_distance = distance, best = k;
        }
        correct += best == int_element(y, i);
        tested += 1;
    }
    free(sums);
    free(counts);
    if (tested == 0) {
        free(items);
        set_error(err, "nearest-centroid: no test samples (split has no 1s)");
        return MVRL_ERR_INVALID_ARGUMENT;
    }
    items[0].name = "ACC";
    items[0].value = (double)correct / (double)tested;
    items[1].name = "n_test";
    items[1].value = (double)tested;
    out->struct_size = sizeof(mvrl_scalar_list);
    out->count = 2;
    out->items = items;
    out->release = release_scalars;
    out->release_context = NULL;
    return MVRL_OK;
}

static const mvrl_metric_api metric_api = {sizeof(mvrl_metric_api), evaluate};

static const mvrl_plugin_info nearest_centroid_info = {
    sizeof(mvrl_plugin_info),
    MVRL_KIND_METRIC,
    "nearest-centroid",
    "1.0.0",
    "Accuracy of the nearest class centroid (train part of the split -> test part); plain C99",
    "[]",
    "", /* no torch */
    &metric_api,
};

static const mvrl_plugin_info* const plugins[] = {&nearest_centroid_info};

static const mvrl_plugin_descriptor descriptor = {
    sizeof(mvrl_plugin_descriptor), MVRL_ABI_VERSION_MAJOR, MVRL_ABI_VERSION_MINOR, 1, plugins,
};

MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void) { return &descriptor; }
