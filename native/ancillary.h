/*
 * The raw-socket reader's per-message ancillary work (rawrecv.c), in a header of its own
 * so that the receive benchmark (bench/recv/recvbench.c) times this very code.
 */
#ifndef SCANLOGD_ANCILLARY_H
#define SCANLOGD_ANCILLARY_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define IP6_HEADER 40

/* Keeps the drop count if `cm` is it (the kernel gives it once the count is nonzero). */
static inline void note_drops(uint32_t *drops, const struct cmsghdr *cm) {
	if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL && cm->cmsg_len >= CMSG_LEN(sizeof(uint32_t)))
		memcpy(drops, CMSG_DATA(cm), sizeof *drops);
}

/*
 * Writes the 40-byte IPv6 header of a message of `payload` bytes from `source` into
 * `slot`, from the message's ancillary data, and returns IP6_HEADER + payload; or 0
 * when the kernel did not give every value the header needs.
 */
static inline unsigned build_ip6_header(struct msghdr *m, unsigned payload, const struct in6_addr *source, int protocol,
                                        unsigned char *slot, uint32_t *drops) {
	const struct in6_pktinfo *info = NULL;
	int hop_limit = -1, tclass = -1;
	if ((m->msg_flags & MSG_CTRUNC) || m->msg_namelen < sizeof(struct sockaddr_in6)) return 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6) {
			note_drops(drops, cm);
			continue;
		}
		if (cm->cmsg_type == IPV6_PKTINFO && cm->cmsg_len >= CMSG_LEN(sizeof *info))
			info = (const struct in6_pktinfo *)CMSG_DATA(cm);
		else if (cm->cmsg_type == IPV6_HOPLIMIT && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&hop_limit, CMSG_DATA(cm), sizeof hop_limit);
		else if (cm->cmsg_type == IPV6_TCLASS && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&tclass, CMSG_DATA(cm), sizeof tclass);
	}
	if (info == NULL || hop_limit < 0 || hop_limit > 255 || tclass < 0 || tclass > 255) return 0;
	slot[0] = (unsigned char)(0x60 | (tclass >> 4));
	slot[1] = (unsigned char)((tclass & 0x0f) << 4);
	slot[2] = slot[3] = 0; /* the flow label is not delivered */
	slot[4] = (unsigned char)((payload > 0xffff ? 0xffff : payload) >> 8);
	slot[5] = (unsigned char)((payload > 0xffff ? 0xffff : payload) & 0xff);
	slot[6] = (unsigned char)protocol;
	slot[7] = (unsigned char)hop_limit;
	memcpy(slot + 8, source, 16);
	memcpy(slot + 24, &info->ipi6_addr, 16);
	return IP6_HEADER + payload;
}

#endif
