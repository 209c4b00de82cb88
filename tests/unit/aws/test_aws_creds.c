/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the credential chain (aws_creds and its four providers,
 * aws_creds_env, aws_creds_file, aws_creds_container, aws_creds_imds), its
 * cache, and what else asks instance metadata (aws_imds, aws_region): the
 * parsers under them have their own tests (test_aws_profile.c,
 * test_aws_creds_json.c).
 *
 * Against an injected environment, a temporary home directory, an
 * injected clock and a fake IMDSv2 / container endpoint: the scripted
 * server of tests/fakes/fake_http.h on 127.0.0.1 (ephemeral port), whose
 * pick callback walks this file's script for the case. Each scripted step says
 * what the client must send (method, path, headers that must be there or must
 * not) and what to answer; the fake refuses, like IMDSv2, a request without a
 * session token with 401 where the step says so. After each case every step
 * must have been used, as expected, and nothing asked beyond the script.
 *
 * Every message the module returns is checked for the secrets the test
 * uses; a secret in any message fails the run.
 */
#include "aws_creds.h"
#include "aws_imds.h"
#include "aws_region.h"
#include "aws_test_util.h"
#include "fake_http.h"
#include "tap.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 8

/* ---- injected clock (the environment: fenv_get, aws_test_util.h) ---- */

static time_t now_;
static time_t fclock(void *ud) {
  (void)ud;
  return __atomic_load_n(&now_, __ATOMIC_SEQ_CST);
}
static void set_now(time_t t) { __atomic_store_n(&now_, t, __ATOMIC_SEQ_CST); }

/* ---- the fake endpoint ---- */

/* A scripted step: what the client must send, what the fake answers, and
 * what happened. The steps are read and written by pick() in the fake's
 * thread, under its lock; the test reads them after a fake_http_* call,
 * which takes that lock. */
typedef struct {
  /* what the client must send */
  const char *method;
  const char *path;
  const char *need[3];        /* "Name: value" lines that must be present */
  const char *deny;           /* a header name that must be absent */
  const char *refuse_without; /* like IMDSv2: 401 when this header is absent */
  /* what the fake answers */
  int status;
  const char *body;
  int delay_ms;
  bool silent; /* reads the request, never answers */
  /* what happened */
  bool used;
  bool as_expected;
  char seen[600]; /* request line, for diagnostics */
} step_t;

/* A request's mark when the fake refused it for want of a token. */
#define MARK_REFUSED 401

static struct {
  fake_http_t *srv;
  char url[64];
  step_t *steps;
  size_t n;
  size_t next;
} fake;

/* Does the request carry the header "Name: value" (value NULL: any)? */
static bool has_header(const fake_http_request_t *r, const char *name,
                       const char *value) {
  char v[1024];
  return fake_http_header(r, name, v, sizeof(v)) != NULL &&
         (value == NULL || strcmp(v, value) == 0);
}

static bool has_line(const fake_http_request_t *r, const char *header_line) {
  const char *colon = strchr(header_line, ':');
  const char *v = colon + 1;
  char name[128];
  while (*v == ' ')
    v++;
  snprintf(name, sizeof(name), "%.*s", (int)(colon - header_line), header_line);
  return has_header(r, name, v);
}

/* The next step answers, after checking the request against it. */
static fake_http_pick_t pick(void *ud, fake_http_request_t *req, size_t nth,
                             fake_http_step_t *ans) {
  step_t *s;

  (void)ud;
  (void)nth;
  if (fake.next >= fake.n) {
    T_NOTE("fake: unexpected request: %s %s", req->method, req->target);
    return FAKE_HTTP_UNSCRIPTED;
  }
  s = &fake.steps[fake.next++];
  s->used = true;
  snprintf(s->seen, sizeof(s->seen), "%s %.500s", req->method, req->target);
  s->as_expected =
      strcmp(req->method, s->method) == 0 && strcmp(req->target, s->path) == 0;
  for (size_t i = 0; i < 3 && s->need[i] != NULL; i++)
    if (!has_line(req, s->need[i]))
      s->as_expected = false;
  if (s->deny != NULL && has_header(req, s->deny, NULL))
    s->as_expected = false;
  if (!s->as_expected)
    T_NOTE("fake: step \"%s %s\" got: %s", s->method, s->path, s->seen);
  ans->close_after = 1;
  if (s->refuse_without != NULL && !has_header(req, s->refuse_without, NULL)) {
    req->mark = MARK_REFUSED;
    ans->status = 401;
    return FAKE_HTTP_PICKED;
  }
  if (s->silent) {
    ans->action = FAKE_HTTP_SILENT; /* until the client gives up */
    return FAKE_HTTP_PICKED;
  }
  ans->status = s->status;
  ans->body = s->body;
  ans->delay_ms = s->delay_ms;
  return FAKE_HTTP_PICKED;
}

static int fake_start(void) {
  fake_http_config_t cfg = {.pick = pick,
                            .headers = "Content-Type: text/plain\r\n"};
  char err[256];

  fake.srv = fake_http_start(&cfg, err, sizeof(err));
  if (fake.srv == NULL) {
    T_NOTE("%s", err);
    return -1;
  }
  snprintf(fake.url, sizeof(fake.url), "%s", fake_http_url(fake.srv));
  return 0;
}

static void fake_stop(void) { fake_http_free(fake.srv); }

static void script(step_t *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    steps[i].used = steps[i].as_expected = false;
    steps[i].seen[0] = '\0';
  }
  fake.steps = steps;
  fake.n = n;
  fake.next = 0;
  /* Orders the writes above before the fake's next pick(). */
  fake_http_reset(fake.srv, NULL, 0);
}

/* Every scripted step used, each as expected, nothing more asked. */
static void script_check(const char *what) {
  fake_http_stats_t st = fake_http_stats(fake.srv);
  size_t used = 0, expected = 0;

  for (size_t i = 0; i < fake.n; i++) {
    used += fake.steps[i].used;
    expected += fake.steps[i].used && fake.steps[i].as_expected;
  }
  T_OK(used == fake.n && expected == fake.n && st.extra == 0,
       "%s: the fake's %zu scripted replies all used, requests as expected "
       "(used %zu, as expected %zu, unscripted %zu)",
       what, fake.n, used, expected, st.extra);
}

static int served(void) { return (int)fake_http_stats(fake.srv).requests; }

/* Was request nth of the script refused for want of a token? */
static bool refused(size_t nth) {
  const fake_http_request_t *r = fake_http_request(fake.srv, nth);
  return r != NULL && r->mark == MARK_REFUSED;
}

/* ---- scripted steps ---- */

#define TTL_LINE "X-aws-ec2-metadata-token-ttl-seconds: 21600"
#define TOKEN_LINE "X-aws-ec2-metadata-token: " SESSION
#define TOKEN_HDR "X-aws-ec2-metadata-token"
#define ROLES_PATH "/latest/meta-data/iam/security-credentials/"

static step_t put_token(void) {
  return (step_t){.method = "PUT",
                  .path = "/latest/api/token",
                  .need = {TTL_LINE},
                  .status = 200,
                  .body = SESSION};
}

static step_t imds_get(const char *path, int status, const char *body) {
  return (step_t){.method = "GET",
                  .path = path,
                  .need = {TOKEN_LINE},
                  .refuse_without = TOKEN_HDR,
                  .status = status,
                  .body = body};
}

/* ---- files ---- */

static char home[64];
static char aws_dir[96];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    abort();
  fputs(text, f);
  fclose(f);
}

static void home_file(const char *name, const char *text) {
  char path[160];
  snprintf(path, sizeof(path), "%s/%s", aws_dir, name);
  if (text == NULL)
    unlink(path);
  else
    write_file(path, text);
}

/* ---- config ---- */

static aws_creds_config_t config(const char *const *envp) {
  return (aws_creds_config_t){.getenv_fn = fenv_get,
                              .getenv_ud = (void *)envp,
                              .clock_fn = fclock,
                              .imds_url = fake.url,
                              .container_url = fake.url,
                              .home_dir = home,
                              .timeout_ms = 3000};
}

/* Creates a provider, gets once, checks the message for secrets. */
static aws_creds_status_t get_once(const aws_creds_config_t *cfg,
                                   aws_creds_t *out, char *err, size_t n) {
  aws_creds_provider_t *p = aws_creds_provider_create(cfg);
  aws_creds_status_t st;
  if (p == NULL)
    abort();
  st = aws_creds_get(p, out, err, n);
  if (!clean(err))
    T_NOTE("a secret leaked into a message");
  aws_creds_provider_destroy(p);
  return st;
}

static aws_creds_status_t get(aws_creds_provider_t *p, aws_creds_t *out,
                              char *err, size_t n) {
  aws_creds_status_t st = aws_creds_get(p, out, err, n);
  if (!clean(err))
    T_NOTE("a secret leaked into a message");
  return st;
}

static bool contains(const char *s, const char *part) {
  return s != NULL && strstr(s, part) != NULL;
}

/* =================== the chain =================== */

static const char *const NO_IMDS[] = {"AWS_EC2_METADATA_DISABLED", "true",
                                      NULL};

static void test_environment(void) {
  aws_creds_t c = {0};
  char err[1024];
  const char *with[] = {"AWS_ACCESS_KEY_ID",
                        ENV_ID,
                        "AWS_SECRET_ACCESS_KEY",
                        ENV_SECRET,
                        "AWS_SESSION_TOKEN",
                        ENV_TOKEN,
                        NULL};
  const char *without[] = {"AWS_ACCESS_KEY_ID",
                           ENV_ID,
                           "AWS_SECRET_ACCESS_KEY",
                           ENV_SECRET,
                           "AWS_SESSION_TOKEN",
                           "",
                           NULL};
  const char *half[] = {"AWS_SECRET_ACCESS_KEY", ENV_SECRET, NULL};
  aws_creds_config_t cfg = config(with);

  home_file("credentials", "[default]\naws_access_key_id=" FILE_ID
                           "\naws_secret_access_key=" FILE_SECRET "\n");
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "environment: ok");
  T_EQ_STR(c.provider, "environment", "environment: named");
  T_EQ_STR(c.access_key_id, ENV_ID, "environment: key id (before the files)");
  T_EQ_STR(c.secret_access_key, ENV_SECRET, "environment: secret");
  T_EQ_STR(c.session_token, ENV_TOKEN, "environment: token");
  T_EQ_INT(c.expiration, 0, "environment: no expiration");
  T_EQ_STR(err, "", "environment: no message");
  aws_creds_clear(&c);

  cfg = config(without);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "environment without token: ok");
  T_OK(c.session_token == NULL, "environment: an empty token is no token");
  aws_creds_clear(&c);

  {
    aws_creds_config_t none = {0};
    aws_creds_provider_t *p;
    T_OK(aws_creds_provider_create(NULL) == NULL &&
             aws_creds_provider_create(&none) == NULL,
         "create: refuses a config without getenv or clock");
    cfg = config(with);
    p = aws_creds_provider_create(&cfg);
    T_EQ_INT(aws_creds_get(p, &c, NULL, 0), AWS_CREDS_OK,
             "get: a NULL message buffer is fine");
    aws_creds_clear(&c);
    aws_creds_clear(&c);
    T_OK(c.access_key_id == NULL, "clear: twice is harmless");
    aws_creds_provider_destroy(p);
    aws_creds_provider_destroy(NULL);
  }

  cfg = config(half);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "environment: a secret without a key id fails the chain");
  T_EQ_STR(err,
           "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID "
           "is not",
           "environment: half a pair named");
  T_OK(clean(err) && c.access_key_id == NULL,
       "environment: no secret in the message, nothing handed out");
  home_file("credentials", NULL);
}

static void test_files(void) {
  aws_creds_t c = {0};
  char err[1024], path[256];
  const char *envp[8] = {"AWS_EC2_METADATA_DISABLED", "true", NULL};
  aws_creds_config_t cfg = config(envp);

  home_file("credentials", CREDS_FILE);
  home_file("config", CONFIG_FILE);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files: default profile");
  T_EQ_STR(c.provider, "shared credentials file (profile default)",
           "files: provider named with the profile");
  T_EQ_STR(c.access_key_id, FILE_ID, "files: key id");
  T_EQ_STR(c.session_token, FILE_TOKEN, "files: token");
  aws_creds_clear(&c);

  envp[2] = "AWS_PROFILE";
  envp[3] = "dev";
  envp[4] = NULL;
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files: AWS_PROFILE=dev");
  T_EQ_STR(c.access_key_id, DEV_ID,
           "files: the credentials file wins over the config file");
  aws_creds_clear(&c);

  cfg.profile = "spaced";
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files: Profile option");
  T_EQ_STR(c.access_key_id, "S",
           "files: the Profile option beats "
           "AWS_PROFILE");
  aws_creds_clear(&c);
  cfg.profile = NULL;

  home_file("credentials", NULL);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files: only a config file");
  T_EQ_STR(c.provider, "shared config file (profile dev)",
           "files: [profile dev] in the config file");
  T_EQ_STR(c.access_key_id, CONF_ID, "files: config file key id");
  aws_creds_clear(&c);

  envp[3] = "missing";
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: a named profile that is nowhere fails");
  T_EQ_STR(err,
           "shared files: profile \"missing\" (from AWS_PROFILE) is in "
           "neither ~/.aws/credentials nor ~/.aws/config",
           "files: says which profile and where it came from");

  envp[3] = "assume";
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: a role_arn profile fails");
  T_OK(contains(err, "uses role_arn, which is not supported"),
       "files: says role_arn is not supported: %s", err);

  /* AWS_*_FILE, with "~/" expanded. */
  snprintf(path, sizeof(path), "%s/elsewhere", home);
  write_file(path, "[default]\naws_access_key_id = " FILE_ID "\n"
                   "aws_secret_access_key = " FILE_SECRET "\n");
  envp[2] = "AWS_SHARED_CREDENTIALS_FILE";
  envp[3] = "~/elsewhere";
  envp[4] = "AWS_CONFIG_FILE";
  envp[5] = "/nonexistent/config";
  envp[6] = NULL;
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files: AWS_SHARED_CREDENTIALS_FILE=~/elsewhere");
  T_EQ_STR(c.access_key_id, FILE_ID, "files: read from the named file");
  aws_creds_clear(&c);

  /* Malformed: file and line named, the secret on it not quoted. */
  write_file(path, "[default]\naws_access_key_id = " FILE_ID "\n"
                   "aws_secret_access_key " FILE_SECRET "\n");
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: malformed file fails");
  T_EQ_STR(err, "~/elsewhere line 3: expected key = value",
           "files: names the file as given and the line");
  T_OK(clean(err), "files: no secret in the malformed-line message");
  unlink(path);

  envp[2] = NULL;
  home_file("credentials", "[default]\r\n\r\n# keys\r\n"
                           "aws_access_key_id = " FILE_ID "\r\n"
                           "\r\n\r\n"
                           "aws_secret_access_key\t" FILE_SECRET "\r\n");
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: malformed default file fails");
  T_EQ_STR(err, "~/.aws/credentials line 7: expected key = value",
           "files: ~/.aws/credentials line 7");
  T_OK(clean(err), "files: no secret in the message");

  home_file("credentials",
            "[default]\naws_secret_access_key = " FILE_SECRET "\n");
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: half a pair fails");
  T_EQ_STR(err,
           "~/.aws/credentials: profile \"default\" has aws_secret_access_key "
           "but no aws_access_key_id",
           "files: half a pair named");

  /* A directory where the file should be, and no home at all. */
  home_file("credentials", NULL);
  home_file("config", NULL);
  snprintf(path, sizeof(path), "%s/credentials", aws_dir);
  mkdir(path, 0700);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "files: a directory instead of a file fails");
  T_EQ_STR(err, "~/.aws/credentials: not a regular file",
           "files: says not a regular file");
  rmdir(path);
  cfg.home_dir = NULL;
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "no home, nothing anywhere: fails");
  T_OK(contains(err, "no credentials found: environment: ") &&
           contains(err, "shared files: no keys for profile \"default\"") &&
           contains(err, "container: ") &&
           contains(err, "instance metadata: disabled by "
                         "AWS_EC2_METADATA_DISABLED"),
       "the message tells what each provider said: %s", err);
}

static void test_container(void) {
  aws_creds_t c = {0};
  char err[1024], tokfile[160];
  time_t exp = utc(2026, 11, 26, 18, 0, 0);
  const char *rel[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                       "/v2/credentials/0f1e2d3c-4b5a",
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN", CT_AUTH, NULL};
  const char *full[8] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                         NULL,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                         tokfile,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                         "ignored",
                         NULL};
  char full_uri[128];
  aws_creds_config_t cfg = config(rel);
  step_t s[2] = {{.method = "GET",
                  .path = "/v2/credentials/0f1e2d3c-4b5a",
                  .need = {"Authorization: " CT_AUTH},
                  .status = 200}};

  /* Files are looked at before the container: none here. */
  s[0].body =
      creds_doc(NULL, CT_ID, CT_SECRET, CT_TOKEN, "2026-11-26T18:00:00Z");
  script(s, 1);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "container, relative URI: ok");
  script_check("container, relative URI, Authorization header");
  T_EQ_STR(c.provider, "container", "container: named");
  T_EQ_STR(c.access_key_id, CT_ID, "container: key id");
  T_EQ_STR(c.session_token, CT_TOKEN, "container: token");
  T_EQ_INT(c.expiration, exp, "container: Expiration parsed");
  aws_creds_clear(&c);

  /* The files come first. */
  home_file("credentials", "[default]\naws_access_key_id=" FILE_ID
                           "\naws_secret_access_key=" FILE_SECRET "\n");
  script(s, 0);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "files and container: ok");
  T_EQ_STR(c.access_key_id, FILE_ID, "the files come before the container");
  script_check("files before container: the container was not asked");
  aws_creds_clear(&c);
  home_file("credentials", NULL);

  /* Full URI with a token file, read on every fetch. */
  snprintf(full_uri, sizeof(full_uri), "%s/creds?id=1", fake.url);
  full[1] = full_uri;
  snprintf(tokfile, sizeof(tokfile), "%s/token", home);
  write_file(tokfile, CT_AUTH "\n");
  cfg = config(full);
  {
    aws_creds_provider_t *p = aws_creds_provider_create(&cfg);
    step_t f[2] = {{.method = "GET",
                    .path = "/creds?id=1",
                    .need = {"Authorization: " CT_AUTH},
                    .status = 200},
                   {.method = "GET",
                    .path = "/creds?id=1",
                    .need = {"Authorization: " CT_AUTH2},
                    .status = 200}};
    f[0].body =
        creds_doc(NULL, CT_ID, CT_SECRET, CT_TOKEN, "2026-11-26T18:00:00Z");
    f[1].body = f[0].body;
    script(f, 2);
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
             "container, full URI and token file: ok");
    write_file(tokfile, CT_AUTH2);
    aws_creds_invalidate(p, &c);
    aws_creds_clear(&c);
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
             "container: refreshed after invalidation");
    script_check("container: the token file is read again on each fetch, "
                 "and wins over AWS_CONTAINER_AUTHORIZATION_TOKEN");
    aws_creds_clear(&c);
    aws_creds_provider_destroy(p);
  }
  unlink(tokfile);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "container: a missing token file fails");
  T_OK(contains(err, "container credentials: ") && contains(err, tokfile),
       "container: names the token file: %s", err);

  /* A full URI elsewhere over http is refused without a request. */
  full[1] = "http://192.0.2.10:8080/creds";
  full[2] = NULL;
  script(s, 0);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "container: http to a non-loopback host refused");
  T_OK(contains(err, "host \"192.0.2.10\" is not a loopback"),
       "container: says why: %s", err);
  script_check("container: no request to a refused host");
  full[1] = "ftp://127.0.0.1/x";
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "container: ftp refused");

  /* Bad answers. */
  cfg = config(rel);
  static const struct {
    int status;
    const char *body, *want;
  } bad[] = {
      {500, "{}", "container credentials: GET http://127.0.0.1:"},
      {200,
       "{\"AccessKeyId\":\"" CT_ID "\",\"SecretAccessKey\":\"" CT_SECRET "\",",
       "the answer is not a credentials document: not valid JSON"},
      {200, "<html>", "not valid JSON"},
      {200,
       "{\"AccessKeyId\":\"" CT_ID "\",\"SecretAccessKey\":\"" CT_SECRET
       "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"x\"}",
       "container credentials: Expiration \"x\" is not an ISO 8601 time"},
      {200,
       "{\"AccessKeyId\":\"" CT_ID "\",\"SecretAccessKey\":\"" CT_SECRET
       "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2026-11-26T11:59:59Z\"}",
       "container credentials: the credentials expired at "
       "2026-11-26T11:59:59Z"},
      {200, "{\"AccessKeyId\":\"" CT_ID "\",\"Token\":\"" CT_TOKEN "\"}",
       "container credentials: no SecretAccessKey in the answer"},
      {200,
       "{\"AccessKeyId\":\"" CT_ID "\",\"SecretAccessKey\":\"" CT_SECRET "\"}",
       "container credentials: no Expiration in the answer"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    char what[64];
    snprintf(what, sizeof(what), "container, bad answer %zu", i + 1);
    s[0].status = bad[i].status;
    s[0].body = bad[i].body;
    script(s, 1);
    T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED, what);
    T_OK(contains(err, bad[i].want), "%s: \"%s\"", what, err);
    T_OK(clean(err), "%s: no secret in the message", what);
    script_check(what);
  }
  T_OK(c.access_key_id == NULL, "container: nothing handed out on failure");
}

static void test_imds(void) {
  aws_creds_t c = {0};
  char err[1024];
  const char *envp[] = {NULL};
  aws_creds_config_t cfg = config(envp);
  time_t exp = utc(2026, 11, 26, 18, 0, 0);
  step_t s[4];
  struct timespec t0, t1;
  long ms;

  s[0] = put_token();
  s[1] = imds_get(ROLES_PATH, 200, "web-role\n");
  s[2] = imds_get(ROLES_PATH "web-role", 200,
                  creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                            "2026-11-26T18:00:00Z"));
  script(s, 3);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK, "IMDSv2: ok");
  script_check("IMDSv2: PUT with the TTL header, then both GETs with the "
               "token");
  T_OK(!refused(1) && !refused(2), "IMDSv2: no request without token");
  T_EQ_STR(c.provider, "instance metadata (role web-role)",
           "IMDSv2: provider names the role");
  T_EQ_STR(c.access_key_id, IMDS_ID, "IMDSv2: key id");
  T_EQ_STR(c.secret_access_key, IMDS_SECRET, "IMDSv2: secret");
  T_EQ_STR(c.session_token, IMDS_TOKEN, "IMDSv2: token");
  T_EQ_INT(c.expiration, exp, "IMDSv2: expiration");
  aws_creds_clear(&c);

  s[2].body = creds_doc("AssumeRoleUnauthorizedAccess", IMDS_ID, IMDS_SECRET,
                        IMDS_TOKEN, "2026-11-26T18:00:00Z");
  script(s, 3);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv2: Code other than Success fails");
  T_OK(contains(err, "instance metadata: Code "
                     "\"AssumeRoleUnauthorizedAccess\" instead of "
                     "\"Success\""),
       "IMDSv2: quotes the Code: %s", err);
  T_OK(clean(err), "IMDSv2: no secret in the Code message");
  script_check("IMDSv2, Code");

  s[0].status = 403;
  script(s, 1);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv2: token refused");
  T_OK(contains(err, "instance metadata: PUT /latest/api/token: HTTP 403"),
       "IMDSv2: says PUT /latest/api/token: HTTP 403: %s", err);
  script_check("IMDSv2, 403: nothing asked after the PUT");
  s[0].status = 200;

  s[1] = imds_get(ROLES_PATH, 404, "");
  script(s, 2);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv2: no role");
  T_OK(contains(err, "GET " ROLES_PATH ": HTTP 404"), "no role: %s", err);
  script_check("IMDSv2, no role");

  s[1] = imds_get(ROLES_PATH, 200, "../../evil\n");
  script(s, 2);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv2: a role name with a path in it is refused");
  script_check("IMDSv2, bad role name");
  s[1] = imds_get(ROLES_PATH, 200, "web-role\n");

  /* IMDSv1: only when enabled. */
  s[0].status = 404;
  script(s, 1);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv1 fallback off: a PUT 404 fails");
  script_check("IMDSv1 fallback off: no GET without a token");

  cfg.imds_v1_fallback = true;
  s[1].need[0] = NULL;
  s[1].refuse_without = NULL;
  s[1].deny = TOKEN_HDR;
  s[2] = (step_t){.method = "GET",
                  .path = ROLES_PATH "web-role",
                  .deny = TOKEN_HDR,
                  .status = 200,
                  .body = creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                                    "2026-11-26T18:00:00Z")};
  script(s, 3);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
           "IMDSv1 fallback on: ok after a PUT 404");
  script_check("IMDSv1 fallback on: GETs without a token");
  T_EQ_STR(c.access_key_id, IMDS_ID, "IMDSv1: key id");
  aws_creds_clear(&c);

  /* An IMDSv2-only server refuses the token-less GET. */
  s[1] = imds_get(ROLES_PATH, 200, "web-role\n");
  s[1].need[0] = NULL;
  script(s, 2);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv1 against an IMDSv2-only server fails");
  T_OK(refused(1), "the fake refused the request without a token");
  T_OK(contains(err, "GET " ROLES_PATH ": HTTP 401"), "says 401: %s", err);
  script_check("IMDSv1 refused");

  s[0].status = 400;
  script(s, 1);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDSv1 fallback on: a PUT 400 is not a reason to fall back");
  script_check("IMDS, PUT 400");
  s[0].status = 200;
  cfg.imds_v1_fallback = false;

  /* A metadata service that accepts and never answers. */
  s[0].silent = true;
  script(s, 1);
  cfg.timeout_ms = 300;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "IMDS silent: fails");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  T_OK(ms >= 250 && ms < 1500,
       "IMDS silent: gave up at the timeout (%ld ms "
       "for 300)",
       ms);
  T_OK(contains(err, "PUT /latest/api/token: ") &&
           (contains(err, "imed out") || contains(err, "imeout")),
       "IMDS silent: says it timed out: %s", err);
  script_check("IMDS silent");
  s[0].silent = false;

  /* Nobody listening. */
  {
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[64];
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    close(fd);
    cfg.imds_url = url;
    T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
             "IMDS unreachable: fails");
    T_OK(contains(err, "no credentials found: ") &&
             contains(err, "instance metadata: PUT /latest/api/token: "),
         "IMDS unreachable: %s", err);
    cfg.imds_url = fake.url;
  }
  cfg.timeout_ms = 3000;

  /* Disabled: no request. */
  cfg = config(NO_IMDS);
  script(s, 0);
  T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "AWS_EC2_METADATA_DISABLED=true: fails");
  script_check("AWS_EC2_METADATA_DISABLED=true: IMDS not asked");

  /* The container comes before IMDS. */
  {
    const char *ct[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c", NULL};
    step_t k[1] = {{.method = "GET",
                    .path = "/c",
                    .deny = "Authorization",
                    .status = 200}};
    k[0].body =
        creds_doc(NULL, CT_ID, CT_SECRET, CT_TOKEN, "2026-11-26T18:00:00Z");
    cfg = config(ct);
    script(k, 1);
    T_EQ_INT(get_once(&cfg, &c, err, sizeof(err)), AWS_CREDS_OK,
             "container and IMDS: ok");
    T_EQ_STR(c.provider, "container", "the container comes before IMDS");
    script_check("container before IMDS, no Authorization without a token");
    aws_creds_clear(&c);
  }
}

/* =================== the cache =================== */

typedef struct {
  aws_creds_provider_t *p;
  pthread_barrier_t *start;
  aws_creds_status_t st;
  aws_creds_t c;
  char err[256];
} racer_t;

static void *racer(void *arg) {
  racer_t *r = arg;
  pthread_barrier_wait(r->start);
  r->st = aws_creds_get(r->p, &r->c, r->err, sizeof(r->err));
  return NULL;
}

static void test_cache(void) {
  aws_creds_t c = {0}, old = {0};
  char err[1024];
  const char *envp[] = {NULL};
  aws_creds_config_t cfg = config(envp);
  aws_creds_provider_t *p;
  time_t start = now_;
  time_t exp = utc(2026, 11, 26, 18, 0, 0);
  const char *doc1 = creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                               "2026-11-26T18:00:00Z");
  const char *doc2 = creds_doc("Success", IMDS2_ID, IMDS2_SECRET, IMDS2_TOKEN,
                               "2026-11-27T00:00:00Z");
  step_t s[3] = {put_token(), imds_get(ROLES_PATH, 200, "r"),
                 imds_get(ROLES_PATH "r", 200, doc1)};
  step_t fail[1] = {put_token()};

  p = aws_creds_provider_create(&cfg);
  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "cache: first get");
  script_check("cache: first get fetches");
  aws_creds_clear(&c);

  script(s, 0);
  set_now(exp - 301);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "cache: second get");
  T_EQ_INT(served(), 0, "cache: the second get does not ask the server");
  T_EQ_STR(c.access_key_id, IMDS_ID, "cache: same credentials");
  T_EQ_INT(c.generation, 1, "cache: generation 1");
  aws_creds_clear(&c);

  /* Inside the refresh window. */
  set_now(exp - 299);
  s[2].body = doc2;
  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
           "cache: refresh inside the window");
  script_check("cache: refreshed inside the window");
  T_EQ_STR(c.access_key_id, IMDS2_ID, "cache: new credentials");
  T_EQ_INT(c.generation, 2, "cache: generation 2");

  /* Invalidation: by a caller holding stale credentials, nothing. */
  old.generation = 1;
  aws_creds_invalidate(p, &old);
  script(s, 0);
  aws_creds_clear(&c);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
           "cache: stale invalidation");
  T_EQ_INT(served(), 0, "cache: invalidating older credentials does nothing");
  aws_creds_invalidate(p, &c);
  aws_creds_invalidate(p, &c);
  aws_creds_clear(&c);
  s[2].body = doc2;
  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
           "cache: after invalidation");
  script_check("cache: invalidation forces one refresh");
  T_EQ_INT(c.generation, 3, "cache: generation 3");
  aws_creds_clear(&c);
  script(s, 0);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "cache: then cached");
  T_EQ_INT(served(), 0, "cache: only one refresh for two invalidations");
  aws_creds_clear(&c);

  /* A failed refresh keeps credentials that are still valid. */
  exp = utc(2026, 11, 27, 0, 0, 0);
  set_now(exp - 100);
  fail[0].status = 500;
  script(fail, 1);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_KEPT,
           "cache: failed refresh inside the window: kept");
  script_check("cache: the failed refresh asked once");
  T_EQ_STR(c.access_key_id, IMDS2_ID, "cache: the cached credentials");
  T_OK(contains(err, "refresh failed") &&
           contains(err, "PUT /latest/api/token: HTTP 500") &&
           contains(err, "2026-11-27T00:00:00Z"),
       "cache: says the refresh failed and until when: %s", err);
  aws_creds_clear(&c);
  script(fail, 0);
  set_now(exp - 95);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_KEPT,
           "cache: within the retry interval");
  T_EQ_INT(served(), 0, "cache: no retry within the retry interval");
  T_EQ_STR(err, "", "cache: the reason is not said again");
  aws_creds_clear(&c);
  set_now(exp - 100 + AWS_CREDS_RETRY_INTERVAL_S);
  script(fail, 1);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_KEPT,
           "cache: retried after the interval, failed again");
  script_check("cache: retry after the interval");
  T_EQ_STR(err, "", "cache: a second failed refresh of the streak is silent");
  aws_creds_clear(&c);

  /* Expired, and the refresh fails: nothing handed out. */
  set_now(exp);
  script(fail, 1);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_FAILED,
           "cache: expired and the refresh failed: no credentials");
  T_OK(c.access_key_id == NULL, "cache: expired credentials never handed "
                                "out");
  T_OK(contains(err, "HTTP 500") && !contains(err, "still using"),
       "cache: says why: %s", err);
  script_check("cache: expired");

  /* Recovery. */
  s[2].body = creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                        "2026-11-27T06:00:00Z");
  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_RECOVERED,
           "cache: recovered, said once");
  T_EQ_STR(err,
           "refreshing the credentials works again (from instance metadata "
           "(role r)), after 3 failed refreshes",
           "cache: the recovery says after how many failed refreshes");
  script_check("cache: recovered");
  aws_creds_clear(&c);
  script(s, 0);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK,
           "cache: after the recovery, OK");
  T_EQ_STR(err, "", "cache: no message once recovered");
  aws_creds_clear(&c);
  aws_creds_provider_destroy(p);

  /* Four threads at once: one refresh. */
  {
    pthread_barrier_t b;
    racer_t r[4];
    pthread_t th[4];
    int ok = 0, same = 0;

    set_now(start);
    p = aws_creds_provider_create(&cfg);
    s[0].delay_ms = 300;
    s[2].body = doc1;
    script(s, 3);
    pthread_barrier_init(&b, NULL, 4);
    for (int i = 0; i < 4; i++) {
      memset(&r[i], 0, sizeof(r[i]));
      r[i].p = p;
      r[i].start = &b;
      pthread_create(&th[i], NULL, racer, &r[i]);
    }
    for (int i = 0; i < 4; i++)
      pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
      ok += r[i].st == AWS_CREDS_OK;
      same += r[i].c.generation == 1 && r[i].c.access_key_id != NULL &&
              strcmp(r[i].c.access_key_id, IMDS_ID) == 0;
      aws_creds_clear(&r[i].c);
    }
    T_EQ_INT(ok, 4, "four threads: all ok");
    T_EQ_INT(same, 4, "four threads: the same credentials");
    script_check("four threads: a single refresher");
    pthread_barrier_destroy(&b);
    aws_creds_provider_destroy(p);
    s[0].delay_ms = 0;
  }

  /* Static credentials, invalidated: re-read from the file. */
  {
    const char *fe[] = {"AWS_EC2_METADATA_DISABLED", "true", NULL};
    aws_creds_config_t fc = config(fe);
    p = aws_creds_provider_create(&fc);
    home_file("credentials", "[default]\naws_access_key_id=" FILE_ID
                             "\naws_secret_access_key=" FILE_SECRET "\n");
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "file: first");
    home_file("credentials", "[default]\naws_access_key_id=" DEV_ID
                             "\naws_secret_access_key=" DEV_SECRET "\n");
    aws_creds_clear(&c);
    set_now(start + 86400 * 365);
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "file: a year on");
    T_EQ_STR(c.access_key_id, FILE_ID,
             "file: static credentials stay "
             "cached");
    aws_creds_invalidate(p, &c);
    aws_creds_clear(&c);
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "file: reread");
    T_EQ_STR(c.access_key_id, DEV_ID, "file: re-read after invalidation");
    aws_creds_clear(&c);
    aws_creds_provider_destroy(p);
    home_file("credentials", NULL);
    set_now(start);
  }
}

/* A streak of failed refreshes says why once; the recovery says so once. */
static void test_streak(void) {
  aws_creds_t c = {0};
  char err[1024];
  const char *envp[] = {NULL};
  aws_creds_config_t cfg = config(envp);
  aws_creds_provider_t *p = aws_creds_provider_create(&cfg);
  time_t start = now_;
  time_t exp = utc(2026, 11, 26, 18, 0, 0);
  step_t s[3] = {put_token(), imds_get(ROLES_PATH, 200, "r"),
                 imds_get(ROLES_PATH "r", 200,
                          creds_doc("Success", IMDS_ID, IMDS_SECRET, IMDS_TOKEN,
                                    "2026-11-26T18:00:00Z"))};
  step_t fail[1] = {put_token()};
  int calls = 0, messages = 0, kept = 0, failed_refreshes = 0;
  const int n = 5;

  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "streak: first get");
  aws_creds_clear(&c);

  /* n failed refreshes, each followed by calls within the retry interval;
   * the clock stays before the expiration. */
  fail[0].status = 503;
  set_now(exp - 200);
  for (int i = 0; i < n; i++) {
    script(fail, 1);
    for (int k = 0; k < 3; k++) {
      aws_creds_status_t st = get(p, &c, err, sizeof(err));
      calls++;
      kept += st == AWS_CREDS_KEPT;
      messages += err[0] != '\0';
      if (k == 0 && i == 0)
        T_OK(contains(err, "refresh failed, still using the credentials from "
                           "instance metadata (role r)") &&
                 contains(err, "HTTP 503"),
             "streak: the first failure says why: %s", err);
      aws_creds_clear(&c);
      set_now(now_ + 3);
    }
    failed_refreshes += served();
    script_check("streak: one refresh per retry interval");
    set_now(now_ + AWS_CREDS_RETRY_INTERVAL_S);
  }
  T_EQ_INT(failed_refreshes, n, "streak: 5 failed refreshes");
  T_EQ_INT(kept, calls, "streak: every call kept the cached credentials");
  T_EQ_INT(messages, 1, "streak: 15 calls, 5 failed refreshes, one message");

  /* The recovery: once. */
  s[2].body = creds_doc("Success", IMDS2_ID, IMDS2_SECRET, IMDS2_TOKEN,
                        "2026-11-27T00:00:00Z");
  script(s, 3);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_RECOVERED,
           "streak: the first good refresh says RECOVERED");
  T_EQ_STR(c.access_key_id, IMDS2_ID, "streak: with the fresh credentials");
  T_EQ_STR(err,
           "refreshing the credentials works again (from instance metadata "
           "(role r)), after 5 failed refreshes",
           "streak: the recovery's message");
  script_check("streak: recovered");
  aws_creds_clear(&c);
  messages = 0;
  for (int k = 0; k < 3; k++) {
    T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_OK, "streak: then OK");
    messages += err[0] != '\0';
    aws_creds_clear(&c);
  }
  T_EQ_INT(messages, 0, "streak: the recovery is said once");

  /* A new streak says why again. */
  set_now(utc(2026, 11, 27, 0, 0, 0) - 100);
  script(fail, 1);
  T_EQ_INT(get(p, &c, err, sizeof(err)), AWS_CREDS_KEPT, "new streak: kept");
  T_OK(contains(err, "HTTP 503"), "new streak: says why again: %s", err);
  aws_creds_clear(&c);
  aws_creds_provider_destroy(p);
  set_now(start);
}

/* =================== instance metadata, one value =================== */

/* aws_imds_get of the instance ID into the size bytes of out, against the
 * script s[0..n): it returns rc with the value (0) or the message (-1)
 * want, and the script is used as expected. */
static void imds_get_case(const aws_creds_config_t *cfg, step_t *s, size_t n,
                          char *out, size_t size, int rc, const char *want,
                          const char *what) {
  char err[512], m[128];

  script(s, n);
  snprintf(m, sizeof(m), "aws_imds_get: %s: returns %d", what, rc);
  T_EQ_INT(aws_imds_get(cfg, "/latest/meta-data/instance-id", out, size, err,
                        sizeof(err)),
           rc, m);
  snprintf(m, sizeof(m), "aws_imds_get: %s: %s", what,
           rc == 0 ? "the value" : "the message");
  T_EQ_STR(rc == 0 ? out : err, want, m);
  snprintf(m, sizeof(m), "aws_imds_get: %s", what);
  script_check(m);
}

static void test_imds_get(void) {
  char out[64];
  const char *envp[] = {NULL};
  aws_creds_config_t cfg = config(envp);
  step_t s[2] = {put_token(), imds_get("/latest/meta-data/instance-id", 200,
                                       "  i-0123456789abcdef0\n")};

  imds_get_case(&cfg, s, 2, out, sizeof(out), 0, "i-0123456789abcdef0",
                "the token PUT, then the GET with the token; trimmed");
  s[1].body = "i-0123456789abcdef0-and-far-too-long-for-the-buffer-given";
  imds_get_case(&cfg, s, 2, out, 16, -1,
                "instance metadata: GET /latest/meta-data/instance-id: "
                "unusable answer",
                "an answer longer than the buffer fails");
  T_EQ_STR(out, "", "aws_imds_get: nothing on failure");
  s[0].status = 401;
  imds_get_case(&cfg, s, 1, out, sizeof(out), -1,
                "instance metadata: PUT /latest/api/token: HTTP 401",
                "no token, no GET: names the failed PUT");
  cfg = config(NO_IMDS);
  imds_get_case(&cfg, s, 0, out, sizeof(out), -1,
                "instance metadata is disabled by AWS_EC2_METADATA_DISABLED",
                "disabled: not asked, says AWS_EC2_METADATA_DISABLED");
}

/* =================== the region =================== */

static void test_region(void) {
  aws_region_t r;
  char err[1024];
  const char *envp[8];
  aws_creds_config_t cfg;
  step_t s[2] = {put_token(), imds_get("/latest/meta-data/placement/region",
                                       200, "ap-southeast-2\n")};

  home_file("config", CONFIG_FILE);
  envp[0] = "AWS_REGION";
  envp[1] = "eu-north-1";
  envp[2] = "AWS_DEFAULT_REGION";
  envp[3] = "sa-east-1";
  envp[4] = NULL;
  cfg = config(envp);
  T_EQ_INT(aws_region_resolve(&cfg, "us-gov-west-1", &r, err, sizeof(err)),
           AWS_CREDS_OK, "region: configured");
  T_OK(strcmp(r.name, "us-gov-west-1") == 0 &&
           strcmp(r.source, "configuration") == 0,
       "region: the configured value first (%s from %s)", r.name, r.source);
  aws_region_resolve(&cfg, NULL, &r, err, sizeof(err));
  T_OK(strcmp(r.name, "eu-north-1") == 0 && strcmp(r.source, "AWS_REGION") == 0,
       "region: then AWS_REGION (%s from %s)", r.name, r.source);
  envp[0] = "AWS_REGION_UNSET";
  aws_region_resolve(&cfg, "", &r, err, sizeof(err));
  T_OK(strcmp(r.name, "sa-east-1") == 0 &&
           strcmp(r.source, "AWS_DEFAULT_REGION") == 0,
       "region: then AWS_DEFAULT_REGION (%s from %s)", r.name, r.source);
  envp[2] = "AWS_PROFILE";
  envp[3] = "dev";
  aws_region_resolve(&cfg, NULL, &r, err, sizeof(err));
  T_OK(strcmp(r.name, "eu-central-1") == 0 &&
           strcmp(r.source, "shared config file ~/.aws/config (profile dev)") ==
               0,
       "region: then the profile's region (%s from %s)", r.name, r.source);
  home_file("config", NULL);
  script(s, 2);
  T_EQ_INT(aws_region_resolve(&cfg, NULL, &r, err, sizeof(err)), AWS_CREDS_OK,
           "region: from instance metadata");
  T_OK(strcmp(r.name, "ap-southeast-2") == 0 &&
           strcmp(r.source, "instance metadata") == 0,
       "region: then IMDSv2 (%s from %s)", r.name, r.source);
  script_check("region: IMDSv2 PUT and GET with the token");

  T_EQ_INT(aws_region_resolve(&cfg, "US East", &r, err, sizeof(err)),
           AWS_CREDS_FAILED, "region: a bad configured value fails");
  T_EQ_STR(err, "configuration: \"US East\" is not a region name",
           "region: says where the bad value came from");
  T_OK(r.name[0] == '\0', "region: nothing on failure");

  home_file("config", "[default]\nregion eu-west-3\n");
  envp[2] = NULL;
  T_EQ_INT(aws_region_resolve(&cfg, NULL, &r, err, sizeof(err)),
           AWS_CREDS_FAILED, "region: malformed config file fails");
  T_EQ_STR(err, "~/.aws/config line 2: expected key = value",
           "region: names the line");
  home_file("config", NULL);

  cfg = config(NO_IMDS);
  script(s, 0);
  T_EQ_INT(aws_region_resolve(&cfg, NULL, &r, err, sizeof(err)),
           AWS_CREDS_FAILED, "region: none anywhere");
  T_OK(contains(err, "no region"), "region: says so: %s", err);
  script_check("region: IMDS disabled, not asked");
}

int main(void) {
  char tmpl[] = "/tmp/aws-creds-test.XXXXXX";

  curl_global_init(CURL_GLOBAL_DEFAULT);
  set_now(utc(2026, 11, 26, 12, 0, 0));
  if (mkdtemp(tmpl) == NULL)
    return 1;
  snprintf(home, sizeof(home), "%s", tmpl);
  snprintf(aws_dir, sizeof(aws_dir), "%s/.aws", home);
  mkdir(aws_dir, 0700);
  if (!T_OK(fake_start() == 0, "fake endpoint listens on 127.0.0.1"))
    return t_done();
  T_NOTE("fake endpoint at %s, home %s", fake.url, home);

  test_environment();
  test_files();
  test_container();
  test_imds();
  test_cache();
  test_streak();
  test_region();
  test_imds_get();

  T_OK(clean_leaking == 0, "none of the %d messages checked holds a secret",
       clean_checked);
  fake_stop();
  home_file("credentials", NULL);
  home_file("config", NULL);
  rmdir(aws_dir);
  rmdir(home);
  curl_global_cleanup();
  return t_done();
}
