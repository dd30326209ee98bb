/*
 * One metric plugin in C, built several times with different defects (see tests/registry/
 * CMakeLists.txt), so that the host's refusals are tested against real shared libraries:
 *   NO_ENTRY             no mvrl_plugin_entry symbol at all
 *   ABI_MAJOR=N          claims another ABI major
 *   DESCRIPTOR_SIZE=N    a descriptor struct_size smaller than ABI 1.0's
 *   TORCH_VERSION="x"    claims it was built against another libtorch
 *   PLUGIN_NAME="x"      its name (two libraries with one name test the duplicate refusal)
 * It "evaluates" by counting the rows of its representation: enough to prove it was called.
 */
#include <stdlib.h>
#include <string.h>

#include <mvrl/abi.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "fake-metric"
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR MVRL_ABI_VERSION_MAJOR
#endif
#ifndef DESCRIPTOR_SIZE
#define DESCRIPTOR_SIZE sizeof(mvrl_plugin_descriptor)
#endif
#ifndef TORCH_VERSION
#define TORCH_VERSION ""
#endif

static void release(mvrl_scalar_list* self) { free(self->items); }

static mvrl_status evaluate(const char* params, const mvrl_tensor_list* inputs, const mvrl_context* ctx,
                            mvrl_scalar_list* out, mvrl_error* err) {
    (void)params, (void)ctx, (void)err;
    out->struct_size = sizeof *out;
    out->count = 1;
    out->items = (mvrl_named_scalar*)calloc(1, sizeof(mvrl_named_scalar));
    out->items[0].name = "rows";
    out->items[0].value = inputs->count ? (double)inputs->items[0].tensor->dl_tensor.shape[0] : 0.0;
    out->release = release;
    out->release_context = NULL;
    return MVRL_OK;
}

static const mvrl_metric_api api = {sizeof api, evaluate};
static const mvrl_plugin_info info = {sizeof info, MVRL_KIND_METRIC, PLUGIN_NAME, "0.0.1",
                                      "test fixture", "[]", TORCH_VERSION, &api};
static const mvrl_plugin_info* const plugins[] = {&info};
static const mvrl_plugin_descriptor descriptor = {DESCRIPTOR_SIZE, ABI_MAJOR, 0, 1, plugins};

#ifndef NO_ENTRY
MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void) { return &descriptor; }
#else
MVRL_EXPORT const mvrl_plugin_descriptor* some_other_symbol(void) { return &descriptor; }
#endif
