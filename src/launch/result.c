/* result.c - bottle-launch's JSON result (result.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "core/release.h"
#include "launch/result.h"

static int add_str(cJSON *o, const char *key, const char *v)
{
	return cJSON_AddItemToObject(o, key, v && v[0] ? cJSON_CreateString(v) : cJSON_CreateNull()) ? 0 : -ENOMEM;
}

/* The bottle's address, allowlist, subnet and DNS guard (NULL before step 2). */
static cJSON *bottle_obj(const struct launch_result *r)
{
	cJSON *b = cJSON_CreateObject();
	char subnet[32] = "";
	if (r->subnet_octet)
		snprintf(subnet, sizeof subnet, "192.168.%u.0/24", r->subnet_octet);
	if (!b || add_str(b, "allowlist", r->allowlist) < 0 || add_str(b, "address", r->address) < 0 ||
	    add_str(b, "alias", r->alias) < 0 || add_str(b, "slug", r->slug) < 0 ||
	    add_str(b, "subnet", subnet) < 0 || add_str(b, "dns_guard", r->dns_guard) < 0 ||
	    add_str(b, "watch_tap", r->watch_tap) < 0) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* bottle-verify's report, embedded as the object it printed; a report that does not parse
 * is kept as text (the caller then has it, and the exit status says what it meant). */
static cJSON *verification_obj(const struct launch_result *r)
{
	cJSON *v = cJSON_CreateObject();
	if (!v || !cJSON_AddNumberToObject(v, "exit_code", r->verify_exit)) {
		cJSON_Delete(v);
		return NULL;
	}
	cJSON *rep = r->verify_report ? cJSON_Parse(r->verify_report) : NULL;
	if (!rep && r->verify_report)
		rep = cJSON_CreateString(r->verify_report);
	if (!rep)
		rep = cJSON_CreateNull();
	if (!rep || !cJSON_AddItemToObject(v, "report", rep)) {
		cJSON_Delete(rep);
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

static cJSON *result_doc(const struct launch_result *r)
{
	cJSON *d = cJSON_CreateObject();
	if (!d || add_str(d, "format", LAUNCH_RESULT_FORMAT) < 0 || add_str(d, "version", BV_RELEASE) < 0 ||
	    add_str(d, "command", r->command) < 0 || add_str(d, "name", r->name) < 0 ||
	    add_str(d, "outcome", r->outcome) < 0 || !cJSON_AddNumberToObject(d, "exit_code", r->exit_code) ||
	    !cJSON_AddNumberToObject(d, "step", r->step) || add_str(d, "reason", r->reason) < 0 ||
	    add_str(d, "smolvm_version", r->smolvm_version) < 0)
		goto fail;
	cJSON *b = bottle_obj(r);
	if (!b || !cJSON_AddItemToObject(d, "bottle", b)) {
		cJSON_Delete(b);
		goto fail;
	}
	cJSON *v = r->verify_exit >= 0 ? verification_obj(r) : cJSON_CreateNull();
	if (!v || !cJSON_AddItemToObject(d, "verification", v)) {
		cJSON_Delete(v);
		goto fail;
	}
	return d;
fail:
	cJSON_Delete(d);
	return NULL;
}

int launch_result_emit(const struct launch_result *r, FILE *out)
{
	cJSON *d = result_doc(r);
	char *text = d ? cJSON_PrintUnformatted(d) : NULL;
	cJSON_Delete(d);
	if (!text) {
		fprintf(out, "{\"format\":\"" LAUNCH_RESULT_FORMAT "\",\"exit_code\":2,\"outcome\":\"error\",\"reason\":\"out of memory\"}\n");
		return -ENOMEM;
	}
	int rc = fprintf(out, "%s\n", text) < 0 || fflush(out) != 0 ? -EIO : 0;
	cJSON_free(text);
	return rc;
}

void launch_result_free(struct launch_result *r)
{
	free(r->verify_report);
	free(r->watch_tap);
	r->verify_report = r->watch_tap = NULL;
}
