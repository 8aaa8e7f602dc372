/*
 * Addresses, CIDR sets and the forwarded-client rule (see netaddr.h).
 * Headers are parsed strictly on the hops that matter (from the right up
 * to the first untrusted one) and not at all beyond them, so whatever a
 * client prepends cannot change the outcome.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>

#include "log.h"
#include "netaddr.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0,
					     0, 0, 0, 0, 0xff, 0xff };

/* inet_pton of either family, without unmapping. */
static int
parse_raw(const char *s, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = 6;
		return 0;
	}
	return -1;
}

/* ::ffff:a.b.c.d becomes a.b.c.d. */
static void
unmap(struct netaddr *a)
{
	if (a->family == 6 && memcmp(a->a, v4_mapped, 12) == 0) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = 4;
	}
}

int
netaddr_parse(const char *s, struct netaddr *out)
{
	if (parse_raw(s, out) < 0)
		return -1;
	unmap(out);
	return 0;
}

int
netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		out->family = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->a, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		       16);
		out->family = 6;
		unmap(out);
		return 0;
	}
	return -1;
}

void
netaddr_format(const struct netaddr *a, char *out, size_t size)
{
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, out,
		      (socklen_t)size) == NULL)
		util_strlcpy(out, "-", size);
}

int
netaddr_cidr_parse(const char *s, struct netaddr_cidr *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	int max;

	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (parse_raw(host, &out->addr) < 0)
		return -1;
	max = out->addr.family == 4 ? 32 : 128;
	bits = (uint64_t)max;
	if (slash != NULL && (slash[1] < '0' || slash[1] > '9' ||
			      util_parse_u64(slash + 1, &bits) < 0 ||
			      bits > (uint64_t)max))
		return -1;
	out->bits = (int)bits;
	/* The host part must be zero: "10.1.2.3/8" is likely a typo. */
	for (int i = out->bits; i < max; i++)
		if (out->addr.a[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

bool
netaddr_cidr_contains(const struct netaddr_cidr *c, const struct netaddr *a)
{
	struct netaddr m = *a;
	int full = c->bits / 8, rest = c->bits % 8;

	if (c->addr.family == 6 && m.family == 4) {
		memmove(m.a + 12, m.a, 4);
		memcpy(m.a, v4_mapped, 12);
		m.family = 6;
	} else if (c->addr.family == 4) {
		unmap(&m);
	}
	if (m.family != c->addr.family)
		return false;
	if (memcmp(m.a, c->addr.a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((m.a[full] ^ c->addr.a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

int
netaddr_set_parse(struct netaddr_set *set, const char *list,
		  const char *setting)
{
	char **items;
	int n = util_list_split(list, &items), ret = 0;

	set->v = xcalloc((size_t)(n ? n : 1), sizeof(*set->v));
	set->n = 0;
	for (int i = 0; i < n; i++) {
		if (netaddr_cidr_parse(items[i], &set->v[set->n]) < 0) {
			log_warnx("%s: \"%s\" is not an address or a CIDR "
				  "(like 10.0.0.0/8 or ::1/128)",
				  setting, items[i]);
			netaddr_set_release(set);
			ret = -1;
			break;
		}
		set->n++;
	}
	util_list_free(items, n);
	return ret;
}

void
netaddr_set_release(struct netaddr_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

bool
netaddr_set_contains(const struct netaddr_set *set, const struct netaddr *a)
{
	for (int i = 0; set != NULL && i < set->n; i++)
		if (netaddr_cidr_contains(&set->v[i], a))
			return true;
	return false;
}

/* ---- the forwarded client ---------------------------------------------- */

struct span {
	const char *p;
	size_t len;
};

static struct span
trim(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return (struct span){ p, len };
}

/*
 * Splits s at sep outside quoted strings (with their \ escapes) into a
 * malloc'd array of trimmed spans; returns the count. The hops of a
 * header are split from the right: a quote a client leaves open can then
 * swallow only what lies to its left, never the hops our proxies added.
 */
static int
split(const char *s, char sep, bool reverse, struct span **out)
{
	size_t len = strlen(s), end = len, start = 0;
	int n = 1, k = 0;
	bool quoted = false;

	for (size_t i = 0; i < len; i++)
		n += s[i] == sep;
	*out = xcalloc((size_t)n, sizeof(**out));
	for (size_t j = 0; j < len; j++) {
		size_t i = reverse ? len - 1 - j : j, bs = 0;

		if (s[i] == '"') {
			while (bs < i && s[i - 1 - bs] == '\\')
				bs++;
			if (bs % 2 == 0)
				quoted = !quoted;
		} else if (!quoted && s[i] == sep && reverse) {
			(*out)[k++] = trim(s + i + 1, end - i - 1);
			end = i;
		} else if (!quoted && s[i] == sep) {
			(*out)[k++] = trim(s + start, i - start);
			start = i + 1;
		}
	}
	(*out)[k++] = trim(s + start, end - start);
	return k;
}

/* A port after a node: digits, or an obfuscated "_name" (RFC 7239 6.3). */
static bool
port_ok(const char *p, const char *end)
{
	bool obf = p < end && *p == '_';

	if (p == end)
		return false;
	for (const char *q = p + obf; q < end; q++)
		if (!((*q >= '0' && *q <= '9') ||
		      (obf && (*q == '.' || *q == '-' ||
			       (*q >= 'a' && *q <= 'z') ||
			       (*q >= 'A' && *q <= 'Z')))))
			return false;
	return end - p <= 16;
}

/*
 * One hop: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:80"
 * or a bare IPv6 address. "unknown" and "_hidden" are not addresses.
 */
static int
node_parse(struct span s, struct netaddr *out)
{
	const char *end = s.p + s.len, *colon;
	char host[64];

	if (s.len == 0)
		return -1;
	if (s.p[0] == '[') {
		const char *rb = memchr(s.p, ']', s.len);

		if (rb == NULL ||
		    (rb + 1 < end && (rb[1] != ':' || !port_ok(rb + 2, end))))
			return -1;
		s.p++;
		s.len = (size_t)(rb - s.p);
	} else if ((colon = memchr(s.p, ':', s.len)) != NULL &&
		   memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
		if (!port_ok(colon + 1, end))
			return -1;
		s.len = (size_t)(colon - s.p);
	}
	if (s.len == 0 || s.len >= sizeof(host))
		return -1;
	memcpy(host, s.p, s.len);
	host[s.len] = '\0';
	return netaddr_parse(host, out);
}

/* The for= node of one Forwarded element, unquoted into buf. */
static int
forwarded_for(struct span el, char *buf, size_t size, struct span *node)
{
	struct span *pairs = NULL;
	char *copy = xstrndup(el.p, el.len);
	int n = split(copy, ';', false, &pairs), ret = -1;

	for (int i = 0; i < n && ret < 0; i++) {
		const char *eq = memchr(pairs[i].p, '=', pairs[i].len);
		struct span k, v;
		size_t len = 0;

		if (eq == NULL)
			continue;
		k = trim(pairs[i].p, (size_t)(eq - pairs[i].p));
		v = trim(eq + 1, pairs[i].len - (size_t)(eq + 1 - pairs[i].p));
		if (k.len != 3 || strncasecmp(k.p, "for", 3) != 0)
			continue;
		if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
			for (size_t j = 1; j + 1 < v.len && len + 1 < size; j++) {
				if (v.p[j] == '\\' && j + 2 < v.len)
					j++;
				buf[len++] = v.p[j];
			}
		} else if (v.len < size && memchr(v.p, '"', v.len) == NULL) {
			memcpy(buf, v.p, v.len);
			len = v.len;
		} else {
			break;
		}
		*node = (struct span){ buf, len };
		ret = 0;
	}
	free(pairs);
	free(copy);
	return ret;
}

int
netaddr_forwarded_client(const struct netaddr_set *trusted,
			 const char *forwarded, const char *xff,
			 struct netaddr *out)
{
	struct span *hops = NULL;
	const char *h = forwarded ? forwarded : xff;
	int n, ret = -1;

	if (h == NULL)
		return -1;
	n = split(h, ',', true, &hops);
	for (int i = 0; i < n; i++) {
		char buf[128];
		struct span node = hops[i];
		struct netaddr a;

		if (forwarded != NULL &&
		    forwarded_for(hops[i], buf, sizeof(buf), &node) < 0)
			break;
		if (node_parse(node, &a) < 0)
			break;
		*out = a;
		if (i == n - 1 || !netaddr_set_contains(trusted, &a)) {
			ret = 0;	/* untrusted, or the leftmost hop */
			break;
		}
	}
	free(hops);
	return ret;
}
