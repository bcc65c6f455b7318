/*
 * The two kernel sandboxes each half puts itself in once it is set up (procctl.node):
 *
 *   seccomp(rules, defaultAction)
 *       Compiles a system-call filter with libseccomp and installs it in every thread
 *       of the process (SCMP_FLTATR_CTL_TSYNC). `rules` is an array of
 *       { syscall, action, when: [{ arg, mask, value }] }, as libseccomp takes them:
 *       a rule holds when, for each condition, (argument `arg` & mask) == value on
 *       the full 64-bit argument (mask and value are BigInts), and the rules of one
 *       call are alternatives, so rules with different actions must never both hold
 *       (src/shared/filter.ts writes the policies that way). Actions are
 *       SECCOMP_RET_* values. A call no rule names gets `defaultAction`; another
 *       architecture, or an x32 call, kills the process (libseccomp's bad-architecture
 *       action: x32 numbers fall to it in an x86_64 filter). A name this architecture
 *       lacks is left out. Returns how many of the calls named it has.
 *   exportFilter(rules, defaultAction)
 *       The same program as a Buffer of struct sock_filter, installed nowhere.
 *   landlock(removeFilesBelow, scopeSignals)
 *       Where the kernel offers Landlock: denies the calling thread (and threads it
 *       starts later) every file-system access, except removing files anywhere below
 *       the directory open at descriptor `removeFilesBelow` (or null: nothing), which
 *       may have been opened before a chroot, and TCP bind/connect (ABI 4);
 *       with ABI 6, abstract Unix sockets outside the process and, if `scopeSignals`,
 *       signals to processes outside it. Returns the ABI version used, 0 if none.
 *
 * Both sandboxes need no_new_privs set first (procctl.noNewPrivs()).
 */
#define _GNU_SOURCE /* O_PATH, memfd_create */
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <node_api.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

/* The kernel's limit on a filter's length (BPF_MAXINSNS). */
#define MAX_PROGRAM 4096
#define MAX_CONDITIONS 6

static napi_value fail(napi_env env, const char *what) {
	napi_throw_error(env, NULL, what);
	return NULL;
}

static napi_value fail_errno(napi_env env, const char *what, int err) {
	char text[4096 + 128];
	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	return fail(env, text);
}

/* Property readers; each returns 0 on success, throws and returns -1 otherwise. */

static int get_property(napi_env env, napi_value object, const char *key, napi_value *out) {
	bool has = false;
	if (napi_has_named_property(env, object, key, &has) != napi_ok || !has) {
		*out = NULL;
		return 0;
	}
	return napi_get_named_property(env, object, key, out) == napi_ok ? 0 : -1;
}

static int bad_property(napi_env env, const char *key, const char *what) {
	char text[96];
	snprintf(text, sizeof text, "procctl.seccomp: %s must be %s", key, what);
	fail(env, text);
	return -1;
}

static int get_uint32(napi_env env, napi_value object, const char *key, uint32_t *out) {
	napi_value v;
	if (get_property(env, object, key, &v) != 0 || v == NULL || napi_get_value_uint32(env, v, out) != napi_ok)
		return bad_property(env, key, "a number");
	return 0;
}

/* A 64-bit value, given as a BigInt: a Number cannot hold every mask. */
static int get_uint64(napi_env env, napi_value object, const char *key, uint64_t *out) {
	napi_value v;
	bool lossless = false;
	if (get_property(env, object, key, &v) != 0 || v == NULL || napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok ||
	    !lossless)
		return bad_property(env, key, "a BigInt from 0 to 2^64 - 1");
	return 0;
}

static int get_array(napi_env env, napi_value object, const char *key, napi_value *out, uint32_t *length) {
	bool is_array = false;
	if (get_property(env, object, key, out) != 0 || *out == NULL || napi_is_array(env, *out, &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, *out, length) != napi_ok)
		return bad_property(env, key, "an array");
	return 0;
}

static int read_condition(napi_env env, napi_value object, struct scmp_arg_cmp *c) {
	uint32_t arg;
	uint64_t mask, value;
	if (get_uint32(env, object, "arg", &arg) != 0 || get_uint64(env, object, "mask", &mask) != 0 ||
	    get_uint64(env, object, "value", &value) != 0)
		return -1;
	if (arg > 5) return fail(env, "procctl.seccomp: arg is 0..5"), -1;
	if ((value & ~mask) != 0) return fail(env, "procctl.seccomp: a value has bits outside its mask"), -1;
	if (mask == UINT64_MAX) *c = (struct scmp_arg_cmp){arg, SCMP_CMP_EQ, value, 0};
	else *c = (struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, mask, value};
	return 0;
}

/* Adds one rule; *nr is its call's number here, negative if this architecture lacks it.
 * A rule whose action is the default is left out: libseccomp refuses it (EACCES), and
 * what no rule takes gets that action anyway. */
static int add_rule(napi_env env, scmp_filter_ctx ctx, uint32_t default_action, napi_value rule, int *nr) {
	char name[64];
	size_t name_length;
	napi_value name_value, when;
	uint32_t action, count;
	struct scmp_arg_cmp conditions[MAX_CONDITIONS];
	if (get_property(env, rule, "syscall", &name_value) != 0 || name_value == NULL ||
	    napi_get_value_string_utf8(env, name_value, name, sizeof name, &name_length) != napi_ok)
		return fail(env, "procctl.seccomp: syscall must be a name"), -1;
	if (get_uint32(env, rule, "action", &action) != 0 || get_array(env, rule, "when", &when, &count) != 0) return -1;
	if (count > MAX_CONDITIONS) return fail(env, "procctl.seccomp: a rule has at most 6 conditions"), -1;
	for (uint32_t i = 0; i < count; i++) {
		napi_value item;
		if (napi_get_element(env, when, i, &item) != napi_ok || read_condition(env, item, &conditions[i]) != 0) return -1;
	}
	*nr = seccomp_syscall_resolve_name(name);
	if (*nr == __NR_SCMP_ERROR) {
		char text[128];
		snprintf(text, sizeof text, "procctl.seccomp: unknown system call %s", name);
		return fail(env, text), -1;
	}
	/* Known to libseccomp, but not a call of this architecture (open on aarch64). */
	if (*nr < 0 || action == default_action) return 0;
	int rc = seccomp_rule_add_exact_array(ctx, action, *nr, count, conditions);
	if (rc != 0) {
		char text[160];
		snprintf(text, sizeof text, "procctl.seccomp: libseccomp refused a rule for %s", name);
		return fail_errno(env, text, -rc), -1;
	}
	return 0;
}

/* The filter for `rules`; throws and returns NULL on a bad rule. *calls: how many
 * different calls of this architecture the rules name. */
static scmp_filter_ctx build_filter(napi_env env, napi_callback_info info, uint32_t *calls) {
	size_t argc = 2;
	napi_value argv[2];
	uint32_t rule_count, default_action;
	bool is_array = false;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[0], &rule_count) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &default_action) != napi_ok) {
		napi_throw_type_error(env, NULL, "procctl.seccomp(rules, defaultAction)");
		return NULL;
	}
	scmp_filter_ctx ctx = seccomp_init(default_action);
	if (ctx == NULL) return fail(env, "procctl.seccomp: libseccomp cannot make a filter with that default action"), NULL;
	/* Every thread, or the call fails; no_new_privs is the caller's to set, and a
	 * failed load reports the kernel's errno. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1) != 0) {
		seccomp_release(ctx);
		return fail(env, "procctl.seccomp: libseccomp refused the filter's attributes"), NULL;
	}
	/* Each call counted once however many rules it has; numbers are below 1024 on
	 * both architectures. */
	static uint8_t seen[1024];
	memset(seen, 0, sizeof seen);
	*calls = 0;
	for (uint32_t i = 0; i < rule_count; i++) {
		napi_value rule;
		int nr = -1;
		if (napi_get_element(env, argv[0], i, &rule) != napi_ok || add_rule(env, ctx, default_action, rule, &nr) != 0) {
			seccomp_release(ctx);
			return NULL;
		}
		if (nr >= 0 && nr < (int)sizeof seen && !seen[nr]) {
			seen[nr] = 1;
			(*calls)++;
		}
	}
	return ctx;
}

/* The program libseccomp makes of `ctx`, in a memory file; its length in bytes in *size. */
static int export_program(napi_env env, scmp_filter_ctx ctx, off_t *size) {
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0) return fail_errno(env, "procctl.seccomp: memfd_create", errno), -1;
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc != 0) {
		close(fd);
		return fail_errno(env, "procctl.seccomp: libseccomp could not generate the program", -rc), -1;
	}
	*size = lseek(fd, 0, SEEK_END);
	if (*size < 0) {
		int err = errno;
		close(fd);
		return fail_errno(env, "procctl.seccomp: lseek", err), -1;
	}
	return fd;
}

napi_value sandbox_seccomp(napi_env env, napi_callback_info info) {
	uint32_t calls;
	scmp_filter_ctx ctx = build_filter(env, info, &calls);
	if (ctx == NULL) return NULL;
	off_t size;
	int fd = export_program(env, ctx, &size);
	if (fd < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	close(fd);
	if (size / (off_t)sizeof(struct sock_filter) > MAX_PROGRAM) {
		seccomp_release(ctx);
		return fail(env, "procctl.seccomp: program longer than 4096 instructions");
	}
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) return fail_errno(env, "seccomp(SECCOMP_SET_MODE_FILTER)", -rc);
	napi_value out;
	napi_create_uint32(env, calls, &out);
	return out;
}

napi_value sandbox_export(napi_env env, napi_callback_info info) {
	uint32_t calls;
	scmp_filter_ctx ctx = build_filter(env, info, &calls);
	if (ctx == NULL) return NULL;
	off_t size;
	int fd = export_program(env, ctx, &size);
	seccomp_release(ctx);
	if (fd < 0) return NULL;
	void *data;
	napi_value out;
	if (napi_create_buffer(env, (size_t)size, &data, &out) != napi_ok) {
		close(fd);
		return fail(env, "procctl.exportFilter: out of memory");
	}
	ssize_t got = pread(fd, data, (size_t)size, 0);
	int err = errno;
	close(fd);
	if (got != size) return fail_errno(env, "procctl.exportFilter: pread", got < 0 ? err : EIO);
	return out;
}

/* Landlock's interface, defined here as the kernel ABI is: the C library headers of
 * older distributions lack the network and scope fields. */
#define LANDLOCK_CREATE_RULESET_VERSION_FLAG (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH_TYPE 1
#define FS_ACCESS_ABI1 ((1ULL << 13) - 1) /* execute .. make_sym */
#define FS_ACCESS_REFER (1ULL << 13)      /* ABI 2 */
#define FS_ACCESS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define FS_ACCESS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define FS_ACCESS_REMOVE_FILE (1ULL << 5)
#define NET_BIND_TCP (1ULL << 0) /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)

struct landlock_ruleset {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct landlock_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

napi_value sandbox_landlock(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2];
	napi_valuetype dir_type;
	int32_t dir_fd = -1;
	bool scope_signals = false;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_typeof(env, argv[0], &dir_type) != napi_ok || (dir_type != napi_number && dir_type != napi_null) ||
	    (dir_type == napi_number && (napi_get_value_int32(env, argv[0], &dir_fd) != napi_ok || dir_fd < 0)) ||
	    napi_get_value_bool(env, argv[1], &scope_signals) != napi_ok) {
		napi_throw_type_error(env, NULL, "procctl.landlock(removeFilesBelow: descriptor | null, scopeSignals: boolean)");
		return NULL;
	}
	napi_value out;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION_FLAG);
	if (abi < 0) {
		/* Not built in, turned off, or refused by a filter around the daemon (EPERM). */
		if (errno != ENOSYS && errno != EOPNOTSUPP && errno != EPERM) return fail_errno(env, "landlock_create_ruleset", errno);
		napi_create_uint32(env, 0, &out);
		return out;
	}

	struct landlock_ruleset ruleset = {.handled_access_fs = FS_ACCESS_ABI1};
	if (abi >= 2) ruleset.handled_access_fs |= FS_ACCESS_REFER;
	if (abi >= 3) ruleset.handled_access_fs |= FS_ACCESS_TRUNCATE;
	if (abi >= 5) ruleset.handled_access_fs |= FS_ACCESS_IOCTL_DEV;
	if (abi >= 4) ruleset.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
	if (abi >= 6) ruleset.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | (scope_signals ? SCOPE_SIGNAL : 0);
	int ruleset_fd = (int)syscall(SYS_landlock_create_ruleset, &ruleset, sizeof ruleset, 0);
	if (ruleset_fd < 0) return fail_errno(env, "landlock_create_ruleset", errno);

	if (dir_fd >= 0) {
		/* The caller's descriptor, which it keeps: the rule holds the directory itself. */
		struct landlock_path_beneath beneath = {.allowed_access = FS_ACCESS_REMOVE_FILE, .parent_fd = dir_fd};
		long added = syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH_TYPE, &beneath, 0);
		int err = errno;
		if (added != 0) {
			close(ruleset_fd);
			return fail_errno(env, "landlock_add_rule", err);
		}
	}
	long restricted = syscall(SYS_landlock_restrict_self, ruleset_fd, 0);
	int err = errno;
	close(ruleset_fd);
	if (restricted != 0) return fail_errno(env, "landlock_restrict_self", err);
	napi_create_uint32(env, (uint32_t)abi, &out);
	return out;
}
