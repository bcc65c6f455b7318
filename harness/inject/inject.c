/*
 * scanlogd-inject: makes system calls from inside one thread of a running process, as
 * that thread (its credentials, root directory, seccomp filters, Landlock domain), the
 * way a compromised process would make them. The isolation tests attack the daemon's
 * two halves with it. Run as root.
 *
 *   scanlogd-inject TID CALL...
 *
 * CALL is one argument: a system call name from the table below (or nr:NUMBER), then up to six
 * arguments, separated by spaces. An argument is an integer (strtoll, base 0: decimal,
 * 0x hex, negative allowed) or hex:BYTES, a byte string that is copied below the thread's
 * stack pointer (past the 128-byte red zone) and passed as its address, or rights:FD, a
 * message that passes descriptor FD: a struct msghdr (with a zero msg_len after it, so
 * that it also reads as one struct mmsghdr) whose one-byte iovec and SCM_RIGHTS control
 * message are placed beside it, its pointers set to where they land.
 *
 * How: PTRACE_SEIZE and PTRACE_INTERRUPT stop the thread; only its general registers
 * are saved. Each call runs on a syscall instruction with the call's number and
 * arguments in the registers and orig_rax (aarch64: the syscall number register) set
 * to -1, so that a call the thread was blocked in when it stopped is not restarted
 * on top of ours; one PTRACE_SINGLESTEP executes it and the return register is read.
 * The instruction is the thread's own when it stopped just after one (blocked in a
 * system call, as an idle event loop is); otherwise the first one found in the code of
 * the C library it has mapped. Then the saved registers go back and the thread is
 * detached: a call it was blocked in is restarted or fails with EINTR exactly as after
 * any signal. Signals that arrive while it is held are re-sent to it after the detach
 * (their siginfo is not kept). Memory below the stack pointer is not restored: nothing
 * lives there.
 *
 * Output, one line each, in order:
 *   via own ADDR          calls run on the instruction the thread stopped after
 *   via libc ADDR PATH    the thread was not after one; calls run on this one instead
 *   ret I VALUE           call I (from 0) returned VALUE
 *   err I ERRNO NAME      call I failed: VALUE was -ERRNO
 *   exec I                call I was a successful execve: the image is gone, the saved
 *                         registers are not put back, later calls are not made
 *   died I SIGNAL NAME    the process was killed by SIGNAL during call I; nothing more
 *   exited I STATUS       the process exited during call I; nothing more
 *   detached              the registers are back and the thread runs on
 * Exit status 0 after any of these endings. 1, with the reason on stderr, when the
 * injector could not make the calls at all; the output then counts for nothing, and the
 * thread gets its registers back if it had been stopped. Output is written only at the
 * end. Killed by a signal half way, the injector would leave the thread running with
 * the injected registers: the kernel's detach at a tracer's exit restores nothing.
 *
 * x86_64 is tested (test/harness/inject.test.ts). The aarch64 part builds with Debian's
 * cross compiler but has never run on an aarch64 machine. There it refuses a thread
 * stopped inside a restartable call: the kernel restarts such a call with a copy of its
 * first argument (orig_x0) that ptrace cannot read back and that the injected calls
 * overwrite.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 6
/* Bytes past the stack pointer left alone: the x86_64 red zone (aarch64 has none). */
#define RED_ZONE 128
/* Every byte-string argument of one call together; well within any thread's stack. */
#define MAX_BUFFER_BYTES 4096
#define MAX_HELD_SIGNALS 8
/* Pointers inside one call's byte strings (a message's iovec and control buffer). */
#define MAX_RELOCATIONS 8

static const struct {
	const char *name;
	long nr;
} CALLS[] = {
	{ "bind", SYS_bind },
	{ "clone", SYS_clone },
	{ "clone3", SYS_clone3 },
	{ "close", SYS_close },
	{ "connect", SYS_connect },
	{ "dup", SYS_dup },
	{ "dup3", SYS_dup3 },
	{ "execve", SYS_execve },
	{ "fcntl", SYS_fcntl },
	{ "ftruncate", SYS_ftruncate },
	{ "getpid", SYS_getpid },
	{ "getsockopt", SYS_getsockopt },
	{ "io_uring_setup", SYS_io_uring_setup },
	{ "ioctl", SYS_ioctl },
	{ "kill", SYS_kill },
	{ "lseek", SYS_lseek },
	{ "mremap", SYS_mremap },
	{ "newfstatat", SYS_newfstatat },
	{ "openat", SYS_openat },
	{ "ppoll", SYS_ppoll },
	{ "prctl", SYS_prctl },
	{ "prlimit64", SYS_prlimit64 },
	{ "ptrace", SYS_ptrace },
	{ "pwrite64", SYS_pwrite64 },
	{ "readlinkat", SYS_readlinkat },
	{ "renameat", SYS_renameat },
	{ "sendmmsg", SYS_sendmmsg },
	{ "sendmsg", SYS_sendmsg },
	{ "sendto", SYS_sendto },
	{ "setsockopt", SYS_setsockopt },
	{ "setuid", SYS_setuid },
	{ "shutdown", SYS_shutdown },
	{ "socket", SYS_socket },
	{ "statx", SYS_statx },
	{ "tgkill", SYS_tgkill },
	{ "unlinkat", SYS_unlinkat },
	{ "write", SYS_write },
	{ "writev", SYS_writev },
#ifdef SYS_open
	{ "open", SYS_open },
#endif
#ifdef SYS_poll
	{ "poll", SYS_poll },
#endif
#ifdef SYS_readlink
	{ "readlink", SYS_readlink },
#endif
#ifdef SYS_unlink
	{ "unlink", SYS_unlink },
#endif
};

static pid_t tid;
static int held_signals[MAX_HELD_SIGNALS];
static int held_count;
/* Set once the thread is stopped and its registers saved: from then on, a failure puts them back. */
static void (*undo)(void);

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "scanlogd-inject: thread %d: ", (int)tid);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	/*
	 * Leaving without this would let the thread go on with the injected registers and the
	 * trap flag: the kernel's detach at the tracer's exit clears neither.
	 */
	if (undo != NULL) {
		void (*once)(void) = undo;
		undo = NULL;
		once();
	}
	exit(1);
}

/* ---- what differs between architectures ---- */

#if defined(__x86_64__)
typedef struct user_regs_struct regs_t;
#define INSN_BYTES 2

static int is_syscall_insn(const unsigned char *b) {
	return b[0] == 0x0f && b[1] == 0x05;
}

static void get_regs(regs_t *r) {
	if (ptrace(PTRACE_GETREGS, tid, 0, r) != 0) fail("PTRACE_GETREGS: %s", strerror(errno));
}

static int try_set_regs(const regs_t *r) {
	return ptrace(PTRACE_SETREGS, tid, 0, r);
}

static void set_regs(const regs_t *r) {
	if (try_set_regs(r) != 0) fail("PTRACE_SETREGS: %s", strerror(errno));
}

static uint64_t pc_of(const regs_t *r) {
	return r->rip;
}

static uint64_t sp_of(const regs_t *r) {
	return r->rsp;
}

static long result_of(const regs_t *r) {
	return (long)r->rax;
}

static void set_call(const regs_t *saved, uint64_t at, long nr, const uint64_t *a) {
	regs_t r = *saved;
	r.rip = at;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = a[0];
	r.rsi = a[1];
	r.rdx = a[2];
	r.r10 = a[3];
	r.r8 = a[4];
	r.r9 = a[5];
	set_regs(&r);
}

static void check_stopped_state(const regs_t *saved) {
	(void)saved; /* orig_rax is among the general registers: restoring them restores it */
}

static int restore_regs(const regs_t *saved) {
	return try_set_regs(saved);
}

#elif defined(__aarch64__)
#include <asm/ptrace.h>
typedef struct user_pt_regs regs_t;
#define INSN_BYTES 4
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

static int saved_syscallno;

static int is_syscall_insn(const unsigned char *b) {
	return b[0] == 0x01 && b[1] == 0x00 && b[2] == 0x00 && b[3] == 0xd4; /* svc #0 */
}

static void regset(int request, int type, void *data, size_t size, const char *what) {
	struct iovec io = { data, size };
	if (ptrace(request, tid, (void *)(long)type, &io) != 0) fail("%s: %s", what, strerror(errno));
}

static void get_regs(regs_t *r) {
	regset(PTRACE_GETREGSET, NT_PRSTATUS, r, sizeof *r, "PTRACE_GETREGSET NT_PRSTATUS");
}

static void set_regs(const regs_t *r) {
	regset(PTRACE_SETREGSET, NT_PRSTATUS, (void *)r, sizeof *r, "PTRACE_SETREGSET NT_PRSTATUS");
}

static void set_syscallno(int nr) {
	regset(PTRACE_SETREGSET, NT_ARM_SYSTEM_CALL, &nr, sizeof nr, "PTRACE_SETREGSET NT_ARM_SYSTEM_CALL");
}

static int try_regset(int type, void *data, size_t size) {
	struct iovec io = { data, size };
	return ptrace(PTRACE_SETREGSET, tid, (void *)(long)type, &io);
}

static uint64_t pc_of(const regs_t *r) {
	return r->pc;
}

static uint64_t sp_of(const regs_t *r) {
	return r->sp;
}

static long result_of(const regs_t *r) {
	return (long)r->regs[0];
}

static void set_call(const regs_t *saved, uint64_t at, long nr, const uint64_t *a) {
	regs_t r = *saved;
	r.pc = at;
	r.regs[8] = (uint64_t)nr;
	for (int i = 0; i < MAX_ARGS; i++) r.regs[i] = a[i];
	set_regs(&r);
	set_syscallno(-1);
}

static void check_stopped_state(const regs_t *saved) {
	regset(PTRACE_GETREGSET, NT_ARM_SYSTEM_CALL, &saved_syscallno, sizeof saved_syscallno, "PTRACE_GETREGSET NT_ARM_SYSTEM_CALL");
	long x0 = (long)saved->regs[0];
	if (saved_syscallno >= 0 && x0 <= -ERESTARTSYS && x0 >= -ERESTART_RESTARTBLOCK)
		fail("stopped inside a restartable system call (%d), whose first argument cannot be restored on aarch64", saved_syscallno);
}

static int restore_regs(const regs_t *saved) {
	int nr = saved_syscallno;
	if (try_regset(NT_PRSTATUS, (void *)saved, sizeof *saved) != 0) return -1;
	return try_regset(NT_ARM_SYSTEM_CALL, &nr, sizeof nr);
}

#else
#error "scanlogd-inject: only x86_64 and aarch64 are supported"
#endif

/* ---- the thread's memory ---- */

static void poke_bytes(uint64_t addr, const unsigned char *bytes, size_t len) {
	for (size_t done = 0; done < len; done += sizeof(long)) {
		long word = 0;
		size_t n = len - done < sizeof word ? len - done : sizeof word;
		if (n < sizeof word) {
			/* A partial last word: keep the bytes beyond the string as they are. */
			errno = 0;
			word = ptrace(PTRACE_PEEKDATA, tid, (void *)(addr + done), 0);
			if (errno != 0) fail("PTRACE_PEEKDATA at 0x%" PRIx64 ": %s", addr + done, strerror(errno));
		}
		memcpy(&word, bytes + done, n);
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(addr + done), (void *)word) != 0)
			fail("PTRACE_POKEDATA at 0x%" PRIx64 ": %s", addr + done, strerror(errno));
	}
}

/* The first syscall instruction in an executable mapping of the C library. */
static uint64_t find_in_libc(char *path_out, size_t path_size) {
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", (int)tid);
	FILE *maps = fopen(name, "r");
	if (maps == NULL) fail("%s: %s", name, strerror(errno));
	snprintf(name, sizeof name, "/proc/%d/mem", (int)tid);
	int mem = open(name, O_RDONLY | O_CLOEXEC);
	if (mem < 0) fail("%s: %s", name, strerror(errno));
	char line[4096];
	uint64_t found = 0;
	while (found == 0 && fgets(line, sizeof line, maps) != NULL) {
		uint64_t start, end;
		char perms[8];
		int path_at = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3 || path_at == 0) continue;
		char *path = line + path_at;
		path[strcspn(path, "\n")] = '\0';
		const char *base = strrchr(path, '/');
		base = base == NULL ? path : base + 1;
		if (perms[2] != 'x' || (strncmp(base, "libc.so", 7) != 0 && strncmp(base, "libc-", 5) != 0)) continue;
		unsigned char chunk[65536];
		for (uint64_t at = start; found == 0 && at < end;) {
			size_t want = end - at < sizeof chunk ? (size_t)(end - at) : sizeof chunk;
			ssize_t got = pread(mem, chunk, want, (off_t)at);
			if (got < INSN_BYTES) break;
			for (ssize_t i = 0; i + INSN_BYTES <= got; i += (INSN_BYTES == 4 ? 4 : 1)) {
				if (is_syscall_insn(chunk + i)) {
					found = at + (uint64_t)i;
					snprintf(path_out, path_size, "%s", path);
					break;
				}
			}
			/* Overlap by one instruction less a byte, so that none is split between chunks. */
			at += (uint64_t)got - (INSN_BYTES == 4 ? 0 : INSN_BYTES - 1);
		}
	}
	close(mem);
	fclose(maps);
	if (found == 0) fail("not stopped after a syscall instruction, and none found in an executable mapping of the C library");
	return found;
}

/* ---- stops ---- */

static void hold_signal(int sig) {
	if (held_count < MAX_HELD_SIGNALS) held_signals[held_count++] = sig;
}

enum stop_kind { STOP_EVENT, STOP_STEP, STOP_GONE };

/*
 * Waits for the thread's next stop. A signal meant for it is held (re-sent after the
 * detach) and the thread resumed with `resume` (PTRACE_CONT or PTRACE_SINGLESTEP) until
 * a stop of the wanted kind comes. *status is the final wait status.
 */
static enum stop_kind wait_stop(enum __ptrace_request resume, int *status) {
	for (;;) {
		if (waitpid(tid, status, __WALL) < 0) fail("waitpid: %s", strerror(errno));
		if (WIFEXITED(*status) || WIFSIGNALED(*status)) return STOP_GONE;
		if (!WIFSTOPPED(*status)) continue;
		int sig = WSTOPSIG(*status);
		int event = *status >> 16;
		if (event == PTRACE_EVENT_STOP) return STOP_EVENT;
		if (event == 0 && sig == SIGTRAP && resume == PTRACE_SINGLESTEP) return STOP_STEP;
		if (event == 0) hold_signal(sig);
		if (ptrace(resume, tid, 0, 0) != 0) fail("resuming after a stop: %s", strerror(errno));
	}
}

/* ---- calls ---- */

struct call {
	const char *text;
	long nr;
	int is_execve;
	uint64_t args[MAX_ARGS];
	unsigned char buffer[MAX_BUFFER_BYTES];
	size_t buffer_used;
	/* For each argument: its offset in buffer, or -1 for an integer. */
	long offsets[MAX_ARGS];
	/* Offsets in buffer of 64-bit words that hold an offset in buffer, made addresses when placed. */
	size_t relocations[MAX_RELOCATIONS];
	size_t relocation_count;
};

static int hex_digit(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Room for `size` bytes in the call's buffer, 16-byte aligned (as a struct passed by address may need); their offset. */
static size_t reserve(struct call *c, size_t size) {
	size_t at = (c->buffer_used + 15) & ~(size_t)15;
	if (at + size > MAX_BUFFER_BYTES) fail("'%s': byte strings too long", c->text);
	c->buffer_used = at + size;
	return at;
}

/* A word at `at` that will hold the address of buffer offset `target`. */
static void relocate(struct call *c, size_t at, size_t target) {
	if (c->relocation_count == MAX_RELOCATIONS) fail("'%s': too many pointers", c->text);
	uint64_t word = target;
	memcpy(c->buffer + at, &word, sizeof word);
	c->relocations[c->relocation_count++] = at;
}

/* rights:FD: a message carrying one byte and descriptor FD (see the top of the file). */
static size_t build_rights_message(struct call *c, int fd) {
	struct mmsghdr header;
	struct iovec iov;
	memset(&header, 0, sizeof header);
	size_t at = reserve(c, sizeof header);
	size_t iov_at = reserve(c, sizeof iov);
	size_t byte_at = reserve(c, 1);
	size_t control_at = reserve(c, CMSG_SPACE(sizeof fd));
	header.msg_hdr.msg_iovlen = 1;
	header.msg_hdr.msg_controllen = CMSG_SPACE(sizeof fd);
	memcpy(c->buffer + at, &header, sizeof header);
	relocate(c, at + offsetof(struct msghdr, msg_iov), iov_at);
	relocate(c, at + offsetof(struct msghdr, msg_control), control_at);
	memset(&iov, 0, sizeof iov);
	iov.iov_len = 1;
	memcpy(c->buffer + iov_at, &iov, sizeof iov);
	relocate(c, iov_at + offsetof(struct iovec, iov_base), byte_at);
	c->buffer[byte_at] = 'x';
	struct cmsghdr cmsg = {.cmsg_len = CMSG_LEN(sizeof fd), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS};
	memcpy(c->buffer + control_at, &cmsg, sizeof cmsg);
	memcpy(c->buffer + control_at + CMSG_LEN(0), &fd, sizeof fd);
	return at;
}

static void parse_call(const char *text, struct call *c) {
	char copy[2 * MAX_BUFFER_BYTES + 256];
	if (strlen(text) >= sizeof copy) fail("call too long: %.40s...", text);
	strcpy(copy, text);
	memset(c, 0, sizeof *c);
	c->text = text;
	char *save = NULL;
	char *name = strtok_r(copy, " ", &save);
	if (name == NULL) fail("empty call");
	c->nr = -1;
	for (size_t i = 0; i < sizeof CALLS / sizeof CALLS[0]; i++)
		if (strcmp(CALLS[i].name, name) == 0) c->nr = CALLS[i].nr;
	if (strncmp(name, "nr:", 3) == 0) {
		/* A number no name gives, such as another ABI's (x32: bit 30 set). */
		char *end;
		errno = 0;
		long nr = strtol(name + 3, &end, 0);
		if (errno == 0 && *end == '\0' && end != name + 3 && nr >= 0) c->nr = nr;
	}
	if (c->nr < 0) fail("unknown system call '%s' on this architecture", name);
	c->is_execve = c->nr == SYS_execve;
	int n = 0;
	for (char *tok; (tok = strtok_r(NULL, " ", &save)) != NULL; n++) {
		if (n == MAX_ARGS) fail("'%s': more than %d arguments", text, MAX_ARGS);
		c->offsets[n] = -1;
		if (strncmp(tok, "hex:", 4) == 0) {
			const char *hex = tok + 4;
			size_t len = strlen(hex);
			if (len % 2 != 0) fail("'%s': bad byte string", text);
			size_t at = reserve(c, len / 2);
			for (size_t i = 0; i < len / 2; i++) {
				int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
				if (hi < 0 || lo < 0) fail("'%s': bad hex in a byte string", text);
				c->buffer[at + i] = (unsigned char)(hi << 4 | lo);
			}
			c->offsets[n] = (long)at;
		} else if (strncmp(tok, "rights:", 7) == 0) {
			char *end;
			errno = 0;
			long fd = strtol(tok + 7, &end, 10);
			if (errno != 0 || *end != '\0' || fd < 0 || fd > INT32_MAX) fail("'%s': bad descriptor in '%s'", text, tok);
			c->offsets[n] = (long)build_rights_message(c, (int)fd);
		} else {
			char *end;
			errno = 0;
			long long v = strtoll(tok, &end, 0);
			if (errno != 0 || *end != '\0') fail("'%s': argument '%s' is neither an integer nor hex:BYTES", text, tok);
			c->args[n] = (uint64_t)v;
		}
	}
	for (; n < MAX_ARGS; n++) c->offsets[n] = -1;
}

/* Copies the call's byte strings below `sp` and points its arguments at them. */
static void place_buffers(struct call *c, uint64_t sp) {
	if (c->buffer_used == 0) return;
	uint64_t base = (sp - RED_ZONE - c->buffer_used) & ~(uint64_t)15;
	for (size_t i = 0; i < c->relocation_count; i++) {
		uint64_t word;
		memcpy(&word, c->buffer + c->relocations[i], sizeof word);
		word += base;
		memcpy(c->buffer + c->relocations[i], &word, sizeof word);
	}
	poke_bytes(base, c->buffer, c->buffer_used);
	for (int i = 0; i < MAX_ARGS; i++)
		if (c->offsets[i] >= 0) c->args[i] = base + (uint64_t)c->offsets[i];
}

static int thread_group_of(pid_t t) {
	char name[64], line[256];
	snprintf(name, sizeof name, "/proc/%d/status", (int)t);
	FILE *f = fopen(name, "r");
	int tgid = -1;
	if (f == NULL) return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Tgid: %d", &tgid) == 1) break;
	fclose(f);
	return tgid;
}

static regs_t saved;

/* Puts the saved registers back and lets the thread go; on the way out of a failure. */
static void restore_and_detach(void) {
	restore_regs(&saved);
	ptrace(PTRACE_DETACH, tid, 0, 0);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: scanlogd-inject TID 'NAME ARG...' ...\n");
		return 1;
	}
	/*
	 * Output is held until the end: an injector killed by a closed pipe half way would
	 * leave the thread with the injected registers.
	 */
	static char out[1 << 16];
	setvbuf(stdout, out, _IOFBF, sizeof out);
	signal(SIGPIPE, SIG_IGN);
	char *end;
	tid = (pid_t)strtol(argv[1], &end, 10);
	if (*end != '\0' || tid <= 0) fail("not a thread id: %s", argv[1]);
	int ncalls = argc - 2;
	struct call *calls = calloc((size_t)ncalls, sizeof *calls);
	if (calls == NULL) fail("out of memory");
	/* Every call is checked before the thread is touched. */
	for (int i = 0; i < ncalls; i++) parse_call(argv[i + 2], &calls[i]);
	int tgid = thread_group_of(tid);
	if (tgid < 0) fail("no such thread");

	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) fail("PTRACE_SEIZE: %s", strerror(errno));
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) fail("PTRACE_INTERRUPT: %s", strerror(errno));
	int status;
	if (wait_stop(PTRACE_CONT, &status) == STOP_GONE) fail("ended before it stopped (wait status 0x%x)", status);

	get_regs(&saved);
	check_stopped_state(&saved);
	undo = restore_and_detach;
	uint64_t at = pc_of(&saved) - INSN_BYTES;
	unsigned char insn[sizeof(long)];
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, tid, (void *)at, 0);
	if (errno != 0) fail("PTRACE_PEEKTEXT at 0x%" PRIx64 ": %s", at, strerror(errno));
	memcpy(insn, &word, sizeof insn);
	if (is_syscall_insn(insn)) {
		printf("via own 0x%" PRIx64 "\n", at);
	} else {
		char path[4096];
		at = find_in_libc(path, sizeof path);
		printf("via libc 0x%" PRIx64 " %s\n", at, path);
	}

	for (int i = 0; i < ncalls; i++) {
		struct call *c = &calls[i];
		place_buffers(c, sp_of(&saved));
		set_call(&saved, at, c->nr, c->args);
		if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0) fail("PTRACE_SINGLESTEP: %s", strerror(errno));
		enum stop_kind kind;
		while ((kind = wait_stop(PTRACE_SINGLESTEP, &status)) == STOP_EVENT) {
			/* A group stop or a late interrupt: the call has not run yet. */
			if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0) fail("PTRACE_SINGLESTEP: %s", strerror(errno));
		}
		if (kind == STOP_GONE) {
			undo = NULL;
			if (WIFSIGNALED(status)) {
				int sig = WTERMSIG(status);
				const char *abbrev = sigabbrev_np(sig);
				printf("died %d %d SIG%s\n", i, sig, abbrev == NULL ? "?" : abbrev);
			} else {
				printf("exited %d %d\n", i, WEXITSTATUS(status));
			}
			return 0;
		}
		regs_t after;
		get_regs(&after);
		long value = result_of(&after);
		if (value < 0 && value >= -4095) {
			const char *errname = strerrorname_np((int)-value);
			printf("err %d %ld %s\n", i, -value, errname == NULL ? "?" : errname);
		} else {
			printf("ret %d %ld\n", i, value);
		}
		if (c->is_execve && value == 0) {
			undo = NULL;
			printf("exec %d\n", i);
			ptrace(PTRACE_DETACH, tid, 0, 0);
			return 0;
		}
		if (pc_of(&after) != at + INSN_BYTES)
			fail("after call %d the thread is at 0x%" PRIx64 ", not after the syscall instruction", i, pc_of(&after));
	}

	if (restore_regs(&saved) != 0) fail("putting the registers back: %s", strerror(errno));
	undo = NULL;
	if (ptrace(PTRACE_DETACH, tid, 0, 0) != 0) fail("PTRACE_DETACH: %s", strerror(errno));
	for (int i = 0; i < held_count; i++) syscall(SYS_tgkill, tgid, tid, held_signals[i]);
	printf("detached\n");
	return 0;
}
