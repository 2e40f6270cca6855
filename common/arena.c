/* Bump allocator with a block list; see arena.h for the lifetime rules. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 16384
#define ALIGN 16

struct fd_arena_block {
	fd_arena_block *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

static void *pb_alloc(void *data, size_t size)
{
	return fd_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
	/* Released in bulk by fd_arena_reset(). */
	(void)data;
	(void)ptr;
}

void fd_arena_init(fd_arena *a, size_t limit)
{
	memset(a, 0, sizeof *a);
	a->limit = limit;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void *fd_arena_alloc(fd_arena *a, size_t size)
{
	size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	fd_arena_block *b = a->head;

	if (size == 0)
		need = ALIGN;
	if (need < size || (a->limit && a->total + need > a->limit))
		return NULL;
	if (!b || b->size - b->used < need) {
		size_t bsize = need > BLOCK_SIZE ? need : BLOCK_SIZE;
		b = malloc(sizeof *b + bsize);
		if (!b)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	memset(p, 0, need);
	return p;
}

char *fd_arena_strndup(fd_arena *a, const char *s, size_t n)
{
	char *p = fd_arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *fd_arena_strdup(fd_arena *a, const char *s)
{
	return fd_arena_strndup(a, s, strlen(s));
}

char *fd_arena_printf(fd_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = fd_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void fd_arena_reset(fd_arena *a)
{
	fd_arena_block *b = a->head, *keep = NULL;

	while (b) {
		fd_arena_block *next = b->next;
		/* Keep one ordinary block: most calls fit in it, so steady state
		 * does no malloc at all. */
		if (!keep && b->size == BLOCK_SIZE) {
			keep = b;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(b);
		}
		b = next;
	}
	a->head = keep;
	a->total = 0;
}

void fd_arena_destroy(fd_arena *a)
{
	fd_arena_reset(a);
	free(a->head);
	a->head = NULL;
}
