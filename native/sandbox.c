/*
 * The two kernel sandboxes each half puts itself in once it is set up (procctl.node):
 *
 *   seccomp(rules, defaultAction, listed)
 *       Compiles a system-call policy into a seccomp-bpf program and installs it in
 *       every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). `rules` is an array of
 *       { syscall, clauses: [{ when: [{ arg, values, mask? }], action }], otherwise }:
 *       the first clause whose conditions all hold gives the action, else `otherwise`.
 *       A condition looks at the low 32 bits of argument `arg` (the kernel reads every
 *       argument tested here as a 32-bit value): it holds if (arg & mask) is one of
 *       `values` (mask 0xffffffff if absent). Actions are SECCOMP_RET_* values.
 *       A system call no rule names gets `defaultAction`; another architecture, or the
 *       x32 ABI, kills the process. Returns how many rules this architecture has.
 *   landlock(removeFilesBelow, scopeSignals)
 *       Where the kernel offers Landlock: denies the calling thread (and threads it
 *       starts later) every file-system access, except removing files anywhere below
 *       the directory open at descriptor `removeFilesBelow` (or null: nothing), which
 *       may have been opened before a chroot, and TCP bind/connect (ABI 4);
 *       with ABI 6, abstract Unix sockets outside the process and, if `scopeSignals`,
 *       signals to processes outside it. Returns the ABI version used, 0 if none.
 *
 * Both need no_new_privs set first (procctl.noNewPrivs()).
 */
#define _GNU_SOURCE /* O_PATH */
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "the sandbox knows x86_64 and aarch64 only"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#else
#define ARG_LOW(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#endif

#define MAX_PROGRAM 4096
#define MAX_VALUES 16
#define MAX_CLAUSES 4
#define MAX_CONDITIONS 3

/* Numbers C library headers older than these calls may lack; the same on both
 * architectures. Without them clone3 would fall to the default (kill) instead of
 * ENOSYS, and glibc 2.34 and later, which tries clone3 first, could start no thread. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif

static const struct {
	const char *name;
	long nr;
} syscall_numbers[] = {
#define SYSCALL(name, nr) {#name, nr},
#include "syscalls.h"
#undef SYSCALL
};

static napi_value fail(napi_env env, const char *what) {
	napi_throw_error(env, NULL, what);
	return NULL;
}

static napi_value fail_errno(napi_env env, const char *what, int err) {
	char text[4096 + 128];
	snprintf(text, sizeof text, "%s: %s", what, strerror(err));
	return fail(env, text);
}

/** The number of `name` here, -1 if this architecture lacks it, -2 if the name is unknown. */
static long syscall_number(const char *name) {
	for (size_t i = 0; i < sizeof syscall_numbers / sizeof syscall_numbers[0]; i++)
		if (strcmp(syscall_numbers[i].name, name) == 0) return syscall_numbers[i].nr;
	return -2;
}

struct program {
	struct sock_filter insns[MAX_PROGRAM];
	size_t length;
};

/* Appends one instruction; throws if the program would outgrow the kernel's limit. */
static int emit(napi_env env, struct program *p, struct sock_filter insn) {
	if (p->length >= MAX_PROGRAM) {
		fail(env, "procctl.seccomp: program longer than 4096 instructions");
		return -1;
	}
	p->insns[p->length++] = insn;
	return 0;
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

static int get_uint32(napi_env env, napi_value object, const char *key, uint32_t *out) {
	napi_value v;
	if (get_property(env, object, key, &v) != 0 || v == NULL || napi_get_value_uint32(env, v, out) != napi_ok) {
		char text[96];
		snprintf(text, sizeof text, "procctl.seccomp: %s must be a number", key);
		fail(env, text);
		return -1;
	}
	return 0;
}

static int get_array(napi_env env, napi_value object, const char *key, napi_value *out, uint32_t *length) {
	bool is_array = false;
	*length = 0;
	if (get_property(env, object, key, out) != 0) return -1;
	if (*out == NULL) return 0;
	if (napi_is_array(env, *out, &is_array) != napi_ok || !is_array || napi_get_array_length(env, *out, length) != napi_ok) {
		char text[96];
		snprintf(text, sizeof text, "procctl.seccomp: %s must be an array", key);
		fail(env, text);
		return -1;
	}
	return 0;
}

struct condition {
	uint32_t arg, mask, count;
	uint32_t values[MAX_VALUES];
};

static int read_condition(napi_env env, napi_value object, struct condition *c) {
	napi_value values;
	c->mask = 0xffffffff;
	if (get_uint32(env, object, "arg", &c->arg) != 0 || get_array(env, object, "values", &values, &c->count) != 0) return -1;
	napi_value mask;
	if (get_property(env, object, "mask", &mask) != 0) return -1;
	if (mask != NULL && get_uint32(env, object, "mask", &c->mask) != 0) return -1;
	if (c->arg > 5) return fail(env, "procctl.seccomp: arg is 0..5"), -1;
	if (c->count == 0 || c->count > MAX_VALUES) return fail(env, "procctl.seccomp: a condition has 1 to 16 values"), -1;
	for (uint32_t i = 0; i < c->count; i++) {
		napi_value item;
		if (napi_get_element(env, values, i, &item) != napi_ok || napi_get_value_uint32(env, item, &c->values[i]) != napi_ok)
			return fail(env, "procctl.seccomp: values are numbers"), -1;
	}
	return 0;
}

static uint32_t condition_length(const struct condition *c) {
	return 1 + (c->mask != 0xffffffff ? 1 : 0) + c->count;
}

/*
 * One clause: each condition loads its argument's low word, masks it, and compares it
 * with its values; a match goes on to the next condition (after the last, to the
 * clause's return), a mismatch skips the rest of the clause.
 */
static int compile_clause(napi_env env, napi_value clause, struct program *body) {
	uint32_t action, count;
	napi_value when;
	struct condition conditions[MAX_CONDITIONS];
	if (get_uint32(env, clause, "action", &action) != 0 || get_array(env, clause, "when", &when, &count) != 0) return -1;
	if (count == 0 || count > MAX_CONDITIONS) return fail(env, "procctl.seccomp: a clause has 1 to 3 conditions"), -1;
	for (uint32_t i = 0; i < count; i++) {
		napi_value item;
		if (napi_get_element(env, when, i, &item) != napi_ok || read_condition(env, item, &conditions[i]) != 0) return -1;
	}
	/* What a mismatch in condition i skips: the later conditions and the return. */
	uint32_t after[MAX_CONDITIONS];
	for (uint32_t i = 0; i < count; i++) {
		after[i] = 1;
		for (uint32_t j = i + 1; j < count; j++) after[i] += condition_length(&conditions[j]);
	}
	for (uint32_t i = 0; i < count; i++) {
		const struct condition *c = &conditions[i];
		if (emit(env, body, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(c->arg))) != 0) return -1;
		if (c->mask != 0xffffffff && emit(env, body, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, c->mask)) != 0) return -1;
		for (uint32_t v = 0; v < c->count; v++) {
			bool last = v + 1 == c->count;
			uint8_t on_match = (uint8_t)(c->count - 1 - v);
			uint8_t on_mismatch = (uint8_t)(last ? after[i] : 0);
			if (emit(env, body, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, c->values[v], on_match, on_mismatch)) != 0) return -1;
		}
	}
	return emit(env, body, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* One rule: compare the system call number (in A), and run the clauses if it matches. */
static int compile_rule(napi_env env, napi_value rule, struct program *p, uint32_t *compiled) {
	char name[64];
	size_t name_length;
	napi_value name_value, clauses;
	uint32_t otherwise, clause_count;
	if (get_property(env, rule, "syscall", &name_value) != 0 || name_value == NULL ||
	    napi_get_value_string_utf8(env, name_value, name, sizeof name, &name_length) != napi_ok)
		return fail(env, "procctl.seccomp: syscall must be a name"), -1;
	if (get_uint32(env, rule, "otherwise", &otherwise) != 0 || get_array(env, rule, "clauses", &clauses, &clause_count) != 0)
		return -1;
	if (clause_count > MAX_CLAUSES) return fail(env, "procctl.seccomp: too many clauses"), -1;
	long nr = syscall_number(name);
	if (nr == -2) {
		char text[128];
		snprintf(text, sizeof text, "procctl.seccomp: unknown system call %s (native/syscalls.h)", name);
		return fail(env, text), -1;
	}
	if (nr == -1) return 0;

	struct program body = {.length = 0};
	for (uint32_t i = 0; i < clause_count; i++) {
		napi_value clause;
		if (napi_get_element(env, clauses, i, &clause) != napi_ok || compile_clause(env, clause, &body) != 0) return -1;
	}
	if (emit(env, &body, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, otherwise)) != 0) return -1;
	if (body.length > 255) return fail(env, "procctl.seccomp: rule too long"), -1;
	/* Every body ends in a return, so A still holds the number at the next rule. */
	if (emit(env, p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, (uint8_t)body.length)) != 0) return -1;
	for (size_t i = 0; i < body.length; i++)
		if (emit(env, p, body.insns[i]) != 0) return -1;
	(*compiled)++;
	return 0;
}

napi_value sandbox_seccomp(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2];
	uint32_t rule_count, default_action, compiled = 0;
	bool is_array = false;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[0], &rule_count) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &default_action) != napi_ok) {
		napi_throw_type_error(env, NULL, "procctl.seccomp(rules, defaultAction)");
		return NULL;
	}

	struct program *p = calloc(1, sizeof *p);
	if (p == NULL) return fail(env, "procctl.seccomp: out of memory");
	/* Each step throws (and gives non-zero) on a bad rule or a program that is too long. */
	int bad = emit(env, p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))) ||
		  emit(env, p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0)) ||
		  emit(env, p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)) ||
		  emit(env, p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	/* x32 system calls share the architecture value; their numbers have bit 30 set. */
	bad = bad || emit(env, p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1)) ||
	      emit(env, p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (uint32_t i = 0; !bad && i < rule_count; i++) {
		napi_value rule;
		if (napi_get_element(env, argv[0], i, &rule) != napi_ok) {
			fail(env, "procctl.seccomp: cannot read a rule");
			bad = 1;
		} else {
			bad = compile_rule(env, rule, p, &compiled) != 0;
		}
	}
	bad = bad || emit(env, p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, default_action));
	if (bad) {
		free(p);
		return NULL;
	}

	struct sock_fprog prog = {.len = (unsigned short)p->length, .filter = p->insns};
	long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	int err = errno;
	free(p);
	if (result < 0) return fail_errno(env, "seccomp(SECCOMP_SET_MODE_FILTER)", err);
	if (result > 0) {
		char text[128];
		snprintf(text, sizeof text, "seccomp: thread %ld could not take the filter", result);
		return fail(env, text);
	}
	napi_value out;
	napi_create_uint32(env, compiled, &out);
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
