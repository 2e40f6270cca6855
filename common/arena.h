/*
 * A per-call arena: every allocation made while serving one call comes from
 * here and is released at once by fd_arena_reset() after the reply is sent.
 * This is what keeps the server leak-free without per-field frees: protobuf-c
 * unpacks into the arena through fd_arena_allocator(), and replies are built
 * in it. Single-threaded: one arena belongs to one call at a time.
 */
#ifndef FD_ARENA_H
#define FD_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct fd_arena_block fd_arena_block;

typedef struct fd_arena {
	fd_arena_block *head;  /* newest block first */
	size_t total;          /* bytes handed out since the last reset */
	size_t limit;          /* 0: unlimited; else allocations past it fail */
	ProtobufCAllocator pb; /* protobuf-c view of this arena */
} fd_arena;

void fd_arena_init(fd_arena *a, size_t limit);
/* Returns zeroed memory aligned for any type, or NULL past the limit. */
void *fd_arena_alloc(fd_arena *a, size_t size);
char *fd_arena_strdup(fd_arena *a, const char *s);
char *fd_arena_strndup(fd_arena *a, const char *s, size_t n);
char *fd_arena_printf(fd_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees everything but the first block, which is kept for reuse. */
void fd_arena_reset(fd_arena *a);
/* Frees everything. */
void fd_arena_destroy(fd_arena *a);
/* For protobuf_c_message_unpack(): memory it makes lives until reset, so
 * such messages are never passed to free_unpacked. */
static inline ProtobufCAllocator *fd_arena_allocator(fd_arena *a)
{
	return &a->pb;
}

#endif
