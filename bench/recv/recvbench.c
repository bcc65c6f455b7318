/*
 * What the raw-socket reader's receiving costs per packet, IPv4 against IPv6, in one run
 * (bench/recv.ts): CPU time in recvmmsg(2) and in the reader's per-message work, with and
 * without the ancillary data each family asks for. Run in a network namespace of its
 * own (root): it sends spoofed-looking SYNs with a wrong checksum to its own loopback.
 *
 *   recvbench PACKETS ROUNDS    prints one line per variant and round:
 *                               variant round ns-in-recvmmsg ns-after ns-total control-bytes-per-batch
 *                               then, per round, the channel's CPU ns per record for
 *                               20- and 52-byte records
 *
 * The kernel hands a loopback packet to the raw sockets in the sender's context, so the
 * timed part is the reader's own: the system call that dequeues and copies out each
 * packet and its ancillary data, and the walk and header building after it
 * (native/ancillary.h, the reader's own code).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../native/ancillary.h"

#define SLOTS 256 /* the capture process's batch (src/capture/source.ts) */
#define SNAPLEN 80
#define CONTROL_BYTES (CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + 2 * CMSG_SPACE(sizeof(int)))

/* What a variant asks the kernel for, and whether it builds the IPv6 header. */
#define SIX 1
#define NAME 2
#define OVFL 4
#define PKTINFO 8
#define HOPLIMIT 16
#define TCLASS 32
#define BUILD 64
static const struct {
	int flags;
	const char *name;
} VARIANTS[] = {
    {0, "ipv4, no ancillary data"},
    {OVFL, "ipv4, SO_RXQ_OVFL (as shipped)"},
    {NAME, "ipv4, with the source's name"},
    {SIX, "ipv6, nothing asked for"},
    {SIX | NAME, "ipv6, the source's name"},
    {SIX | NAME | PKTINFO, "ipv6, name + IPV6_PKTINFO"},
    {SIX | NAME | PKTINFO | HOPLIMIT, "ipv6, name + PKTINFO + HOPLIMIT"},
    {SIX | NAME | PKTINFO | HOPLIMIT | TCLASS | OVFL | BUILD, "ipv6, name + 3 items + SO_RXQ_OVFL, header built (as shipped)"},
};
#define COUNT (int)(sizeof VARIANTS / sizeof VARIANTS[0])

static unsigned char data[SLOTS][SNAPLEN];
static struct mmsghdr msgs[SLOTS];
static struct iovec iov[SLOTS];
static struct sockaddr_in6 names[SLOTS];
static union {
	struct cmsghdr align;
	unsigned char bytes[CONTROL_BYTES];
} control[SLOTS];
static uint32_t lengths[SLOTS];
static uint32_t drops;

static void die(const char *what) {
	perror(what);
	exit(1);
}

static double now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void loopback_up(void) {
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) die("SIOCSIFFLAGS lo");
	close(fd);
}

static int receiver(int flags) {
	int six = flags & SIX;
	int fd = socket(six ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_TCP);
	const int on = 1, bytes = 64 << 20;
	if (fd < 0) die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) die("SO_RCVBUFFORCE");
	if ((flags & OVFL) && setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) die("SO_RXQ_OVFL");
	if ((flags & PKTINFO) && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0) die("IPV6_RECVPKTINFO");
	if ((flags & HOPLIMIT) && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0) die("IPV6_RECVHOPLIMIT");
	if ((flags & TCLASS) && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on) != 0) die("IPV6_RECVTCLASS");
	return fd;
}

/* A SYN from a different source port each time, its checksum wrong so that TCP drops it unanswered. */
static void send_burst(int fd, int six, unsigned count, unsigned seed) {
	unsigned char tcp[20];
	struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	for (unsigned i = 0; i < count; i++) {
		memset(tcp, 0, sizeof tcp);
		unsigned port = 1024 + (seed + i) % 60000;
		tcp[0] = (unsigned char)(port >> 8);
		tcp[1] = (unsigned char)port;
		tcp[3] = 80;
		tcp[12] = 5 << 4;
		tcp[13] = 0x02;
		tcp[16] = 0xde; /* the checksum: wrong */
		ssize_t n = six ? sendto(fd, tcp, sizeof tcp, 0, (struct sockaddr *)&to6, sizeof to6)
		                : sendto(fd, tcp, sizeof tcp, 0, (struct sockaddr *)&to4, sizeof to4);
		if (n != (ssize_t)sizeof tcp) die("sendto");
	}
}

/* Reads `count` packets as the reader does; adds the time in recvmmsg and after it. */
static void drain(int fd, int flags, unsigned count, double *in_call, double *after, double *control_bytes) {
	int name = flags & NAME, control_asked = flags & (OVFL | PKTINFO | HOPLIMIT | TCLASS);
	unsigned header = flags & BUILD ? IP6_HEADER : 0;
	for (unsigned i = 0; i < SLOTS; i++) {
		iov[i].iov_base = data[i] + header;
		iov[i].iov_len = SNAPLEN - header;
		memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (control_asked) msgs[i].msg_hdr.msg_control = control[i].bytes;
		if (name) msgs[i].msg_hdr.msg_name = &names[i];
	}
	unsigned got = 0;
	while (got < count) {
		double t0 = now_ns();
		for (unsigned i = 0; i < SLOTS; i++) {
			if (name) msgs[i].msg_hdr.msg_namelen = sizeof names[i];
			if (control_asked) msgs[i].msg_hdr.msg_controllen = sizeof control[i];
		}
		int n = recvmmsg(fd, msgs, SLOTS, MSG_DONTWAIT, NULL);
		double t1 = now_ns();
		if (n < 0) {
			if (errno == EAGAIN) {
				fprintf(stderr, "recvbench: %u of %u packets arrived\n", got, count);
				exit(1);
			}
			die("recvmmsg");
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &msgs[i].msg_hdr;
			*control_bytes += m->msg_controllen;
			if (flags & BUILD) {
				lengths[i] = build_ip6_header(m, msgs[i].msg_len, &names[i].sin6_addr, IPPROTO_TCP, data[i], &drops);
				if (lengths[i] == 0) {
					fprintf(stderr, "recvbench: ancillary data missing\n");
					exit(1);
				}
				continue;
			}
			if (m->msg_controllen > 0)
				for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) note_drops(&drops, cm);
			lengths[i] = msgs[i].msg_len;
		}
		double t2 = now_ns();
		*in_call += t1 - t0;
		*after += t2 - t1;
		got += (unsigned)n;
	}
}

/*
 * The channel's part: records of `size` bytes written to a stream socketpair in
 * batches of `batch` and read back, CPU ns per record (the write is the capture
 * process's, the read the monitor's).
 */
static double channel_ns(unsigned size, unsigned batch, unsigned records) {
	static unsigned char out[2048 * 64], in[2048 * 64];
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) die("socketpair");
	size_t bytes = (size_t)size * batch;
	memset(out, 0x5a, bytes);
	double t0 = now_ns();
	for (unsigned done = 0; done < records; done += batch) {
		if (write(pair[0], out, bytes) != (ssize_t)bytes) die("write");
		for (size_t got = 0; got < bytes;) {
			ssize_t n = read(pair[1], in, bytes - got);
			if (n <= 0) die("read");
			got += (size_t)n;
		}
	}
	double t1 = now_ns();
	close(pair[0]);
	close(pair[1]);
	return (t1 - t0) / records;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: recvbench PACKETS ROUNDS (in a network namespace of its own)\n");
		return 2;
	}
	unsigned packets = (unsigned)strtoul(argv[1], NULL, 10), rounds = (unsigned)strtoul(argv[2], NULL, 10);
	const unsigned burst = 4096;
	if (packets < burst || rounds == 0) return 2;
	loopback_up();
	for (unsigned round = 0; round < rounds; round++) {
		/* The variants alternate within each round, so that a busy spell hits them alike. */
		for (int v = 0; v < COUNT; v++) {
			int six = VARIANTS[v].flags & SIX;
			int rx = receiver(VARIANTS[v].flags);
			/* The sender's own queue is kept tiny: it receives its packets too and drops them. */
			int tx = socket(six ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_TCP);
			const int small = 1;
			if (tx < 0) die("socket");
			(void)setsockopt(tx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
			double in_call = 0, after = 0, control_bytes = 0;
			for (unsigned done = 0; done < packets; done += burst) {
				send_burst(tx, six, burst, done + round);
				drain(rx, VARIANTS[v].flags, burst, &in_call, &after, &control_bytes);
			}
			printf("%d %u %.1f %.1f %.1f %.0f\n", v, round, in_call / packets, after / packets, (in_call + after) / packets,
			       control_bytes / packets * SLOTS);
			close(rx);
			close(tx);
		}
		/* 300 records a flush: what 1 ms of a 300k/s flood gives (the reader naps 1 ms). */
		printf("channel %u 20-byte records %.1f\n", round, channel_ns(20, 300, packets));
		printf("channel %u 52-byte records %.1f\n", round, channel_ns(52, 300, packets));
	}
	for (int v = 0; v < COUNT; v++) printf("# %d %s\n", v, VARIANTS[v].name);
	return 0;
}
