/*
 * What every addon of the project does the same way: errors worded by strerror(3),
 * handles kept as type-tagged externals (one addon's handle is refused by another's
 * functions), callbacks into JS from the event loop, and the export table. Node-API
 * only, so one build loads on every Node.js line that has NAPI_VERSION 8.
 */
#ifndef SCANLOGD_ADDON_H
#define SCANLOGD_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *name;
	napi_callback fn;
} addon_function;

/* Throws an Error "what: strerror(err)", or strerror(err) alone when `what` is NULL,
 * with the number in its `errno` property; returns NULL for the caller to return. */
napi_value addon_throw_errno(napi_env env, const char *what, int err);

/* Throws an Error with `text`, or a fatal error if even that cannot be made. */
napi_value addon_throw_text(napi_env env, const char *text);

/* The data behind a handle made by addon_wrap with this tag; NULL (a TypeError
 * thrown, naming `what`) for anything else. */
void *addon_unwrap(napi_env env, napi_value handle, const napi_type_tag *tag, const char *what);

/* A handle for `data`: `finalize` runs once the handle is collected. NULL (an error
 * thrown) if it cannot be made, in which case `finalize` never runs. */
napi_value addon_wrap(napi_env env, void *data, const napi_type_tag *tag, napi_finalize finalize);

/* A string argument copied into `out` (at most `size` - 1 bytes); false (a TypeError
 * thrown, naming `what`) if it is not a string, does not fit, or holds a NUL. */
int addon_string(napi_env env, napi_value value, char *out, size_t size, const char *what);

/* The one argument of a call into `*arg`; false (a TypeError `usage` thrown) unless
 * there is exactly one. */
int addon_one_argument(napi_env env, napi_callback_info info, napi_value *arg, const char *usage);

/* The same, as an int32; false (a TypeError `usage` thrown) unless it is a number. */
int addon_int32_argument(napi_env env, napi_callback_info info, int32_t *out, const char *usage);

/*
 * Calls `fn` from a libuv callback on the event-loop thread, in `async`'s context; the
 * caller holds a handle scope. An exception it throws is uncaught, as it would be for
 * any event handler; a failure to make the call at all is fatal (`who` names the addon).
 */
void addon_call(napi_env env, napi_async_context async, napi_ref fn, size_t argc, const napi_value *argv, const char *who);

/* Sets each function on `exports`; returns exports, or NULL if one could not be set. */
napi_value addon_export(napi_env env, napi_value exports, const addon_function *functions, size_t count);

#endif
