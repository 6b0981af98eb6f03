/* record.c - see record.h */
#include "smolvm/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* VmRecord fields of smolvm HEAD a5df5001 (src/config.rs). A key outside this list is
 * reported, never ignored: smolvm drops unknown keys on its next rewrite, and a newer
 * smolvm may add policy fields (deny_cidrs) whose meaning we cannot judge. */
static const char *const known_keys[] = {
	"name", "created_at", "state", "pid", "pid_start_time", "cpus", "mem", "mounts",
	"ports", "published_sockets", "network", "gpu", "gpu_vram_mib", "rosetta", "restart",
	"last_exit_code", "init", "init_completed", "remote_volumes", "env", "secret_refs",
	"workdir", "user", "storage_gb", "overlay_gb", "allowed_cidrs", "network_backend",
	"dns", "network_name", "image", "entrypoint", "cmd", "labels", "health_cmd",
	"health_interval_secs", "health_timeout_secs", "health_retries",
	"health_startup_grace_secs", "ssh_agent", "cuda", "forkable", "cuda_fork_pool_size",
	"cuda_vram_limit_mib", "cuda_preload_modules", "docker_socket", "dns_filter_hosts",
	"ephemeral", "source_smolmachine", "golden", "forkpoint_held", "fork_env",
	"runtime_managed",
};

bool record_key_is_known(const char *key)
{
	for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

int record_parse(const unsigned char *data, size_t len, struct vm_record *rec,
		 struct bv_error *err)
{
	memset(rec, 0, sizeof *rec);
	int r = jsonstrict_validate(data, len, &rec->top, err);
	if (r < 0)
		return r;
	if (!rec->top.is_object)
		return bv_error_set(err, EINVAL, "record is JSON but not an object");
	rec->raw = malloc(len + 1);
	if (!rec->raw)
		return bv_error_set(err, ENOMEM, "out of memory");
	memcpy(rec->raw, data, len);
	rec->raw[len] = '\0';
	rec->raw_len = len;
	rec->root = cJSON_ParseWithLength((const char *)rec->raw, len);
	if (!rec->root)
		return bv_error_set(err, ENOMEM, "cJSON could not parse a validated record");
	return 0;
}

int record_read_file(const char *path, struct vm_record *rec, struct bv_error *err)
{
	memset(rec, 0, sizeof *rec);
	unsigned char *buf = malloc(JSONSTRICT_MAX_BYTES + 1);
	if (!buf)
		return bv_error_set(err, ENOMEM, "out of memory");
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		free(buf);
		return bv_error_errno(err, e, "%s", path);
	}
	size_t n = fread(buf, 1, JSONSTRICT_MAX_BYTES + 1, f);
	fclose(f);
	int r = record_parse(buf, n, rec, err);
	free(buf);
	return r < 0 ? bv_error_wrap(err, "%s", path) : 0;
}

void record_free(struct vm_record *rec)
{
	if (!rec)
		return;
	cJSON_Delete(rec->root);
	json_top_free(&rec->top);
	free(rec->raw);
	memset(rec, 0, sizeof *rec);
}

const cJSON *record_get(const struct vm_record *rec, const char *key)
{
	if (!rec->root || !json_top_find(&rec->top, key))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(rec->root, key);
}

int record_get_u64(const struct vm_record *rec, const char *key, unsigned long long *out,
		   struct bv_error *err)
{
	const struct json_member_span *m = json_top_find(&rec->top, key);
	if (!m)
		return 0;
	const char *v = (const char *)rec->raw + m->value_start;
	size_t n = m->value_end - m->value_start;
	if (n == 4 && memcmp(v, "null", 4) == 0)
		return 0;
	unsigned long long acc = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || (i == 0 && v[i] == '0' && n > 1))
			return bv_error_set(err, EINVAL, "%s is not an unsigned integer", key);
		unsigned d = (unsigned)(v[i] - '0');
		if (acc > (~0ULL - d) / 10)
			return bv_error_set(err, EINVAL, "%s overflows 64 bits", key);
		acc = acc * 10 + d;
	}
	if (n == 0)
		return bv_error_set(err, EINVAL, "%s is empty", key);
	*out = acc;
	return 1;
}

int record_cidr_list(const cJSON *list, struct bv_cidr_set *out, struct bv_error *err)
{
	if (!list || cJSON_IsNull(list))
		return bv_error_set(err, ENODATA, "no CIDR list (null)");
	if (!cJSON_IsArray(list))
		return bv_error_set(err, EINVAL, "CIDR list is not a JSON list");
	/* Set comparison is quadratic; no real allowlist comes near this. */
	if (cJSON_GetArraySize(list) > RECORD_MAX_CIDRS)
		return bv_error_set(err, EINVAL, "CIDR list has more than %d entries", RECORD_MAX_CIDRS);
	const cJSON *item;
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item))
			return bv_error_set(err, EINVAL, "CIDR list holds a non-string entry");
		int r = cidr_set_add_text(out, item->valuestring, err);
		if (r < 0)
			return r;
	}
	return 0;
}

char *record_list_text(const cJSON *list)
{
	if (!list)
		return strdup("absent");
	return cJSON_PrintUnformatted(list);
}
