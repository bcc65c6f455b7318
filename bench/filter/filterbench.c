/*
 * The seccomp filter benchmark's two tools (bench/filter.ts):
 *
 *   filterbench dump PID INDEX    writes filter INDEX of process PID to stdout as struct
 *                                 sock_filter entries, read back from the kernel
 *                                 (PTRACE_SECCOMP_GET_FILTER; root), so both compilers'
 *                                 programs are seen as installed. The kernel counts
 *                                 INDEX from the oldest filter (0), whatever
 *                                 ptrace(2) says.
 *   filterbench run FILE N CALL...  installs the program in FILE (none if FILE is "-")
 *                                 and prints the mean nanoseconds of N calls of each
 *                                 CALL (getpid, write, fcntl, recvmmsg)
 *
 * The calls are made directly (syscall(2)), so only the kernel's entry, the filter and
 * the call itself are timed. The descriptors are 3 (/dev/null) and 4 (a UDP socket),
 * neither of which the policies single out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

static int dump(pid_t pid, long index) {
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) return perror("PTRACE_ATTACH"), 1;
	int status;
	if (waitpid(pid, &status, 0) != pid) return perror("waitpid"), 1;
	long count = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, NULL);
	if (count <= 0) return perror("PTRACE_SECCOMP_GET_FILTER"), 1;
	struct sock_filter *insns = calloc((size_t)count, sizeof *insns);
	if (insns == NULL || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, insns) != count) return perror("PTRACE_SECCOMP_GET_FILTER"), 1;
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return fwrite(insns, sizeof *insns, (size_t)count, stdout) == (size_t)count ? 0 : 1;
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int run(const char *file, long n, char **calls, int ncalls) {
	int null_fd = open("/dev/null", O_WRONLY);
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (null_fd != 3 || udp != 4) return fprintf(stderr, "expected descriptors 3 and 4, got %d and %d\n", null_fd, udp), 1;
	if (strcmp(file, "-") != 0) {
		static struct sock_filter insns[4096];
		FILE *f = fopen(file, "rb");
		if (f == NULL) return perror(file), 1;
		size_t count = fread(insns, sizeof insns[0], 4096, f);
		fclose(f);
		struct sock_fprog prog = {.len = (unsigned short)count, .filter = insns};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
			return perror("seccomp"), 1;
	}
	struct mmsghdr msgs[1];
	char buf[64];
	struct iovec iov = {buf, sizeof buf};
	memset(msgs, 0, sizeof msgs);
	msgs[0].msg_hdr.msg_iov = &iov;
	msgs[0].msg_hdr.msg_iovlen = 1;
	for (int c = 0; c < ncalls; c++) {
		double t0 = now_ns();
		if (strcmp(calls[c], "getpid") == 0)
			for (long i = 0; i < n; i++) syscall(SYS_getpid);
		else if (strcmp(calls[c], "write") == 0)
			for (long i = 0; i < n; i++) syscall(SYS_write, 3, "x", 1);
		else if (strcmp(calls[c], "fcntl") == 0)
			for (long i = 0; i < n; i++) syscall(SYS_fcntl, 4, F_GETFL);
		else if (strcmp(calls[c], "recvmmsg") == 0)
			for (long i = 0; i < n; i++) syscall(SYS_recvmmsg, 4, msgs, 1, MSG_DONTWAIT, NULL);
		else
			return fprintf(stderr, "unknown call %s\n", calls[c]), 1;
		printf("%s %.1f\n", calls[c], (now_ns() - t0) / (double)n);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 4 && strcmp(argv[1], "dump") == 0) return dump((pid_t)atoi(argv[2]), atol(argv[3]));
	if (argc >= 5 && strcmp(argv[1], "run") == 0) return run(argv[2], atol(argv[3]), argv + 4, argc - 4);
	fprintf(stderr, "usage: filterbench dump PID INDEX | filterbench run FILE|- N CALL...\n");
	return 2;
}
