/*
 * slowconn: the slow-client attack, for tests (t_slowloris.sh). Opens n
 * connections from one source address to 127.0.0.1-range host:port, sends
 * the start of a request on each, then one more header line (or, with -T,
 * one byte of a TLS handshake) on every open one each interval, and
 * watches which the server closes and when. Bounded: it stops after -t
 * seconds. Prints "key value" lines: connected, refused (closed by the
 * server within a second of the first bytes sent), cut (closed later),
 * open (still open at the end), answered (got bytes back), first_cut_ms
 * and last_cut_ms (since the first bytes), connect_ms (all connected).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct slow {
	int fd;
	uint64_t opened_ms;
	uint64_t closed_ms;	/* 0: open */
	int answered;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: slowconn [-s src] [-n conns] [-i ms] "
			"[-t seconds] [-T] host port\n");
	exit(2);
}

static int
slow_connect(const char *src, const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, la = sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    inet_pton(AF_INET, src, &la.sin_addr) != 1 ||
	    (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "slowconn: loopback addresses only\n");
		exit(2);
	}
	if (bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits (at most 10 s) until every connect finished; drops failures. */
static void
wait_connected(struct slow *v, int n)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	uint64_t end = now_ms() + 10000;
	int left = n, err;
	socklen_t len;

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = v[i].fd, .events = POLLOUT };
	while (left > 0 && now_ms() < end) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			len = sizeof(err);
			if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err,
				       &len) < 0 || err != 0) {
				close(v[i].fd);
				v[i].fd = -1;
			}
			p[i].fd = -1;
			left--;
		}
	}
	for (int i = 0; i < n; i++)
		if (p[i].fd >= 0) {	/* never connected */
			close(v[i].fd);
			v[i].fd = -1;
		}
	free(p);
}

static void
send_all(struct slow *v, int n, const char *data, size_t len, uint64_t t)
{
	for (int i = 0; i < n; i++) {
		if (v[i].fd < 0 || v[i].closed_ms)
			continue;
		if (send(v[i].fd, data, len, MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			v[i].closed_ms = t;
	}
}

/* Reads what is there; marks the connections the server closed. */
static void
watch(struct slow *v, int n, struct pollfd *p, int ms)
{
	char buf[4096];
	ssize_t r;
	uint64_t t;

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){
			.fd = v[i].fd >= 0 && !v[i].closed_ms ? v[i].fd : -1,
			.events = POLLIN
		};
	if (poll(p, (nfds_t)n, ms) <= 0)
		return;
	t = now_ms();
	for (int i = 0; i < n; i++) {
		if (p[i].fd < 0 || p[i].revents == 0)
			continue;
		while ((r = recv(v[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			v[i].answered = 1;
		if (r == 0 || (r < 0 && errno != EAGAIN))
			v[i].closed_ms = t;
	}
}

int
main(int argc, char **argv)
{
	const char *src = "127.0.0.1";
	int n = 100, interval = 1000, seconds = 10, tls = 0, opt;
	int connected = 0, refused = 0, cut = 0, open_n = 0, answered = 0;
	uint64_t start, next, end, first = 0, last = 0, connect_ms;
	struct rlimit rl;
	struct slow *v;
	struct pollfd *p;
	char line[64];

	while ((opt = getopt(argc, argv, "s:n:i:t:T")) != -1) {
		switch (opt) {
		case 's':
			src = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'T':
			tls = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || n < 1 || n > 20000 || interval < 10 ||
	    seconds < 1 || seconds > 600)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	v = calloc((size_t)n, sizeof(*v));
	p = calloc((size_t)n, sizeof(*p));
	start = now_ms();
	for (int i = 0; i < n; i++) {
		v[i].fd = slow_connect(src, argv[optind],
				       atoi(argv[optind + 1]));
		v[i].opened_ms = now_ms();
	}
	wait_connected(v, n);
	connect_ms = now_ms() - start;
	/* From here on times count from the first bytes sent: the server
	 * (TCP_DEFER_ACCEPT) accepts a connection once they are in. */
	start = now_ms();
	for (int i = 0; i < n; i++)
		v[i].opened_ms = start;
	if (tls)	/* a TLS record header: a handshake that never ends */
		send_all(v, n, "\x16\x03\x01", 3, start);
	else
		send_all(v, n, "GET /v2/ HTTP/1.1\r\nHost: x\r\n", 28,
			 start);
	end = start + (uint64_t)seconds * 1000;
	next = now_ms() + (uint64_t)interval;
	for (int k = 0; now_ms() < end; ) {
		uint64_t t = now_ms();

		if (t >= next) {
			int len = tls ? 1 : snprintf(line, sizeof(line),
						     "X-Slow-%d: 1\r\n", k++);

			send_all(v, n, tls ? "\x01" : line, (size_t)len, t);
			next = t + (uint64_t)interval;
		}
		watch(v, n, p, next > t + 100 ? 100 : (int)(next - t));
	}
	for (int i = 0; i < n; i++) {
		if (v[i].fd < 0)
			continue;
		connected++;
		answered += v[i].answered;
		if (v[i].closed_ms == 0) {
			open_n++;
		} else if (v[i].closed_ms - v[i].opened_ms < 1000) {
			refused++;
		} else {
			uint64_t at = v[i].closed_ms - start;

			cut++;
			if (first == 0 || at < first)
				first = at;
			if (at > last)
				last = at;
		}
		close(v[i].fd);
	}
	printf("connect_ms %llu\n", (unsigned long long)connect_ms);
	printf("connected %d\nrefused %d\ncut %d\nopen %d\nanswered %d\n"
	       "first_cut_ms %llu\nlast_cut_ms %llu\n", connected, refused,
	       cut, open_n, answered, (unsigned long long)first,
	       (unsigned long long)last);
	free(v);
	free(p);
	return 0;
}
