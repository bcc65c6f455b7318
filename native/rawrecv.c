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
 *   drops(handle) -> the socket's count of packets the kernel dropped (a full receive
 *                    queue, mostly), as of the last packet read: uint32, cumulative
 *                    since open, wraps at 2^32
 *
 * Every socket asks for SO_RXQ_OVFL: the kernel then puts its drop count, as it stood
 * when the packet was queued, in the ancillary data of each packet once it is nonzero.
 * It costs no system call, but it moves only with a packet: drops after the last packet
 * read are seen with the next one.
 *
 * The watching, the batches, the naps on a busy socket and the handle's life are
 * batch.c's (see batch.h). There is no packet parsing here: JS checks every packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ancillary.h"
#include "batch.h"

/* Room for the drop count, and the three ancillary items an IPv6 socket is asked for. */
#define CONTROL_BYTES (CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + 2 * CMSG_SPACE(sizeof(int)))

typedef struct {
	batch_reader reader; /* first: batch.c frees the whole */
	int family;          /* AF_INET or AF_INET6 */
	int protocol;        /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t drops;      /* the kernel's drop count as of the last packet read */
	struct mmsghdr msgs[BATCH_MAX_SLOTS];
	struct iovec iov[BATCH_MAX_SLOTS];
	/* IPv6 only: each message's source address. */
	struct sockaddr_in6 names[BATCH_MAX_SLOTS];
	/* Each message's ancillary data. */
	union {
		struct cmsghdr align;
		unsigned char bytes[CONTROL_BYTES];
	} control[BATCH_MAX_SLOTS];
} capture_t;

static const napi_type_tag RAWRECV_TAG = {0x7363616e6c6f6764ULL, 0x7261777265637601ULL};

static void raw_prepare(batch_reader *r);
static int raw_read(batch_reader *r);
static void raw_release(batch_reader *r);

static const batch_ops RAW_OPS = {"rawrecv", &RAWRECV_TAG, raw_prepare, raw_read, raw_release};

static napi_value js_open(napi_env env, napi_callback_info info) {
	size_t argc = 3;
	napi_value argv[3];
	int32_t bytes = 0, family = 4, protocol = IPPROTO_TCP;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], &bytes) != napi_ok ||
	    (argc >= 2 && napi_get_value_int32(env, argv[1], &family) != napi_ok) ||
	    (argc >= 3 && napi_get_value_int32(env, argv[2], &protocol) != napi_ok) ||
	    (family != 4 && family != 6) || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)) {
		napi_throw_type_error(env, NULL, "rawrecv.open(receiveBufferBytes[, 4 | 6, 6 | 17])");
		return NULL;
	}
	capture_t *c = calloc(1, sizeof *c);
	if (c == NULL) return addon_throw_errno(env, "calloc", ENOMEM);
	c->reader.ops = &RAW_OPS;
	c->family = family == 6 ? AF_INET6 : AF_INET;
	c->protocol = protocol;
	/* An IPv6 slot must hold the header built in front of the payload, and some payload. */
	c->reader.min_slot_size = c->family == AF_INET6 ? IP6_HEADER + 8 : 1;
	/* Close-on-exec: no program this process starts may ever hold the socket. */
	c->reader.fd = socket(c->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (c->reader.fd < 0) {
		int err = errno;
		free(c);
		return addon_throw_errno(env, NULL, err);
	}
	const int on = 1;
	if (setsockopt(c->reader.fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) {
		int err = errno;
		close(c->reader.fd);
		free(c);
		return addon_throw_errno(env, "SO_RXQ_OVFL", err);
	}
	if (c->family == AF_INET6) {
		static const int options[] = {IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS};
		static const char *const names[] = {"IPV6_RECVPKTINFO", "IPV6_RECVHOPLIMIT", "IPV6_RECVTCLASS"};
		for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
			if (setsockopt(c->reader.fd, IPPROTO_IPV6, options[i], &on, sizeof on) != 0) {
				int err = errno;
				close(c->reader.fd);
				free(c);
				return addon_throw_errno(env, names[i], err);
			}
		}
	}
	/*
	 * Without CAP_NET_ADMIN (a systemd unit that does not grant it) the size is capped
	 * by net.core.rmem_max, which is still better than the default queue; failing
	 * both, the default queue stays and capture still works.
	 */
	if (bytes > 0 && setsockopt(c->reader.fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
		(void)setsockopt(c->reader.fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	return batch_wrap(env, &c->reader);
}

static void raw_prepare(batch_reader *r) {
	capture_t *c = (capture_t *)r;
	unsigned header = c->family == AF_INET6 ? IP6_HEADER : 0;
	for (unsigned i = 0; i < r->slots; i++) {
		c->iov[i].iov_base = r->data + (size_t)i * r->slot_size + header;
		c->iov[i].iov_len = r->slot_size - header;
		c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
		c->msgs[i].msg_hdr.msg_control = c->control[i].bytes;
		if (c->family == AF_INET6) c->msgs[i].msg_hdr.msg_name = &c->names[i];
	}
}

/* The slot's length for message `i`: its IPv6 header and payload, cut to the slot, or 0. */
static unsigned ip6_slot_length(capture_t *c, unsigned i) {
	unsigned char *slot = (unsigned char *)c->iov[i].iov_base - IP6_HEADER;
	unsigned len = build_ip6_header(&c->msgs[i].msg_hdr, c->msgs[i].msg_len, &c->names[i].sin6_addr, c->protocol, slot, &c->drops);
	return len < c->reader.slot_size ? len : c->reader.slot_size;
}

static int raw_read(batch_reader *r) {
	capture_t *c = (capture_t *)r;
	/* recvmmsg writes back the lengths it used: give each message its full room again. */
	if (c->family == AF_INET6) {
		for (unsigned i = 0; i < r->slots; i++) {
			c->msgs[i].msg_hdr.msg_namelen = sizeof c->names[i];
			c->msgs[i].msg_hdr.msg_controllen = sizeof c->control[i];
		}
	} else {
		for (unsigned i = 0; i < r->slots; i++) c->msgs[i].msg_hdr.msg_controllen = sizeof c->control[i];
	}
	int n;
	do
		n = recvmmsg(r->fd, c->msgs, r->slots, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK) return 0;
		/* The kernel is short of memory: try again after a nap, not in a spin. */
		if (err == ENOBUFS || err == ENOMEM) return BATCH_LATER;
		snprintf(r->error, sizeof r->error, "recvmmsg: %s", strerror(err));
		return BATCH_FAILED;
	}
	for (int i = 0; i < n; i++) {
		if (c->family == AF_INET6) {
			r->lengths[i] = ip6_slot_length(c, (unsigned)i);
			continue;
		}
		struct msghdr *m = &c->msgs[i].msg_hdr;
		/* The drop count is the only ancillary item an IPv4 socket is given. */
		if (m->msg_controllen > 0)
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) note_drops(&c->drops, cm);
		/* A longer packet is cut to its slot; the length can never say more. */
		unsigned len = c->msgs[i].msg_len;
		r->lengths[i] = len < r->slot_size ? len : r->slot_size;
	}
	return n;
}

static void raw_release(batch_reader *r) {
	close(r->fd);
}

static napi_value js_start(napi_env env, napi_callback_info info) {
	return batch_start(env, info, &RAW_OPS);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
	return batch_close(env, info, &RAW_OPS);
}

static napi_value js_drops(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1], out;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
		napi_throw_type_error(env, NULL, "rawrecv.drops(handle)");
		return NULL;
	}
	capture_t *c = (capture_t *)batch_unwrap(env, argv[0], &RAW_OPS);
	if (c == NULL || napi_create_uint32(env, c->drops, &out) != napi_ok) return NULL;
	return out;
}

NAPI_MODULE_INIT() {
	static const addon_function functions[] = {{"open", js_open}, {"start", js_start}, {"close", js_close}, {"drops", js_drops}};
	return addon_export(env, exports, functions, sizeof functions / sizeof functions[0]);
}
