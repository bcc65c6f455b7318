/* The helpers of addon.h. */
#include "addon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

napi_value addon_throw_text(napi_env env, const char *text) {
	if (napi_throw_error(env, NULL, text) != napi_ok)
		napi_fatal_error("scanlogd addon", NAPI_AUTO_LENGTH, text, NAPI_AUTO_LENGTH);
	return NULL;
}

napi_value addon_throw_errno(napi_env env, const char *what, int err) {
	char text[256];
	napi_value message, error, number;
	if (what != NULL)
		snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	else
		snprintf(text, sizeof text, "%s", strerror(err));
	if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok ||
	    napi_create_error(env, NULL, message, &error) != napi_ok || napi_create_int32(env, err, &number) != napi_ok ||
	    napi_set_named_property(env, error, "errno", number) != napi_ok || napi_throw(env, error) != napi_ok)
		return addon_throw_text(env, text);
	return NULL;
}

void *addon_unwrap(napi_env env, napi_value handle, const napi_type_tag *tag, const char *what) {
	napi_valuetype type;
	bool tagged = false;
	void *data = NULL;
	if (napi_typeof(env, handle, &type) != napi_ok || type != napi_external ||
	    napi_check_object_type_tag(env, handle, tag, &tagged) != napi_ok || !tagged ||
	    napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) {
		char text[128];
		snprintf(text, sizeof text, "%s: not a handle of this addon", what);
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	return data;
}

napi_value addon_wrap(napi_env env, void *data, const napi_type_tag *tag, napi_finalize finalize) {
	napi_value handle;
	if (napi_create_external(env, data, NULL, NULL, &handle) != napi_ok || napi_type_tag_object(env, handle, tag) != napi_ok ||
	    napi_add_finalizer(env, handle, data, finalize, NULL, NULL) != napi_ok) {
		/* Without the finalizer the handle never claims the data: the caller frees it. */
		addon_throw_text(env, "cannot make a handle");
		return NULL;
	}
	return handle;
}

int addon_string(napi_env env, napi_value value, char *out, size_t size, const char *what) {
	size_t length = 0;
	if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok || length >= size ||
	    napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok || strlen(out) != length) {
		char text[128];
		snprintf(text, sizeof text, "%s: a string without NUL of at most %zu bytes", what, size - 1);
		napi_throw_type_error(env, NULL, text);
		return 0;
	}
	return 1;
}

int addon_one_argument(napi_env env, napi_callback_info info, napi_value *arg, const char *usage) {
	size_t argc = 1;
	if (napi_get_cb_info(env, info, &argc, arg, NULL, NULL) != napi_ok || argc != 1) {
		napi_throw_type_error(env, NULL, usage);
		return 0;
	}
	return 1;
}

int addon_int32_argument(napi_env env, napi_callback_info info, int32_t *out, const char *usage) {
	napi_value arg;
	if (!addon_one_argument(env, info, &arg, usage)) return 0;
	if (napi_get_value_int32(env, arg, out) != napi_ok) {
		napi_throw_type_error(env, NULL, usage);
		return 0;
	}
	return 1;
}

void addon_call(napi_env env, napi_async_context async, napi_ref fn, size_t argc, const napi_value *argv, const char *who) {
	napi_value recv, f, result;
	if (napi_get_global(env, &recv) != napi_ok || napi_get_reference_value(env, fn, &f) != napi_ok)
		napi_fatal_error(who, NAPI_AUTO_LENGTH, "cannot reach a callback", NAPI_AUTO_LENGTH);
	if (napi_make_callback(env, async, recv, f, argc, argv, &result) == napi_pending_exception) {
		napi_value exc;
		napi_get_and_clear_last_exception(env, &exc);
		napi_fatal_exception(env, exc);
	}
}

napi_value addon_export(napi_env env, napi_value exports, const addon_function *functions, size_t count) {
	for (size_t i = 0; i < count; i++) {
		napi_value fn;
		if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok ||
		    napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok)
			return NULL;
	}
	return exports;
}
