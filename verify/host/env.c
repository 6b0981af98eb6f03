/* env.c - see env.h */
#include "host/env.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool name_has(const char *name, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = name; *p; p++)
		if (strncasecmp(p, word, n) == 0)
			return true;
	return false;
}

static bool value_prefix(const char *value, const char *prefix)
{
	return strncmp(value, prefix, strlen(prefix)) == 0;
}

bool env_looks_secret(const char *name, const char *value)
{
	static const char *const words[] = { "TOKEN", "SECRET", "PASSWORD", "PASSWD",
					     "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL",
					     "ACCESS_KEY", "AUTH", "CANARY", "SESSION_KEY" };
	/* Prefixes of widely issued credentials (GitHub, GitLab, OpenAI/Anthropic-style,
	 * Slack, AWS, PEM keys, JWTs). */
	static const char *const prefixes[] = { "ghp_", "gho_", "ghs_", "github_pat_", "glpat-",
						"sk-", "xoxb-", "xoxp-", "AKIA", "ASIA",
						"-----BEGIN", "eyJ" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (name_has(name, words[i]))
			return true;
	for (size_t i = 0; value && i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (value_prefix(value, prefixes[i]))
			return true;
	return false;
}
