/*
 * syslogsock: the monitor's socket to syslog (/dev/log or --syslog-socket), a Unix
 * datagram socket connected to one path. Loaded by the monitor alone.
 *
 *   connect(path, onWritable) -> handle
 *       socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC) and connect(2);
 *       throws strerror's words with the number in `errno` (ENOENT: no socket there,
 *       ECONNREFUSED: nobody reads it)
 *   send(handle, datagram) -> 0 sent; 1 busy: the receiver's queue is full, and
 *       onWritable() is called once, when the socket can take a datagram again;
 *       or -errno (ECONNREFUSED after the receiver went away, EMSGSIZE, ...)
 *   close(handle)                         idempotent
 *
 * Every datagram is sent with write(2) on the connected socket. A write carries no
 * ancillary data, so no descriptor can leave the monitor this way (passing one takes
 * sendmsg with SCM_RIGHTS), and a seccomp filter may refuse sendmsg altogether.
 *
 * Writability: a libuv poll handle on the socket, started only while a send is busy.
 * Linux reports a connected Unix datagram socket writable once its peer's receive
 * queue has room again, which is exactly when the next send can succeed.
 *
 * Closing is close()'s job, never the garbage collector's: the callback is held
 * strongly until then. Memory is freed once the socket is closed and the handle
 * collected. Everything runs on the event-loop thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

typedef struct {
	int fd;
	int armed;     /* the poll handle waits for writability */
	int closing;   /* close() was called */
	int released;  /* the socket is closed and the references dropped */
	int collected; /* the JS handle is gone */
	uv_poll_t poll;
	napi_env env;
	napi_ref on_writable;
	napi_async_context async;
} datagram_t;

static const napi_type_tag SYSLOGSOCK_TAG = {0x7363616e6c6f6764ULL, 0x7379736c6f677301ULL};

static void on_handle_collected(napi_env env, void *data, void *hint) {
	datagram_t *d = data;
	(void)env;
	(void)hint;
	d->collected = 1;
	if (d->released) free(d);
}

static void on_poll_closed(uv_handle_t *handle) {
	datagram_t *d = handle->data;
	close(d->fd);
	d->fd = -1;
	napi_delete_reference(d->env, d->on_writable);
	napi_async_destroy(d->env, d->async);
	d->released = 1;
	if (d->collected) free(d);
}

static void on_writable(uv_poll_t *handle, int status, int events) {
	datagram_t *d = handle->data;
	napi_handle_scope scope;
	(void)events;
	/* An error on the socket is left to the next send, which reports it as its own. */
	(void)status;
	uv_poll_stop(&d->poll);
	d->armed = 0;
	if (d->closing) return;
	if (napi_open_handle_scope(d->env, &scope) != napi_ok)
		napi_fatal_error("syslogsock", NAPI_AUTO_LENGTH, "napi_open_handle_scope failed", NAPI_AUTO_LENGTH);
	addon_call(d->env, d->async, d->on_writable, 0, NULL, "syslogsock");
	napi_close_handle_scope(d->env, scope);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2];
	napi_valuetype type;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	size_t length = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok || napi_typeof(env, argv[1], &type) != napi_ok ||
	    type != napi_function) {
		napi_throw_type_error(env, NULL, "syslogsock.connect(path, onWritable)");
		return NULL;
	}
	if (length >= sizeof address.sun_path) return addon_throw_errno(env, NULL, ENAMETOOLONG);
	if (!addon_string(env, argv[0], address.sun_path, sizeof address.sun_path, "syslogsock.connect: path")) return NULL;
	uv_loop_t *loop;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok) return addon_throw_text(env, "syslogsock: no event loop");
	datagram_t *d = calloc(1, sizeof *d);
	if (d == NULL) return addon_throw_errno(env, "calloc", ENOMEM);
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = d->fd < 0 ? errno : 0;
	if (err == 0 && connect(d->fd, (const struct sockaddr *)&address, sizeof address) != 0) err = errno;
	if (err == 0) err = -uv_poll_init_socket(loop, &d->poll, d->fd);
	if (err != 0) {
		if (d->fd >= 0) close(d->fd);
		free(d);
		return addon_throw_errno(env, NULL, err);
	}
	d->poll.data = d;
	d->env = env;
	napi_value name, handle;
	if (napi_create_reference(env, argv[1], 1, &d->on_writable) != napi_ok ||
	    napi_create_string_utf8(env, "syslogsock", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &d->async) != napi_ok)
		napi_fatal_error("syslogsock", NAPI_AUTO_LENGTH, "cannot keep the socket's references", NAPI_AUTO_LENGTH);
	handle = addon_wrap(env, d, &SYSLOGSOCK_TAG, on_handle_collected);
	if (handle == NULL) {
		d->closing = 1;
		d->collected = 1;
		uv_close((uv_handle_t *)&d->poll, on_poll_closed);
	}
	return handle;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2], out;
	void *data;
	size_t size;
	bool is_buffer = false;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer) {
		napi_throw_type_error(env, NULL, "syslogsock.send(handle, datagram: Buffer)");
		return NULL;
	}
	datagram_t *d = addon_unwrap(env, argv[0], &SYSLOGSOCK_TAG, "syslogsock.send");
	if (d == NULL || napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) return NULL;
	int result = 0;
	if (d->closing) {
		result = -EBADF;
	} else {
		ssize_t n;
		do
			n = write(d->fd, data, size);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			int err = errno;
			/* ENOBUFS too: no room for the datagram now, as EAGAIN. */
			if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
				int e = d->armed ? 0 : uv_poll_start(&d->poll, UV_WRITABLE, on_writable);
				d->armed = e == 0;
				result = e == 0 ? 1 : e;
			} else {
				result = -err;
			}
		}
	}
	if (napi_create_int32(env, result, &out) != napi_ok) return NULL;
	return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
		napi_throw_type_error(env, NULL, "syslogsock.close(handle)");
		return NULL;
	}
	datagram_t *d = addon_unwrap(env, argv[0], &SYSLOGSOCK_TAG, "syslogsock.close");
	if (d == NULL || d->closing) return NULL;
	d->closing = 1;
	/* The descriptor is closed once libuv has let go of it. */
	uv_close((uv_handle_t *)&d->poll, on_poll_closed);
	return NULL;
}

NAPI_MODULE_INIT() {
	static const addon_function functions[] = {{"connect", js_connect}, {"send", js_send}, {"close", js_close}};
	return addon_export(env, exports, functions, sizeof functions / sizeof functions[0]);
}
