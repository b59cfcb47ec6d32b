/*
 * admin.c — registry revisions and the operator requests (admin.h).
 *
 * A change is computed against the registry in force: edits are applied to
 * its JSON form, or a whole document replaces it; either way the result is
 * loaded by the same validator as the registry file, so nothing invalid can
 * come into force. regdiff.c says what changed and whether it widens access.
 * Narrowing changes are committed at once; widening ones are stored as
 * proposals and committed only when a second, different operator approves
 * them. Every commit names the revision it was based on; the store refuses
 * it if that is no longer the newest (no lost updates), and a proposal whose
 * base has been overtaken is stale (the store marks it so in the commit of
 * the revision that overtakes it): it can only be proposed again.
 *
 * Each request waiting on the store holds its session (sess_hold), so the
 * reply finds it alive, if perhaps closing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "acl.h"
#include "admin.h"
#include "alert.h"
#include "audit.h"
#include "durable.h"
#include "explain.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "regdiff.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "topic.h"
#include "xmalloc.h"

#define ADMIN_HISTORY_DEFAULT	50
#define ADMIN_HISTORY_MAX	1000
#define ADMIN_FILE_MAX		(16 * 1024 * 1024)

static struct {
	struct server	*srv;
	struct store	*st;
	uint64_t	 rev;		/* the revision in force */
	char		 file_digest[65]; /* of the registry file last recorded */
	bool		 file_pending;	/* a file import is under way */
	bool		 by_file;	/* the revision in force came from the file */
} admin;

/* A request, or a file import, waiting for the store. */
struct admin_job {
	struct session		*sess;		/* NULL: a file import */
	uint64_t		 request_id;
	struct registry		*reg;		/* the registry to put in force */
	bool			 dry_run;
	char			*comment;
	char			*source;	/* file, admin, rollback */
	char			*file_digest;
	uint64_t		 proposal;	/* approve: the proposal carried out */
	uint64_t		 target;	/* the revision or proposal asked for */
	bool			 approve;	/* decide */
	bool			 proposals;	/* list: proposals, not revisions */
	struct regdiff		 diff;		/* change: what it changes (owned) */
};

#define admin_error(s, rid, code, ...) \
	sess_error((s), (rid), CCC__V1__ERROR_CODE__ERROR_CODE_##code, false, \
	    __VA_ARGS__)

uint64_t
admin_revision(void)
{
	return admin.rev;
}

/* ---- helpers ------------------------------------------------------------ */

/* Read path (bounded) and the hex SHA-256 of its bytes. */
static char *
admin_read_file(const char *path, char digest[65], char *err, size_t errlen)
{
	uint8_t md[32];
	unsigned int mdlen = 32;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0 && len < ADMIN_FILE_MAX);
	if (ferror(fp) || len >= ADMIN_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ?
		    strerror(errno) : "larger than 16 MiB");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", md[i]);
	return buf;
}

/*
 * The canonical text of reg, as stored for revision rev: YAML, or the JSON
 * form if the YAML would not read back the same (it always should).
 */
static char *
admin_document(const struct registry *reg, uint64_t rev)
{
	json_t *j = registry_to_json(reg), *j2;
	struct registry *back;
	char *yaml = registry_json_to_yaml(j, rev), err[256];
	bool same = false;

	if (yaml != NULL && registry_load_string(yaml, "document", &back, err,
	    sizeof(err)) == 0) {
		j2 = registry_to_json(back);
		same = json_equal(j, j2);
		json_decref(j2);
		registry_unref(back);
	}
	if (!same) {
		log_warn("registry revision %llu: YAML form does not read back "
		    "the same; storing JSON", (unsigned long long)rev);
		free(yaml);
		yaml = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	}
	json_decref(j);
	return yaml;
}

/* The endpoints that get an inbox: every subscriber. */
static size_t
admin_inboxes(const struct registry *reg, char ***out)
{
	size_t n, k = 0;
	const struct endpoint *eps = registry_endpoints(reg, &n);

	*out = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (eps[i].roles & ROLE_SUBSCRIBER)
			(*out)[k++] = eps[i].id;
	return k;
}

static void
admin_job_free(struct admin_job *j)
{
	regdiff_free(&j->diff);
	if (j->reg != NULL)
		registry_unref(j->reg);
	free(j->comment);
	free(j->source);
	free(j->file_digest);
	if (j->sess != NULL)
		sess_release(j->sess);
	free(j);
}

static struct admin_job *
admin_job_new(struct session *s, uint64_t rid)
{
	struct admin_job *j = xcalloc(1, sizeof(*j));

	j->sess = s;
	j->request_id = rid;
	if (s != NULL)
		sess_hold(s);
	return j;
}

static void
admin_send(struct session *s, uint64_t rid, Ccc__V1__AdminReply *r)
{
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;

	r->revision = admin.rev;
	out.request_id = rid;
	out.body_case = CCC__V1__ENVELOPE__BODY_ADMIN_REPLY;
	out.admin_reply = r;
	sess_send(s, &out);
}

/* Point a reply's repeated string field at the strings of a JSON array. */
static char **
admin_strings(const json_t *arr, size_t *n)
{
	char **v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	size_t i;
	json_t *it;

	json_array_foreach(arr, i, it)
		v[i] = (char *)(uintptr_t)json_string_value(it);
	*n = json_array_size(arr);
	return v;
}

/* Send r with the job's diff (changes and reasons) in it. */
static void
admin_send_diff(struct admin_job *j, Ccc__V1__AdminReply *r)
{
	r->changes = admin_strings(j->diff.changes, &r->n_changes);
	r->reasons = admin_strings(j->diff.reasons, &r->n_reasons);
	admin_send(j->sess, j->request_id, r);
	free(r->changes);
	free(r->reasons);
}

/* Split a stored "\n"-joined list into a JSON array. */
static json_t *
admin_lines(const char *text)
{
	json_t *a = json_array();
	const char *p = text, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		json_array_append_new(a, json_stringn(p, nl ? (size_t)(nl - p) :
		    strlen(p)));
		p = nl ? nl + 1 : NULL;
	}
	return a;
}

/* Drop the "NAME:LINE: " a loader message starts with. */
static const char *
admin_strip_where(const char *msg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(msg, name, n) == 0 && msg[n] == ':') {
		const char *p = msg + n + 1;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p[0] == ':' && p[1] == ' ')
			return p + 2;
	}
	return msg;
}

/* ---- committing --------------------------------------------------------- */

static void
admin_committed(void *arg, const struct store_result *res)
{
	struct admin_job *j = arg;
	struct session *s = j->sess;
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
	char **inb;
	size_t n;

	if (j->sess == NULL)
		admin.file_pending = false;
	if (res->status == STORE_OK && j->sess == NULL)
		log_info("SIGHUP: registry reloaded, recorded as revision %llu: "
		    "%zu endpoints, %zu sections", (unsigned long long)res->id,
		    registry_nendpoints(j->reg), registry_nsections(j->reg));
	if (res->status == STORE_OK) {
		n = admin_inboxes(j->reg, &inb);
		for (size_t i = 0; i < n; i++)
			durable_inbox_add(res->ids[i], inb[i]);
		free(inb);
		admin.rev = res->id;
		admin.by_file = s == NULL;
		if (j->file_digest != NULL)
			snprintf(admin.file_digest, sizeof(admin.file_digest),
			    "%s", j->file_digest);
		log_info("registry revision %llu in force (%s%s%s)",
		    (unsigned long long)admin.rev, j->source,
		    s != NULL ? " by " : "", s != NULL ? s->endpoint : "");
		server_set_registry(admin.srv, registry_ref(j->reg));
		if (s != NULL) {
			r.applied = true;
			admin_send_diff(j, &r);
		}
	} else if (s == NULL) {
		log_error("SIGHUP: registry not reloaded, keeping the current "
		    "one: %s", res->status ==
		    STORE_STALE ? "another change came first; send SIGHUP "
		    "again" : res->error);
	} else if (res->status == STORE_STALE)
		admin_error(s, j->request_id, STALE_REVISION, "revision %llu "
		    "is current now: the change was based on an older one",
		    (unsigned long long)res->newest);
	else
		admin_error(s, j->request_id, STORE_UNAVAILABLE, "the change "
		    "was not stored: %s", res->error ? res->error : "store "
		    "failure");
	admin_job_free(j);
}

/* j->diff: from the registry in force to j->reg. */
static void
admin_diff(struct admin_job *j)
{
	json_t *oldj = registry_to_json(server_registry(admin.srv)),
	    *newj = registry_to_json(j->reg);

	regdiff_free(&j->diff);
	regdiff_compare(oldj, newj, &j->diff);
	json_decref(oldj);
	json_decref(newj);
}

/*
 * Commit j->reg (its diff computed) as revision admin.rev + 1, with the
 * audit record of it.
 */
static void
admin_commit(struct admin_job *j, const char *author, const char *approver,
    const char *event)
{
	const struct regdiff *d = &j->diff;
	struct store_regchange c = { 0 };
	char *doc = admin_document(j->reg, admin.rev + 1), **inb, detail[1024];
	char *changes = regdiff_join(d->changes);

	snprintf(detail, sizeof(detail), "revision %llu: %.900s",
	    (unsigned long long)admin.rev + 1, changes);
	c.base = admin.rev;
	c.author = author;
	c.approved_by = approver;
	c.source = j->source;
	c.comment = j->comment;
	c.changes = changes;
	c.document = doc;
	c.file_digest = j->file_digest;
	c.proposal = j->proposal;
	c.ninboxes = admin_inboxes(j->reg, &inb);
	c.inboxes = inb;
	c.audit = audit_of(j->sess, event, NULL, detail);
	store_registry_commit(admin.st, &c, admin_committed, j);
	free(inb);
	free(doc);
	free(changes);
}

static void
admin_proposed(void *arg, const struct store_result *res)
{
	struct admin_job *j = arg;
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;

	if (res->status == STORE_OK) {
		log_info("registry proposal %llu by %s awaits approval",
		    (unsigned long long)res->id, j->sess->endpoint);
		r.proposal = res->id;
		admin_send_diff(j, &r);
	} else if (res->status == STORE_STALE)
		admin_error(j->sess, j->request_id, STALE_REVISION, "revision "
		    "%llu is current now: the change was based on an older one",
		    (unsigned long long)res->newest);
	else
		admin_error(j->sess, j->request_id, STORE_UNAVAILABLE, "the "
		    "proposal was not stored: %s", res->error);
	admin_job_free(j);
}

/*
 * j->reg is a valid registry based on the revision in force: show the diff
 * (dry run), commit it (narrowing), or store it as a proposal (widening).
 * Consumes j.
 */
static void
admin_submit(struct admin_job *j)
{
	struct session *s = j->sess;
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;

	admin_diff(j);
	if (j->dry_run || json_array_size(j->diff.changes) == 0) {
		admin_send_diff(j, &r);
		admin_job_free(j);
	} else if (regdiff_widens(&j->diff)) {
		struct store_regchange c = { 0 };
		char *doc = admin_document(j->reg, admin.rev + 1);
		char *changes = regdiff_join(j->diff.changes);
		char *reasons = regdiff_join(j->diff.reasons), detail[1024];

		snprintf(detail, sizeof(detail), "based on revision %llu: %.900s",
		    (unsigned long long)admin.rev, changes);
		c.base = admin.rev;
		c.author = s->endpoint;
		c.comment = j->comment;
		c.changes = changes;
		c.reasons = reasons;
		c.document = doc;
		c.audit = audit_of(s, "registry_proposed", NULL, detail);
		store_registry_propose(admin.st, &c, admin_proposed, j);
		free(doc);
		free(changes);
		free(reasons);
	} else
		admin_commit(j, s->endpoint, "", strcmp(j->source,
		    "rollback") == 0 ? "registry_rollback" : "registry_change");
}

/* ---- start-up and the registry file ------------------------------------- */

/*
 * May a changed registry file (saying it was exported from file_rev, 0: no
 * revision) replace the revision in force? Only if operators changed
 * nothing since the file was last recorded, or the file was exported from
 * the revision in force: otherwise it would undo their changes unseen.
 */
static bool
admin_file_may_replace(unsigned long long file_rev, char *why, size_t whylen)
{
	if (admin.by_file || file_rev == admin.rev)
		return true;
	snprintf(why, whylen, "revision %llu was made by an operator after the "
	    "file was last recorded, and the file %s; to change the registry "
	    "through the file, write `ccc admin export` into it, edit that, and "
	    "send SIGHUP again", (unsigned long long)admin.rev, file_rev == 0 ?
	    "names no revision" : "was exported from another revision");
	return false;
}

int
admin_init(struct server *srv, struct store *st, struct registry **reg,
    char *err, size_t errlen)
{
	const char *path = server_config(srv)->registry;
	struct store_regchange c = { 0 };
	struct registry *stored;
	char *doc, *fdig, *text, *changes, digest[65], **inb, why[1024];
	uint64_t rev;
	json_t *empty, *now;
	struct regdiff d;
	int rc;

	admin.srv = srv;
	admin.st = st;
	if (store_registry_newest(st, &rev, &doc, &fdig, &admin.by_file, err,
	    errlen) < 0)
		return -1;
	if ((text = admin_read_file(path, digest, err, errlen)) == NULL)
		goto fail;
	free(text);
	admin.rev = rev;
	if (rev != 0 && strcmp(fdig, digest) != 0 && !admin_file_may_replace(
	    registry_doc_revision(*reg), why, sizeof(why))) {
		log_error("registry file %s changed but is not recorded: %s",
		    path, why);
		snprintf(digest, sizeof(digest), "%s", fdig);
	}
	if (rev != 0 && strcmp(fdig, digest) == 0) {
		/* the file is as last recorded: the store's newest is in force */
		if (registry_load_string(doc, "stored registry", &stored, why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "revision %llu in the store does "
			    "not load: %s", (unsigned long long)rev, why);
			goto fail;
		}
		registry_unref(*reg);
		*reg = stored;
		admin.rev = rev;
		snprintf(admin.file_digest, sizeof(admin.file_digest), "%s",
		    digest);
		log_info("registry: revision %llu from the store",
		    (unsigned long long)rev);
		free(doc);
		free(fdig);
		return 0;
	}
	/* an empty store, or a changed file: record the file as the newest */
	empty = NULL;
	if (rev == 0 || registry_load_string(doc, "stored registry", &stored,
	    why, sizeof(why)) < 0)
		empty = json_pack("{s:[], s:[], s:[], s:[]}", "sections",
		    "endpoints", "access_rules", "routes");
	else {
		empty = registry_to_json(stored);
		registry_unref(stored);
	}
	free(doc);
	free(fdig);
	now = registry_to_json(*reg);
	regdiff_compare(empty, now, &d);
	changes = regdiff_join(d.changes);
	doc = admin_document(*reg, rev + 1);
	c.base = rev;
	c.author = "file";
	c.approved_by = "";
	c.source = "file";
	c.comment = rev == 0 ? "seeded from the registry file" :
	    "the registry file changed while the broker was stopped";
	c.changes = changes;
	c.document = doc;
	c.file_digest = digest;
	c.ninboxes = admin_inboxes(*reg, &inb);
	c.inboxes = inb;
	snprintf(why, sizeof(why), "revision %llu from %s",
	    (unsigned long long)rev + 1, path);
	c.audit = audit_of(NULL, "registry_file", NULL, why);
	rc = store_registry_commit_now(st, &c, err, errlen);
	free(inb);
	free(doc);
	free(changes);
	regdiff_free(&d);
	json_decref(empty);
	json_decref(now);
	if (rc < 0)
		return -1;
	admin.rev = rev + 1;
	admin.by_file = true;
	snprintf(admin.file_digest, sizeof(admin.file_digest), "%s", digest);
	log_info("registry: %s recorded as revision %llu", path,
	    (unsigned long long)admin.rev);
	return 0;
fail:
	free(doc);
	free(fdig);
	return -1;
}

void
admin_file_reload(struct server *srv)
{
	const char *path = server_config(srv)->registry;
	struct admin_job *j;
	struct registry *reg;
	char err[1024], digest[65], *text;

	if ((text = admin_read_file(path, digest, err, sizeof(err))) == NULL) {
		log_error("SIGHUP: registry not reloaded, keeping the current "
		    "one (revision %llu): %s", (unsigned long long)admin.rev,
		    err);
		return;
	}
	if (strcmp(digest, admin.file_digest) == 0 || admin.file_pending) {
		log_info("SIGHUP: registry file %s", admin.file_pending ?
		    "import already under way" : "unchanged since it was last "
		    "recorded");
		free(text);
		return;
	}
	if (registry_load_string(text, path, &reg, err, sizeof(err)) < 0) {
		log_error("SIGHUP: registry not reloaded, keeping the current "
		    "one (revision %llu): %s", (unsigned long long)admin.rev,
		    err);
		free(text);
		return;
	}
	free(text);
	if (!admin_file_may_replace(registry_doc_revision(reg), err,
	    sizeof(err))) {
		log_error("SIGHUP: registry not reloaded, keeping the current "
		    "one: %s", err);
		registry_unref(reg);
		return;
	}
	j = admin_job_new(NULL, 0);
	j->reg = reg;
	j->source = xstrdup("file");
	j->comment = xstrdup("the registry file changed (SIGHUP)");
	j->file_digest = xstrdup(digest);
	admin_diff(j);
	admin.file_pending = true;
	log_info("registry file %s changed: recording it as revision %llu",
	    path, (unsigned long long)admin.rev + 1);
	admin_commit(j, "file", "", "registry_file");
}

/* ---- requests ----------------------------------------------------------- */

static const char *const admin_collections[] = {
	"sections", "endpoints", "access_rules", "routes",
};

/* Apply one edit to the registry's JSON form; -1 with why[] if it cannot. */
static int
admin_edit(json_t *doc, const Ccc__V1__RegistryEdit *e, char *why,
    size_t whylen)
{
	json_t *list = NULL, *item, *it;
	json_error_t jerr;
	const char *id = e->id;
	size_t i, at = SIZE_MAX;
	bool known = false;

	for (i = 0; i < sizeof(admin_collections) / sizeof(*admin_collections);
	    i++)
		known |= strcmp(e->collection, admin_collections[i]) == 0;
	if (!known) {
		snprintf(why, whylen, "unknown collection \"%.64s\" (expected "
		    "sections, endpoints, access_rules or routes)",
		    e->collection);
		return -1;
	}
	list = json_object_get(doc, e->collection);
	item = NULL;
	if (e->kind == CCC__V1__REGISTRY_EDIT__KIND__KIND_PUT) {
		item = json_loads(e->item, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(item) || !json_is_string(json_object_get(item,
		    "id"))) {
			snprintf(why, whylen, "the %s item is not a JSON object "
			    "with an \"id\"%s%s", e->collection, item == NULL ?
			    ": " : "", item == NULL ? jerr.text : "");
			json_decref(item);
			return -1;
		}
		id = json_string_value(json_object_get(item, "id"));
	}
	json_array_foreach(list, i, it)
		if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
			at = i;
	switch (e->kind) {
	case CCC__V1__REGISTRY_EDIT__KIND__KIND_PUT:
		if (at == SIZE_MAX)
			json_array_append_new(list, item);
		else
			json_array_set_new(list, at, item);
		return 0;
	case CCC__V1__REGISTRY_EDIT__KIND__KIND_REMOVE:
		if (at == SIZE_MAX)
			break;
		json_array_remove(list, at);
		return 0;
	case CCC__V1__REGISTRY_EDIT__KIND__KIND_SUSPEND:
	case CCC__V1__REGISTRY_EDIT__KIND__KIND_RESUME:
		if (strcmp(e->collection, "endpoints") != 0) {
			snprintf(why, whylen, "only endpoints are suspended and "
			    "resumed");
			return -1;
		}
		if (at == SIZE_MAX)
			break;
		it = json_array_get(list, at);
		if (e->kind == CCC__V1__REGISTRY_EDIT__KIND__KIND_SUSPEND)
			json_object_set_new(it, "suspended", json_true());
		else
			json_object_del(it, "suspended");
		return 0;
	default:
		snprintf(why, whylen, "edit kind %d is not defined", e->kind);
		return -1;
	}
	snprintf(why, whylen, "no %s item \"%.64s\"", e->collection, id);
	return -1;
}

static void
admin_change(struct session *s, uint64_t rid, const Ccc__V1__AdminChange *ch)
{
	struct registry *reg;
	struct admin_job *j;
	char why[1024], *text;
	uint64_t base = ch->base_revision;
	json_t *doc;

	if (ch->document[0] != '\0' && ch->n_edits > 0) {
		admin_error(s, rid, INVALID_REQUEST, "a change carries edits or "
		    "a whole document, not both");
		return;
	}
	if (ch->document[0] != '\0') {
		const char *name = ch->document_name[0] ? ch->document_name :
		    "document";

		if (registry_load_string(ch->document, name, &reg, why,
		    sizeof(why)) < 0) {
			audit_session(s, "admin_refused", NULL, why);
			admin_error(s, rid, INVALID_CHANGE, "%s", why);
			return;
		}
		if (base == 0)
			base = registry_doc_revision(reg);
	} else if (ch->n_edits > 0) {
		if (base != 0 && base != admin.rev)
			goto stale;
		doc = registry_to_json(server_registry(admin.srv));
		for (size_t i = 0; i < ch->n_edits; i++)
			if (admin_edit(doc, ch->edits[i], why, sizeof(why)) < 0) {
				json_decref(doc);
				audit_session(s, "admin_refused", NULL, why);
				admin_error(s, rid, INVALID_CHANGE, "edit %zu: %s",
				    i + 1, why);
				return;
			}
		text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		json_decref(doc);
		if (registry_load_string(text, "change", &reg, why,
		    sizeof(why)) < 0) {
			free(text);
			audit_session(s, "admin_refused", NULL, why);
			admin_error(s, rid, INVALID_CHANGE, "the change would make "
			    "the registry invalid: %s",
			    admin_strip_where(why, "change"));
			return;
		}
		free(text);
	} else {
		admin_error(s, rid, INVALID_REQUEST, "the change has no edits "
		    "and no document");
		return;
	}
	if (base == 0) {
		registry_unref(reg);
		admin_error(s, rid, INVALID_REQUEST, "name the revision the "
		    "change is based on (base_revision, or \"revision:\" in the "
		    "document; revision %llu is current)",
		    (unsigned long long)admin.rev);
		return;
	}
	if (base != admin.rev) {
		registry_unref(reg);
		goto stale;
	}
	j = admin_job_new(s, rid);
	j->reg = reg;
	j->dry_run = ch->dry_run;
	j->comment = xstrdup(ch->comment);
	j->source = xstrdup("admin");
	admin_submit(j);
	return;
stale:
	audit_session(s, "admin_refused", NULL, "stale revision");
	admin_error(s, rid, STALE_REVISION, "the change is based on revision "
	    "%llu, but revision %llu is current: look at the current registry "
	    "and make the change again", (unsigned long long)base,
	    (unsigned long long)admin.rev);
}

/* Fill a Revision or Proposal reply entry's changes from stored text. */
static void
admin_fill_lines(json_t *keep, const char *text, char ***v, size_t *n)
{
	json_t *lines = admin_lines(text);

	*v = admin_strings(lines, n);
	json_array_append_new(keep, lines);	/* keeps the strings alive */
}

static void
admin_listed(void *arg, const struct store_result *res)
{
	struct admin_job *j = arg;
	struct session *s = j->sess;
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
	Ccc__V1__Revision *revs;
	Ccc__V1__Proposal *props;
	json_t *keep = json_array();
	size_t i;

	if (res->status != STORE_OK) {
		admin_error(s, j->request_id, STORE_UNAVAILABLE, "the store "
		    "could not be read: %s", res->error);
		admin_job_free(j);
		json_decref(keep);
		return;
	}
	revs = xcalloc(res->nregrecs + 1, sizeof(*revs));
	props = xcalloc(res->nregrecs + 1, sizeof(*props));
	r.revisions = xcalloc(res->nregrecs + 1, sizeof(*r.revisions));
	r.proposals = xcalloc(res->nregrecs + 1, sizeof(*r.proposals));
	for (i = 0; i < res->nregrecs; i++) {
		const struct store_regrec *g = &res->regrecs[i];

		if (!j->proposals) {
			ccc__v1__revision__init(&revs[i]);
			revs[i].revision = g->id;
			revs[i].created_at = g->created_at;
			revs[i].author = (char *)(uintptr_t)g->author;
			revs[i].approved_by = (char *)(uintptr_t)g->approved_by;
			revs[i].comment = (char *)(uintptr_t)g->comment;
			admin_fill_lines(keep, g->changes, &revs[i].changes,
			    &revs[i].n_changes);
			r.revisions[r.n_revisions++] = &revs[i];
		} else {
			ccc__v1__proposal__init(&props[i]);
			props[i].id = g->id;
			props[i].base_revision = g->base;
			props[i].created_at = g->created_at;
			props[i].proposer = (char *)(uintptr_t)g->author;
			props[i].comment = (char *)(uintptr_t)g->comment;
			props[i].state = (char *)(uintptr_t)g->state;
			props[i].decided_by = (char *)(uintptr_t)g->approved_by;
			admin_fill_lines(keep, g->changes, &props[i].changes,
			    &props[i].n_changes);
			admin_fill_lines(keep, g->reasons, &props[i].reasons,
			    &props[i].n_reasons);
			r.proposals[r.n_proposals++] = &props[i];
		}
	}
	admin_send(s, j->request_id, &r);
	for (i = 0; i < r.n_revisions; i++)
		free(r.revisions[i]->changes);
	for (i = 0; i < r.n_proposals; i++) {
		free(r.proposals[i]->changes);
		free(r.proposals[i]->reasons);
	}
	free(r.revisions);
	free(r.proposals);
	free(revs);
	free(props);
	json_decref(keep);
	admin_job_free(j);
}

/* Reply to a get of revision rev with its document and JSON. */
static void
admin_send_document(struct session *s, uint64_t rid, const char *doc)
{
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
	struct registry *reg;
	char why[512], *json = NULL;
	json_t *j;

	if (registry_load_string(doc, "stored registry", &reg, why,
	    sizeof(why)) < 0) {
		admin_error(s, rid, INTERNAL, "the stored registry does not "
		    "load: %s", why);
		return;
	}
	j = registry_to_json(reg);
	json = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
	r.document = (char *)(uintptr_t)doc;
	r.registry_json = json;
	admin_send(s, rid, &r);
	free(json);
	json_decref(j);
	registry_unref(reg);
}

/* A stored revision or proposal (with its document) has been read. */
static void
admin_fetched(void *arg, const struct store_result *res)
{
	struct admin_job *j = arg;
	struct session *s = j->sess;
	const struct store_regrec *g = res->nregrecs ? &res->regrecs[0] : NULL;
	char why[1024];
	bool stale;

	if (res->status != STORE_OK) {
		admin_error(s, j->request_id, STORE_UNAVAILABLE, "the store "
		    "could not be read: %s", res->error);
		goto out;
	}
	if (g == NULL) {
		admin_error(s, j->request_id, NOT_FOUND, "no %s %llu",
		    j->proposals ? "proposal" : "revision",
		    (unsigned long long)j->target);
		goto out;
	}
	if (strcmp(j->source, "get") == 0) {
		admin_send_document(s, j->request_id, g->document);
		goto out;
	}
	if (registry_load_string(g->document, "stored registry", &j->reg, why,
	    sizeof(why)) < 0) {
		admin_error(s, j->request_id, INTERNAL, "the stored registry "
		    "does not load: %s", why);
		goto out;
	}
	if (strcmp(j->source, "rollback") == 0) {
		admin_submit(j);
		return;
	}
	/* decide; a stale proposal is refused below when approved */
	stale = strcmp(g->state, "stale") == 0;
	if (strcmp(g->state, "pending") != 0 && !(stale && j->approve)) {
		admin_error(s, j->request_id, INVALID_REQUEST, "proposal %llu "
		    "is %s already", (unsigned long long)g->id, g->state);
		goto out;
	}
	if (!j->approve) {
		struct audit_rec a;

		snprintf(why, sizeof(why), "proposal %llu rejected",
		    (unsigned long long)g->id);
		a = audit_of(s, "registry_rejected", NULL, why);
		store_registry_decide(admin.st, g->id, "rejected", s->endpoint,
		    &a, NULL, NULL);
		log_info("registry proposal %llu rejected by %s",
		    (unsigned long long)g->id, s->endpoint);
		{
			Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;

			r.proposal = g->id;
			admin_send(s, j->request_id, &r);
		}
		goto out;
	}
	if (strcmp(g->author, s->endpoint) == 0) {
		snprintf(why, sizeof(why), "proposal %llu: %s may not approve "
		    "its own proposal", (unsigned long long)g->id, s->endpoint);
		audit_session(s, "admin_refused", NULL, why);
		admin_error(s, j->request_id, FORBIDDEN, "%s: a second, "
		    "different operator must approve it", why);
		goto out;
	}
	if (stale || g->base != admin.rev) {
		struct audit_rec a;

		snprintf(why, sizeof(why), "proposal %llu was made against "
		    "revision %llu, but revision %llu is current",
		    (unsigned long long)g->id, (unsigned long long)g->base,
		    (unsigned long long)admin.rev);
		if (stale)
			audit_session(s, "admin_refused", NULL, why);
		else {
			a = audit_of(s, "registry_stale", NULL, why);
			store_registry_decide(admin.st, g->id, "stale",
			    s->endpoint, &a, NULL, NULL);
		}
		admin_error(s, j->request_id, STALE_REVISION, "%s: it can no "
		    "longer be approved; propose the change again", why);
		goto out;
	}
	{
		char *author = xstrdup(g->author);

		admin_diff(j);
		free(j->comment);
		j->comment = xstrdup(g->comment);
		j->proposal = g->id;
		free(j->source);
		j->source = xstrdup("admin");
		log_info("registry proposal %llu of %s approved by %s",
		    (unsigned long long)g->id, author, s->endpoint);
		admin_commit(j, author, s->endpoint, "registry_approved");
		free(author);
		return;
	}
out:
	admin_job_free(j);
}

/* Read one stored revision or proposal, then carry on in admin_fetched. */
static void
admin_fetch(struct session *s, uint64_t rid, const char *what, bool proposal,
    uint64_t id, bool approve, bool dry_run, const char *comment,
    uint64_t base)
{
	struct admin_job *j;

	if (strcmp(what, "rollback") == 0 && base != admin.rev) {
		admin_error(s, rid, STALE_REVISION, "the rollback is based on "
		    "revision %llu, but revision %llu is current",
		    (unsigned long long)base, (unsigned long long)admin.rev);
		return;
	}
	j = admin_job_new(s, rid);
	j->source = xstrdup(what);
	j->target = id;
	j->proposals = proposal;
	j->approve = approve;
	j->dry_run = dry_run;
	j->comment = xstrdup(comment);
	store_registry_list(admin.st, proposal, id, 1, true, true,
	    admin_fetched, j);
}

/* ---- explain (explain.c) ---------------------------------------------- */

static void
admin_explain(struct session *s, uint64_t rid, Ccc__V1__Alert *a)
{
	Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
	Ccc__V1__ErrorCode code;
	struct explain ex;
	char why[640];

	if (explain_alert(admin.srv, server_registry(admin.srv), a, &ex, &code,
	    why, sizeof(why)) < 0) {
		sess_error(s, rid, code, false, "%s", why);
		return;
	}
	r.explain = ex.entries;
	r.n_explain = ex.nentries;
	r.topic = ex.topic;
	admin_send(s, rid, &r);
	explain_free(&ex);
}

/* ---- dispatch ----------------------------------------------------------- */

void
admin_request(struct session *s, const Ccc__V1__Envelope *env)
{
	const Ccc__V1__AdminRequest *q = env->admin;
	uint64_t rid = env->request_id;
	struct admin_job *j;
	char why[256];

	if ((s->ep->roles & ROLE_OPERATOR) == 0) {
		snprintf(why, sizeof(why), "admin request %d refused: %s lacks "
		    "the operator role", (int)q->op_case, s->endpoint);
		log_warn("session %llu: %s", (unsigned long long)s->serial, why);
		audit_session(s, "admin_refused", NULL, why);
		admin_error(s, rid, FORBIDDEN, "administration needs the "
		    "operator role, which %s does not have", s->endpoint);
		return;
	}
	switch (q->op_case) {
	case CCC__V1__ADMIN_REQUEST__OP_GET:
		if (q->get->revision == 0 || q->get->revision == admin.rev) {
			char *doc = admin_document(server_registry(admin.srv),
			    admin.rev);

			admin_send_document(s, rid, doc);
			free(doc);
		} else
			admin_fetch(s, rid, "get", false, q->get->revision,
			    false, false, "", 0);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_CHANGE:
		admin_change(s, rid, q->change);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_HISTORY:
	case CCC__V1__ADMIN_REQUEST__OP_PENDING:
		j = admin_job_new(s, rid);
		j->proposals = q->op_case == CCC__V1__ADMIN_REQUEST__OP_PENDING;
		store_registry_list(admin.st, j->proposals, 0, j->proposals ?
		    ADMIN_HISTORY_MAX : q->history->limit == 0 ?
		    ADMIN_HISTORY_DEFAULT : q->history->limit > ADMIN_HISTORY_MAX ?
		    ADMIN_HISTORY_MAX : q->history->limit, false, false,
		    admin_listed, j);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_ROLLBACK:
		if (q->rollback->revision == 0 ||
		    q->rollback->revision > admin.rev) {
			admin_error(s, rid, NOT_FOUND, "no revision %llu (the "
			    "newest is %llu)",
			    (unsigned long long)q->rollback->revision,
			    (unsigned long long)admin.rev);
			break;
		}
		admin_fetch(s, rid, "rollback", false, q->rollback->revision,
		    false, q->rollback->dry_run, q->rollback->comment,
		    q->rollback->base_revision);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_DECIDE:
		admin_fetch(s, rid, "decide", true, q->decide->proposal,
		    q->decide->approve, false, q->decide->comment, 0);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_EXPLAIN:
		admin_explain(s, rid, q->explain->alert);
		break;
	case CCC__V1__ADMIN_REQUEST__OP_STATUS: {
		Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
		json_t *st = metrics_status_json(admin.srv);

		json_object_set_new(st, "registry_revision",
		    json_integer((json_int_t)admin.rev));
		r.status_json = json_dumps(st, JSON_PRESERVE_ORDER |
		    JSON_COMPACT);
		admin_send(s, rid, &r);
		free(r.status_json);
		json_decref(st);
		break;
	}
	case CCC__V1__ADMIN_REQUEST__OP_RELOAD_TLS: {
		Ccc__V1__AdminReply r = CCC__V1__ADMIN_REPLY__INIT;
		char err[1024];

		if (server_reload_tls(admin.srv, err, sizeof(err)) < 0) {
			log_error("admin: TLS context not reloaded (asked by %s), "
			    "keeping the current one: %s", s->endpoint, err);
			audit_session(s, "tls_reload_failed", NULL, err);
			admin_error(s, rid, INTERNAL, "the TLS files were not "
			    "reloaded; the current ones stay in force: %s", err);
			break;
		}
		audit_session(s, "tls_reload", NULL, "");
		admin_send(s, rid, &r);
		break;
	}
	default:
		admin_error(s, rid, INVALID_REQUEST, "admin request %d is not "
		    "supported by this broker", (int)q->op_case);
		break;
	}
}
