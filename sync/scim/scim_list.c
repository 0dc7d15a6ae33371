/* GET /Users and /Groups: filter, startIndex/count pagination, attribute projection. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

struct list_query {
	long long start; /* 1-based */
	long long count;
	struct scim_filter *filter;
	bool filter_members; /* the filter may look at a group's members: load them to evaluate it */
	bool out_members;    /* the response carries members */
	struct scim_projection proj;
};

struct list_acc {
	struct scim_ctx *c;
	struct list_query *q;
	long long total; /* matches so far */
	json_t *resources;
	struct scim_error err;
	bool failed;
};

static int parse_number(struct scim_ctx *c, const char *text, const char *name, long long dflt, long long *out)
{
	char *end;
	*out = dflt;
	if (!text || !*text)
		return 0;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end || end == text) {
		scim_fail(c, 400, "invalidValue", "%s must be an integer, got \"%.64s\"", name, text);
		return -1;
	}
	*out = v;
	return 0;
}

/* RFC 7644 3.4.2.4: startIndex < 1 means 1; count < 0 means 0; we cap count at SCIM_COUNT_MAX. */
static int parse_paging(struct scim_ctx *c, struct list_query *q)
{
	if (parse_number(c, c->req->start_index, "startIndex", 1, &q->start) < 0 ||
	    parse_number(c, c->req->count, "count", SCIM_COUNT_DEFAULT, &q->count) < 0)
		return -1;
	if (q->start < 1)
		q->start = 1;
	if (q->count < 0)
		q->count = 0;
	if (q->count > SCIM_COUNT_MAX)
		q->count = SCIM_COUNT_MAX;
	return 0;
}

static int parse_query(struct scim_ctx *c, struct list_query *q)
{
	struct scim_error err = {0};
	memset(q, 0, sizeof(*q));
	if (parse_paging(c, q) < 0)
		return -1;
	if (c->req->filter && *c->req->filter) {
		if (!(q->filter = scim_filter_parse(c->req->filter, &err))) {
			scim_fail_err(c, &err);
			return -1;
		}
		/* Attribute names are case-insensitive; any mention of "members" may need them. */
		q->filter_members = c->type == SCIM_GROUP && strcasestr(c->req->filter, "members") != NULL;
	}
	if (scim_projection_parse(c->type, c->req->attributes, c->req->excluded_attributes, &q->proj, &err) < 0) {
		scim_fail_err(c, &err);
		scim_filter_free(q->filter);
		return -1;
	}
	q->out_members = c->type == SCIM_GROUP && scim_projection_wants(&q->proj, "members");
	return 0;
}

static void query_free(struct list_query *q)
{
	scim_filter_free(q->filter);
	scim_projection_free(&q->proj);
}

/* Adds a rendered resource to the page (members added now if only the output needs them). */
static int add_to_page(struct list_acc *a, const struct store_record *rec, json_t *res)
{
	if (a->q->out_members && !json_object_get(res, "members")) {
		json_t *members = scim_members_json(a->c, rec->id, true);
		if (!members)
			return -1;
		json_object_set_new(res, "members", members);
	}
	scim_projection_apply(&a->q->proj, res);
	return json_array_append(a->resources, res);
}

static int list_row(struct store_record *rec, void *arg)
{
	struct list_acc *a = arg;
	struct list_query *q = a->q;
	json_t *res = scim_render(a->c, rec, q->filter ? q->filter_members : q->out_members);
	int ret = 0;
	if (!res) {
		a->failed = true;
		return -1;
	}
	if (q->filter) {
		int m = scim_filter_match(q->filter, a->c->type, res, &a->err);
		if (m < 0) {
			a->failed = true;
			ret = -1;
		} else if (m == 1) {
			long long pos = a->total++;
			if (pos >= q->start - 1 && pos < q->start - 1 + q->count && add_to_page(a, rec, res) < 0)
				ret = -1;
		}
	} else if (add_to_page(a, rec, res) < 0) {
		ret = -1;
	}
	json_decref(res);
	return ret;
}

/* `userName eq "x"` and friends come straight from an index. */
static enum store_lookup lookup_for(enum scim_resource_type type, const struct scim_filter *f, const char **value)
{
	static const struct {
		const char *attr;
		enum store_lookup by;
	} map[] = {{"username", STORE_BY_USER_NAME},
	           {"externalid", STORE_BY_EXTERNAL_ID},
	           {"id", STORE_BY_ID},
	           {"displayname", STORE_BY_DISPLAY_NAME}};
	const char *attr;
	if (!scim_filter_simple_eq(f, &attr, value))
		return STORE_ALL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(attr, map[i].attr) == 0 && store_has_lookup(type, map[i].by))
			return map[i].by;
	return STORE_ALL;
}

static int run_scan(struct scim_ctx *c, struct list_acc *a)
{
	struct store *st = c->svc->st;
	struct list_query *q = a->q;
	if (!q->filter) {
		int rc = store_count(st, c->type, &a->total);
		if (rc != STORE_OK || q->count == 0)
			return rc;
		return store_scan(st, c->type, STORE_ALL, NULL, q->count, q->start - 1, list_row, a);
	}
	const char *value = NULL;
	enum store_lookup by = lookup_for(c->type, q->filter, &value);
	return store_scan(st, c->type, by, value, -1, 0, list_row, a);
}

static json_t *list_response(const struct list_acc *a)
{
	return json_pack("{s:[s], s:I, s:I, s:I, s:O}", "schemas", SCIM_SCHEMA_LIST, "totalResults",
	                 (json_int_t)a->total, "startIndex", (json_int_t)a->q->start, "itemsPerPage",
	                 (json_int_t)json_array_size(a->resources), "Resources", a->resources);
}

void scim_list(struct scim_ctx *c)
{
	struct list_query q;
	struct list_acc a = {.c = c, .q = &q};
	if (parse_query(c, &q) < 0)
		return;
	if (!(a.resources = json_array()) || store_begin(c->svc->st, false) != STORE_OK) {
		scim_fail_store(c, STORE_ERROR);
	} else if (run_scan(c, &a) != STORE_OK) {
		if (a.failed && a.err.status)
			scim_fail_err(c, &a.err);
		else
			scim_fail_store(c, STORE_ERROR);
	} else {
		store_commit(c->svc->st);
		c->resp->status = 200;
		c->resp->body = list_response(&a);
	}
	json_decref(a.resources);
	query_free(&q);
}
