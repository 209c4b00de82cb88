/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of aws_endpoint: each step of the order (the explicit URL,
 * AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the services section, the
 * profile's endpoint_url, the region's default) against the one below it,
 * the switches that skip or shape them, every partition's suffixes, and
 * bad values named by variable or file line. The expected URLs are written
 * out by hand from the SDKs' partition data and hostname patterns.
 */
#include "aws_endpoint.h"
#include "aws_test_util.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

static time_t fclock(void *ud) {
  (void)ud;
  return 0;
}

static char home[64];
static char config_path[128];

static void config_file(const char *text) {
  FILE *f;
  if (text == NULL) {
    unlink(config_path);
    return;
  }
  f = fopen(config_path, "w");
  if (f == NULL)
    abort();
  fputs(text, f);
  fclose(f);
}

static aws_creds_config_t cfg_of(const char *const *envp) {
  return (aws_creds_config_t){.getenv_fn = fenv_get,
                              .getenv_ud = (void *)envp,
                              .clock_fn = fclock,
                              .home_dir = home};
}

typedef struct {
  int rc;
  aws_endpoint_t e;
  char err[512];
} res_t;

static res_t resolve(const char *const *envp, const char *service_id,
                     const char *prefix, const char *explicit_url,
                     const char *region) {
  res_t r;
  aws_creds_config_t c = cfg_of(envp);
  memset(&r, 0, sizeof(r));
  r.rc = aws_endpoint_resolve(&c, service_id, prefix, explicit_url, region,
                              &r.e, r.err, sizeof(r.err));
  return r;
}

/* CloudWatch in region, CloudWatch Logs in eu-west-1. */
static res_t resolve_cw(const char *const *envp, const char *region) {
  return resolve(envp, "CloudWatch", "monitoring", NULL, region);
}

static res_t resolve_logs(const char *const *envp) {
  return resolve(envp, "CloudWatch Logs", "logs", NULL, "eu-west-1");
}

/* Resolves CloudWatch in us-east-1 and checks the URL and its source. */
static void expect(const char *const *envp, const char *explicit_url,
                   const char *url, const char *source, const char *what) {
  res_t r =
      resolve(envp, "CloudWatch", "monitoring", explicit_url, "us-east-1");
  if (!T_OK(r.rc == 0, "%s: resolved", what))
    T_NOTE("error: %s", r.err);
  T_EQ_STR(r.e.url, url, what);
  T_EQ_STR(r.e.source, source, what);
  T_OK(strcmp(r.e.signing_region, "us-east-1") == 0 &&
           strcmp(r.e.signing_service, "monitoring") == 0,
       "%s: signed for us-east-1 and monitoring (%s, %s)", what,
       r.e.signing_region, r.e.signing_service);
}

#define NOT_URL " is not an http or https URL with a host"
#define NOT_BOOL " is neither true nor false"

static void expect_error(const char *const *envp, const char *service_id,
                         const char *prefix, const char *region,
                         const char *want, const char *what) {
  res_t r = resolve(envp, service_id, prefix, NULL, region);
  T_OK(r.rc == -1 && r.e.url[0] == '\0', "%s: refused", what);
  T_EQ_STR(r.err, want, what);
}

static const char CONFIG[] =
    "[default]\n"                                       /* 1 */
    "region = us-west-2\n"                              /* 2 */
    "[profile dev]\n"                                   /* 3 */
    "services = local\n"                                /* 4 */
    "endpoint_url = http://localhost:4000\n"            /* 5 */
    "[services local]\n"                                /* 6 */
    "cloudwatch =\n"                                    /* 7 */
    "  endpoint_url = http://localhost:5000\n"          /* 8 */
    "cloudwatch_logs =\n"                               /* 9 */
    "  endpoint_url = http://localhost:5001/\n"         /* 10 */
    "[profile global]\n"                                /* 11 */
    "services = local\n"                                /* 12 */
    "endpoint_url = https://global.example:8443/base\n" /* 13 */
    "[profile ignoring]\n"                              /* 14 */
    "ignore_configured_endpoint_urls = true\n"          /* 15 */
    "endpoint_url = http://localhost:4000\n"            /* 16 */
    "[profile fips]\n"                                  /* 17 */
    "use_fips_endpoint = true\n"                        /* 18 */
    "use_dualstack_endpoint = True\n"                   /* 19 */
    "[profile badurl]\n"                                /* 20 */
    "endpoint_url = localhost:4000 x\n"                 /* 21 */
    "[profile badswitch]\n"                             /* 22 */
    "use_dualstack_endpoint = maybe\n";                 /* 23 */

#define DEFAULT_URL "https://monitoring.us-east-1.amazonaws.com"
#define DEFAULT_SRC "the default for us-east-1 (partition aws)"

static void test_precedence(void) {
  const char *all[] = {"AWS_PROFILE",
                       "dev",
                       "AWS_ENDPOINT_URL_CLOUDWATCH",
                       "http://127.0.0.1:5100",
                       "AWS_ENDPOINT_URL",
                       "http://127.0.0.1:5200",
                       NULL};
  const char *no_service_var[] = {"AWS_PROFILE", "dev", "AWS_ENDPOINT_URL",
                                  "http://127.0.0.1:5200", NULL};
  const char *dev[] = {"AWS_PROFILE", "dev", NULL};
  const char *global[] = {"AWS_PROFILE", "global", NULL};
  const char *none[] = {NULL};
  res_t r;

  config_file(CONFIG);
  expect(all, "https://vpce.example/", "https://vpce.example/", "configuration",
         "1. the explicit URL beats everything");
  expect(all, NULL, "http://127.0.0.1:5100", "AWS_ENDPOINT_URL_CLOUDWATCH",
         "2. AWS_ENDPOINT_URL_CLOUDWATCH beats AWS_ENDPOINT_URL and the file");
  expect(no_service_var, NULL, "http://127.0.0.1:5200", "AWS_ENDPOINT_URL",
         "3. AWS_ENDPOINT_URL beats the file");
  expect(dev, NULL, "http://localhost:5000",
         "~/.aws/config line 8 ([services local] cloudwatch)",
         "4. the services section beats the profile's endpoint_url");
  config_file("[profile dev]\nendpoint_url = http://localhost:4000\n");
  expect(dev, NULL, "http://localhost:4000",
         "~/.aws/config line 2 (profile dev)",
         "5. the profile's endpoint_url beats the default");
  config_file(CONFIG);
  expect(none, NULL, DEFAULT_URL, DEFAULT_SRC,
         "6. nothing configured: the region's default");

  /* The service's own names: CloudWatch Logs. */
  r = resolve_logs(all);
  T_EQ_STR(r.e.url, "http://127.0.0.1:5200",
           "logs: AWS_ENDPOINT_URL_CLOUDWATCH is not CloudWatch Logs'");
  {
    const char *logs[] = {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                          "http://127.0.0.1:5300", "AWS_ENDPOINT_URL",
                          "http://127.0.0.1:5200", NULL};
    r = resolve_logs(logs);
    T_EQ_STR(r.e.url, "http://127.0.0.1:5300",
             "logs: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS");
    T_EQ_STR(r.e.source, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
             "logs: named by its variable");
    T_OK(strcmp(r.e.signing_region, "eu-west-1") == 0 &&
             strcmp(r.e.signing_service, "logs") == 0,
         "logs: signed for eu-west-1 and logs");
  }
  r = resolve_logs(dev);
  T_EQ_STR(r.e.url, "http://localhost:5001/",
           "logs: the services section's cloudwatch_logs");
  T_EQ_STR(r.e.source,
           "~/.aws/config line 10 ([services local] cloudwatch_logs)",
           "logs: named by file and line");
  r = resolve_logs(none);
  T_EQ_STR(r.e.url, "https://logs.eu-west-1.amazonaws.com",
           "logs: the default");

  /* A services section without the service: the profile's endpoint_url. */
  r = resolve(global, "CloudWatch Events", "events", NULL, "us-east-1");
  T_EQ_STR(r.e.url, "https://global.example:8443/base",
           "a service the section lacks: the profile's endpoint_url");
}

static void test_ignore(void) {
  const char *env_true[] = {"AWS_PROFILE",
                            "dev",
                            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                            "true",
                            "AWS_ENDPOINT_URL_CLOUDWATCH",
                            "http://127.0.0.1:5100",
                            "AWS_ENDPOINT_URL",
                            "http://127.0.0.1:5200",
                            NULL};
  const char *profile_true[] = {"AWS_PROFILE", "ignoring", "AWS_ENDPOINT_URL",
                                "http://127.0.0.1:5200", NULL};
  const char *env_false[] = {"AWS_PROFILE", "ignoring",
                             "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "FALSE",
                             NULL};

  config_file(CONFIG);
  expect(env_true, NULL, DEFAULT_URL, DEFAULT_SRC,
         "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the variables and "
         "the file");
  expect(env_true, "http://explicit:1", "http://explicit:1", "configuration",
         "ignoring: the explicit URL still wins");
  expect(profile_true, NULL, DEFAULT_URL, DEFAULT_SRC,
         "the profile's ignore_configured_endpoint_urls skips AWS_ENDPOINT_URL "
         "too");
  expect(env_false, NULL, "http://localhost:4000",
         "~/.aws/config line 16 (profile ignoring)",
         "the variable set to false decides over the profile's true");
}

static void test_defaults(void) {
  static const struct {
    const char *region, *fips, *dual, *url, *source;
  } cases[] = {
      {"us-east-1", NULL, NULL, "https://monitoring.us-east-1.amazonaws.com",
       "the default for us-east-1 (partition aws)"},
      {"il-central-1", NULL, NULL,
       "https://monitoring.il-central-1.amazonaws.com",
       "the default for il-central-1 (partition aws)"},
      {"cn-north-1", NULL, NULL,
       "https://monitoring.cn-north-1.amazonaws.com.cn",
       "the default for cn-north-1 (partition aws-cn)"},
      {"us-gov-west-1", NULL, NULL,
       "https://monitoring.us-gov-west-1.amazonaws.com",
       "the default for us-gov-west-1 (partition aws-us-gov)"},
      {"us-iso-east-1", NULL, NULL,
       "https://monitoring.us-iso-east-1.c2s.ic.gov",
       "the default for us-iso-east-1 (partition aws-iso)"},
      {"us-east-1", "true", NULL,
       "https://monitoring-fips.us-east-1.amazonaws.com",
       "the default for us-east-1 (partition aws, FIPS)"},
      {"us-east-1", "false", "true", "https://monitoring.us-east-1.api.aws",
       "the default for us-east-1 (partition aws, dual-stack)"},
      {"us-east-1", "TRUE", "True", "https://monitoring-fips.us-east-1.api.aws",
       "the default for us-east-1 (partition aws, FIPS, dual-stack)"},
      {"cn-northwest-1", NULL, "true",
       "https://monitoring.cn-northwest-1.api.amazonwebservices.com.cn",
       "the default for cn-northwest-1 (partition aws-cn, dual-stack)"},
      {"us-gov-east-1", "true", "true",
       "https://monitoring-fips.us-gov-east-1.api.aws",
       "the default for us-gov-east-1 (partition aws-us-gov, FIPS, "
       "dual-stack)"},
  };
  res_t r;

  config_file(NULL);
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    const char *envp[5] = {NULL};
    size_t n = 0;
    char what[128];
    if (cases[i].fips != NULL) {
      envp[n++] = "AWS_USE_FIPS_ENDPOINT";
      envp[n++] = cases[i].fips;
    }
    if (cases[i].dual != NULL) {
      envp[n++] = "AWS_USE_DUALSTACK_ENDPOINT";
      envp[n++] = cases[i].dual;
    }
    snprintf(what, sizeof(what), "default %zu: %s", i + 1, cases[i].url);
    r = resolve_cw(envp, cases[i].region);
    T_EQ_STR(r.e.url, cases[i].url, what);
    T_EQ_STR(r.e.source, cases[i].source, what);
    T_EQ_STR(r.e.note, "", "no note");
  }

  /* The profile's switches; the environment decides over them. */
  config_file(CONFIG);
  {
    const char *fips[] = {"AWS_PROFILE", "fips", NULL};
    const char *fips_off[] = {"AWS_PROFILE", "fips", "AWS_USE_FIPS_ENDPOINT",
                              "false", NULL};
    r = resolve_cw(fips, "us-west-2");
    T_EQ_STR(r.e.url, "https://monitoring-fips.us-west-2.api.aws",
             "the profile's use_fips_endpoint and use_dualstack_endpoint");
    r = resolve_cw(fips_off, "us-west-2");
    T_EQ_STR(r.e.url, "https://monitoring.us-west-2.api.aws",
             "AWS_USE_FIPS_ENDPOINT=false decides over the profile");
  }
  {
    const char *fips_custom[] = {"AWS_USE_FIPS_ENDPOINT", "true",
                                 "AWS_ENDPOINT_URL", "http://127.0.0.1:5200",
                                 NULL};
    r = resolve_cw(fips_custom, "us-west-2");
    T_EQ_STR(r.e.url, "http://127.0.0.1:5200",
             "FIPS does not change a configured URL");
    T_EQ_STR(r.e.note, "FIPS ignored: the endpoint comes from AWS_ENDPOINT_URL",
             "... and says so in a note");
  }

  /* A region in no known partition: aws's, with a note. */
  config_file(NULL);
  {
    const char *none[] = {NULL};
    r = resolve_cw(none, "xx-moon-1");
    T_OK(r.rc == 0, "unknown partition: resolved");
    T_EQ_STR(r.e.url, "https://monitoring.xx-moon-1.amazonaws.com",
             "unknown partition: aws's suffix");
    T_EQ_STR(r.e.note,
             "region xx-moon-1 matches no known partition: taken as aws's",
             "unknown partition: a note");
    r = resolve_cw(none, "cn-north-1x");
    T_EQ_STR(r.e.url, "https://monitoring.cn-north-1x.amazonaws.com",
             "cn-north-1x is no aws-cn region (the pattern ends in digits)");
  }
}

static void test_errors(void) {
  /* CloudWatch in us-east-1 with one variable set (or none), CONFIG as
   * ~/.aws/config. */
  static const struct {
    const char *var, *value, *region, *want, *what;
  } bad[] = {
      {"AWS_ENDPOINT_URL_CLOUDWATCH", "ftp://127.0.0.1/", "us-east-1",
       "AWS_ENDPOINT_URL_CLOUDWATCH: \"ftp://127.0.0.1/\"" NOT_URL,
       "a URL that is not http(s), named by its variable"},
      {"AWS_ENDPOINT_URL", "http://", "us-east-1",
       "AWS_ENDPOINT_URL: \"http://\"" NOT_URL, "a URL without a host"},
      {"AWS_ENDPOINT_URL", "http://a b", "us-east-1",
       "AWS_ENDPOINT_URL: \"http://a b\"" NOT_URL, "a URL with a blank"},
      {"AWS_PROFILE", "badurl", "us-east-1",
       "~/.aws/config line 21 (profile badurl): \"localhost:4000 x\"" NOT_URL,
       "a bad endpoint_url, named by file and line"},
      {"AWS_PROFILE", "badswitch", "us-east-1",
       "~/.aws/config line 23: use_dualstack_endpoint: \"maybe\"" NOT_BOOL,
       "a bad switch in the profile, named by file and line"},
      {"AWS_USE_FIPS_ENDPOINT", "yes", "us-east-1",
       "AWS_USE_FIPS_ENDPOINT: \"yes\"" NOT_BOOL,
       "a bad switch in the environment"},
      {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1", "us-east-1",
       "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: \"1\"" NOT_BOOL,
       "a bad ignore switch"},
      {"AWS_USE_DUALSTACK_ENDPOINT", "true", "us-iso-east-1",
       "endpoint: dual-stack is set but partition aws-iso (region "
       "us-iso-east-1) has no dual-stack endpoints",
       "dual-stack where the partition has none"},
      {NULL, NULL, "", "endpoint: bad arguments", "no region"},
  };
  const char *none[] = {NULL};
  res_t r;

  config_file(CONFIG);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *envp[] = {bad[i].var, bad[i].value, NULL};
    expect_error(envp, "CloudWatch", "monitoring", bad[i].region, bad[i].want,
                 bad[i].what);
  }
  expect_error(none, "Cloud/Watch", "monitoring", "us-east-1",
               "endpoint: \"Cloud/Watch\" is not a service ID",
               "a bad service ID");
  config_file("[default]\nendpoint_url\n");
  expect_error(none, "CloudWatch", "monitoring", "us-east-1",
               "~/.aws/config line 2: expected key = value",
               "a malformed config file, named by line");
  /* The explicit URL does not need the file. */
  {
    const char *envp[] = {NULL};
    r = resolve(envp, "CloudWatch", "monitoring", "http://127.0.0.1:1/",
                "us-east-1");
    T_OK(r.rc == 0 && strcmp(r.e.url, "http://127.0.0.1:1/") == 0,
         "an explicit URL wins without reading a malformed file");
    r = resolve(envp, "CloudWatch", "monitoring", "not a url", "us-east-1");
    T_EQ_STR(r.err,
             "configuration: \"not a url\" is not an http or https URL with "
             "a host",
             "a bad explicit URL is refused too");
  }
  config_file(NULL);
}

int main(void) {
  char tmpl[] = "/tmp/aws-endpoint-test.XXXXXX";
  char dir[96];

  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (mkdtemp(tmpl) == NULL)
    return 1;
  snprintf(home, sizeof(home), "%s", tmpl);
  snprintf(dir, sizeof(dir), "%s/.aws", home);
  mkdir(dir, 0700);
  snprintf(config_path, sizeof(config_path), "%s/config", dir);

  test_precedence();
  test_ignore();
  test_defaults();
  test_errors();

  config_file(NULL);
  rmdir(dir);
  rmdir(home);
  curl_global_cleanup();
  return t_done();
}
