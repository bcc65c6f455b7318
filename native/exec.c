/*
 * Starting the capture process again from a fresh image, under the filter it installed
 * first (procctl.node; src/capture/restart.ts says why):
 *
 *   execve(file, argv, env, keep)
 *       Replaces the process with `file`, arguments `argv` (argv[0] included) and
 *       environment `env` ("NAME=value" strings); the pid stays the same. Returns only
 *       by throwing, with strerror's text. First it empties the calling thread's signal
 *       mask, which the new image would inherit, and clears close-on-exec on each
 *       descriptor in `keep`: Node marks every descriptor it finds at start
 *       close-on-exec, so these are the ones the new image gets; the rest close.
 *   refusal(name)
 *       The errno the process gets for a call that can do nothing: io_uring_setup(0,
 *       NULL) (the kernel answers EFAULT or EINVAL) or listen(-1, 0) (EBADF). A filter
 *       that refuses the call answers first, with its own errno (ENOSYS, EPERM): this
 *       is how a process checks that it runs under one. Only those two names.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

/* The kernel's own limit on one argument or environment string (MAX_ARG_STRLEN, 32
 * pages): whatever the first image was started with, the fresh one can be given. */
#define MAX_STRINGS 1024
#define MAX_STRING (32 * 4096)

/* A JS array of strings as a NULL-terminated array of C strings; NULL (having thrown) on a bad value. */
static char **string_array(napi_env env, napi_value array, const char *what) {
	bool is_array = false;
	uint32_t length = 0;
	char text[96];
	snprintf(text, sizeof text, "procctl.execve: %s must be an array of strings", what);
	if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &length) != napi_ok ||
	    length >= MAX_STRINGS) {
		napi_throw_type_error(env, NULL, text);
		return NULL;
	}
	char **out = calloc(length + 1, sizeof *out);
	if (out == NULL) {
		napi_throw_error(env, NULL, "procctl.execve: out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < length; i++) {
		napi_value item;
		size_t size = 0;
		if (napi_get_element(env, array, i, &item) != napi_ok || napi_get_value_string_utf8(env, item, NULL, 0, &size) != napi_ok ||
		    size >= MAX_STRING || (out[i] = malloc(size + 1)) == NULL ||
		    napi_get_value_string_utf8(env, item, out[i], size + 1, &size) != napi_ok || strlen(out[i]) != size) {
			for (uint32_t j = 0; j <= i; j++) free(out[j]);
			free(out);
			napi_throw_type_error(env, NULL, text);
			return NULL;
		}
	}
	return out;
}

static void free_array(char **array) {
	if (array == NULL) return;
	for (char **s = array; *s != NULL; s++) free(*s);
	free(array);
}

#define MAX_KEEP 16

/* The descriptors of `array` (numbers); -1 (having thrown) on a bad value. */
static int fd_array(napi_env env, napi_value array, int *fds) {
	bool is_array = false;
	uint32_t length = 0;
	if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &length) != napi_ok ||
	    length > MAX_KEEP) {
		napi_throw_type_error(env, NULL, "procctl.execve: keep must be an array of at most 16 descriptors");
		return -1;
	}
	for (uint32_t i = 0; i < length; i++) {
		napi_value item;
		if (napi_get_element(env, array, i, &item) != napi_ok || napi_get_value_int32(env, item, &fds[i]) != napi_ok || fds[i] < 0) {
			napi_throw_type_error(env, NULL, "procctl.execve: keep must be an array of at most 16 descriptors");
			return -1;
		}
	}
	return (int)length;
}

napi_value exec_execve(napi_env env, napi_callback_info info) {
	size_t argc = 4;
	napi_value argv[4];
	char file[4096];
	size_t file_length = 0;
	int keep[MAX_KEEP];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
	    napi_get_value_string_utf8(env, argv[0], file, sizeof file, &file_length) != napi_ok || file_length == 0 ||
	    file_length + 1 >= sizeof file) {
		napi_throw_type_error(env, NULL, "procctl.execve(file: string, argv: string[], env: string[], keep: number[])");
		return NULL;
	}
	int kept = fd_array(env, argv[3], keep);
	if (kept < 0) return NULL;
	char **args = string_array(env, argv[1], "argv");
	char **environment = args == NULL ? NULL : string_array(env, argv[2], "env");
	if (environment == NULL) {
		free_array(args);
		return NULL;
	}
	sigset_t none;
	sigemptyset(&none);
	int err = pthread_sigmask(SIG_SETMASK, &none, NULL);
	for (int i = 0; err == 0 && i < kept; i++) {
		int flags = fcntl(keep[i], F_GETFD);
		if (flags < 0 || fcntl(keep[i], F_SETFD, flags & ~FD_CLOEXEC) != 0) err = errno;
	}
	if (err == 0) {
		execve(file, args, environment);
		err = errno;
	}
	free_array(args);
	free_array(environment);
	char text[4096 + 64];
	snprintf(text, sizeof text, "execve %s: %s", file, strerror(err));
	napi_throw_error(env, NULL, text);
	return NULL;
}

napi_value exec_refusal(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1];
	char name[32];
	size_t length = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
	    napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok) {
		napi_throw_type_error(env, NULL, "procctl.refusal(name: string)");
		return NULL;
	}
	long result;
	if (strcmp(name, "io_uring_setup") == 0)
		result = syscall(__NR_io_uring_setup, 0, NULL);
	else if (strcmp(name, "listen") == 0)
		result = syscall(SYS_listen, -1, 0);
	else {
		napi_throw_error(env, NULL, "procctl.refusal: io_uring_setup or listen");
		return NULL;
	}
	int err = result < 0 ? errno : 0;
	napi_value out;
	napi_create_int32(env, err, &out);
	return out;
}
