/*
 * procctl: the process attributes and sandboxes Node cannot set itself, for both halves.
 *
 *   noNewPrivs()        prctl(PR_SET_NO_NEW_PRIVS, 1) on the calling thread: no
 *                       execve() from it, nor from any process started from it after
 *                       this, can gain privileges (setuid files, file capabilities).
 *                       A process spawned after the call inherits it in every thread.
 *   setDumpable(false)  prctl(PR_SET_DUMPABLE, 0) for the whole process: its /proc
 *                       files become root's, and a process of the same uid without
 *                       CAP_SYS_PTRACE can no longer ptrace it or read its memory.
 *   state()             { noNewPrivs, dumpable, seccomp } as the kernel reports them
 *                       now (seccomp: the mode, 2 once a filter is installed).
 *   unblockSignal(n)    removes signal n from the calling thread's signal mask.
 *   setgroups(gids), setgid(gid), setuid(uid)
 *                       the C library's calls, which change the ids of every thread.
 *                       Node's own refuse to run wherever its libuv may use io_uring
 *                       (its fix for CVE-2024-22017), which with a system libuv (Debian
 *                       13's nodejs) is always; the start filter keeps io_uring away.
 *   seccomp(), exportFilter(), landlock()  the sandboxes, in sandbox.c.
 *   execve(), refusal()    starting again under a filter, and checking it holds, in exec.c.
 *   fillRandom(words)   fills a Uint32Array from getrandom(2).
 *   releaseFilePages()  start-up's pages of the runtime's files given back, in pages.c.
 *
 * Each throws with strerror's text if the kernel refuses. No threads; the one state is
 * pages.c's list of mappings.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "addon.h"
#include "sandbox.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
	char text[256];
	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	napi_throw_error(env, NULL, text);
	return NULL;
}

static napi_value js_no_new_privs(napi_env env, napi_callback_info info) {
	(void)info;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
	return NULL;
}

static napi_value js_set_dumpable(napi_env env, napi_callback_info info) {
	napi_value arg;
	bool dumpable;
	if (!addon_one_argument(env, info, &arg, "procctl.setDumpable(boolean)")) return NULL;
	if (napi_get_value_bool(env, arg, &dumpable) != napi_ok) {
		napi_throw_type_error(env, NULL, "procctl.setDumpable(boolean)");
		return NULL;
	}
	if (prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_DUMPABLE)", errno);
	return NULL;
}

static napi_value js_unblock_signal(napi_env env, napi_callback_info info) {
	int32_t signo;
	sigset_t set;
	if (!addon_int32_argument(env, info, &signo, "procctl.unblockSignal(signal number)")) return NULL;
	if (sigemptyset(&set) != 0 || sigaddset(&set, signo) != 0) {
		napi_throw_type_error(env, NULL, "procctl.unblockSignal(signal number)");
		return NULL;
	}
	int err = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (err != 0) return throw_errno(env, "pthread_sigmask", err);
	return NULL;
}

/* The one unsigned 32-bit argument of an id call, or -1 (having thrown). */
static int64_t id_argument(napi_env env, napi_callback_info info, const char *usage) {
	napi_value arg;
	uint32_t id;
	if (!addon_one_argument(env, info, &arg, usage)) return -1;
	if (napi_get_value_uint32(env, arg, &id) != napi_ok) {
		napi_throw_type_error(env, NULL, usage);
		return -1;
	}
	return id;
}

static napi_value js_setgroups(napi_env env, napi_callback_info info) {
	napi_value argv[1];
	bool is_array = false;
	uint32_t count = 0;
	gid_t gids[16];
	if (!addon_one_argument(env, info, &argv[0], "procctl.setgroups(gids: number[], at most 16)")) return NULL;
	if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &count) != napi_ok || count > 16) {
		napi_throw_type_error(env, NULL, "procctl.setgroups(gids: number[], at most 16)");
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		napi_value item;
		uint32_t gid;
		if (napi_get_element(env, argv[0], i, &item) != napi_ok || napi_get_value_uint32(env, item, &gid) != napi_ok) {
			napi_throw_type_error(env, NULL, "procctl.setgroups(gids: number[], at most 16)");
			return NULL;
		}
		gids[i] = gid;
	}
	if (setgroups(count, gids) != 0) return throw_errno(env, "setgroups", errno);
	return NULL;
}

static napi_value js_setgid(napi_env env, napi_callback_info info) {
	int64_t gid = id_argument(env, info, "procctl.setgid(gid: number)");
	if (gid < 0) return NULL;
	if (setgid((gid_t)gid) != 0) return throw_errno(env, "setgid", errno);
	return NULL;
}

static napi_value js_setuid(napi_env env, napi_callback_info info) {
	int64_t uid = id_argument(env, info, "procctl.setuid(uid: number)");
	if (uid < 0) return NULL;
	if (setuid((uid_t)uid) != 0) return throw_errno(env, "setuid", errno);
	return NULL;
}

static napi_value js_state(napi_env env, napi_callback_info info) {
	(void)info;
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	int seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (nnp < 0 || dumpable < 0 || seccomp < 0) return throw_errno(env, "prctl(PR_GET_...)", errno);
	napi_value out, a, b, c;
	if (napi_create_object(env, &out) != napi_ok || napi_get_boolean(env, nnp == 1, &a) != napi_ok ||
	    napi_get_boolean(env, dumpable != 0, &b) != napi_ok || napi_create_int32(env, seccomp, &c) != napi_ok ||
	    napi_set_named_property(env, out, "noNewPrivs", a) != napi_ok || napi_set_named_property(env, out, "dumpable", b) != napi_ok ||
	    napi_set_named_property(env, out, "seccomp", c) != napi_ok)
		return NULL;
	return out;
}

/* The monitor's hash keys, without node:crypto (about 1 MB resident) for a few bytes. */
static napi_value js_fill_random(napi_env env, napi_callback_info info) {
	size_t argc = 1, length, offset;
	napi_value argv[1], buffer;
	napi_typedarray_type type;
	void *data;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
	    napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint32_array) {
		napi_throw_type_error(env, NULL, "procctl.fillRandom(Uint32Array)");
		return NULL;
	}
	unsigned char *p = data;
	size_t bytes = length * sizeof(uint32_t);
	while (bytes > 0) {
		ssize_t n = getrandom(p, bytes, 0);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) {
			return throw_errno(env, "getrandom", errno);
		}
		p += n;
		bytes -= (size_t)n;
	}
	return argv[0];
}

NAPI_MODULE_INIT() {
	static const struct {
		const char *name;
		napi_callback fn;
	} functions[] = {{"noNewPrivs", js_no_new_privs}, {"setDumpable", js_set_dumpable}, {"state", js_state},
		{"unblockSignal", js_unblock_signal}, {"setgroups", js_setgroups}, {"setgid", js_setgid}, {"setuid", js_setuid},
		{"seccomp", sandbox_seccomp}, {"exportFilter", sandbox_export}, {"landlock", sandbox_landlock}, {"execve", exec_execve},
		{"refusal", exec_refusal}, {"fillRandom", js_fill_random}, {"releaseFilePages", pages_release_file_pages}};
	for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
		napi_value fn;
		if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok ||
		    napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok)
			return NULL;
	}
	return exports;
}
