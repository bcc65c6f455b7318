/*
 * pcaprecv: the capture process's libpcap handle on one device (`--interface`), read in
 * batches into one caller-owned buffer, with one call into JS a batch. Built only where
 * libpcap's headers are (binding.gyp), loaded only with --interface, so the raw-socket
 * default never maps libpcap.
 *
 *   open(device, filter, snapLength, bufferBytes, promiscuous) -> handle
 *       as root, before the privilege drop: pcap_create, the snap length, promiscuous
 *       mode only if asked, the ring's size, immediate mode (a lone scan packet is not
 *       held back for a buffer to fill), pcap_activate, non-blocking, then the filter
 *       compiled and attached in the kernel. Throws libpcap's own words.
 *   linkType(handle) -> the DLT_ value pcap_datalink(3) gives
 *   stats(handle) -> { received, droppedByKernel, droppedByInterface }   pcap_stats(3)
 *   start(handle, buffer, slotSize, lengths, onBatch, onError)
 *       onBatch(n), n > 0: frame i (i < n), from its link header on, is at
 *       buffer[i * slotSize], lengths[i] bytes (its captured length, cut to the slot)
 *       onBatch(0): nothing more for now;  onError(message): reading failed, for good
 *   close(handle)                        idempotent; before or after start
 *
 * The steps and their order are those of the binding this replaces (node_pcap), so the
 * kernel sees the same socket, ring and filter. pcap_dispatch copies each frame out of
 * libpcap's ring as it walks it; frames are not parsed here (linklayer.ts does it).
 * The watching, the batches, the naps on a busy ring and the handle's life are
 * batch.c's (see batch.h).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

typedef struct {
	batch_reader reader; /* first: batch.c frees the whole */
	pcap_t *pcap;
	unsigned count;      /* frames copied in the current pcap_dispatch */
} session_t;

static const napi_type_tag PCAPRECV_TAG = {0x7363616e6c6f6764ULL, 0x7063617072656301ULL};

static void pcap_prepare(batch_reader *r);
static int pcap_read(batch_reader *r);
static void pcap_release(batch_reader *r);

static const batch_ops PCAP_OPS = {"pcaprecv", &PCAPRECV_TAG, pcap_prepare, pcap_read, pcap_release};

/* Throws libpcap's message for `status`, or its generic words when it left none. */
static napi_value throw_pcap(napi_env env, pcap_t *p, int status) {
	const char *text = p != NULL ? pcap_geterr(p) : "";
	if (text == NULL || text[0] == '\0') text = pcap_statustostr(status);
	return addon_throw_text(env, text);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
	size_t argc = 5;
	napi_value argv[5];
	char device[256], filter[4096], errbuf[PCAP_ERRBUF_SIZE] = "";
	int32_t snaplen, buffer_bytes;
	bool promiscuous;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
		napi_throw_type_error(env, NULL, "pcaprecv.open(device, filter, snapLength, bufferBytes, promiscuous)");
		return NULL;
	}
	if (!addon_string(env, argv[0], device, sizeof device, "pcaprecv.open: device") ||
	    !addon_string(env, argv[1], filter, sizeof filter, "pcaprecv.open: filter"))
		return NULL;
	if (napi_get_value_int32(env, argv[2], &snaplen) != napi_ok || napi_get_value_int32(env, argv[3], &buffer_bytes) != napi_ok ||
	    napi_get_value_bool(env, argv[4], &promiscuous) != napi_ok || snaplen <= 0 || buffer_bytes <= 0) {
		napi_throw_type_error(env, NULL, "pcaprecv.open: snapLength and bufferBytes > 0, promiscuous a boolean");
		return NULL;
	}
	pcap_t *p = pcap_create(device, errbuf);
	if (p == NULL) return addon_throw_text(env, errbuf[0] != '\0' ? errbuf : "pcap_create failed");
	int status = pcap_set_snaplen(p, snaplen);
	if (status == 0 && promiscuous) status = pcap_set_promisc(p, 1);
	if (status == 0) status = pcap_set_buffer_size(p, buffer_bytes);
	if (status == 0) status = pcap_set_immediate_mode(p, 1);
	/* A warning (a positive status) is refused too: nothing here expects one. */
	if (status == 0) status = pcap_activate(p);
	if (status != 0) {
		throw_pcap(env, p, status);
		pcap_close(p);
		return NULL;
	}
	struct bpf_program program;
	if (pcap_setnonblock(p, 1, errbuf) != 0) {
		addon_throw_text(env, errbuf);
		pcap_close(p);
		return NULL;
	}
	/* The filter tests no broadcast address, the only use of a netmask. */
	if (pcap_compile(p, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		throw_pcap(env, p, PCAP_ERROR);
		pcap_close(p);
		return NULL;
	}
	status = pcap_setfilter(p, &program);
	pcap_freecode(&program);
	if (status != 0) {
		throw_pcap(env, p, status);
		pcap_close(p);
		return NULL;
	}
	int fd = pcap_get_selectable_fd(p);
	if (fd < 0) {
		pcap_close(p);
		return addon_throw_text(env, "pcaprecv.open: the handle has no descriptor to wait on");
	}
	session_t *s = calloc(1, sizeof *s);
	if (s == NULL) {
		pcap_close(p);
		return addon_throw_errno(env, "calloc", ENOMEM);
	}
	s->reader.ops = &PCAP_OPS;
	s->reader.fd = fd;
	s->reader.min_slot_size = 1;
	s->pcap = p;
	return batch_wrap(env, &s->reader);
}

/* The session of an open handle, or NULL with an error thrown. */
static session_t *open_session(napi_env env, napi_callback_info info, const char *what) {
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
		napi_throw_type_error(env, NULL, what);
		return NULL;
	}
	session_t *s = (session_t *)batch_unwrap(env, argv[0], &PCAP_OPS);
	if (s == NULL) return NULL;
	if (s->reader.closing) {
		addon_throw_text(env, "the libpcap handle is closed");
		return NULL;
	}
	return s;
}

static napi_value js_link_type(napi_env env, napi_callback_info info) {
	session_t *s = open_session(env, info, "pcaprecv.linkType(handle)");
	napi_value out;
	if (s == NULL || napi_create_int32(env, pcap_datalink(s->pcap), &out) != napi_ok) return NULL;
	return out;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
	session_t *s = open_session(env, info, "pcaprecv.stats(handle)");
	if (s == NULL) return NULL;
	struct pcap_stat st;
	if (pcap_stats(s->pcap, &st) != 0) return throw_pcap(env, s->pcap, PCAP_ERROR);
	napi_value out, received, kernel, interface;
	if (napi_create_object(env, &out) != napi_ok || napi_create_uint32(env, st.ps_recv, &received) != napi_ok ||
	    napi_create_uint32(env, st.ps_drop, &kernel) != napi_ok || napi_create_uint32(env, st.ps_ifdrop, &interface) != napi_ok ||
	    napi_set_named_property(env, out, "received", received) != napi_ok ||
	    napi_set_named_property(env, out, "droppedByKernel", kernel) != napi_ok ||
	    napi_set_named_property(env, out, "droppedByInterface", interface) != napi_ok)
		return NULL;
	return out;
}

static void pcap_prepare(batch_reader *r) {
	(void)r; /* the slots are filled frame by frame in on_frame */
}

static void on_frame(u_char *user, const struct pcap_pkthdr *header, const u_char *bytes) {
	session_t *s = (session_t *)user;
	batch_reader *r = &s->reader;
	if (s->count >= r->slots) return; /* pcap_dispatch was asked for no more */
	/* A longer frame is cut to its slot; the length can never say more. */
	unsigned len = header->caplen < r->slot_size ? header->caplen : r->slot_size;
	memcpy(r->data + (size_t)s->count * r->slot_size, bytes, len);
	r->lengths[s->count++] = len;
}

static int pcap_read(batch_reader *r) {
	session_t *s = (session_t *)r;
	s->count = 0;
	int n = pcap_dispatch(s->pcap, (int)r->slots, on_frame, (u_char *)s);
	if (n == PCAP_ERROR) {
		snprintf(r->error, sizeof r->error, "%s", pcap_geterr(s->pcap));
		return BATCH_FAILED;
	}
	return (int)s->count;
}

static void pcap_release(batch_reader *r) {
	pcap_close(((session_t *)r)->pcap);
}

static napi_value js_start(napi_env env, napi_callback_info info) {
	return batch_start(env, info, &PCAP_OPS);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
	return batch_close(env, info, &PCAP_OPS);
}

NAPI_MODULE_INIT() {
	static const addon_function functions[] = {
		{"open", js_open}, {"linkType", js_link_type}, {"stats", js_stats}, {"start", js_start}, {"close", js_close}};
	return addon_export(env, exports, functions, sizeof functions / sizeof functions[0]);
}
