/* SPDX-License-Identifier: MIT */
/*
 * Sockets. The only way modules reach the network: Linux implements it on
 * BSD sockets, the lwIP backend on lwip_* calls. All sockets are
 * non-blocking and are driven by the event loop (platform/loop.h). A socket
 * is a small int handle (kh_sock) that the loop can watch.
 *
 * Return values: >= 0 success (a byte count where it says so), -EAGAIN when
 * the call would block, other negative errno on failure.
 */
#ifndef KHIEN_PLATFORM_NET_H
#define KHIEN_PLATFORM_NET_H

#include <stddef.h>
#include <stdint.h>

typedef int kh_sock;

/* An IPv4 or IPv6 address with port, in network-neutral form. */
struct kh_addr {
	uint8_t family; /* KH_AF_INET or KH_AF_INET6 */
	uint16_t port;	/* host byte order */
	uint8_t ip[16]; /* 4 or 16 bytes used, network order */
};

#define KH_AF_INET 4
#define KH_AF_INET6 6
/* "[ffff:...:ffff]:65535" plus NUL */
#define KH_ADDR_STRLEN 48

/*
 * Parse "1.2.3.4:53", "[::1]:53", or, when default_port is non-zero, an
 * address without port. Returns 0 or -EINVAL.
 */
int kh_addr_parse(const char *s, uint16_t default_port, struct kh_addr *out);
/* Parse a bare IP ("1.2.3.4" or "::1") without port. 0 or -EINVAL. */
int kh_addr_parse_ip(const char *s, struct kh_addr *out);
/* Format as "1.2.3.4:53" / "[::1]:53" into buf (KH_ADDR_STRLEN bytes). */
void kh_addr_format(const struct kh_addr *a, char *buf, size_t len);
/* 1 if same family, ip and port. */
int kh_addr_equal(const struct kh_addr *a, const struct kh_addr *b);

/* UDP socket bound to addr (port 0 = ephemeral, random by the stack). */
int kh_net_udp_open(const struct kh_addr *bind_addr, kh_sock *out);
int kh_net_sendto(kh_sock s, const void *buf, size_t len, const struct kh_addr *to);
int kh_net_recvfrom(kh_sock s, void *buf, size_t len, struct kh_addr *from);

/* TCP: listen, accept (-EAGAIN when none pending), connect (in progress ok). */
int kh_net_tcp_listen(const struct kh_addr *addr, int backlog, kh_sock *out);
int kh_net_tcp_accept(kh_sock listener, kh_sock *out, struct kh_addr *peer);
int kh_net_tcp_connect(const struct kh_addr *to, kh_sock *out);
/* Once a connecting socket is writable: 0 if connected, else why not (-ECONNREFUSED, ...). */
int kh_net_tcp_connect_result(kh_sock s);
int kh_net_send(kh_sock s, const void *buf, size_t len);
/* Returns bytes read; 0 means the peer closed. */
int kh_net_recv(kh_sock s, void *buf, size_t len);

/*
 * Batched datagrams: one system call for many packets where the platform
 * can (Linux recvmmsg/sendmmsg), a loop elsewhere. For receive, set buf and
 * cap of each element; len and peer are filled in. Returns the number of
 * datagrams (>= 1), -EAGAIN when none is pending, or negative errno.
 */
struct kh_dgram {
	void *buf;
	size_t cap;
	size_t len;
	struct kh_addr peer;
};

int kh_net_recv_batch(kh_sock s, struct kh_dgram *v, unsigned n);
int kh_net_send_batch(kh_sock s, const struct kh_dgram *v, unsigned n);

/*
 * Local stream sockets for the control channel (Unix domain on POSIX).
 * kh_net_local_listen() replaces a stale socket file, sets its mode and,
 * if group is not NULL, its group, so only root and that group can connect.
 * A socket file that still answers (another daemon serves it) is left
 * alone: -EADDRINUSE.
 * kh_net_local_connect() returns a blocking socket (for command-line tools).
 * kh_net_peer_cred() gives the connecting process's uid and primary gid;
 * kh_net_peer_in_group() is 1 if gid is the peer's primary group or one of
 * its supplementary groups, 0 if not, negative errno if unknown.
 */
int kh_net_local_listen(const char *path, unsigned mode, const char *group, kh_sock *out);
int kh_net_local_connect(const char *path, kh_sock *out);
int kh_net_peer_cred(kh_sock s, uint32_t *uid, uint32_t *gid);
int kh_net_peer_in_group(kh_sock s, uint32_t gid);

/*
 * Send len bytes and, when fd >= 0, pass the open descriptor fd along
 * (SCM_RIGHTS): a tool hands the daemon a file it opened itself, so the
 * daemon never opens a path a client names. kh_net_recv_fd() is
 * kh_net_recv() that also takes at most one passed descriptor into *fd
 * (-1 when none came; extra ones are closed).
 */
int kh_net_send_fd(kh_sock s, const void *buf, size_t len, int fd);
int kh_net_recv_fd(kh_sock s, void *buf, size_t len, int *fd);

/*
 * Ask for a receive buffer of bytes for s (bursts of datagrams queue there
 * instead of being dropped). Uses the privileged override when the process
 * may, else whatever the system maximum allows. Returns the size granted.
 */
int kh_net_set_rcvbuf(kh_sock s, int bytes);

/* Local address of a socket (to learn an ephemeral port). */
int kh_net_local_addr(kh_sock s, struct kh_addr *out);
void kh_net_close(kh_sock s);

#endif
