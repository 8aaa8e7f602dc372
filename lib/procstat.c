/*
 * Process figures from /proc/self (see procstat.h). Read on each scrape,
 * never on the request path; the boot time is read once.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procstat.h"

/* Reads a small /proc file whole into buf (NUL-terminated); -1 on error. */
static int
read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len + 1 < size &&
	       (n = read(fd, buf + len, size - len - 1)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return len > 0 ? 0 : -1;
}

int
procstat_parse_stat(const char *text, uint64_t *cpu_ticks,
		    uint64_t *start_ticks, uint64_t *vsize, uint64_t *rss_pages)
{
	/* The command name (field 2) may hold spaces and parentheses. */
	const char *p = strrchr(text, ')');
	unsigned long long f[22];
	int field;

	if (p == NULL || p[1] != ' ')
		return -1;
	p += 2;
	/* Field 3 is the state letter; fields 4 to 24 are numbers. */
	if (*p == '\0' || p[1] != ' ')
		return -1;
	p += 2;
	for (field = 4; field <= 24; field++) {
		char *end;

		/* Negative fields (priority, nice) never reach our indexes. */
		if (*p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		f[field - 4] = strtoull(p, &end, 10);
		p = end;
		if (field < 24 && *p != ' ')
			return -1;
		if (*p == ' ')
			p++;
	}
	/* utime 14, stime 15, starttime 22, vsize 23, rss 24. */
	*cpu_ticks = f[14 - 4] + f[15 - 4];
	*start_ticks = f[22 - 4];
	*vsize = f[23 - 4];
	*rss_pages = f[24 - 4];
	return 0;
}

int
procstat_parse_btime(const char *text, uint64_t *btime)
{
	const char *p = text;

	while (p != NULL && *p) {
		if (strncmp(p, "btime ", 6) == 0 && p[6] >= '0' &&
		    p[6] <= '9') {
			*btime = strtoull(p + 6, NULL, 10);
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

static uint64_t boot_time;
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void
read_boot_time(void)
{
	static char text[16384];

	if (read_small("/proc/stat", text, sizeof(text)) < 0 ||
	    procstat_parse_btime(text, &boot_time) < 0)
		boot_time = 0;
}

static long
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

int
procstat_read(struct procstat *out)
{
	char text[4096];
	uint64_t cpu, start, vsize, rss;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;

	if (read_small("/proc/self/stat", text, sizeof(text)) < 0 ||
	    procstat_parse_stat(text, &cpu, &start, &vsize, &rss) < 0 ||
	    tck <= 0 || page <= 0)
		return -1;
	pthread_once(&boot_once, read_boot_time);
	out->cpu_seconds = (double)cpu / (double)tck;
	out->rss_bytes = rss * (uint64_t)page;
	out->vsize_bytes = vsize;
	out->start_time = (double)boot_time + (double)start / (double)tck;
	out->open_fds = count_fds();
	out->max_fds = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		out->max_fds = (long)rl.rlim_cur;
	return 0;
}
