/*
 * The method table and the protobuf service descriptors must agree both
 * ways: every rpc declared in a .proto the server implements has a row, and
 * every row names a declared rpc with a role rule. A new rpc added without a
 * row (or without roles) fails here.
 */
#include "harness.h"
#include "methods.h"

static void every_declared_rpc_has_a_row(void)
{
	size_t n_services;
	const ProtobufCServiceDescriptor *const *svcs = methods_services(&n_services);

	CHECK(methods_init() == 0);
	for (size_t i = 0; i < n_services; i++)
		for (unsigned k = 0; k < svcs[i]->n_methods; k++) {
			char path[160];
			snprintf(path, sizeof path, "/%s/%s", svcs[i]->name,
				 svcs[i]->methods[k].name);
			const struct fd_method *m = methods_find(path);
			CHECK_MSG(m != NULL, "rpc %s has no method table row", path);
			CHECK(m->input == svcs[i]->methods[k].input);
			CHECK(m->output == svcs[i]->methods[k].output);
		}
}

static void every_row_names_a_declared_rpc_with_roles(void)
{
	size_t n, n_services;
	const struct fd_method *all = methods_all(&n);
	const ProtobufCServiceDescriptor *const *svcs = methods_services(&n_services);
	size_t declared = 0;

	CHECK(methods_init() == 0);
	for (size_t i = 0; i < n_services; i++)
		declared += svcs[i]->n_methods;
	CHECK_INT(n, declared);
	for (size_t i = 0; i < n; i++) {
		const struct fd_method *m = &all[i];
		CHECK(m->input && m->output);
		CHECK_MSG((m->flags & M_PUBLIC) || m->roles != 0,
			  "%s needs a role rule or M_PUBLIC", m->path);
		CHECK_MSG(!(m->flags & M_INLINE) || (m->flags & M_PUBLIC),
			  "%s is inline but needs a session", m->path);
		CHECK_MSG(!((m->flags & M_INLINE) && (m->flags & M_MUTATES)),
			  "%s is inline and mutates, but inline calls have no transaction",
			  m->path);
		CHECK(methods_find(m->path) == m);
	}
}

static void unknown_paths_are_not_found(void)
{
	CHECK(methods_init() == 0);
	CHECK(methods_find("/frontdesk.v1.Auth/Nope") == NULL);
	CHECK(methods_find("") == NULL);
	CHECK(methods_find("/frontdesk.v1.Auth/Login/") == NULL);
	CHECK(methods_find("/frontdesk.v1.Auth/Login") != NULL);
}

static void only_login_and_health_are_public(void)
{
	size_t n;
	const struct fd_method *all;

	CHECK(methods_init() == 0);
	all = methods_all(&n);
	for (size_t i = 0; i < n; i++) {
		bool public_ok = strcmp(all[i].path, "/frontdesk.v1.Auth/Login") == 0 ||
				 strncmp(all[i].path, "/frontdesk.v1.Health/", 21) == 0;
		CHECK_MSG(((all[i].flags & M_PUBLIC) != 0) == public_ok,
			  "%s: public flag is wrong", all[i].path);
	}
}

TH_MAIN(TH_CASE(every_declared_rpc_has_a_row),
	TH_CASE(every_row_names_a_declared_rpc_with_roles),
	TH_CASE(unknown_paths_are_not_found),
	TH_CASE(only_login_and_health_are_public))
