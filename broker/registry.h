/*
 * registry.h — the registry: endpoints, border sections and access rules,
 * loaded from a YAML file (docs/operations.md, "Registry file").
 *
 * A registry is an immutable snapshot. Sessions hold a reference to the
 * snapshot they were admitted under; SIGHUP loads a new one and swaps it in
 * only when it is valid as a whole. Access is default-deny: an endpoint may
 * do only what some access rule names it for, and only with the matching role.
 */
#ifndef CCC_REGISTRY_H
#define CCC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum endpoint_role {
	ROLE_PUBLISHER	= 1 << 0,
	ROLE_SUBSCRIBER	= 1 << 1,
	ROLE_OPERATOR	= 1 << 2,
};

struct endpoint {
	char		*id;		/* [a-z0-9][a-z0-9-]*, equals the certificate CN */
	char		*country;	/* "TR", "BG", "GR", or NULL (the centre itself) */
	char		*kind;		/* police, border_police, gendarmerie, customs, operator */
	char		*name;		/* display name */
	unsigned	 roles;		/* enum endpoint_role bits */
	bool		 suspended;	/* refused at connect */
	char		**ca;		/* SHA-256 fingerprints (64 lower-case hex digits) of
					   CAs one of which must be in its certificate's
					   chain; none: any trusted CA (the pin, "ca:") */
	size_t		 n_ca;
};

struct section {
	char		*id;		/* "<border>/<crossing>", e.g. "tr-bg/kapikule" */
	char		*border;	/* "tr-bg" */
	char		*name;		/* display name */
	double		 lat, lon;	/* degrees north and east (WGS 84), to
					   the micro-degree; 0 unless located */
	bool		 located;	/* lat and lon given (both or neither) */
};

enum acl_action { ACL_PUBLISH, ACL_SUBSCRIBE };

/* One allow rule. An empty list never matches; "*" in a list matches all. */
struct access_rule {
	char		*id;
	enum acl_action	 action;
	char		**endpoints;	/* endpoint ids or "*" */
	size_t		 n_endpoints;
	int		*categories;	/* publish: Ccc__V1__Category values */
	size_t		 n_categories;
	bool		 all_categories; /* publish: "*" given */
	char		**sections;	/* publish: "*", a border wildcard ("tr-bg/" then "*"), or a section id */
	size_t		 n_sections;
	char		**topics;	/* subscribe: topic patterns that may be subscribed within */
	size_t		 n_topics;
};

/*
 * A routing rule: alerts it matches go to its targets' inboxes whatever they
 * subscribed to, within the access rules and the disclosure policy
 * (policy.h). Empty origin list or "*": any origin.
 */
struct route_rule {
	char		*id;
	int		*categories;	/* Ccc__V1__Category values */
	size_t		 n_categories;
	bool		 all_categories; /* "*" given */
	char		**sections;	/* as in publish rules */
	size_t		 n_sections;
	int		 min_severity;	/* Ccc__V1__Severity; 0: any */
	char		**origins;	/* "*", country codes or endpoint ids */
	size_t		 n_origins;
	char		**targets;	/* endpoint ids with the subscriber role */
	size_t		 n_targets;
};

struct registry;

/*
 * Load and validate path as a whole (unknown keys, duplicate ids, rules that
 * name unknown endpoints or sections, bad patterns are all errors). Returns 0
 * and a new registry with one reference, or -1 with err = "FILE:LINE: why".
 */
int	registry_load(const char *path, struct registry **out, char *err,
	    size_t errlen);
int	registry_load_string(const char *yaml, const char *name,
	    struct registry **out, char *err, size_t errlen);
struct registry	*registry_ref(struct registry *reg);
void		 registry_unref(struct registry *reg);

/* Lookups return pointers owned by the registry, valid while it is referenced. */
const struct endpoint	*registry_endpoint(const struct registry *reg, const char *id);
const struct section	*registry_section(const struct registry *reg, const char *id);
const struct access_rule *registry_rules(const struct registry *reg, size_t *n);
const struct route_rule	*registry_routes(const struct registry *reg, size_t *n);
const struct endpoint	*registry_endpoints(const struct registry *reg, size_t *n);
const struct section	*registry_sections(const struct registry *reg, size_t *n);
size_t			 registry_nendpoints(const struct registry *reg);
size_t			 registry_nsections(const struct registry *reg);
/* Comma-separated role names of roles, e.g. "publisher,subscriber". */
const char		*registry_role_name(enum endpoint_role role);

/*
 * The revision a registry document says it was exported from ("revision:"
 * at the top), or 0 when it names none.
 */
unsigned long long	 registry_doc_revision(const struct registry *reg);

/*
 * The registry as a new JSON object of the file's schema (the caller owns
 * it): version, sections, endpoints, access_rules, routes; endpoints and
 * sections sorted by id, rules in order; a located section's lat and lon
 * are JSON reals. Loading its text again gives an equal registry.
 */
json_t			*registry_to_json(const struct registry *reg);
/*
 * Block-style YAML of a registry JSON object, headed by a comment line and
 * "revision: REV" when rev is not 0; reals in their shortest form that reads
 * back the same double (41.713). Returns a malloc'd string or NULL.
 */
char			*registry_json_to_yaml(const json_t *doc,
			    unsigned long long rev);

#endif
