/*
 * A capture descriptor read in batches into one caller-owned buffer, with one call
 * into JS a batch: the part the raw-socket reader (rawrecv.c) and the libpcap reader
 * (pcaprecv.c) share. A backend opens its descriptor, says how to read a batch into
 * the slots and how to release it; this part watches the descriptor, reads, calls JS,
 * naps on a busy descriptor, and keeps the state alive until close().
 *
 *   start(handle, buffer, slotSize, lengths, onBatch, onError)
 *       onBatch(n), n > 0: packet i (i < n) is at buffer[i * slotSize], lengths[i] bytes
 *       onBatch(0): the descriptor is drained for now (or this wakeup's share is used up)
 *       onError(message): reading failed; nothing more is read
 *   close(handle)                        idempotent; before or after start
 *
 * The descriptor never depends on garbage collection: the state lives in C until
 * close(), and a collected handle neither closes the descriptor nor stops the reading.
 * Memory is freed only once both the descriptor is released and the handle is
 * collected, so a late close() on a closed handle is harmless. Everything runs on the
 * event-loop thread.
 */
#ifndef SCANLOGD_BATCH_H
#define SCANLOGD_BATCH_H

#include <stdint.h>
#include <uv.h>

#include "addon.h"

#define BATCH_MAX_SLOTS 1024
/* What a backend's read returns besides a packet count. */
#define BATCH_LATER (-1)  /* the kernel is short of memory: try again after a nap */
#define BATCH_FAILED (-2) /* reading failed; the reader's `error` says why */

typedef struct batch_reader batch_reader;

typedef struct {
	const char *name;         /* the addon's name, in its errors */
	const napi_type_tag *tag; /* tells its handles from others */
	/* Called once by start(), with the buffer and slots set: per-slot set-up. */
	void (*prepare)(batch_reader *r);
	/*
	 * Reads what is waiting, at most r->slots packets, into the slots, and their
	 * lengths (at most r->slot_size) into r->lengths: the count (0 when nothing is
	 * waiting), BATCH_LATER, or BATCH_FAILED with r->error set.
	 */
	int (*read)(batch_reader *r);
	/* Closes the descriptor; called once libuv has let go of it. */
	void (*release)(batch_reader *r);
} batch_ops;

/* The first member of each backend's state, which is allocated with malloc(3). */
struct batch_reader {
	const batch_ops *ops;
	int fd;          /* what the event loop watches */
	unsigned min_slot_size; /* a slot must hold at least this much */
	int started;
	int closing;      /* close() was called */
	int failed;       /* onError was called: nothing more is read */
	int released;     /* descriptor closed and references dropped */
	int collected;    /* the JS handle is gone */
	int open_handles; /* libuv handles still closing */
	uv_poll_t poll;
	uv_timer_t nap;
	napi_env env;
	napi_ref on_batch;
	napi_ref on_error;
	napi_ref buffer;
	napi_ref lengths_ref;
	napi_async_context async;
	unsigned char *data;
	uint32_t *lengths;
	unsigned slots;
	unsigned slot_size;
	char error[512];
};

/* The handle for a reader whose ops and fd are set; on failure the reader is released
 * and freed, and NULL is returned with an error thrown. */
napi_value batch_wrap(napi_env env, batch_reader *r);

/* The reader behind a handle of this backend, or NULL with a TypeError thrown. */
batch_reader *batch_unwrap(napi_env env, napi_value handle, const batch_ops *ops);

/* The bodies of a backend's start() and close(). */
napi_value batch_start(napi_env env, napi_callback_info info, const batch_ops *ops);
napi_value batch_close(napi_env env, napi_callback_info info, const batch_ops *ops);

#endif
