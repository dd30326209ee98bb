/*
 * mvrl/abi.h — the C ABI between the mvrl host and its plugins.
 *
 * This header is the only thing the host and a plugin share. It is plain C99: a plugin may be
 * written in C with no C++ runtime and no libtorch. C++ plugins normally use the header-only layer
 * in mvrl/plugin.hpp, which fills these tables and catches every exception at the edge.
 *
 * Rules (modelled on CLAP, sqlite3ext.h and DLPack):
 *  - A library exports exactly one symbol, `mvrl_plugin_entry`, returning a descriptor that lists
 *    one or more plugins.
 *  - Every struct that crosses the boundary starts with `uint32_t struct_size`. A reader uses only
 *    the fields that fit inside struct_size. Structs and function tables GROW ONLY AT THE END:
 *    never reorder, remove or retype a field — append, and bump MVRL_ABI_VERSION_MINOR.
 *  - MVRL_ABI_VERSION_MAJOR changes only when that rule cannot be kept; the host refuses a plugin
 *    whose major differs from its own.
 *  - Every call returns an mvrl_status. On failure the callee writes a NUL-terminated message into
 *    the caller-owned mvrl_error buffer (truncated to fit). No C++ exception, no std:: type and no
 *    torch type ever crosses the boundary.
 *  - Tensors cross as DLPack. A tensor that changes hands carries its deleter (DLManagedTensor);
 *    a tensor lent for the duration of one call is read-only to the callee, which must copy what
 *    it keeps and must not call its deleter.
 *  - Parameters cross as one JSON object (UTF-8). The plugin validates it against the schema it
 *    publishes and names the offending key in its error.
 *
 * History (a plugin built against any 1.x loads in a host of a later 1.x):
 *  1.0  first release.
 *  1.1  no field added; three rules changed, each one a host that accepts more:
 *       - the host always passes mvrl_context.log; warnings also go into the run's record;
 *       - the objective among a train_step's losses is carried by name ("loss", or the stage's
 *         "objective"), not by position;
 *       - mvrl_model_api's stages/train_step/end_epoch (a model without training) and save/load
 *         (a model that cannot checkpoint) may be NULL. A 1.0 host refuses such a plugin.
 *
 * Threads: the host calls one handle from one thread at a time. Distinct handles may be used from
 * distinct threads. `mvrl_plugin_entry` may be called from any thread, any number of times, and must
 * return the same descriptor.
 */
#ifndef MVRL_ABI_H
#define MVRL_ABI_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MVRL_ABI_VERSION_MAJOR 1
#define MVRL_ABI_VERSION_MINOR 1

/* The symbol the host looks up in every plugin library. */
#define MVRL_PLUGIN_ENTRY_SYMBOL "mvrl_plugin_entry"

#if defined(_WIN32)
#define MVRL_EXPORT __declspec(dllexport)
#else
#define MVRL_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------------- */

typedef int32_t mvrl_status;
#define MVRL_OK 0
#define MVRL_ERR_INVALID_ARGUMENT 1 /* bad parameter, shape, dtype or name: the caller's fault */
#define MVRL_ERR_RUNTIME 2          /* anything else that went wrong inside the plugin */
#define MVRL_ERR_OUT_OF_MEMORY 3    /* host or device memory exhausted */
#define MVRL_ERR_UNSUPPORTED 4      /* the plugin does not offer this call or option */
#define MVRL_ERR_IO 5               /* a file could not be read or written (data, checkpoint) */

/* Owned by the caller. The callee writes at most `capacity` bytes, NUL included, into `message`
 * and never frees it. `message` may be NULL when capacity is 0. */
typedef struct mvrl_error {
    uint32_t struct_size;
    char* message;
    size_t capacity;
} mvrl_error;

/* ---------------------------------------------------------------------------------------------
 * Values that cross the boundary
 * ------------------------------------------------------------------------------------------- */

typedef struct mvrl_named_tensor {
    const char* name;
    DLManagedTensor* tensor;
} mvrl_named_tensor;

/* A list of named tensors.
 * Passed as `const mvrl_tensor_list*` INTO a call: lent for that call only; the callee must not
 * call any deleter nor `release`, and copies what it keeps.
 * Filled as an OUT parameter by a call: the caller owns it afterwards. The caller may take a tensor
 * by setting its `tensor` slot to NULL (it then calls that tensor's deleter itself), and finally
 * calls `release(list)`, which calls the deleter of every tensor still in the list and frees the
 * names and the array. `release` may be NULL for a list the caller built itself. */
typedef struct mvrl_tensor_list {
    uint32_t struct_size;
    uint32_t count;
    mvrl_named_tensor* items;
    void (*release)(struct mvrl_tensor_list* self);
    void* release_context; /* for the producer's use inside `release` */
} mvrl_tensor_list;

typedef struct mvrl_named_scalar {
    const char* name;
    double value;
} mvrl_named_scalar;

/* Named scalars (losses, metric values, estimates). Filled as an OUT parameter; the caller owns
 * it afterwards and calls `release(list)` once (if non-NULL). */
typedef struct mvrl_scalar_list {
    uint32_t struct_size;
    uint32_t count;
    mvrl_named_scalar* items;
    void (*release)(struct mvrl_scalar_list* self);
    void* release_context;
} mvrl_scalar_list;

typedef enum mvrl_log_level {
    MVRL_LOG_DEBUG = 0,
    MVRL_LOG_INFO = 1,
    MVRL_LOG_WARNING = 2
} mvrl_log_level;

/* What the host tells a plugin about the run it is in. Owned by the host; valid for the call it
 * is passed to (for create/open: until destroy/close). */
typedef struct mvrl_context {
    uint32_t struct_size;
    const char* device;  /* "cpu", "cuda", "cuda:1", ... already resolved by the host */
    uint64_t seed;       /* the run's seed; plugins seed every generator they own from it */
    int32_t threads;     /* intra-op threads the plugin may use; 0 = library default */
    const char* cache_dir; /* a folder the plugin may write caches into; may be NULL */
    /* Logger: lines go to the worker's log, prefixed with the plugin's name; MVRL_LOG_WARNING
     * lines are also kept in the run's record. Callable from the thread that made the call, for as
     * long as the context is valid. A 1.1 host always sets it; a plugin checks for NULL all the same
     * (a 1.0 host, or a tool that calls plugins directly). */
    void (*log)(void* host_data, int32_t level, const char* message);
    void* host_data;
} mvrl_context;

/* ---------------------------------------------------------------------------------------------
 * The four kinds and their function tables. Each table is append-only; each pointer is required
 * unless its comment says "optional (may be NULL)". Strings returned through `const char**` are
 * owned by the handle and stay valid until the next call on that handle or until it is destroyed.
 * ------------------------------------------------------------------------------------------- */

typedef enum mvrl_kind {
    MVRL_KIND_DATASET = 1,
    MVRL_KIND_MODEL = 2,
    MVRL_KIND_ESTIMATOR = 3,
    MVRL_KIND_METRIC = 4
} mvrl_kind;

/* Dataset: yields the whole dataset as tensors; the host moves it to the device and batches it. */
typedef struct mvrl_dataset_api {
    uint32_t struct_size;
    mvrl_status (*open)(const char* params_json, const mvrl_context* ctx, void** handle_out,
                        mvrl_error* err);
    void (*close)(void* handle);
    /* JSON object: {"n": N, "views": [{"shape": [C,H,W]}, ...], "classes": K,
     * "has_missing": bool, "has_split": bool, "labels": ["label", ...]} */
    mvrl_status (*info)(void* handle, const char** info_json_out, mvrl_error* err);
    /* Tensors "view0".."view{V-1}" (N × shape, float32), "label" (N, int64), optional "present"
     * (N × V, uint8 0/1: missing-view mask; missing views are zeroed), optional "split" (N, int64:
     * 0 train, 1 test), optional further label tensors named in info's "labels". */
    mvrl_status (*load)(void* handle, mvrl_tensor_list* tensors_out, mvrl_error* err);
} mvrl_dataset_api;

/* Model: owns its networks, optimisers and schedules; the host owns the loop.
 *
 * Training: the host asks stages() for the plan, then for each stage and epoch calls train_step on
 * every shuffled batch and end_epoch after the last. stages, train_step and end_epoch are optional
 * together (NULL: a model with nothing to train, e.g. the raw input as its representation).
 *
 * Checkpoints: the host calls save at the end of every stage and every train.checkpoint_every
 * epochs, and load before training when a run resumes after an interruption; the file must hold
 * everything the remaining epochs depend on (weights, buffers, optimiser state and schedules, any
 * generator the model owns) so that a resumed run computes what an uninterrupted one would. The
 * process's default generators (torch::manual_seed's) are the host's: it keeps their state with
 * the checkpoint. save and load are optional together (NULL: the model cannot checkpoint, and an
 * interrupted run restarts from scratch). */
typedef struct mvrl_model_api {
    uint32_t struct_size;
    /* dataset_info_json: the dataset's info() object. */
    mvrl_status (*create)(const char* params_json, const char* dataset_info_json,
                          const mvrl_context* ctx, void** handle_out, mvrl_error* err);
    void (*destroy)(void* handle);
    /* Optional (may be NULL, with train_step and end_epoch). JSON list, in training order:
     * [{"name": "stage1", "epochs": 200[, "objective": "loss"]}, ...]. "objective" names the loss
     * of train_step that the stage minimises; without it, it is "loss". */
    mvrl_status (*stages)(void* handle, const char** stages_json_out, mvrl_error* err);
    /* One optimisation step on a lent batch (same names as the dataset's tensors, on the device).
     * Returns the step's named losses, the stage's objective among them; the host averages each
     * per epoch and reports the objective as the run's loss. Optional with stages. */
    mvrl_status (*train_step)(void* handle, const char* stage, const mvrl_tensor_list* batch,
                              mvrl_scalar_list* losses_out, mvrl_error* err);
    /* Optional with stages. */
    mvrl_status (*end_epoch)(void* handle, const char* stage, int32_t epoch, mvrl_error* err);
    /* Named representations of a lent batch, e.g. "c", "s0", "c+s0", "concat", "z". */
    mvrl_status (*encode)(void* handle, const mvrl_tensor_list* batch, mvrl_tensor_list* out,
                          mvrl_error* err);
    /* Optional (may be NULL, with load): write / read a checkpoint at `path` (a file the host
     * names; the host writes beside and renames, so the plugin just writes the file). */
    mvrl_status (*save)(void* handle, const char* path, mvrl_error* err);
    mvrl_status (*load)(void* handle, const char* path, mvrl_error* err);
    /* Optional (may be NULL). request_json says what to generate (e.g. cross-view reconstruction). */
    mvrl_status (*generate)(void* handle, const char* request_json, const mvrl_tensor_list* inputs,
                            mvrl_tensor_list* out, mvrl_error* err);
} mvrl_model_api;

/* Estimator: a mutual-information estimate between two lent representations "x" and "y". */
typedef struct mvrl_estimator_api {
    uint32_t struct_size;
    mvrl_status (*estimate)(const char* params_json, const mvrl_tensor_list* inputs,
                            const mvrl_context* ctx, mvrl_scalar_list* out, mvrl_error* err);
} mvrl_estimator_api;

/* Metric: scores a lent "representation" (N × D) against "label" (N, int64), with an optional
 * "split" (N, int64: 0 train, 1 test, 2 validation). Validation rows are those a supervised model
 * selects on (epochs, settings): a metric neither trains nor tests on them, or reports them apart
 * (prediction's val_*); an unsupervised score of every row (kmeans, assignment) ignores split.
 * With [[evaluate]] representation = "generations" it is lent instead the dataset's views and
 * labels and what the model's generate() made of them ("generated/index",
 * "generated/cross<s>/view<t>", "generated/private<s>/view<s>", "generated/unconditional/view<t>");
 * ctx->cache_dir is where it may keep what it trains once. */
typedef struct mvrl_metric_api {
    uint32_t struct_size;
    mvrl_status (*evaluate)(const char* params_json, const mvrl_tensor_list* inputs,
                            const mvrl_context* ctx, mvrl_scalar_list* out, mvrl_error* err);
} mvrl_metric_api;

/* ---------------------------------------------------------------------------------------------
 * Descriptors
 * ------------------------------------------------------------------------------------------- */

/* One plugin. All strings are static (valid while the library is loaded). */
typedef struct mvrl_plugin_info {
    uint32_t struct_size;
    int32_t kind;              /* an mvrl_kind */
    const char* name;          /* unique across all loaded plugins, e.g. "mnist-edge" */
    const char* version;       /* semver of the plugin, e.g. "1.0.0" */
    const char* description;   /* one line */
    /* JSON list: [{"name", "type": "int|float|bool|string|int_list|float_list", "default",
     * "doc", optional "min", "max", "choices"}] */
    const char* params_schema_json;
    /* The libtorch version this plugin was compiled against ("1.13.1"), or "" when it does not use
     * torch. The host refuses a mismatch: two libtorch copies in one process corrupt each other. */
    const char* torch_version;
    /* The kind's table: mvrl_dataset_api*, mvrl_model_api*, mvrl_estimator_api* or
     * mvrl_metric_api*. */
    const void* api;
} mvrl_plugin_info;

/* What mvrl_plugin_entry returns: static, valid while the library is loaded. */
/* The first three fields never move, in any ABI major: the host reads them to refuse a mismatch. */
typedef struct mvrl_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_major;        /* MVRL_ABI_VERSION_MAJOR the library was built with */
    uint32_t abi_minor;        /* MVRL_ABI_VERSION_MINOR the library was built with */
    uint32_t plugin_count;
    const mvrl_plugin_info* const* plugins;
} mvrl_plugin_descriptor;

typedef const mvrl_plugin_descriptor* (*mvrl_plugin_entry_fn)(void);

/* The one symbol a plugin library exports:
 *   MVRL_EXPORT const mvrl_plugin_descriptor* mvrl_plugin_entry(void);  */

/* The smallest struct_size the host accepts for each struct: everything up to the last field of
 * ABI 1.0. Fields appended later are read only when struct_size covers them. */
#define MVRL_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((type*)0)->field))
#define MVRL_PLUGIN_DESCRIPTOR_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_plugin_descriptor, plugins)
#define MVRL_PLUGIN_INFO_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_plugin_info, api)
#define MVRL_DATASET_API_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_dataset_api, load)
#define MVRL_MODEL_API_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_model_api, generate)
#define MVRL_ESTIMATOR_API_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_estimator_api, estimate)
#define MVRL_METRIC_API_SIZE_V1_0 MVRL_SIZE_THROUGH(mvrl_metric_api, evaluate)

#ifdef __cplusplus
}
#endif

#endif /* MVRL_ABI_H */
