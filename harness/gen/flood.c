/*
 * scanlogd-flood: the packet source of the benchmark and the flood tests. Builds IPv4/TCP packets from a seeded
 * PRNG and sends them with sendmmsg(2) on a raw IPPROTO_RAW socket (IP_HDRINCL), so
 * that the same seed and count give the same packets for every daemon under test.
 * Bounded: it stops after --count packets, after --seconds, or on SIGTERM/SIGINT,
 * and prints one JSON line with what it sent.
 *
 * Modes
 *   syn    SYNs from random sources in --src-net to random ports (a spoofed flood)
 *   est    established-connection traffic: ACK and PSH+ACK (with payload) segments
 *          of --flows fixed connections, sequence numbers advancing
 *   scan   --scans port scans of 7 SYNs to privileged ports, each from its own source,
 *          --gap-us apart; prints "scan ADDR NS" with CLOCK_MONOTONIC just before the
 *          7th (threshold-crossing) packet is sent
 *   udp    UDP datagrams from random sources in --src-net to random ports
 *
 * With --dst6 ADDR (an IPv6 destination) the syn and udp modes send IPv6 instead, from
 * random sources in the /64 --src-net6 (default fd00:5d::/64), through an AF_INET6
 * IPPROTO_RAW socket (header included), or over --link as below.
 *
 * Transport: by default an IPPROTO_RAW socket (IP_HDRINCL). With --link DEV and
 * --dst-mac MAC, an AF_PACKET socket on DEV that bypasses the sender's IP output path
 * and qdisc, which is faster (the benchmark's "Generator ceiling" line says by how much
 * on the machine at hand); the IP packets are byte for byte the same.
 *
 * --checksum bad flips bits of the TCP checksum: the target's raw sockets still get
 * every packet (they see it before TCP checks it), but TCP then drops it without
 * answering, so the target does not send one RST per flood packet, which on a 2-core
 * machine would make the sender, not the daemon, the bottleneck.
 *
 * Only addresses given on the command line are used; the benchmark passes addresses
 * inside 198.18.0.0/15 and runs this in a network namespace of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define ETH_BYTES 14
#define HEADER_BYTES 40
#define PAYLOAD_BYTES 512
#define PACKET_ROOM (ETH_BYTES + HEADER_BYTES + PAYLOAD_BYTES)
#define SCAN_PACKETS 7 /* 7 privileged ports x weight 3 = scanlogd's threshold of 21 */

enum mode { MODE_SYN, MODE_EST, MODE_SCAN, MODE_UDP };
#define UDP_HEADER_BYTES 28 /* IPv4 header and UDP header */
#define IP6_TCP_BYTES 60
#define IP6_UDP_BYTES 48

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
	(void)sig;
	stop_requested = 1;
}

static void die(const char *what) {
	fprintf(stderr, "scanlogd-flood: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(const char *why) {
	fprintf(stderr,
		"scanlogd-flood: %s\n"
		"usage: scanlogd-flood --dst ADDR | --dst6 ADDR6 [--mode syn|est|scan|udp] [--src-net ADDR/LEN]\n"
		"       [--src-net6 PREFIX::/64]\n"
		"       [--rate PPS (0: as fast as possible)] [--count N] [--seconds S] [--seed N]\n"
		"       [--batch N] [--flows N] [--scans N] [--scan-first N] [--gap-us N]\n"
		"       [--checksum good|bad] [--link DEV --dst-mac MAC]\n",
		why);
	exit(2);
}

/* xorshift64*: fast, and the same sequence for the same seed on every run. */
static uint64_t rng_state;
static inline uint64_t rnd(void) {
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Waits until CLOCK_MONOTONIC reaches `due`: sleeps for long waits, spins the last bit. */
static void wait_until(uint64_t due) {
	for (;;) {
		uint64_t t = now_ns();
		if (t >= due || stop_requested) return;
		if (due - t > 120000) {
			uint64_t target = due - 60000;
			struct timespec ts = { (time_t)(target / 1000000000ULL), (long)(target % 1000000000ULL) };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
}

/* One's-complement sum of big-endian 16-bit words (length even). */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
	for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	return sum;
}

static uint16_t fold(uint32_t sum) {
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint8_t payload[PAYLOAD_BYTES];
static uint32_t payload_sum;
static uint16_t checksum_xor; /* 0, or a pattern that makes every TCP checksum wrong */

static inline void put16(uint8_t *p, uint16_t v) {
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Zeroes the first `headers` bytes of `buf` and writes an IPv4 header (no checksum yet) there. */
static void ip4_header(uint8_t *buf, size_t headers, size_t len, uint16_t id, uint8_t protocol, uint32_t saddr, uint32_t daddr) {
	memset(buf, 0, headers);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)len);
	put16(buf + 4, id);
	buf[8] = 64;
	buf[9] = protocol;
	put32(buf + 12, saddr);
	put32(buf + 16, daddr);
}

/*
 * Writes an IPv4/TCP packet into `buf` (addresses in host order) and returns its
 * length. Both checksums are computed here (the IP id too), so that the bytes do not
 * depend on the transport.
 */
static size_t build(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		    uint32_t seq, uint32_t ack, uint8_t flags, int with_payload) {
	size_t len = HEADER_BYTES + (with_payload ? PAYLOAD_BYTES : 0);
	uint8_t *ip = buf, *tcp = buf + 20;
	ip4_header(buf, HEADER_BYTES, len, (uint16_t)(seq | 1), IPPROTO_TCP, saddr, daddr);
	put16(tcp + 0, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	uint32_t sum = sum16(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(len - 20);
	sum = sum16(tcp, 20, sum);
	if (with_payload) {
		memcpy(buf + HEADER_BYTES, payload, PAYLOAD_BYTES);
		sum += payload_sum;
	}
	put16(tcp + 16, fold(sum) ^ checksum_xor);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	return len;
}

/* An IPv4/UDP datagram, 8 bytes of header and no payload; checksums as in build(). */
static size_t build_udp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint16_t id) {
	uint8_t *ip = buf, *udp = buf + 20;
	ip4_header(buf, UDP_HEADER_BYTES, UDP_HEADER_BYTES, id, IPPROTO_UDP, saddr, daddr);
	put16(udp + 0, sport);
	put16(udp + 2, dport);
	put16(udp + 4, 8);
	uint32_t sum = sum16(ip + 12, 8, 0) + IPPROTO_UDP + 8;
	sum = sum16(udp, 8, sum);
	put16(udp + 6, fold(sum) ^ checksum_xor);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	return UDP_HEADER_BYTES;
}

/* An IPv6 packet with a SYN (20-byte TCP header) or an 8-byte UDP header after it. */
static size_t build6(uint8_t *buf, const uint8_t saddr[16], const uint8_t daddr[16], uint16_t sport, uint16_t dport,
		     uint32_t seq, int udp) {
	size_t transport = udp ? 8 : 20;
	uint8_t *ip = buf, *l4 = buf + 40;
	memset(buf, 0, 40 + transport);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)transport);
	ip[6] = udp ? IPPROTO_UDP : IPPROTO_TCP;
	ip[7] = 64;
	memcpy(ip + 8, saddr, 16);
	memcpy(ip + 24, daddr, 16);
	put16(l4 + 0, sport);
	put16(l4 + 2, dport);
	if (udp) {
		put16(l4 + 4, 8);
	} else {
		put32(l4 + 4, seq);
		l4[12] = 5 << 4;
		l4[13] = 0x02;
		put16(l4 + 14, 64240);
	}
	uint32_t sum = sum16(ip + 8, 32, 0) + (uint32_t)transport + ip[6];
	sum = sum16(l4, transport, sum);
	put16(l4 + (udp ? 6 : 16), fold(sum) ^ checksum_xor);
	return 40 + transport;
}

struct flow {
	uint32_t saddr;
	uint16_t sport, dport;
	uint32_t seq, ack;
};

int main(int argc, char **argv) {
	enum mode mode = MODE_SYN;
	const char *dst_text = NULL, *net_text = "198.19.0.0/17", *link = NULL, *mac_text = NULL;
	const char *dst6_text = NULL, *net6_text = "fd00:5d::";
	double rate = 0, seconds = 10;
	uint64_t count = 100000, seed = 1, scans = 0, scan_first = 0, gap_us = 10000;
	int batch = 64, flows_n = 4096;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL) usage("missing value");
		if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "syn")) mode = MODE_SYN;
			else if (!strcmp(v, "est")) mode = MODE_EST;
			else if (!strcmp(v, "scan")) mode = MODE_SCAN;
			else if (!strcmp(v, "udp")) mode = MODE_UDP;
			else usage("unknown mode");
		} else if (!strcmp(a, "--dst")) dst_text = v;
		else if (!strcmp(a, "--dst6")) dst6_text = v;
		else if (!strcmp(a, "--src-net6")) net6_text = v;
		else if (!strcmp(a, "--src-net")) net_text = v;
		else if (!strcmp(a, "--rate")) rate = atof(v);
		else if (!strcmp(a, "--seconds")) seconds = atof(v);
		else if (!strcmp(a, "--count")) count = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--batch")) batch = atoi(v);
		else if (!strcmp(a, "--flows")) flows_n = atoi(v);
		else if (!strcmp(a, "--scans")) scans = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--scan-first")) scan_first = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--gap-us")) gap_us = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--link")) link = v;
		else if (!strcmp(a, "--dst-mac")) mac_text = v;
		else if (!strcmp(a, "--checksum")) {
			if (!strcmp(v, "good")) checksum_xor = 0;
			else if (!strcmp(v, "bad")) checksum_xor = 0x5a5a;
			else usage("--checksum is good or bad");
		}
		else usage("unknown option");
		i++;
	}
	int ipv6 = dst6_text != NULL;
	if ((dst_text == NULL) == !ipv6) usage("one of --dst and --dst6 is required");
	if (ipv6 && mode != MODE_SYN && mode != MODE_UDP) usage("--dst6 goes with --mode syn or udp");
	uint8_t dst6[16] = { 0 }, net6[16] = { 0 };
	if (ipv6) {
		char prefix6[64];
		if (inet_pton(AF_INET6, dst6_text, dst6) != 1) usage("bad --dst6");
		/* Only the /64 is used: the low 64 bits of each source are random. */
		if (sscanf(net6_text, "%63[0-9a-fA-F:]", prefix6) != 1 || inet_pton(AF_INET6, prefix6, net6) != 1) usage("bad --src-net6");
		/* The destination for the IPv4 path below is never used. */
		dst_text = "0.0.0.0";
	}
	if (batch < 1 || batch > MAX_BATCH) usage("--batch must be 1..256");
	if (flows_n < 1 || flows_n > 1 << 20) usage("--flows must be 1..1048576");
	if (seconds <= 0 || seconds > 120) usage("--seconds must be in (0, 120]");

	struct in_addr dst_in;
	if (inet_pton(AF_INET, dst_text, &dst_in) != 1) usage("bad --dst");
	uint32_t daddr = ntohl(dst_in.s_addr);
	char net_addr[32];
	int prefix = 0;
	if (sscanf(net_text, "%31[0-9.]/%d", net_addr, &prefix) != 2 || prefix < 8 || prefix > 30) usage("bad --src-net");
	struct in_addr net_in;
	if (inet_pton(AF_INET, net_addr, &net_in) != 1) usage("bad --src-net");
	uint32_t host_mask = (1U << (32 - prefix)) - 1;
	uint32_t net_base = ntohl(net_in.s_addr) & ~host_mask;

	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (int i = 0; i < PAYLOAD_BYTES; i++) payload[i] = (uint8_t)rnd();
	payload_sum = sum16(payload, PAYLOAD_BYTES, 0);

	if ((link == NULL) != (mac_text == NULL)) usage("--link and --dst-mac go together");
	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr = dst_in;
	struct sockaddr_in6 to6;
	memset(&to6, 0, sizeof to6);
	to6.sin6_family = AF_INET6;
	memcpy(&to6.sin6_addr, dst6, 16);
	struct sockaddr_ll to_link;
	memset(&to_link, 0, sizeof to_link);
	uint8_t eth[ETH_BYTES] = { 0 };
	int fd;
	if (link != NULL) {
		unsigned m[6];
		if (sscanf(mac_text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) usage("bad --dst-mac");
		uint16_t ethertype = ipv6 ? ETH_P_IPV6 : ETH_P_IP;
		fd = socket(AF_PACKET, SOCK_RAW, htons(ethertype));
		if (fd < 0) die("socket(AF_PACKET, SOCK_RAW)");
		int one = 1;
		setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
		to_link.sll_family = AF_PACKET;
		to_link.sll_protocol = htons(ethertype);
		to_link.sll_ifindex = (int)if_nametoindex(link);
		if (to_link.sll_ifindex == 0) die(link);
		to_link.sll_halen = 6;
		for (int i = 0; i < 6; i++) to_link.sll_addr[i] = eth[i] = (uint8_t)m[i];
		/* The source MAC stays zero, which nobody checks here. */
		eth[12] = (uint8_t)(ethertype >> 8);
		eth[13] = (uint8_t)(ethertype & 0xff);
	} else if (ipv6) {
		/* IPPROTO_RAW on AF_INET6 takes the whole packet, IPv6 header included. */
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
		if (fd < 0) die("socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)");
	} else {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd < 0) die("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
	}
	int sndbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
	/* The IP packet starts after room for an Ethernet header, used or not. */
	size_t lead = link == NULL ? 0 : ETH_BYTES;
	void *dest = link != NULL ? (void *)&to_link : ipv6 ? (void *)&to6 : (void *)&to;
	socklen_t dest_len = link != NULL ? sizeof to_link : ipv6 ? sizeof to6 : sizeof to;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	static uint8_t bufs[MAX_BATCH][PACKET_ROOM];
	struct iovec iov[MAX_BATCH];
	struct mmsghdr msgs[MAX_BATCH];
	memset(msgs, 0, sizeof msgs);
	for (int i = 0; i < MAX_BATCH; i++) {
		memcpy(bufs[i], eth, ETH_BYTES);
		iov[i].iov_base = bufs[i] + ETH_BYTES - lead;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = dest;
		msgs[i].msg_hdr.msg_namelen = dest_len;
	}

	uint64_t sent = 0, errors = 0, generated = 0;
	const char *stopped = "count";
	uint64_t start = now_ns();
	uint64_t deadline = start + (uint64_t)(seconds * 1e9);

	if (mode == MODE_SCAN) {
		uint32_t scan_base = net_base;
		for (uint64_t j = 0; j < scans; j++) {
			if (stop_requested) { stopped = "signal"; break; }
			if (now_ns() > deadline) { stopped = "time"; break; }
			uint64_t k = scan_first + j;
			uint32_t saddr = scan_base + 1 + (uint32_t)(k % (host_mask - 1));
			uint16_t sport = (uint16_t)(40000 + k % 20000);
			uint16_t ports[SCAN_PACKETS];
			for (int p = 0; p < SCAN_PACKETS; p++) {
				uint16_t port;
				int dup;
				do {
					port = (uint16_t)(1 + rnd() % 1023);
					dup = 0;
					for (int q = 0; q < p; q++) dup |= ports[q] == port;
				} while (dup);
				ports[p] = port;
			}
			uint64_t crossing = 0;
			for (int p = 0; p < SCAN_PACKETS; p++) {
				size_t len = build(bufs[0] + ETH_BYTES, saddr, daddr, sport, ports[p], (uint32_t)rnd(), 0, 0x02, 0);
				if (p == SCAN_PACKETS - 1) crossing = now_ns();
				generated++;
				if (sendto(fd, bufs[0] + ETH_BYTES - lead, len + lead, 0, dest, dest_len) < 0) errors++;
				else sent++;
			}
			printf("scan %u.%u.%u.%u %llu\n", saddr >> 24, (saddr >> 16) & 255, (saddr >> 8) & 255, saddr & 255,
			       (unsigned long long)crossing);
			wait_until(start + (j + 1) * gap_us * 1000ULL);
		}
	} else {
		struct flow *flows = NULL;
		if (mode == MODE_EST) {
			flows = calloc((size_t)flows_n, sizeof *flows);
			if (flows == NULL) die("calloc");
			static const uint16_t service[] = { 80, 443, 22, 25, 993, 8080, 5432, 3306 };
			for (int f = 0; f < flows_n; f++) {
				flows[f].saddr = net_base + 1 + (uint32_t)(rnd() % (host_mask - 1));
				flows[f].sport = (uint16_t)(1024 + rnd() % 64512);
				flows[f].dport = service[rnd() % 8];
				flows[f].seq = (uint32_t)rnd();
				flows[f].ack = (uint32_t)rnd();
			}
		}
		while (generated < count) {
			if (stop_requested) { stopped = "signal"; break; }
			uint64_t t = now_ns();
			if (t > deadline) { stopped = "time"; break; }
			int n = (int)(count - generated < (uint64_t)batch ? count - generated : (uint64_t)batch);
			for (int i = 0; i < n; i++) {
				uint64_t r = rnd();
				size_t len;
				if (ipv6) {
					uint8_t src6[16];
					memcpy(src6, net6, 8);
					uint64_t host = rnd();
					for (int b = 0; b < 8; b++) src6[8 + b] = (uint8_t)(host >> (8 * b));
					uint16_t sport = (uint16_t)(1024 + (r >> 32) % 64512);
					uint16_t dport = (uint16_t)(1 + (r >> 48) % 65535);
					len = build6(bufs[i] + ETH_BYTES, src6, dst6, sport, dport, (uint32_t)r, mode == MODE_UDP);
				} else if (mode == MODE_UDP) {
					uint32_t saddr = net_base + 1 + (uint32_t)((r & 0xffffffff) % (host_mask - 1));
					uint16_t sport = (uint16_t)(1024 + (r >> 32) % 64512);
					uint16_t dport = (uint16_t)(1 + (r >> 48) % 65535);
					len = build_udp(bufs[i] + ETH_BYTES, saddr, daddr, sport, dport, (uint16_t)r);
				} else if (mode == MODE_SYN) {
					uint32_t saddr = net_base + 1 + (uint32_t)((r & 0xffffffff) % (host_mask - 1));
					uint16_t sport = (uint16_t)(1024 + (r >> 32) % 64512);
					uint16_t dport = (uint16_t)(1 + (r >> 48) % 65535);
					len = build(bufs[i] + ETH_BYTES, saddr, daddr, sport, dport, (uint32_t)rnd(), 0, 0x02, 0);
				} else {
					struct flow *f = &flows[(r & 0xffffffff) % (uint64_t)flows_n];
					int push = (r >> 32) & 1;
					len = build(bufs[i] + ETH_BYTES, f->saddr, daddr, f->sport, f->dport, f->seq, f->ack, push ? 0x18 : 0x10, push);
					if (push) f->seq += PAYLOAD_BYTES;
					else f->ack += 1460;
				}
				iov[i].iov_len = len + lead;
			}
			generated += (uint64_t)n;
			if (rate > 0) wait_until(start + (uint64_t)((double)(generated - (uint64_t)n) * 1e9 / rate));
			int done = 0;
			while (done < n) {
				int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
				if (r > 0) {
					sent += (uint64_t)r;
					done += r;
				} else if (r < 0 && errno == EINTR) {
					continue;
				} else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == ENOMEM)) {
					/* Dropped on the way out (a full queue): skip it, the sequence stays the same. */
					errors++;
					done++;
				} else {
					die("sendmmsg");
				}
			}
		}
		free(flows);
	}
	double elapsed = (double)(now_ns() - start) / 1e9;
	/* Our CPU time includes the target's receive path, which runs in the sender's context. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	printf("{\"mode\":\"%s\",\"generated\":%llu,\"sent\":%llu,\"errors\":%llu,\"seconds\":%.6f,\"pps\":%.0f,"
	       "\"cpuUs\":%.0f,\"stopped\":\"%s\"}\n",
	       mode == MODE_SYN ? (ipv6 ? "syn6" : "syn") : mode == MODE_UDP ? (ipv6 ? "udp6" : "udp") : mode == MODE_EST ? "est" : "scan",
	       (unsigned long long)generated,
	       (unsigned long long)sent, (unsigned long long)errors, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0,
	       cpu_us, stopped);
	close(fd);
	return 0;
}
