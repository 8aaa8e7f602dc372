/*
 * Connection admission (see connlimit.h). One mutex guards the per-address
 * counts and the list of open connections; it is taken when a connection
 * opens and closes, not per request: a header deadline is an atomic that
 * the worker threads set and clear and the janitor reads once a sweep.
 * libmicrohttpd reports a connection closed before it closes the socket,
 * so the janitor, holding the mutex, never shuts down a reused fd.
 *
 * libmicrohttpd 0.9.75 under MHD_USE_EPOLL (edge-triggered) takes a short
 * read as "drained" and waits for the next event. When a client's last
 * bytes and its FIN arrive together, one event covers both, the short read
 * takes the bytes and the FIN is never read: a request body then hangs
 * until idle_timeout (CLOSE-WAIT, nothing queued). So each sweep also looks
 * at the connections in the middle of a body: a peer that has shut down,
 * with nothing left to read and no body progress for CL_GONE_SWEEPS, is
 * shut down here, which gives libmicrohttpd an event and the end of stream.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

#include "connlimit.h"
#include "log.h"
#include "netaddr.h"

#define CL_BUCKETS 1024
#define CL_SWEEP_MS 250
#define CL_GONE_SWEEPS 4	/* about a second of a gone peer, no progress */

struct cl_addr {
	struct netaddr addr;
	unsigned n;		/* open connections */
	struct cl_addr *next;
};

struct connlimit_conn {
	struct connlimit *cl;
	struct connlimit_conn *prev, *next;
	struct cl_addr *addr;	/* NULL: not counted (exempt) */
	int fd;
	_Atomic uint64_t deadline;	/* monotonic ns; 0: none */
	_Atomic bool in_body;		/* headers in, body not yet all in */
	_Atomic unsigned progress;	/* bumped by each piece of body */
	unsigned seen, gone;	/* janitor only: progress seen, sweeps gone */
};

struct connlimit {
	struct connlimit_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t janitor;
	bool stopping;
	struct cl_addr *buckets[CL_BUCKETS];
	struct connlimit_conn *conns;
};

static unsigned
addr_hash(const struct netaddr *a)
{
	uint32_t h = 2166136261u;
	int len = a->family == 4 ? 4 : 16;

	for (int i = 0; i < len; i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h % CL_BUCKETS;
}

static bool
addr_eq(const struct netaddr *x, const struct netaddr *y)
{
	return x->family == y->family &&
	       memcmp(x->a, y->a, x->family == 4 ? 4 : 16) == 0;
}

/* The entry for a under cl->mu, or NULL; create: make it when missing. */
static struct cl_addr *
addr_find(struct connlimit *cl, const struct netaddr *a, bool create)
{
	unsigned h = addr_hash(a);
	struct cl_addr *e;

	for (e = cl->buckets[h]; e != NULL; e = e->next)
		if (addr_eq(&e->addr, a))
			return e;
	if (!create)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	e->addr = *a;
	e->next = cl->buckets[h];
	cl->buckets[h] = e;
	return e;
}

static void
addr_drop(struct connlimit *cl, struct cl_addr *e)
{
	struct cl_addr **p = &cl->buckets[addr_hash(&e->addr)];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	free(e);
}

/* Whether sa is counted: a known address, not exempt, with a limit. */
static bool
counted(struct connlimit *cl, const struct sockaddr *sa, struct netaddr *a)
{
	if (cl->cfg.per_address == 0 || sa == NULL ||
	    netaddr_from_sockaddr(sa, a) < 0)
		return false;
	return cl->cfg.exempt == NULL || !netaddr_set_contains(cl->cfg.exempt,
							       a);
}

static uint64_t
deadline_after(unsigned seconds)
{
	return util_now_ns() + (uint64_t)seconds * 1000000000u;
}

bool
connlimit_admit(struct connlimit *cl, const struct sockaddr *sa)
{
	struct netaddr a;
	struct cl_addr *e;
	bool ok;

	if (!counted(cl, sa, &a))
		return true;
	pthread_mutex_lock(&cl->mu);
	e = addr_find(cl, &a, false);
	ok = e == NULL || e->n < cl->cfg.per_address;
	pthread_mutex_unlock(&cl->mu);
	return ok;
}

struct connlimit_conn *
connlimit_open(struct connlimit *cl, int fd, const struct sockaddr *sa)
{
	struct connlimit_conn *cc;
	struct cl_addr *e = NULL;
	struct netaddr a;
	bool count = counted(cl, sa, &a);

	pthread_mutex_lock(&cl->mu);
	/* Workers admit in parallel: the check here is the one that holds. */
	if (count && (e = addr_find(cl, &a, true))->n >= cl->cfg.per_address) {
		pthread_mutex_unlock(&cl->mu);
		return NULL;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->cl = cl;
	cc->fd = fd;
	cc->addr = e;
	if (e != NULL)
		e->n++;
	if (cl->cfg.header_timeout > 0)
		atomic_store(&cc->deadline,
			     deadline_after(cl->cfg.header_timeout));
	cc->next = cl->conns;
	if (cl->conns != NULL)
		cl->conns->prev = cc;
	cl->conns = cc;
	pthread_mutex_unlock(&cl->mu);
	return cc;
}

void
connlimit_close(struct connlimit *cl, struct connlimit_conn *cc)
{
	if (cc == NULL)
		return;
	pthread_mutex_lock(&cl->mu);
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		cl->conns = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	if (cc->addr != NULL && --cc->addr->n == 0)
		addr_drop(cl, cc->addr);
	pthread_mutex_unlock(&cl->mu);
	free(cc);
}

void
connlimit_headers_done(struct connlimit_conn *cc)
{
	if (cc == NULL)
		return;
	atomic_store_explicit(&cc->deadline, 0, memory_order_relaxed);
	atomic_store_explicit(&cc->in_body, true, memory_order_relaxed);
}

void
connlimit_body_progress(struct connlimit_conn *cc)
{
	if (cc != NULL)
		atomic_fetch_add_explicit(&cc->progress, 1,
					  memory_order_relaxed);
}

void
connlimit_body_done(struct connlimit_conn *cc)
{
	if (cc != NULL)
		atomic_store_explicit(&cc->in_body, false,
				      memory_order_relaxed);
}

void
connlimit_request_done(struct connlimit_conn *cc)
{
	const struct connlimit_config *cfg;

	connlimit_body_done(cc);
	if (cc == NULL || (cfg = &cc->cl->cfg)->header_timeout == 0)
		return;
	atomic_store_explicit(&cc->deadline,
			      deadline_after(cfg->keepalive +
					     cfg->header_timeout),
			      memory_order_relaxed);
}

/* Whether fd's peer has shut down and every byte it sent has been read. */
static bool
peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	int queued;

	if (poll(&p, 1, 0) != 1 ||
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0)
		return false;
	return ioctl(fd, FIONREAD, &queued) == 0 && queued == 0;
}

/* Whether cc's client has been gone in the middle of a body, with no body
 * progress, for CL_GONE_SWEEPS sweeps in a row (under cl->mu). */
static bool
body_abandoned(struct connlimit_conn *cc)
{
	unsigned p;

	if (!atomic_load_explicit(&cc->in_body, memory_order_relaxed) ||
	    !peer_gone(cc->fd)) {
		cc->gone = 0;
		return false;
	}
	p = atomic_load_explicit(&cc->progress, memory_order_relaxed);
	if (cc->gone == 0 || p != cc->seen) {
		cc->seen = p;
		cc->gone = 1;
		return false;
	}
	return ++cc->gone > CL_GONE_SWEEPS;
}

/* One sweep under cl->mu: shuts down the connections past their header
 * deadline (counted in *late) and those abandoned in a body (*gone). */
static void
sweep(struct connlimit *cl, unsigned *late, unsigned *gone)
{
	uint64_t now = util_now_ns(), d;

	for (struct connlimit_conn *cc = cl->conns; cc != NULL; cc = cc->next) {
		if (body_abandoned(cc)) {
			cc->gone = 0;
			atomic_store_explicit(&cc->in_body, false,
					      memory_order_relaxed);
			shutdown(cc->fd, SHUT_RDWR);
			(*gone)++;
			continue;
		}
		d = atomic_load_explicit(&cc->deadline, memory_order_relaxed);
		if (d == 0 || d > now)
			continue;
		atomic_store_explicit(&cc->deadline, 0, memory_order_relaxed);
		shutdown(cc->fd, SHUT_RDWR);
		(*late)++;
	}
}

static void *
janitor(void *arg)
{
	struct connlimit *cl = arg;
	struct timespec ts;
	unsigned late, gone;

	pthread_mutex_lock(&cl->mu);
	while (!cl->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += CL_SWEEP_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cl->cond, &cl->mu, &ts);
		if (cl->stopping)
			break;
		late = gone = 0;
		sweep(cl, &late, &gone);
		if (late > 0)
			log_info("header_timeout: closed %u connection(s) "
				 "whose request headers were not in", late);
		if (gone > 0)
			log_info("closed %u connection(s) whose client went "
				 "away in the middle of a request body", gone);
	}
	pthread_mutex_unlock(&cl->mu);
	return NULL;
}

struct connlimit *
connlimit_new(const struct connlimit_config *cfg)
{
	struct connlimit *cl = xcalloc(1, sizeof(*cl));
	pthread_condattr_t ca;
	int err;

	cl->cfg = *cfg;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cl->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = pthread_create(&cl->janitor, NULL, janitor, cl)) != 0) {
		errno = err;
		log_warn("could not start the connection janitor");
		pthread_cond_destroy(&cl->cond);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
		return NULL;
	}
	return cl;
}

void
connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->mu);
	cl->stopping = true;
	pthread_cond_signal(&cl->cond);
	pthread_mutex_unlock(&cl->mu);
	pthread_join(cl->janitor, NULL);
	if (cl->conns != NULL)
		BUG("connlimit_free with connections open");
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

unsigned long
connlimit_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("could not raise the open file limit");
			rl.rlim_cur = was;
		}
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1048576ul
					    : (unsigned long)rl.rlim_cur;
}
