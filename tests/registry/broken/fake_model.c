/*
 * A model plugin in C whose function table is filled as ABI 1.0 or 1.1 allows, built several times
 * (see tests/registry/CMakeLists.txt) to test which tables the host admits:
 *   ABI_MINOR=N          the minor it claims (1.0: every call required; 1.1: training and
 *                        checkpoint calls optional, each group all or none)
 *   NO_TRAINING          stages, train_step and end_epoch NULL
 *   NO_CHECKPOINTS       save and load NULL
 *   HALF_CHECKPOINTS     save set, load NULL
 * Its calls are never made by the registry test; each says so if one is.
 */
#include <mvrl/abi.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "fake-model"
#endif
#ifndef ABI_MINOR
#define ABI_MINOR MVRL_ABI_VERSION_MINOR
#endif

static mvrl_status unsupported(mvrl_error* err) {
    static const char text[] = "fake-model: not callable";
    if (err && err->message && err->capacity > 0) {
        size_t i = 0;
        for (; i + 1 < err->capacity && text[i]; ++i) err->message[i] = text[i];
        err->message[i] = '\0';
    }
    return MVRL_ERR_UNSUPPORTED;
}
static mvrl_status create(const char* p, const char* d, const mvrl_context* c, void** h, mvrl_error* err) {
    (void)p, (void)d, (void)c, (void)h;
    return unsupported(err);
}
static void destroy(void* h) { (void)h; }
static mvrl_status stages(void* h, const char** out, mvrl_error* err) { (void)h, (void)out; return unsupported(err); }
static mvrl_status train_step(void* h, const char* s, const mvrl_tensor_list* b, mvrl_scalar_list* out, mvrl_error* err) {
    (void)h, (void)s, (void)b, (void)out;
    return unsupported(err);
}
static mvrl_status end_epoch(void* h, const char* s, int32_t e, mvrl_error* err) { (void)h, (void)s, (void)e; return unsupported(err); }
static mvrl_status encode(void* h, const mvrl_tensor_list* b, mvrl_tensor_list* out, mvrl_error* err) {
    (void)h, (void)b, (void)out;
    return unsupported(err);
}
static mvrl_status save(void* h, const char* path, mvrl_error* err) { (void)h, (void)path; return unsupported(err); }
static mvrl_status load(void* h, const char* path, mvrl_error* err) { (void)h, (void)path; return unsupported(err); }

#ifdef NO_TRAINING
#define TRAINING NULL, NULL, NULL
#else
#define TRAINING stages, train_step, end_epoch
#endif
#if defined(NO_CHECKPOINTS)
#define CHECKPOINTS NULL, NULL
#elif defined(HALF_CHECKPOINTS)
#define CHECKPOINTS save, NULL
#else
#define CHECKPOINTS save, load
#endif

static const mvrl_model_api api = {sizeof api, create, destroy, TRAINING, encode, CHECKPOINTS, NULL};
static const mvrl_plugin_info info = {sizeof info, MVRL_KIND_MODEL, PLUGIN_NAME, "0.0.1", "test fixture", "[]", "", &api};
static const mvrl_plugin_info* const plugins[] = {&info};
static const mvrl_plugin_descriptor descriptor = {sizeof descriptor, MVRL_ABI_VERSION_MAJOR, ABI_MINOR, 1, plugins};

MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void) { return &descriptor; }
