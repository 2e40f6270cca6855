/* The method table built from methods.def; see methods.h. */
#include "methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "frontdesk/v1/all.h"

#define SERVICE(svc)
#define PERIODIC(name, fn, ms)
#define METHOD(svc, nm, fn, roles, flags) \
	int fn(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
#include "methods.def"
#undef METHOD

#define METHOD(svc, nm, fn, rl, fl) \
	{ .service = &svc, .name = #nm, .handler = fn, .roles = rl, .flags = fl },
static struct fd_method table[] = {
#include "methods.def"
};
#undef METHOD

#define N_METHODS (sizeof table / sizeof table[0])

#undef SERVICE
#define SERVICE(svc) &svc,
#define METHOD(svc, nm, fn, roles, flags)
static const ProtobufCServiceDescriptor *const services[] = {
#include "methods.def"
};
#undef METHOD
#undef SERVICE

/* "/" + service + "/" + method; long enough for any name we declare. */
static char paths[N_METHODS][128];

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct fd_method *)a)->path,
		      ((const struct fd_method *)b)->path);
}

int methods_init(void)
{
	for (size_t i = 0; i < N_METHODS; i++) {
		struct fd_method *m = &table[i];
		const ProtobufCMethodDescriptor *md =
			protobuf_c_service_descriptor_get_method_by_name(
				m->service, m->name);
		if (!md) {
			log_error("method table: %s has no rpc %s",
				  m->service->name, m->name);
			return -1;
		}
		if ((m->flags & M_INLINE) && !(m->flags & M_PUBLIC)) {
			log_error("method table: %s.%s is inline but needs a session, which needs the database",
				  m->service->name, m->name);
			return -1;
		}
		m->input = md->input;
		m->output = md->output;
		snprintf(paths[i], sizeof paths[i], "/%s/%s", m->service->name,
			 m->name);
		m->path = paths[i];
	}
	qsort(table, N_METHODS, sizeof table[0], by_path);
	return 0;
}

const struct fd_method *methods_find(const char *path)
{
	struct fd_method key = { .path = path };

	return bsearch(&key, table, N_METHODS, sizeof table[0], by_path);
}

const struct fd_method *methods_all(size_t *count)
{
	*count = N_METHODS;
	return table;
}

const ProtobufCServiceDescriptor *const *methods_services(size_t *count)
{
	*count = sizeof services / sizeof services[0];
	return services;
}
