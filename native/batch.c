/* The shared reading loop of batch.h: watching, draining, napping, closing. */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Full batches per wakeup before other events (the channel, signals) get a turn. */
#define BATCHES_PER_WAKEUP 64
/*
 * Interrupt moderation: a wakeup that finds at least NAP_PACKETS packets means a busy
 * descriptor, where waking for every few packets costs more than the packets do. It is
 * then not watched for NAP_MS, and what queued meanwhile is read in one go. The kernel
 * queue (the raw socket's receive buffer, libpcap's ring) holds far more than a nap's
 * worth, and a quiet descriptor (a lone scan) is never delayed.
 */
#define NAP_PACKETS 8
#define NAP_MS 1

static void release(batch_reader *r) {
	r->ops->release(r);
	r->fd = -1;
	if (r->started) {
		napi_delete_reference(r->env, r->buffer);
		napi_delete_reference(r->env, r->lengths_ref);
		napi_delete_reference(r->env, r->on_batch);
		napi_delete_reference(r->env, r->on_error);
		napi_async_destroy(r->env, r->async);
	}
	r->released = 1;
	if (r->collected) free(r);
}

static void on_handle_collected(napi_env env, void *data, void *hint) {
	batch_reader *r = data;
	(void)env;
	(void)hint;
	r->collected = 1;
	/* An open descriptor is left as it is, for the life of the process. */
	if (r->released) free(r);
}

napi_value batch_wrap(napi_env env, batch_reader *r) {
	r->env = env;
	napi_value handle = addon_wrap(env, r, r->ops->tag, on_handle_collected);
	if (handle == NULL) {
		r->collected = 1;
		release(r);
	}
	return handle;
}

batch_reader *batch_unwrap(napi_env env, napi_value handle, const batch_ops *ops) {
	return addon_unwrap(env, handle, ops->tag, ops->name);
}

static void call_int(batch_reader *r, napi_ref fn, int value) {
	napi_value arg;
	if (napi_create_int32(r->env, value, &arg) != napi_ok)
		napi_fatal_error(r->ops->name, NAPI_AUTO_LENGTH, "napi_create_int32 failed", NAPI_AUTO_LENGTH);
	addon_call(r->env, r->async, fn, 1, &arg, r->ops->name);
}

/* Fail-stop: the descriptor is no longer watched, and JS is told once, with r->error. */
static void fail(batch_reader *r) {
	napi_value arg;
	napi_handle_scope scope;
	r->failed = 1;
	uv_poll_stop(&r->poll);
	uv_timer_stop(&r->nap);
	/* Called from libuv callbacks too, where no handle scope is open. */
	if (napi_open_handle_scope(r->env, &scope) != napi_ok ||
	    napi_create_string_utf8(r->env, r->error, NAPI_AUTO_LENGTH, &arg) != napi_ok)
		napi_fatal_error(r->ops->name, NAPI_AUTO_LENGTH, "cannot report an error", NAPI_AUTO_LENGTH);
	addon_call(r->env, r->async, r->on_error, 1, &arg, r->ops->name);
	napi_close_handle_scope(r->env, scope);
}

static void fail_errno(batch_reader *r, const char *what, int err) {
	snprintf(r->error, sizeof r->error, "%s: %s", what, strerror(err));
	fail(r);
}

static void on_nap_end(uv_timer_t *timer);

static void drain(batch_reader *r) {
	unsigned total = 0;
	int later = 0;
	napi_handle_scope scope;
	if (napi_open_handle_scope(r->env, &scope) != napi_ok)
		napi_fatal_error(r->ops->name, NAPI_AUTO_LENGTH, "napi_open_handle_scope failed", NAPI_AUTO_LENGTH);
	for (int b = 0; b < BATCHES_PER_WAKEUP && !r->closing && !r->failed; b++) {
		int n = r->ops->read(r);
		if (n == BATCH_LATER) {
			later = 1;
			break;
		}
		if (n == BATCH_FAILED) {
			fail(r);
			break;
		}
		if (n == 0) break;
		total += (unsigned)n;
		call_int(r, r->on_batch, n);
		if ((unsigned)n < r->slots) break; /* the queue is empty: no need to ask again */
	}
	if (!r->closing && !r->failed) call_int(r, r->on_batch, 0);
	napi_close_handle_scope(r->env, scope);
	if (!r->closing && !r->failed && (total >= NAP_PACKETS || later)) {
		uv_poll_stop(&r->poll);
		uv_timer_start(&r->nap, on_nap_end, NAP_MS, 0);
	}
}

static void on_readable(uv_poll_t *handle, int status, int events) {
	batch_reader *r = handle->data;
	(void)events;
	if (r->closing || r->failed) return;
	if (status < 0) {
		fail_errno(r, "poll", -status);
		return;
	}
	drain(r);
}

static void on_nap_end(uv_timer_t *timer) {
	batch_reader *r = timer->data;
	if (r->closing || r->failed) return;
	drain(r);
	/* Back to waiting for the descriptor unless the drain started another nap. */
	if (!r->closing && !r->failed && !uv_is_active((uv_handle_t *)&r->nap)) {
		int e = uv_poll_start(&r->poll, UV_READABLE, on_readable);
		if (e != 0) fail_errno(r, "uv_poll_start", -e);
	}
}

#define CHECK(call)                                                                 \
	do {                                                                        \
		if ((call) != napi_ok) {                                            \
			snprintf(text, sizeof text, "%s: %s failed", ops->name, #call); \
			return addon_throw_text(env, text);                         \
		}                                                                   \
	} while (0)

napi_value batch_start(napi_env env, napi_callback_info info, const batch_ops *ops) {
	char text[256];
	size_t argc = 6;
	napi_value argv[6];
	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc != 6) {
		snprintf(text, sizeof text, "%s.start(handle, buffer, slotSize, lengths, onBatch, onError)", ops->name);
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	batch_reader *r = batch_unwrap(env, argv[0], ops);
	if (r == NULL) return NULL;
	if (r->started || r->closing) {
		snprintf(text, sizeof text, "%s.start: the capture was already started or closed", ops->name);
		return addon_throw_text(env, text);
	}
	int32_t slot_size;
	void *data, *lengths;
	size_t data_len, lengths_count, offset;
	napi_typedarray_type type;
	napi_value ab;
	napi_valuetype on_batch_type, on_error_type;
	bool is_buffer = false;
	CHECK(napi_is_buffer(env, argv[1], &is_buffer));
	if (!is_buffer) {
		snprintf(text, sizeof text, "%s.start: buffer must be a Buffer", ops->name);
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	CHECK(napi_get_buffer_info(env, argv[1], &data, &data_len));
	CHECK(napi_get_value_int32(env, argv[2], &slot_size));
	CHECK(napi_get_typedarray_info(env, argv[3], &type, &lengths_count, &lengths, &ab, &offset));
	CHECK(napi_typeof(env, argv[4], &on_batch_type));
	CHECK(napi_typeof(env, argv[5], &on_error_type));
	if (on_batch_type != napi_function || on_error_type != napi_function) {
		snprintf(text, sizeof text, "%s.start: onBatch and onError must be functions", ops->name);
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	if (type != napi_uint32_array || slot_size < (int32_t)r->min_slot_size || lengths_count == 0 ||
	    lengths_count > BATCH_MAX_SLOTS || data_len / (size_t)slot_size < lengths_count) {
		snprintf(text, sizeof text, "%s.start: buffer, slot size and lengths do not match", ops->name);
		napi_throw_range_error(env, NULL, text);
		return NULL;
	}
	uv_loop_t *loop;
	CHECK(napi_get_uv_event_loop(env, &loop));
	/* Nothing below may fail half-way: the handles are set up only if both init. */
	int e = uv_poll_init_socket(loop, &r->poll, r->fd);
	if (e != 0) return addon_throw_errno(env, "uv_poll_init_socket", -e);
	e = uv_timer_init(loop, &r->nap);
	if (e != 0) {
		/* uv_timer_init cannot fail in libuv; were it to, the poll must still be closed. */
		uv_close((uv_handle_t *)&r->poll, NULL);
		return addon_throw_errno(env, "uv_timer_init", -e);
	}
	r->poll.data = r;
	r->nap.data = r;
	r->slots = (unsigned)lengths_count;
	r->slot_size = (unsigned)slot_size;
	r->data = data;
	r->lengths = lengths;
	ops->prepare(r);
	/*
	 * Strong references: the buffers and callbacks live as long as the capture. The
	 * buffer's memory is written until close(); its owner must never transfer or
	 * detach it (the adapters keep both arrays private).
	 */
	napi_value name;
	if (napi_create_reference(env, argv[1], 1, &r->buffer) != napi_ok ||
	    napi_create_reference(env, argv[3], 1, &r->lengths_ref) != napi_ok ||
	    napi_create_reference(env, argv[4], 1, &r->on_batch) != napi_ok ||
	    napi_create_reference(env, argv[5], 1, &r->on_error) != napi_ok ||
	    napi_create_string_utf8(env, ops->name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &r->async) != napi_ok) {
		napi_fatal_error(ops->name, NAPI_AUTO_LENGTH, "cannot keep the capture's references", NAPI_AUTO_LENGTH);
	}
	r->started = 1;
	e = uv_poll_start(&r->poll, UV_READABLE, on_readable);
	if (e != 0) {
		r->failed = 1;
		return addon_throw_errno(env, "uv_poll_start", -e);
	}
	return NULL;
}

/* The descriptor is closed only after libuv has let go of both handles. */
static void on_handle_closed(uv_handle_t *handle) {
	batch_reader *r = handle->data;
	if (--r->open_handles == 0) release(r);
}

napi_value batch_close(napi_env env, napi_callback_info info, const batch_ops *ops) {
	char text[256];
	size_t argc = 1;
	napi_value argv[1];
	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1) {
		snprintf(text, sizeof text, "%s.close(handle)", ops->name);
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	batch_reader *r = batch_unwrap(env, argv[0], ops);
	if (r == NULL || r->closing) return NULL;
	r->closing = 1;
	if (r->started) {
		r->open_handles = 2;
		uv_close((uv_handle_t *)&r->poll, on_handle_closed);
		uv_close((uv_handle_t *)&r->nap, on_handle_closed);
	} else {
		release(r);
	}
	return NULL;
}
