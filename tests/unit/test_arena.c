/*
 * The request arena (lib/arena.c): zeroed, aligned memory that never
 * overlaps, across many blocks and allocations bigger than a block;
 * release empties the arena for reuse; string copies stop at NULs; an
 * impossible size aborts instead of handing out a short block.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "test.h"
#include "util.h"

static bool
zeroed(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void
sizes(void)
{
	static const size_t n[] = {
		0, 1, 7, 15, 16, 17, 100, 4080, 4095, 4096, 4097, 10000,
		1 << 20,
	};
	struct arena a;

	arena_init(&a);
	CHECK(a.head == NULL);
	for (size_t i = 0; i < ARRAY_SIZE(n); i++) {
		unsigned char *p = arena_alloc(&a, n[i]);

		CHECK(p != NULL && (uintptr_t)p % 16 == 0 && zeroed(p, n[i]));
		memset(p, 0xa5, n[i]);	/* all of it is ours (ASan) */
	}
	arena_release(&a);
	CHECK(a.head == NULL);
}

/* Many allocations over many blocks: each keeps its own bytes. */
static void
many_blocks(void)
{
	enum { N = 5000 };
	static unsigned char *p[N];
	struct arena a;
	bool intact = true;

	arena_init(&a);
	for (size_t i = 0; i < N; i++) {
		size_t len = 1 + i % 300;

		p[i] = arena_alloc(&a, len);
		intact &= zeroed(p[i], len);
		memset(p[i], (int)(i & 0xff), len);
	}
	CHECK(intact);
	for (size_t i = 0; i < N && intact; i++)
		for (size_t j = 0; j < 1 + i % 300; j++)
			intact &= p[i][j] == (unsigned char)(i & 0xff);
	CHECK(intact);
	arena_release(&a);
	CHECK(a.head == NULL);
}

/* A block-sized allocation between small ones overlaps neither. */
static void
big_between_small(void)
{
	struct arena a;
	char *s1, *big, *s2;

	arena_init(&a);
	s1 = arena_strdup(&a, "first");
	big = arena_alloc(&a, 3 * 4096);
	s2 = arena_strdup(&a, "second");
	memset(big, 'b', 3 * 4096);
	CHECK(strcmp(s1, "first") == 0 && strcmp(s2, "second") == 0);
	CHECK(s2 + 7 <= big || s2 >= big + 3 * 4096);
	CHECK(s1 + 6 <= big || s1 >= big + 3 * 4096);
	arena_release(&a);
}

/* Released, the arena is empty and serves again; twice is harmless. */
static void
release_reuse(void)
{
	struct arena a;

	arena_init(&a);
	arena_release(&a);
	CHECK(a.head == NULL);
	for (int round = 0; round < 3; round++) {
		unsigned char *p = arena_alloc(&a, 64), *q;

		CHECK(a.head != NULL && zeroed(p, 64));
		memset(p, 0xff, 64);
		q = arena_alloc(&a, 8192);
		CHECK(zeroed(q, 8192));
		arena_release(&a);
		CHECK(a.head == NULL);
	}
	arena_release(&a);
	CHECK(a.head == NULL);
}

static void
strings(void)
{
	static const struct {
		const char *s;
		size_t n;
		const char *want;
	} t[] = {
		{ "hello", 5, "hello" },
		{ "hello", 3, "hel" },
		{ "hello", 100, "hello" },
		{ "hello", 0, "" },
		{ "", 10, "" },
		{ "ab\0cd", 5, "ab" },
	};
	struct arena a;
	char *long_s, *p;

	arena_init(&a);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		p = arena_strndup(&a, t[i].s, t[i].n);
		CHECK(strcmp(p, t[i].want) == 0);
	}
	CHECK(strcmp(arena_strdup(&a, ""), "") == 0);
	CHECK(strcmp(arena_strdup(&a, "org/app"), "org/app") == 0);
	CHECK(strcmp(arena_printf(&a, "%s:%d", "repo", 42), "repo:42") == 0);
	CHECK(strcmp(arena_printf(&a, "%s", ""), "") == 0);
	/* Longer than a block. */
	p = arena_printf(&a, "%0*d", 9000, 1);
	CHECK(strlen(p) == 9000 && p[0] == '0' && p[8999] == '1');
	long_s = xmalloc(10001);
	memset(long_s, 'q', 10000);
	long_s[10000] = '\0';
	p = arena_strdup(&a, long_s);
	CHECK(strlen(p) == 10000 && strcmp(p, long_s) == 0);
	free(long_s);
	arena_release(&a);
}

/* 0 when arena_alloc(n) makes the process exit with a failure status. */
static int
alloc_dies(size_t n)
{
	int status, null;
	pid_t pid;

	fflush(stderr);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		struct arena a;

		/* The expected "out of memory" line is noise here. */
		if ((null = open("/dev/null", O_WRONLY)) >= 0)
			dup2(null, 2);
		arena_init(&a);
		arena_alloc(&a, n);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	/* fatalx's exit(1), not a crash and not a return. */
	return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? 0 : -1;
}

/* Sizes whose rounding or block header would wrap size_t must abort, not
 * return a block shorter than asked for. */
static void
huge(void)
{
	CHECK(alloc_dies(SIZE_MAX) == 0);
	CHECK(alloc_dies(SIZE_MAX - 15) == 0);
	CHECK(alloc_dies(SIZE_MAX - 31) == 0);
	CHECK(alloc_dies(SIZE_MAX - 4096) == 0);
}

void
test_arena(void)
{
	sizes();
	many_blocks();
	big_between_small();
	release_reuse();
	strings();
	huge();
}
