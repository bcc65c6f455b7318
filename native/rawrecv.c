/*
 * rawrecv: one of the capture process's raw sockets (AF_INET or AF_INET6, SOCK_RAW,
 * IPPROTO_TCP or IPPROTO_UDP), read in batches with recvmmsg(2) into one caller-owned
 * buffer, with one call into JS a batch.
 *
 *   open(receiveBufferBytes[, family, protocol]) -> handle
 *                                        as root, before the privilege drop; family 4
 *                                        (default) or 6, protocol 6 (default) or 17
 *
 * An IPv4 raw socket gives each packet with its IP header. An IPv6 one gives only what
 * follows the headers the kernel has processed; the addresses, hop limit and traffic
 * class come with recvmsg's name and ancillary data (IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT,
 * IPV6_RECVTCLASS). For those, each slot starts with a 40-byte IPv6 header built from
 * those values (payload length, next header = the socket's protocol), followed by the
 * payload, so JS checks one packet format. A message that lacks any of them (or whose
 * ancillary data was cut) is given with length 0, which JS rejects as short.
 *
 *   start(handle, buffer, slotSize, lengths, onBatch, onError)
 *       onBatch(n), n > 0: packet i (i < n) is at buffer[i * slotSize], lengths[i] bytes
 *       onBatch(0): the socket is drained for now (or this wakeup's share is used up)
 *       onError(message): receiving failed; nothing more is read
 *   close(handle)                        idempotent; before or after start
 *
 * The socket never depends on garbage collection: the state lives in C until close(),
 * and a collected handle neither closes the socket nor stops the reading. Memory is
 * freed only once both the socket is closed and the handle is collected, so a late
 * close() on a closed handle is harmless. There is no packet parsing here: JS checks
 * every packet. Everything runs on the event-loop thread.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SLOTS 1024
/* Full batches per wakeup before other events (the channel, signals) get a turn. */
#define BATCHES_PER_WAKEUP 64
/*
 * Interrupt moderation: a wakeup that finds at least NAP_PACKETS packets means a busy
 * socket, where waking for every few packets costs more than the packets do. The
 * socket is then not watched for NAP_MS, and what queued meanwhile is read in one go.
 * The receive queue (RECEIVE_BUFFER_BYTES in rawsocket.ts) holds far more than a nap's worth,
 * and a quiet socket (a lone scan) is never delayed.
 */
#define NAP_PACKETS 8
#define NAP_MS 1
#define IP6_HEADER 40
/* Room for the three ancillary items an IPv6 socket is asked for. */
#define CONTROL_BYTES (CMSG_SPACE(sizeof(struct in6_pktinfo)) + 2 * CMSG_SPACE(sizeof(int)))

typedef struct {
	int fd;
	int family;   /* AF_INET or AF_INET6 */
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	int started;
	int closing;  /* close() was called */
	int failed;   /* onError was called: nothing more is read */
	int released; /* fd closed and references dropped */
	int collected; /* the JS handle is gone */
	int open_handles; /* libuv handles still closing */
	uv_poll_t poll;
	uv_timer_t nap;
	napi_env env;
	napi_ref on_batch;
	napi_ref on_error;
	napi_ref buffer;
	napi_ref lengths;
	napi_async_context async;
	uint32_t *length_out;
	unsigned slots;
	unsigned slot_size;
	struct mmsghdr msgs[MAX_SLOTS];
	struct iovec iov[MAX_SLOTS];
	/* IPv6 only: each message's source address and ancillary data. */
	struct sockaddr_in6 names[MAX_SLOTS];
	union {
		struct cmsghdr align;
		unsigned char bytes[CONTROL_BYTES];
	} control[MAX_SLOTS];
} capture_t;

#define CHECK(call)                                                              \
	do {                                                                     \
		if ((call) != napi_ok) {                                         \
			napi_throw_error(env, NULL, "rawrecv: " #call " failed"); \
			return NULL;                                             \
		}                                                                \
	} while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
	char text[256];
	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	napi_throw_error(env, NULL, text);
	return NULL;
}

static void release(capture_t *c) {
	close(c->fd);
	c->fd = -1;
	if (c->started) {
		napi_delete_reference(c->env, c->buffer);
		napi_delete_reference(c->env, c->lengths);
		napi_delete_reference(c->env, c->on_batch);
		napi_delete_reference(c->env, c->on_error);
		napi_async_destroy(c->env, c->async);
	}
	c->released = 1;
	if (c->collected) free(c);
}

static void on_handle_collected(napi_env env, void *data, void *hint) {
	capture_t *c = data;
	(void)env;
	(void)hint;
	c->collected = 1;
	/* An open socket is left as it is, for the life of the process. */
	if (c->released) free(c);
}

static capture_t *unwrap(napi_env env, napi_value handle) {
	napi_valuetype type;
	void *ptr = NULL;
	if (napi_typeof(env, handle, &type) != napi_ok || type != napi_external ||
	    napi_get_value_external(env, handle, &ptr) != napi_ok || ptr == NULL) {
		napi_throw_type_error(env, NULL, "rawrecv: not a capture handle");
		return NULL;
	}
	return ptr;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
	size_t argc = 3;
	napi_value argv[3];
	int32_t bytes = 0, family = 4, protocol = IPPROTO_TCP;
	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || napi_get_value_int32(env, argv[0], &bytes) != napi_ok ||
	    (argc >= 2 && napi_get_value_int32(env, argv[1], &family) != napi_ok) ||
	    (argc >= 3 && napi_get_value_int32(env, argv[2], &protocol) != napi_ok) ||
	    (family != 4 && family != 6) || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)) {
		napi_throw_type_error(env, NULL, "rawrecv.open(receiveBufferBytes[, 4 | 6, 6 | 17])");
		return NULL;
	}
	capture_t *c = calloc(1, sizeof *c);
	if (c == NULL) return throw_errno(env, "calloc", ENOMEM);
	c->family = family == 6 ? AF_INET6 : AF_INET;
	c->protocol = protocol;
	/* Close-on-exec: no program this process starts may ever hold the socket. */
	c->fd = socket(c->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (c->fd < 0) {
		int err = errno;
		free(c);
		napi_throw_error(env, NULL, strerror(err));
		return NULL;
	}
	if (c->family == AF_INET6) {
		static const int options[] = {IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS};
		static const char *const names[] = {"IPV6_RECVPKTINFO", "IPV6_RECVHOPLIMIT", "IPV6_RECVTCLASS"};
		const int on = 1;
		for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
			if (setsockopt(c->fd, IPPROTO_IPV6, options[i], &on, sizeof on) != 0) {
				int err = errno;
				close(c->fd);
				free(c);
				return throw_errno(env, names[i], err);
			}
		}
	}
	/*
	 * Without CAP_NET_ADMIN (a systemd unit that does not grant it) the size is capped
	 * by net.core.rmem_max, which is still better than the default queue; failing
	 * both, the default queue stays and capture still works.
	 */
	if (bytes > 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	c->env = env;
	napi_value handle;
	if (napi_create_external(env, c, on_handle_collected, NULL, &handle) != napi_ok) {
		close(c->fd);
		free(c);
		napi_throw_error(env, NULL, "rawrecv: napi_create_external failed");
		return NULL;
	}
	return handle;
}

/* Calls a JS function from the event loop; an exception it throws is uncaught. */
static void call(capture_t *c, napi_ref fn, napi_value arg) {
	napi_env env = c->env;
	napi_value recv, f, result;
	if (napi_get_global(env, &recv) != napi_ok || napi_get_reference_value(env, fn, &f) != napi_ok) {
		napi_fatal_error("rawrecv", NAPI_AUTO_LENGTH, "cannot reach a callback", NAPI_AUTO_LENGTH);
	}
	if (napi_make_callback(env, c->async, recv, f, 1, &arg, &result) == napi_pending_exception) {
		napi_value exc;
		napi_get_and_clear_last_exception(env, &exc);
		napi_fatal_exception(env, exc);
	}
}

static void call_int(capture_t *c, napi_ref fn, int value) {
	napi_value arg;
	if (napi_create_int32(c->env, value, &arg) != napi_ok)
		napi_fatal_error("rawrecv", NAPI_AUTO_LENGTH, "napi_create_int32 failed", NAPI_AUTO_LENGTH);
	call(c, fn, arg);
}

/* Fail-stop: the socket is no longer watched, and JS is told once. */
static void fail(capture_t *c, const char *what, int err) {
	char text[256];
	napi_value arg;
	napi_handle_scope scope;
	c->failed = 1;
	uv_poll_stop(&c->poll);
	uv_timer_stop(&c->nap);
	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	/* Called from libuv callbacks too, where no handle scope is open. */
	if (napi_open_handle_scope(c->env, &scope) != napi_ok ||
	    napi_create_string_utf8(c->env, text, NAPI_AUTO_LENGTH, &arg) != napi_ok)
		napi_fatal_error("rawrecv", NAPI_AUTO_LENGTH, "cannot report an error", NAPI_AUTO_LENGTH);
	call(c, c->on_error, arg);
	napi_close_handle_scope(c->env, scope);
}

static void on_nap_end(uv_timer_t *timer);

/*
 * Writes the IPv6 header of message `i` in front of its payload and returns the
 * slot's length, or 0 when the kernel did not give every value the header needs.
 */
static unsigned build_ip6_header(capture_t *c, unsigned i) {
	struct msghdr *m = &c->msgs[i].msg_hdr;
	unsigned char *slot = (unsigned char *)c->iov[i].iov_base - IP6_HEADER;
	const struct in6_pktinfo *info = NULL;
	int hop_limit = -1, tclass = -1;
	if ((m->msg_flags & MSG_CTRUNC) || m->msg_namelen < sizeof(struct sockaddr_in6)) return 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6) continue;
		if (cm->cmsg_type == IPV6_PKTINFO && cm->cmsg_len >= CMSG_LEN(sizeof *info))
			info = (const struct in6_pktinfo *)CMSG_DATA(cm);
		else if (cm->cmsg_type == IPV6_HOPLIMIT && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&hop_limit, CMSG_DATA(cm), sizeof hop_limit);
		else if (cm->cmsg_type == IPV6_TCLASS && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&tclass, CMSG_DATA(cm), sizeof tclass);
	}
	if (info == NULL || hop_limit < 0 || hop_limit > 255 || tclass < 0 || tclass > 255) return 0;
	unsigned payload = c->msgs[i].msg_len;
	slot[0] = (unsigned char)(0x60 | (tclass >> 4));
	slot[1] = (unsigned char)((tclass & 0x0f) << 4);
	slot[2] = slot[3] = 0; /* the flow label is not delivered */
	slot[4] = (unsigned char)((payload > 0xffff ? 0xffff : payload) >> 8);
	slot[5] = (unsigned char)((payload > 0xffff ? 0xffff : payload) & 0xff);
	slot[6] = (unsigned char)c->protocol;
	slot[7] = (unsigned char)hop_limit;
	memcpy(slot + 8, &c->names[i].sin6_addr, 16);
	memcpy(slot + 24, &info->ipi6_addr, 16);
	unsigned len = IP6_HEADER + payload;
	return len < c->slot_size ? len : c->slot_size;
}

static void drain(capture_t *c) {
	unsigned total = 0;
	int short_of_memory = 0;
	napi_handle_scope scope;
	if (napi_open_handle_scope(c->env, &scope) != napi_ok)
		napi_fatal_error("rawrecv", NAPI_AUTO_LENGTH, "napi_open_handle_scope failed", NAPI_AUTO_LENGTH);
	for (int b = 0; b < BATCHES_PER_WAKEUP && !c->closing && !c->failed; b++) {
		if (c->family == AF_INET6) {
			/* recvmmsg writes back the lengths it used: give each message its full room again. */
			for (unsigned i = 0; i < c->slots; i++) {
				c->msgs[i].msg_hdr.msg_namelen = sizeof c->names[i];
				c->msgs[i].msg_hdr.msg_controllen = sizeof c->control[i];
			}
		}
		int n = recvmmsg(c->fd, c->msgs, c->slots, MSG_DONTWAIT, NULL);
		if (n < 0) {
			int err = errno;
			if (err == EINTR) continue;
			if (err == EAGAIN || err == EWOULDBLOCK) break;
			if (err == ENOBUFS || err == ENOMEM) {
				/* The kernel is short of memory: try again after a nap, not in a spin. */
				short_of_memory = 1;
				break;
			}
			fail(c, "recvmmsg", err);
			break;
		}
		if (n == 0) break;
		total += (unsigned)n;
		for (int i = 0; i < n; i++) {
			if (c->family == AF_INET6) {
				c->length_out[i] = build_ip6_header(c, (unsigned)i);
				continue;
			}
			/* A longer packet is cut to its slot; the length can never say more. */
			unsigned len = c->msgs[i].msg_len;
			c->length_out[i] = len < c->slot_size ? len : c->slot_size;
		}
		call_int(c, c->on_batch, n);
		if ((unsigned)n < c->slots) break; /* the queue is empty: no need to ask again */
	}
	if (!c->closing && !c->failed) call_int(c, c->on_batch, 0);
	napi_close_handle_scope(c->env, scope);
	if (!c->closing && !c->failed && (total >= NAP_PACKETS || short_of_memory)) {
		uv_poll_stop(&c->poll);
		uv_timer_start(&c->nap, on_nap_end, NAP_MS, 0);
	}
}

static void on_readable(uv_poll_t *handle, int status, int events) {
	capture_t *c = handle->data;
	(void)events;
	if (c->closing || c->failed) return;
	if (status < 0) {
		fail(c, "poll", -status);
		return;
	}
	drain(c);
}

static void on_nap_end(uv_timer_t *timer) {
	capture_t *c = timer->data;
	if (c->closing || c->failed) return;
	drain(c);
	/* Back to waiting for the socket unless the drain started another nap. */
	if (!c->closing && !c->failed && !uv_is_active((uv_handle_t *)&c->nap)) {
		int r = uv_poll_start(&c->poll, UV_READABLE, on_readable);
		if (r != 0) fail(c, "uv_poll_start", -r);
	}
}

static napi_value js_start(napi_env env, napi_callback_info info) {
	size_t argc = 6;
	napi_value argv[6];
	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc != 6) {
		napi_throw_type_error(env, NULL, "rawrecv.start(handle, buffer, slotSize, lengths, onBatch, onError)");
		return NULL;
	}
	capture_t *c = unwrap(env, argv[0]);
	if (c == NULL) return NULL;
	if (c->started || c->closing) {
		napi_throw_error(env, NULL, "rawrecv.start: the capture was already started or closed");
		return NULL;
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
		napi_throw_type_error(env, NULL, "rawrecv.start: buffer must be a Buffer");
		return NULL;
	}
	CHECK(napi_get_buffer_info(env, argv[1], &data, &data_len));
	CHECK(napi_get_value_int32(env, argv[2], &slot_size));
	CHECK(napi_get_typedarray_info(env, argv[3], &type, &lengths_count, &lengths, &ab, &offset));
	CHECK(napi_typeof(env, argv[4], &on_batch_type));
	CHECK(napi_typeof(env, argv[5], &on_error_type));
	if (on_batch_type != napi_function || on_error_type != napi_function) {
		napi_throw_type_error(env, NULL, "rawrecv.start: onBatch and onError must be functions");
		return NULL;
	}
	/* An IPv6 slot must hold the header built in front of the payload, and some payload. */
	int min_slot = c->family == AF_INET6 ? IP6_HEADER + 8 : 1;
	if (type != napi_uint32_array || slot_size < min_slot || lengths_count == 0 || lengths_count > MAX_SLOTS ||
	    data_len / (size_t)slot_size < lengths_count) {
		napi_throw_range_error(env, NULL, "rawrecv.start: buffer, slot size and lengths do not match");
		return NULL;
	}
	uv_loop_t *loop;
	CHECK(napi_get_uv_event_loop(env, &loop));
	/* Nothing below may fail half-way: the handles are set up only if both init. */
	int r = uv_poll_init_socket(loop, &c->poll, c->fd);
	if (r != 0) return throw_errno(env, "uv_poll_init_socket", -r);
	r = uv_timer_init(loop, &c->nap);
	if (r != 0) {
		/* uv_timer_init cannot fail in libuv; were it to, the poll must still be closed. */
		uv_close((uv_handle_t *)&c->poll, NULL);
		return throw_errno(env, "uv_timer_init", -r);
	}
	c->poll.data = c;
	c->nap.data = c;
	c->slots = (unsigned)lengths_count;
	c->slot_size = (unsigned)slot_size;
	c->length_out = lengths;
	unsigned header = c->family == AF_INET6 ? IP6_HEADER : 0;
	for (unsigned i = 0; i < c->slots; i++) {
		c->iov[i].iov_base = (char *)data + (size_t)i * c->slot_size + header;
		c->iov[i].iov_len = c->slot_size - header;
		c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
		if (c->family == AF_INET6) {
			c->msgs[i].msg_hdr.msg_name = &c->names[i];
			c->msgs[i].msg_hdr.msg_control = c->control[i].bytes;
		}
	}
	/*
	 * Strong references: the buffers and callbacks live as long as the capture. The
	 * buffer's memory is written until close(); its owner must never transfer or
	 * detach it (the adapter keeps both arrays private).
	 */
	napi_value name;
	if (napi_create_reference(env, argv[1], 1, &c->buffer) != napi_ok ||
	    napi_create_reference(env, argv[3], 1, &c->lengths) != napi_ok ||
	    napi_create_reference(env, argv[4], 1, &c->on_batch) != napi_ok ||
	    napi_create_reference(env, argv[5], 1, &c->on_error) != napi_ok ||
	    napi_create_string_utf8(env, "rawrecv", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &c->async) != napi_ok) {
		napi_fatal_error("rawrecv", NAPI_AUTO_LENGTH, "cannot keep the capture's references", NAPI_AUTO_LENGTH);
	}
	c->started = 1;
	r = uv_poll_start(&c->poll, UV_READABLE, on_readable);
	if (r != 0) {
		c->failed = 1;
		return throw_errno(env, "uv_poll_start", -r);
	}
	return NULL;
}

/* The descriptor is closed only after libuv has let go of both handles. */
static void on_handle_closed(uv_handle_t *handle) {
	capture_t *c = handle->data;
	if (--c->open_handles == 0) release(c);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1];
	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1) {
		napi_throw_type_error(env, NULL, "rawrecv.close(handle)");
		return NULL;
	}
	capture_t *c = unwrap(env, argv[0]);
	if (c == NULL || c->closing) return NULL;
	c->closing = 1;
	if (c->started) {
		c->open_handles = 2;
		uv_close((uv_handle_t *)&c->poll, on_handle_closed);
		uv_close((uv_handle_t *)&c->nap, on_handle_closed);
	} else {
		release(c);
	}
	return NULL;
}

NAPI_MODULE_INIT() {
	static const struct {
		const char *name;
		napi_callback fn;
	} functions[] = {{"open", js_open}, {"start", js_start}, {"close", js_close}};
	for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
		napi_value fn;
		if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok ||
		    napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok)
			return NULL;
	}
	return exports;
}
