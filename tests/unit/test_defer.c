/*
 * The arena's deferred cleanups: run at release newest first, once,
 * cancelled ones never; the fd and unlink helpers; an arena reused after
 * release starts with no cleanups.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "test.h"

static char order[16];
static char tags[] = "abcyz";
static size_t norder;

static void
note(void *p)
{
	if (norder < sizeof(order) - 1)
		order[norder++] = *(char *)p;
}

/* A cleanup that defers another while the arena is being released. */
static struct arena *nested_arena;
static void
defer_more(void *p)
{
	(void)p;
	arena_defer(nested_arena, note, &tags[4]);
}

void
test_defer(void)
{
	struct arena a;
	struct arena_cleanup *c;
	char path[] = "/tmp/berth-defer-XXXXXX";
	int fd, fd2;

	arena_init(&a);
	arena_defer(&a, note, &tags[0]);
	c = arena_defer(&a, note, &tags[1]);
	arena_defer(&a, note, &tags[2]);
	arena_cleanup_cancel(c);
	arena_cleanup_cancel(NULL);
	CHECK(norder == 0);
	arena_release(&a);
	CHECK(norder == 2 && memcmp(order, "ca", 2) == 0);
	arena_release(&a);	/* run once: nothing left */
	CHECK(norder == 2);

	norder = 0;
	nested_arena = &a;
	arena_defer(&a, note, &tags[3]);
	arena_defer(&a, defer_more, NULL);
	arena_release(&a);
	CHECK(norder == 2 && memcmp(order, "zy", 2) == 0);
	CHECK(a.cleanups == NULL && a.head == NULL);

	/* close: the fd is gone after release; a negative one defers nothing */
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(arena_defer_close(&a, fd) != NULL);
	CHECK(arena_defer_close(&a, -1) == NULL);
	CHECK(fcntl(fd, F_GETFD) != -1);
	arena_release(&a);
	CHECK(fcntl(fd, F_GETFD) == -1);

	/* unlink: the file goes unless cancelled; the path is copied */
	fd2 = mkstemp(path);
	CHECK(fd2 >= 0);
	close(fd2);
	{
		char copy[sizeof(path)];

		memcpy(copy, path, sizeof(path));
		arena_defer_unlink(&a, copy);
		memset(copy, 'x', sizeof(copy) - 1);
	}
	CHECK(access(path, F_OK) == 0);
	arena_release(&a);
	CHECK(access(path, F_OK) == -1);
	fd2 = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd2 >= 0);
	close(fd2);
	arena_cleanup_cancel(arena_defer_unlink(&a, path));
	arena_release(&a);
	CHECK(access(path, F_OK) == 0);
	unlink(path);
}
