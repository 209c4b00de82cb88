/* SPDX-License-Identifier: MIT */
/*
 * aws_endpoint: endpoint resolution (see aws_endpoint.h for the order and
 * where the facts come from).
 */
#include "aws_endpoint.h"
#include "aws_http.h"
#include "aws_profile_file.h"
#include "aws_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MSG_MAX 1024

/* Region patterns are "LEAD-WORD-N", LEAD one of the leads (the SDKs'
 * regionRegex, e.g. ^cn\-\w+\-\d+$). */
static const struct {
  const char *id;
  const char *const *leads;
  const char *dns_suffix;
  const char *dual_stack_suffix; /* NULL: the partition has none */
} partitions[] = {
    {"aws",
     (const char *const[]){"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx",
                           NULL},
     "amazonaws.com", "api.aws"},
    {"aws-cn", (const char *const[]){"cn", NULL}, "amazonaws.com.cn",
     "api.amazonwebservices.com.cn"},
    {"aws-us-gov", (const char *const[]){"us-gov", NULL}, "amazonaws.com",
     "api.aws"},
    {"aws-iso", (const char *const[]){"us-iso", NULL}, "c2s.ic.gov", NULL},
    {"aws-iso-b", (const char *const[]){"us-isob", NULL}, "sc2s.sgov.gov",
     NULL},
    {"aws-iso-e", (const char *const[]){"eu-isoe", NULL}, "cloud.adc-e.uk",
     NULL},
    {"aws-iso-f", (const char *const[]){"us-isof", NULL}, "csp.hci.ic.gov",
     NULL},
    {"aws-eusc", (const char *const[]){"eusc-de", NULL}, "amazonaws.eu", NULL},
};

/* s is "WORD-N": [A-Za-z0-9_]+ '-' [0-9]+. */
static bool word_dash_number(const char *s) {
  size_t w = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_");
  size_t d;
  if (w == 0 || s[w] != '-')
    return false;
  d = strspn(s + w + 1, "0123456789");
  return d > 0 && s[w + 1 + d] == '\0';
}

/* The partition of region; -1 when none matches. */
static int partition_of(const char *region) {
  for (size_t i = 0; i < sizeof(partitions) / sizeof(*partitions); i++)
    for (const char *const *l = partitions[i].leads; *l != NULL; l++) {
      size_t n = strlen(*l);
      if (strncmp(region, *l, n) == 0 && region[n] == '-' &&
          word_dash_number(region + n + 1))
        return (int)i;
    }
  return -1;
}

/* A switch: 1 true, 0 false or unset, -1 with msg naming where. */
static int switch_value(const char *v, const char *where, char *msg,
                        size_t size) {
  char q[AWS_TEXT_QUOTE_SIZE];
  if (v == NULL || strcasecmp(v, "false") == 0)
    return 0;
  if (strcasecmp(v, "true") == 0)
    return 1;
  sm_text_printf(msg, size, "%s: \"%s\" is neither true nor false", where,
                 aws_text_quote(v, q, sizeof(q)));
  return -1;
}

/* The switch from the environment when set, else from the profile. */
static int setting(const aws_creds_config_t *c, const char *var,
                   const aws_profile_value_t *pv, const char *key,
                   const char *shown, char *msg, size_t size) {
  const char *v = aws_creds_getenv(c, var);
  char where[AWS_PROFILE_FILE_PATH_MAX + 64];
  if (v != NULL)
    return switch_value(v, var, msg, size);
  if (pv == NULL || pv->value == NULL)
    return 0;
  snprintf(where, sizeof(where), "%s line %u: %s", shown, pv->line, key);
  return switch_value(pv->value, where, msg, size);
}

/* Takes url from where: 0, or -1 with msg when it is not a usable URL. */
static int take(aws_endpoint_t *out, const char *url, const char *where,
                char *msg, size_t size) {
  char q[AWS_TEXT_QUOTE_SIZE], e[256];
  char *host = NULL, *path = NULL;
  int rc = -1;

  if (strlen(url) >= sizeof(out->url)) {
    sm_text_printf(msg, size, "%s: the URL is longer than %u bytes", where,
                   AWS_ENDPOINT_URL_MAX - 1);
  } else if (!aws_text_sendable(url) ||
             aws_http_split_url(url, &host, &path, e, sizeof(e)) != 0) {
    sm_text_printf(msg, size,
                   "%s: \"%s\" is not an http or https URL with a host", where,
                   aws_text_quote(url, q, sizeof(q)));
  } else if (host[0] == '\0' || host[0] == ':') {
    sm_text_printf(msg, size, "%s: \"%s\" has no host", where,
                   aws_text_quote(url, q, sizeof(q)));
  } else {
    snprintf(out->url, sizeof(out->url), "%s", url);
    snprintf(out->source, sizeof(out->source), "%s", where);
    rc = 0;
  }
  free(host);
  free(path);
  return rc;
}

/* "CloudWatch Logs" as "CLOUDWATCH_LOGS" (upper) or "cloudwatch_logs". */
static int service_key(const char *id, bool upper, char *buf, size_t size) {
  size_t n = strlen(id);
  if (n == 0 || n >= size)
    return -1;
  for (size_t i = 0; i <= n; i++) {
    char ch = id[i];
    if (ch == ' ')
      ch = '_';
    else if (upper && ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    else if (!upper && ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    else if (ch != '\0' &&
             !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
               (ch >= 'A' && ch <= 'Z') || ch == '-'))
      return -1;
    buf[i] = ch;
  }
  return 0;
}

/* Steps 2 to 5; 0 found, 1 none, -1 failed. */
static int configured(const aws_creds_config_t *c, const char *service_id,
                      const aws_profile_parser_t *conf, const char *profile,
                      const char *shown, aws_endpoint_t *out, char *msg,
                      size_t size) {
  char var[AWS_ENDPOINT_NAME_MAX + 32], key[AWS_ENDPOINT_NAME_MAX + 1];
  char where[AWS_PROFILE_FILE_PATH_MAX + 2 * AWS_ENDPOINT_NAME_MAX + 64];
  const aws_profile_t *r =
      conf != NULL ? aws_profile_parser_result(conf) : NULL;
  const aws_profile_value_t *v;
  const char *e;

  snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_");
  if (service_key(service_id, true, var + strlen(var),
                  sizeof(var) - strlen(var)) != 0 ||
      service_key(service_id, false, key, sizeof(key)) != 0) {
    sm_text_printf(msg, size, "endpoint: \"%s\" is not a service ID",
                   service_id);
    return -1;
  }
  if ((e = aws_creds_getenv(c, var)) != NULL)
    return take(out, e, var, msg, size);
  if ((e = aws_creds_getenv(c, "AWS_ENDPOINT_URL")) != NULL)
    return take(out, e, "AWS_ENDPOINT_URL", msg, size);
  if (conf != NULL && (v = aws_profile_parser_service_url(conf, key)) != NULL) {
    snprintf(where, sizeof(where), "%s line %u ([services %s] %s)", shown,
             v->line, r->services.value, key);
    return take(out, v->value, where, msg, size);
  }
  if (r != NULL && r->endpoint_url.value != NULL) {
    snprintf(where, sizeof(where), "%s line %u (profile %s)", shown,
             r->endpoint_url.line, profile);
    return take(out, r->endpoint_url.value, where, msg, size);
  }
  return 1;
}

/* Step 6. */
static int by_default(const char *prefix, const char *region, int fips,
                      int dual, aws_endpoint_t *out, char *msg, size_t size) {
  int i = partition_of(region);
  const char *suffix;

  if (i < 0) {
    sm_text_printf(out->note, sizeof(out->note),
                   "region %s matches no known partition: taken as aws's",
                   region);
    i = 0; /* the SDKs' default partition */
  }
  suffix = dual ? partitions[i].dual_stack_suffix : partitions[i].dns_suffix;
  if (suffix == NULL) {
    sm_text_printf(msg, size,
                   "endpoint: dual-stack is set but partition %s (region "
                   "%s) has no dual-stack endpoints",
                   partitions[i].id, region);
    return -1;
  }
  snprintf(out->url, sizeof(out->url), "https://%s%s.%s.%s", prefix,
           fips ? "-fips" : "", region, suffix);
  snprintf(out->source, sizeof(out->source),
           "the default for %s (partition %s%s%s)", region, partitions[i].id,
           fips ? ", FIPS" : "", dual ? ", dual-stack" : "");
  return 0;
}

int aws_endpoint_resolve(const aws_creds_config_t *cfg, const char *service_id,
                         const char *prefix, const char *explicit_url,
                         const char *region, aws_endpoint_t *out, char *err,
                         size_t err_size) {
  aws_creds_config_t c;
  aws_profile_parser_t *conf = NULL;
  const aws_profile_t *r = NULL;
  char *shown = NULL, msg[MSG_MAX] = "";
  const char *origin, *profile;
  int rc = 1, ignore = 0, fips = 0, dual = 0;

  memset(out, 0, sizeof(*out));
  if (err_size > 0)
    err[0] = '\0';
  if (cfg == NULL || cfg->getenv_fn == NULL || service_id == NULL ||
      prefix == NULL || prefix[0] == '\0' ||
      strlen(prefix) > AWS_ENDPOINT_NAME_MAX || region == NULL ||
      region[0] == '\0' || strlen(region) > AWS_REGION_MAX) {
    sm_text_printf(err, err_size, "endpoint: bad arguments");
    return -1;
  }
  aws_creds_config_defaults(cfg, &c);
  snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);
  snprintf(out->signing_service, sizeof(out->signing_service), "%s", prefix);
  if (explicit_url != NULL && explicit_url[0] != '\0')
    rc = take(out, explicit_url, "configuration", msg, sizeof(msg));

  profile = aws_profile_file_name(&c, &origin);
  shown = malloc(AWS_PROFILE_FILE_PATH_MAX);
  if (shown == NULL) {
    snprintf(msg, sizeof(msg), "out of memory");
    rc = -1;
  } else if (rc > 0 && strlen(profile) <= AWS_PROFILE_NAME_MAX &&
             aws_profile_file_load(&c, AWS_PROFILE_CONFIG_FILE, profile, &conf,
                                   shown, msg, sizeof(msg)) == AWS_FILE_ERROR) {
    rc = -1;
  }
  if (conf != NULL)
    r = aws_profile_parser_result(conf);
  if (rc > 0) {
    ignore =
        setting(&c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                r ? &r->ignore_configured_endpoint_urls : NULL,
                "ignore_configured_endpoint_urls", shown, msg, sizeof(msg));
    fips =
        setting(&c, "AWS_USE_FIPS_ENDPOINT", r ? &r->use_fips_endpoint : NULL,
                "use_fips_endpoint", shown, msg, sizeof(msg));
    dual = setting(&c, "AWS_USE_DUALSTACK_ENDPOINT",
                   r ? &r->use_dualstack_endpoint : NULL,
                   "use_dualstack_endpoint", shown, msg, sizeof(msg));
    if (ignore < 0 || fips < 0 || dual < 0)
      rc = -1;
  }
  if (rc > 0 && !ignore)
    rc =
        configured(&c, service_id, conf, profile, shown, out, msg, sizeof(msg));
  if (rc == 0 && (fips > 0 || dual > 0))
    sm_text_printf(out->note, sizeof(out->note),
                   "%s%s%s ignored: the endpoint comes from %s",
                   fips > 0 ? "FIPS" : "", fips > 0 && dual > 0 ? " and " : "",
                   dual > 0 ? "dual-stack" : "", out->source);
  if (rc > 0)
    rc = by_default(prefix, region, fips, dual, out, msg, sizeof(msg));
  if (rc != 0) {
    memset(out, 0, sizeof(*out));
    sm_text_printf(err, err_size, "%s", msg);
  }
  aws_profile_parser_destroy(conf);
  free(shown);
  return rc == 0 ? 0 : -1;
}
