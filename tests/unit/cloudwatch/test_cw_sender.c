/* SPDX-License-Identifier: MIT */
/*
 * cw_sender against a scripted fake CloudWatch: a thread serving HTTP/1.1
 * on 127.0.0.1 (ephemeral port) that answers each request with the next
 * scripted reply and records the request's head and body. Every case ends
 * by checking that each scripted reply was used and that no request came
 * beyond the script.
 *
 * Time, randomness, sleeping, logging and the environment the credentials
 * come from are injected: the clock is fixed, random01 walks a fixed list,
 * sleep records the delays asked for and returns at once (or says "stop"),
 * getenv serves one key pair on the first read and another on later reads
 * (the environment provider reads again only after an invalidation).
 *
 * Cases: success (headers, signature, body, queue, stats), gzip above the
 * threshold only (signature over the compressed bytes), batching by count
 * and by bytes, throttling, 5xx, expired token, permanent refusal,
 * persistent failure then recovery, a silent server, stop, deadline, no
 * credentials, a datum too large for any body, and the signed Host of an
 * endpoint naming its scheme's default port (the fake server acting as an
 * HTTP proxy).
 */
#define _GNU_SOURCE /* strcasestr, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "aws_creds.h"
#include "aws_sigv4.h"
#include "cw_datum.h"
#include "cw_encode.h"
#include "cw_queue.h"
#include "cw_sender.h"
#include "tap.h"

/* 2025-11-26T20:00:30Z */
#define T0 ((time_t)1764187230)
#define AMZ_DATE "20251126T200030Z"
#define CRED_DATE "20251126"
#define REGION "us-east-1"
#define NS "SageMaker/SenderTest"
#define TARGET "GraniteServiceVersion20100801.PutMetricData"
#define CTYPE "application/x-amz-json-1.0"

#define K1 "AKIDSENDERTEST000001"
#define S1 "secret/one/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define K2 "AKIDSENDERTEST000002"
#define S2 "secret/two/wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
#define TOK1 "token-one-FwoGZXIvYXdzEJr"
#define TOK2 "token-two-FwoGZXIvYXdzEJr"

#include "fake_aws.h"

/* ================================================== injected functions */

typedef struct {
  time_t now;
  const double *rnd; /* cycled */
  size_t nrnd, rnd_calls;
  uint64_t sleeps[64];
  size_t nsleeps;
  int stop; /* sleep says stop */
  char log[16384];
  size_t loglen;
  int err_logs;
  /* environment */
  int no_keys;
  int id_reads;
  int rotate; /* later reads give K2 */
  int with_token;
  uint64_t mono; /* ms; sleeping advances it */
} ctx_t;

static time_t fake_now(void *ud) { return ((ctx_t *)ud)->now; }

static double fake_random(void *ud) {
  ctx_t *c = ud;
  static const double dflt[] = {0.5};
  const double *r = c->rnd ? c->rnd : dflt;
  size_t n = c->rnd ? c->nrnd : 1;
  return r[c->rnd_calls++ % n];
}

static int fake_sleep(uint64_t ms, void *ud) {
  ctx_t *c = ud;
  if (c->nsleeps < sizeof(c->sleeps) / sizeof(c->sleeps[0]))
    c->sleeps[c->nsleeps] = ms;
  c->nsleeps++;
  c->mono += ms;
  return c->stop;
}

static uint64_t fake_mono(void *ud) { return ((ctx_t *)ud)->mono; }

static void fake_log(cw_log_level_t level, const char *msg, void *ud) {
  ctx_t *c = ud;
  int n = snprintf(c->log + c->loglen, sizeof(c->log) - c->loglen, "%s: %s\n",
                   level == CW_LOG_ERR       ? "ERR"
                   : level == CW_LOG_WARNING ? "WARNING"
                                             : "INFO",
                   msg);
  if (n > 0 && c->loglen + (size_t)n < sizeof(c->log))
    c->loglen += (size_t)n;
  if (level == CW_LOG_ERR)
    c->err_logs++;
}

static const char *fake_getenv(void *ud, const char *name) {
  ctx_t *c = ud;
  int second;
  if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
    return "true";
  if (c->no_keys)
    return NULL;
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0) {
    c->id_reads++;
    return c->rotate && c->id_reads > 1 ? K2 : K1;
  }
  second = c->rotate && c->id_reads > 1;
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return second ? S2 : S1;
  if (strcmp(name, "AWS_SESSION_TOKEN") == 0)
    return !c->with_token ? NULL : second ? TOK2 : TOK1;
  return NULL;
}

static time_t fake_clock(void *ud) { return ((ctx_t *)ud)->now; }

/* ============================================================ datums */

static const cw_dimension_t DIMS[] = {{"Host", "host-a"}};

static double period_of(double ts) { return floor(ts / 60) * 60; }
#define DATUM_TS ((double)(T0 - 90) + 0.25)

/* Datum i: name m%05zu; varied numbers, or the same ones when uniform
 * (then every datum encodes to the same length). */
static void make_datum(size_t i, int uniform, char *name, size_t namesz,
                       cw_datum_t *d) {
  cw_datum_init(d);
  snprintf(name, namesz, "m%05zu", i);
  d->metric_name = name;
  d->dims = DIMS;
  d->num_dims = 1;
  d->timestamp = DATUM_TS;
  d->unit = CW_UNIT_MILLISECONDS;
  d->storage_resolution = CW_RESOLUTION_STANDARD;
  d->kind = CW_KIND_STATS;
  if (uniform) {
    d->stats = (cw_statset_t){1, 2, 2, 2};
  } else {
    d->stats.sample_count = (double)(1 + i % 7);
    d->stats.sum = (double)i * 0.1;
    d->stats.minimum = -(double)i / 3.0;
    d->stats.maximum = (double)i + 0.5;
  }
}

/* Adds datums [first, first + n) and seals them. */
static void queue_datums(cw_queue_t *q, pthread_mutex_t *lock, size_t first,
                         size_t n, int uniform) {
  pthread_mutex_lock(lock);
  for (size_t i = first; i < first + n; i++) {
    char name[32];
    cw_datum_t d;
    make_datum(i, uniform, name, sizeof(name), &d);
    if (cw_queue_add(q, &d) != CW_QUEUE_NEW)
      T_OK(0, "cw_queue_add %zu", i);
  }
  cw_queue_seal(q);
  pthread_mutex_unlock(lock);
}

static int str_is(yajl_val v, const char *want) {
  return v != NULL && v->type == yajl_t_string && v->u.string != NULL &&
         strcmp(v->u.string, want) == 0;
}

static const char *str_of(yajl_val v) {
  return v != NULL && v->type == yajl_t_string && v->u.string != NULL
             ? v->u.string
             : "(none)";
}

static int num_eq(yajl_val v, double want) {
  return YAJL_IS_NUMBER(v) && YAJL_GET_DOUBLE(v) == want;
}

/* Checks a PutMetricData body holds exactly datums [first, first + n) in
 * order. 0, or -1 with why. */
static int check_datums(const char *json, size_t first, size_t n, int uniform,
                        char *why, size_t whysize) {
  char err[256];
  yajl_val root = yajl_tree_parse(json, err, sizeof(err)), md, v;
  static const char *ns_path[] = {"Namespace", NULL};
  static const char *md_path[] = {"MetricData", NULL};
  int rc = -1;

  why[0] = 0;
  if (root == NULL) {
    snprintf(why, whysize, "not JSON: %.200s", err);
    return -1;
  }
  v = yajl_tree_get(root, ns_path, yajl_t_string);
  md = yajl_tree_get(root, md_path, yajl_t_array);
  if (!YAJL_IS_OBJECT(root) || root->u.object.len != 2 || !str_is(v, NS) ||
      md == NULL) {
    snprintf(why, whysize, "not {\"Namespace\":\"%s\",\"MetricData\":[...]}",
             NS);
    goto out;
  }
  if (md->u.array.len != n) {
    snprintf(why, whysize, "%zu datums, want %zu", md->u.array.len, n);
    goto out;
  }
  for (size_t k = 0; k < n; k++) {
    yajl_val it = md->u.array.values[k], dims, sv, x;
    static const char *p_name[] = {"MetricName", NULL};
    static const char *p_dims[] = {"Dimensions", NULL};
    static const char *p_ts[] = {"Timestamp", NULL};
    static const char *p_unit[] = {"Unit", NULL};
    static const char *p_res[] = {"StorageResolution", NULL};
    static const char *p_sv[] = {"StatisticValues", NULL};
    static const char *p_dn[] = {"Name", NULL};
    static const char *p_dv[] = {"Value", NULL};
    static const char *p_sc[] = {"SampleCount", NULL};
    static const char *p_sum[] = {"Sum", NULL};
    static const char *p_min[] = {"Minimum", NULL};
    static const char *p_max[] = {"Maximum", NULL};
    char name[32];
    cw_datum_t d;

    make_datum(first + k, uniform, name, sizeof(name), &d);
    if (!YAJL_IS_OBJECT(it) || it->u.object.len != 6) {
      snprintf(why, whysize, "datum %zu: not an object of 6 members", k);
      goto out;
    }
    x = yajl_tree_get(it, p_name, yajl_t_string);
    if (!str_is(x, name)) {
      snprintf(why, whysize, "datum %zu: MetricName %s, want %s", k, str_of(x),
               name);
      goto out;
    }
    dims = yajl_tree_get(it, p_dims, yajl_t_array);
    if (dims == NULL || dims->u.array.len != 1 ||
        !str_is(yajl_tree_get(dims->u.array.values[0], p_dn, yajl_t_string),
                "Host") ||
        !str_is(yajl_tree_get(dims->u.array.values[0], p_dv, yajl_t_string),
                "host-a") ||
        dims->u.array.values[0]->u.object.len != 2) {
      snprintf(why, whysize, "%s: Dimensions", name);
      goto out;
    }
    if (!num_eq(yajl_tree_get(it, p_ts, yajl_t_number), period_of(DATUM_TS))) {
      snprintf(why, whysize, "%s: Timestamp", name);
      goto out;
    }
    x = yajl_tree_get(it, p_unit, yajl_t_string);
    if (!str_is(x, "Milliseconds") ||
        !num_eq(yajl_tree_get(it, p_res, yajl_t_number), 60)) {
      snprintf(why, whysize, "%s: Unit or StorageResolution", name);
      goto out;
    }
    sv = yajl_tree_get(it, p_sv, yajl_t_object);
    if (sv == NULL || sv->u.object.len != 4 ||
        !num_eq(yajl_tree_get(sv, p_sc, yajl_t_number), d.stats.sample_count) ||
        !num_eq(yajl_tree_get(sv, p_sum, yajl_t_number), d.stats.sum) ||
        !num_eq(yajl_tree_get(sv, p_min, yajl_t_number), d.stats.minimum) ||
        !num_eq(yajl_tree_get(sv, p_max, yajl_t_number), d.stats.maximum)) {
      snprintf(why, whysize, "%s: StatisticValues", name);
      goto out;
    }
  }
  rc = 0;
out:
  yajl_tree_free(root);
  return rc;
}

/* gunzip; NULL when the bytes are not one whole gzip stream. */
static char *gunzip(const unsigned char *in, size_t len, size_t *out_len) {
  z_stream z;
  size_t cap = len * 8 + 1024, used = 0;
  char *out = malloc(cap);
  int rc;

  memset(&z, 0, sizeof(z));
  if (out == NULL || inflateInit2(&z, 15 + 16) != Z_OK) {
    free(out);
    return NULL;
  }
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)len;
  do {
    if (cap - used < 4096) {
      char *b = realloc(out, cap * 2);
      if (b == NULL)
        break;
      out = b;
      cap *= 2;
    }
    z.next_out = (unsigned char *)out + used;
    z.avail_out = (uInt)(cap - used - 1);
    rc = inflate(&z, Z_NO_FLUSH);
    used = cap - 1 - z.avail_out;
  } while (rc == Z_OK);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.avail_in != 0) {
    free(out);
    return NULL;
  }
  out[used] = 0;
  *out_len = used;
  return out;
}

/* The JSON a request carried (gunzipped when it says gzip); malloc'ed. */
static char *req_json(const req_t *r, size_t *len) {
  char enc[64];
  if (r->body == NULL)
    return NULL;
  if (hdr(r, "Content-Encoding", enc, sizeof(enc)) != NULL) {
    if (strcmp(enc, "gzip") != 0)
      return NULL;
    return gunzip(r->body, r->body_len, len);
  }
  *len = r->body_len;
  return strdup((const char *)r->body);
}

/* ============================================================ fixture */

typedef struct {
  ctx_t c;
  srv_t srv;
  aws_creds_provider_t *creds;
  cw_sender_config_t cfg;
  cw_sender_t *s;
  cw_queue_t *q;
  pthread_mutex_t lock;
  char url[64];
  char host[64];
} fx_t;

static int fx_init(fx_t *fx, const step_t *steps, size_t n) {
  aws_creds_config_t cc;

  memset(fx, 0, sizeof(*fx));
  fx->c.now = T0;
  pthread_mutex_init(&fx->lock, NULL);
  fx->q = cw_queue_create(10000);
  if (srv_start(&fx->srv, steps, n, &fx->lock) != 0)
    return -1;
  snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d/", fx->srv.port);
  snprintf(fx->host, sizeof(fx->host), "127.0.0.1:%d", fx->srv.port);
  memset(&cc, 0, sizeof(cc));
  cc.getenv_fn = fake_getenv;
  cc.getenv_ud = &fx->c;
  cc.clock_fn = fake_clock;
  cc.clock_ud = &fx->c;
  cc.home_dir = NULL;
  cc.timeout_ms = 200;
  fx->creds = aws_creds_provider_create(&cc);
  fx->cfg = (cw_sender_config_t){
      .url = fx->url,
      .region = REGION,
      .ns = NS,
      .compress = 0,
      .compress_threshold = 1024,
      .timeout_ms = 3000,
      .max_attempts = 5,
      .backoff_base_ms = 200,
      .backoff_cap_ms = 20000,
      .creds = fx->creds,
      .now = fake_now,
      .random01 = fake_random,
      .sleep_ms = fake_sleep,
      .log = fake_log,
      .ud = &fx->c,
  };
  return fx->q != NULL && fx->creds != NULL ? 0 : -1;
}

static int fx_sender(fx_t *fx) {
  char err[256];
  fx->s = cw_sender_create(&fx->cfg, err, sizeof(err));
  if (!T_OK(fx->s != NULL, "cw_sender_create"))
    T_NOTE("%s", err);
  return fx->s != NULL ? 0 : -1;
}

static int fx_drain(fx_t *fx, time_t deadline) {
  return cw_sender_drain(fx->s, fx->q, &fx->lock, deadline);
}

static size_t fx_qsize(fx_t *fx) {
  size_t n;
  pthread_mutex_lock(&fx->lock);
  n = cw_queue_size(fx->q);
  pthread_mutex_unlock(&fx->lock);
  return n;
}

static cw_sender_stats_t fx_stats(fx_t *fx) {
  cw_sender_stats_t st;
  cw_sender_get_stats(fx->s, &st);
  return st;
}

static void fx_done(fx_t *fx, const char *what) {
  char m[128];
  snprintf(m, sizeof(m), "%s: every scripted reply used", what);
  srv_stop(&fx->srv, m);
  cw_sender_destroy(fx->s);
  aws_creds_provider_destroy(fx->creds);
  cw_queue_destroy(fx->q);
  pthread_mutex_destroy(&fx->lock);
}

/* A recorded request: complete once its reply was read (the server
 * records before answering); the lock orders it for thread checkers. */
static const req_t *fx_req(fx_t *fx, size_t i) {
  pthread_mutex_lock(&fx->srv.mu);
  pthread_mutex_unlock(&fx->srv.mu);
  return &fx->srv.reqs[i];
}

/* The request line, signing headers and the signature of request i,
 * recomputed with aws_sigv4_sign over the bytes and header values received. */
static void check_signed_at(fx_t *fx, size_t i, const char *host,
                            const char *line, const char *key,
                            const char *secret, const char *token,
                            const char *what) {
  const req_t *r = fx_req(fx, i);
  char v[4096], ct[128] = "", tg[128] = "", ce[64], want[256], m[256];
  aws_sigv4_header_t sh[3];
  size_t nsh = 0;
  aws_sigv4_request_t req;
  aws_sigv4_credentials_t sc = {key, secret, token};
  aws_sigv4_result_t res;
  const char *auth;

  if (!T_OK(r->head != NULL, "%s: request %zu recorded", what, i))
    return;
  if (!T_OK(strncmp(r->head, line, strlen(line)) == 0,
            "%s: request %zu: request line %.*s", what, i,
            (int)strcspn(line, "\r"), line))
    T_NOTE("got %.*s", (int)strcspn(r->head, "\r"), r->head);
#define MSG(text)                                                              \
  (snprintf(m, sizeof(m), "%s: request %zu: %s", what, i, text), m)
  T_EQ_STR(hdr(r, "Host", v, sizeof(v)), host, MSG("Host"));
  T_EQ_STR(hdr(r, "X-Amz-Target", tg, sizeof(tg)), TARGET, MSG("X-Amz-Target"));
  T_EQ_STR(hdr(r, "Content-Type", ct, sizeof(ct)), CTYPE, MSG("Content-Type"));
  T_EQ_STR(hdr(r, "X-Amz-Date", v, sizeof(v)), AMZ_DATE,
           MSG("X-Amz-Date is the injected clock's"));
  if (token != NULL)
    T_EQ_STR(hdr(r, "X-Amz-Security-Token", v, sizeof(v)), token,
             MSG("X-Amz-Security-Token"));
  else
    T_OK(hdr(r, "X-Amz-Security-Token", v, sizeof(v)) == NULL, "%s",
         MSG("no X-Amz-Security-Token without a session token"));
  snprintf(want, sizeof(want),
           "AWS4-HMAC-SHA256 Credential=%s/" CRED_DATE "/" REGION
           "/monitoring/aws4_request, ",
           key);
  auth = hdr(r, "Authorization", v, sizeof(v));
  if (!T_OK(auth != NULL && strncmp(auth, want, strlen(want)) == 0,
            "%s: request %zu: Authorization names %s/" CRED_DATE "/" REGION
            "/monitoring/aws4_request",
            what, i, key))
    T_NOTE("Authorization: %s", auth ? auth : "(none)");

  sh[nsh++] = (aws_sigv4_header_t){"Content-Type", ct};
  sh[nsh++] = (aws_sigv4_header_t){"X-Amz-Target", tg};
  if (hdr(r, "Content-Encoding", ce, sizeof(ce)) != NULL)
    sh[nsh++] = (aws_sigv4_header_t){"Content-Encoding", ce};
  req = (aws_sigv4_request_t){.method = "POST",
                              .host = host,
                              .path = "/",
                              .headers = sh,
                              .header_count = nsh,
                              .payload = r->body,
                              .payload_len = r->body_len,
                              .region = REGION,
                              .service = "monitoring",
                              .now = T0};
  if (T_OK(aws_sigv4_sign(&req, &sc, &res) == 0, "%s: re-sign request %zu",
           what, i)) {
    T_EQ_STR(auth, aws_sigv4_result_header(&res, "Authorization"),
             MSG("Authorization is the signature over the bytes received"));
  }
#undef MSG
  aws_sigv4_result_free(&res);
}

static void check_signed(fx_t *fx, size_t i, const char *key,
                         const char *secret, const char *token,
                         const char *what) {
  check_signed_at(fx, i, fx->host, "POST / HTTP/1.1\r\n", key, secret, token,
                  what);
}

/* Request i's body holds datums [first, first + n). Returns the JSON
 * length. */
static size_t check_body(fx_t *fx, size_t i, size_t first, size_t n,
                         int uniform, const char *what) {
  size_t len = 0;
  char *json = req_json(fx_req(fx, i), &len);
  char why[256] = "no body";
  int ok = json != NULL &&
           check_datums(json, first, n, uniform, why, sizeof(why)) == 0;
  if (!T_OK(ok, "%s: request %zu carries datums %zu..%zu in order", what, i,
            first, first + n - 1)) {
    for (char *p = why; *p; p++) /* yajl quotes the text: keep TAP clean */
      if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
        *p = '?';
    T_NOTE("%s", why);
  }
  free(json);
  return len;
}

static int same_body(fx_t *fx, size_t a, size_t b) {
  const req_t *x = fx_req(fx, a), *y = fx_req(fx, b);
  return x->body != NULL && y->body != NULL && x->body_len == y->body_len &&
         memcmp(x->body, y->body, x->body_len) == 0;
}

/* ============================================================== cases */

static void test_success(void) {
  static const step_t steps[] = {{200, "{}", NULL}, {200, "{}", NULL}};
  fx_t fx;
  cw_sender_stats_t st;
  size_t len;
  char v[64];

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "success: fixture"))
    return;
  if (fx_sender(&fx) != 0)
    return;
  T_EQ_INT(fx_drain(&fx, 0), 0, "empty queue: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 0, "empty queue: no request");

  queue_datums(fx.q, &fx.lock, 0, 5, 0);
  { /* one more, merging but not sealed: not ready, not sent */
    char name[32];
    cw_datum_t d;
    make_datum(5, 0, name, sizeof(name), &d);
    pthread_mutex_lock(&fx.lock);
    cw_queue_add(fx.q, &d);
    pthread_mutex_unlock(&fx.lock);
  }
  T_EQ_INT(fx_drain(&fx, 0), 0, "success: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 1, "success: one request");
  check_signed(&fx, 0, K1, S1, NULL, "success");
  T_OK(hdr(fx_req(&fx, 0), "Content-Encoding", v, sizeof(v)) == NULL,
       "compress off: no Content-Encoding");
  len = check_body(&fx, 0, 0, 5, 0, "success");
  T_OK(fx_req(&fx, 0)->lock_free,
       "the queue lock is not held while the request is in flight");
  T_EQ_INT(fx_qsize(&fx), 1, "sent datums left the queue; unsealed one stays");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 1, "stats: 1 request");
  T_EQ_INT(st.requests_failed, 0, "stats: none failed");
  T_EQ_INT(st.datums_sent, 5, "stats: 5 datums sent");
  T_EQ_INT(st.datums_dropped, 0, "stats: none dropped");
  T_EQ_INT(st.retries, 0, "stats: no retry");
  T_EQ_INT(st.bytes_sent, len, "stats: bytes_sent is the body");
  T_EQ_INT(st.bytes_raw, len, "stats: bytes_raw is the body");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep");
  T_EQ_INT(fx.c.err_logs, 0, "nothing logged as an error");

  pthread_mutex_lock(&fx.lock);
  cw_queue_seal(fx.q);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_drain(&fx, 0), 0, "after sealing: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 2, "after sealing: a second request");
  check_body(&fx, 1, 5, 1, 0, "success");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  T_EQ_INT(fx_stats(&fx).datums_sent, 6, "stats: 6 datums sent");
  T_EQ_INT(fx_stats(&fx).requests, 2, "stats: 2 requests");
  fx_done(&fx, "success");
}

static void test_gzip(void) {
  static const step_t steps[] = {{200, "{}", NULL}, {200, "{}", NULL}};
  fx_t fx;
  cw_sender_stats_t st;
  const req_t *r;
  size_t len0, len1;
  char v[64];

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "gzip: fixture"))
    return;
  fx.cfg.compress = 1;
  fx.cfg.compress_threshold = 1024;
  if (fx_sender(&fx) != 0)
    return;

  queue_datums(fx.q, &fx.lock, 0, 40, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "gzip: drain returns 0");
  r = fx_req(&fx, 0);
  T_EQ_STR(hdr(r, "Content-Encoding", v, sizeof(v)), "gzip",
           "over the threshold: Content-Encoding: gzip");
  T_OK(r->body_len >= 2 && r->body[0] == 0x1f && r->body[1] == 0x8b,
       "the body is a gzip stream");
  len0 = check_body(&fx, 0, 0, 40, 0, "gzip");
  T_OK(len0 >= 1024 && r->body_len < len0,
       "compressed (%zu bytes) below the JSON (%zu bytes)", r->body_len, len0);
  check_signed(&fx, 0, K1, S1, NULL, "gzip");
  { /* and not over the uncompressed JSON */
    size_t jl;
    char *json = req_json(r, &jl);
    aws_sigv4_header_t sh[] = {{"Content-Type", CTYPE},
                               {"X-Amz-Target", TARGET},
                               {"Content-Encoding", "gzip"}};
    aws_sigv4_request_t req = {.method = "POST",
                               .host = fx.host,
                               .path = "/",
                               .headers = sh,
                               .header_count = 3,
                               .payload = json,
                               .payload_len = jl,
                               .region = REGION,
                               .service = "monitoring",
                               .now = T0};
    aws_sigv4_credentials_t sc = {K1, S1, NULL};
    aws_sigv4_result_t res;
    if (json != NULL && aws_sigv4_sign(&req, &sc, &res) == 0) {
      char a[1024];
      const char *got = hdr(r, "Authorization", a, sizeof(a));
      T_OK(got != NULL &&
               strcmp(got, aws_sigv4_result_header(&res, "Authorization")) != 0,
           "the signature is not the one over the uncompressed JSON");
      aws_sigv4_result_free(&res);
    }
    free(json);
  }
  st = fx_stats(&fx);
  T_EQ_INT(st.bytes_sent, r->body_len, "stats: bytes_sent after gzip");
  T_EQ_INT(st.bytes_raw, len0, "stats: bytes_raw before gzip");

  queue_datums(fx.q, &fx.lock, 40, 1, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "gzip, small body: drain returns 0");
  r = fx_req(&fx, 1);
  T_OK(hdr(r, "Content-Encoding", v, sizeof(v)) == NULL,
       "under the threshold: no Content-Encoding");
  len1 = check_body(&fx, 1, 40, 1, 0, "gzip, small body");
  T_OK(len1 < 1024 && r->body_len == len1, "under the threshold: plain JSON");
  check_signed(&fx, 1, K1, S1, NULL, "gzip, small body");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  fx_done(&fx, "gzip");
}

static void test_batching(void) {
  static const step_t steps[] = {
      {200, "{}", NULL}, {200, "{}", NULL}, {200, "{}", NULL}};
  fx_t fx;
  cw_sender_stats_t st;
  char v[64];

  if (!T_OK(fx_init(&fx, steps, 3) == 0, "batching: fixture"))
    return;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 2500, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "2500 datums: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 3, "2500 datums: 3 requests");
  check_body(&fx, 0, 0, 1000, 0, "2500 datums");
  check_body(&fx, 1, 1000, 1000, 0, "2500 datums");
  check_body(&fx, 2, 2000, 500, 0, "2500 datums");
  T_OK(hdr(fx_req(&fx, 0), "Content-Encoding", v, sizeof(v)) == NULL,
       "compress off: a large body is not compressed");
  check_signed(&fx, 2, K1, S1, NULL, "2500 datums");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 3, "stats: 3 requests");
  T_EQ_INT(st.datums_sent, 2500, "stats: 2500 datums");
  fx_done(&fx, "batching by count");
}

static void test_batching_bytes(void) {
  static const step_t steps[] = {
      {200, "{}", NULL}, {200, "{}", NULL}, {200, "{}", NULL}};
  fx_t fx;
  size_t l1, l2, inc, max;
  char name[32];
  cw_datum_t d;
  cw_encode_t *e =
      cw_encode_create(NS, CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES, NULL, 0);

  /* The size of a body of 1 and 2 uniform datums: k datums take
   * l1 + (k - 1) * inc bytes. Allow 4 a request. */
  if (!T_OK(e != NULL, "encoder for sizes"))
    return;
  make_datum(0, 1, name, sizeof(name), &d);
  d.timestamp = period_of(d.timestamp);
  cw_encode_add(e, &d);
  cw_encode_body(e, &l1);
  make_datum(1, 1, name, sizeof(name), &d);
  d.timestamp = period_of(d.timestamp);
  cw_encode_add(e, &d);
  cw_encode_body(e, &l2);
  cw_encode_destroy(e);
  inc = l2 - l1;
  max = l1 + 3 * inc + inc / 2;

  if (!T_OK(fx_init(&fx, steps, 3) == 0, "batching by bytes: fixture"))
    return;
  fx.cfg.max_batch_bytes = max;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 10, 1);
  T_EQ_INT(fx_drain(&fx, 0), 0, "by bytes: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 3,
           "by bytes: 10 datums of 4 a body: 3 requests");
  check_body(&fx, 0, 0, 4, 1, "by bytes");
  check_body(&fx, 1, 4, 4, 1, "by bytes");
  check_body(&fx, 2, 8, 2, 1, "by bytes");
  for (size_t i = 0; i < 3; i++)
    T_OK(fx_req(&fx, i)->body_len <= max, "by bytes: body %zu: %zu <= %zu", i,
         fx_req(&fx, i)->body_len, max);
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  T_EQ_INT(fx_stats(&fx).datums_sent, 10, "stats: 10 datums");
  fx_done(&fx, "batching by bytes");
}

/* Two failures of a retryable kind, then 200. */
static void retry_then_ok(const step_t *steps, const char *what) {
  static const double rnd[] = {0.5, 0.999};
  fx_t fx;
  cw_sender_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 3) == 0, "%s: fixture", what))
    return;
  fx.c.rnd = rnd;
  fx.c.nrnd = 2;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 7, 0);
  /* A deadline still ahead does not stop the retries. */
  T_EQ_INT(fx_drain(&fx, T0 + 60), 0, "drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 3, "3 requests");
  T_OK(same_body(&fx, 0, 1) && same_body(&fx, 0, 2),
       "%s: the same body every time", what);
  check_body(&fx, 2, 0, 7, 0, what);
  check_signed(&fx, 2, K1, S1, NULL, what);
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 3, "stats: 3 requests");
  T_EQ_INT(st.requests_failed, 2, "stats: 2 failed");
  T_EQ_INT(st.datums_sent, 7, "stats: datums sent once");
  T_EQ_INT(st.datums_dropped, 0, "stats: none dropped");
  T_EQ_INT(st.retries, 2, "stats: 2 retries");
  T_EQ_INT(fx.c.nsleeps, 2, "slept twice");
  /* Full jitter: [0, min(cap, base * 2^n)), here random * ceiling. */
  T_OK(fx.c.sleeps[0] < 200, "first delay %" PRIu64 " < 200", fx.c.sleeps[0]);
  T_OK(fx.c.sleeps[1] < 400, "second delay %" PRIu64 " < 400", fx.c.sleeps[1]);
  T_EQ_INT(fx.c.sleeps[0], 100, "first delay: 0.5 of 200");
  T_EQ_INT(fx.c.sleeps[1], 399, "second delay: 0.999 of 400");
  fx_done(&fx, what);
}

static void test_throttling(void) {
  static const step_t steps[] = {
      {400,
       "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
       "\"message\":\"Rate exceeded\"}",
       NULL},
      {400,
       "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
       "\"message\":\"Rate exceeded\"}",
       NULL},
      {200, "{}", NULL}};
  retry_then_ok(steps, "throttling");
}

static void test_5xx(void) {
  static const step_t steps[] = {
      {500,
       "{\"__type\":\"InternalServiceError\",\"message\":\"Internal error\"}",
       NULL},
      {503, "", NULL},
      {200, "{}", NULL}};
  retry_then_ok(steps, "5xx");
}

static void test_expired_token(void) {
  static const step_t steps[] = {
      {400,
       "{\"__type\":\"ExpiredTokenException\",\"message\":\"The security "
       "token included in the request is expired\"}",
       NULL},
      {200, "{}", NULL}};
  fx_t fx;
  cw_sender_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "expired token: fixture"))
    return;
  fx.c.rotate = 1;
  fx.c.with_token = 1;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "expired token: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 2, "expired token: 2 requests");
  check_signed(&fx, 0, K1, S1, TOK1, "expired token: first");
  check_signed(&fx, 1, K2, S2, TOK2, "expired token: retry with fresh keys");
  T_EQ_INT(fx.c.id_reads, 2, "the environment was read again once");
  T_OK(same_body(&fx, 0, 1), "expired token: the same body");
  check_body(&fx, 1, 0, 3, 0, "expired token");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep before the retry with fresh keys");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  T_EQ_INT(st.datums_sent, 3, "stats: datums sent");
  T_EQ_INT(st.requests, 2, "stats: 2 requests");
  T_EQ_INT(st.requests_failed, 1, "stats: 1 failed");
  fx_done(&fx, "expired token");
}

static void test_expired_twice(void) {
  /* Fresh keys refused too: one immediate retry only, then ordinary
   * backoff (no loop of refreshes). */
  static const step_t steps[] = {
      {400, "{\"__type\":\"ExpiredTokenException\",\"message\":\"expired\"}",
       NULL},
      {400, "{\"__type\":\"ExpiredTokenException\",\"message\":\"expired\"}",
       NULL},
      {400, "{\"__type\":\"ExpiredTokenException\",\"message\":\"expired\"}",
       NULL}};
  fx_t fx;

  if (!T_OK(fx_init(&fx, steps, 3) == 0, "expired twice: fixture"))
    return;
  fx.c.rotate = 1;
  fx.cfg.max_attempts = 2;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 2, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "expired twice: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 3,
           "expired twice: refresh once, then max_attempts 2");
  T_EQ_INT(fx.c.nsleeps, 1, "one backoff sleep");
  T_EQ_INT(fx_qsize(&fx), 2, "datums kept");
  fx_done(&fx, "expired twice");
}

static void test_permanent(void) {
  static const step_t steps[] = {
      {400,
       "{\"__type\":\"InvalidParameterValue\",\"message\":\"The value "
       "-Infinity for parameter MetricData.member.1.Value is invalid.\"}",
       NULL}};
  fx_t fx;
  cw_sender_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 1) == 0, "permanent: fixture"))
    return;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 4, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "permanent: drain goes on (returns 0)");
  T_EQ_INT(srv_count(&fx.srv), 1, "permanent: 1 request, no retry");
  T_EQ_INT(fx_qsize(&fx), 0, "permanent: the batch is dropped");
  st = fx_stats(&fx);
  T_EQ_INT(st.datums_dropped, 4, "stats: 4 datums dropped");
  T_EQ_INT(st.datums_sent, 0, "stats: none sent");
  T_EQ_INT(st.requests_failed, 1, "stats: 1 failed");
  T_EQ_INT(st.retries, 0, "stats: no retry");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep");
  T_EQ_INT(fx.c.err_logs, 1, "one error logged");
  if (!T_OK(strstr(fx.c.log, "The value -Infinity for parameter "
                             "MetricData.member.1.Value is invalid.") != NULL,
            "the log has CloudWatch's message"))
    T_NOTE("log: %s", fx.c.log);
  T_OK(strstr(fx.c.log, "InvalidParameterValue") != NULL,
       "the log has the error type");
  fx_done(&fx, "permanent");
}

static void test_persistent(void) {
  static const step_t steps[] = {
      {503, "", NULL}, {503, "", NULL}, {503, "", NULL}, {200, "{}", NULL}};
  fx_t fx;
  cw_sender_stats_t st;
  char err[1024];

  if (!T_OK(fx_init(&fx, steps, 4) == 0, "persistent: fixture"))
    return;
  fx.cfg.max_attempts = 3;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 6, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "always 503: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 3, "always 503: exactly 3 requests");
  T_EQ_INT(fx_qsize(&fx), 6, "always 503: datums still queued");
  T_EQ_INT(fx.c.nsleeps, 2, "slept between attempts only");
  cw_sender_last_error(fx.s, err, sizeof(err));
  if (!T_OK(strstr(err, "503") != NULL, "last error mentions HTTP 503"))
    T_NOTE("last error: %s", err);
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 3, "stats: 3 requests");
  T_EQ_INT(st.requests_failed, 3, "stats: 3 failed");
  T_EQ_INT(st.retries, 2, "stats: 2 retries");
  T_EQ_INT(st.datums_sent, 0, "stats: none sent");
  T_EQ_INT(st.datums_dropped, 0, "stats: none dropped");

  T_EQ_INT(fx_drain(&fx, 0), 0, "later drain, server back: returns 0");
  T_EQ_INT(srv_count(&fx.srv), 4, "later drain: one request");
  T_OK(same_body(&fx, 0, 3), "the same body as before");
  check_body(&fx, 3, 0, 6, 0, "later drain");
  T_EQ_INT(fx_qsize(&fx), 0, "nothing lost, queue empty");
  T_EQ_INT(fx_stats(&fx).datums_sent, 6, "stats: 6 sent");
  fx_done(&fx, "persistent failure");
}

static void test_slow(void) {
  static const step_t steps[] = {{0, NULL, NULL}, {0, NULL, NULL}};
  fx_t fx;
  long t0, t1;
  int rc;
  char err[1024];

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "slow: fixture"))
    return;
  fx.cfg.timeout_ms = 300;
  fx.cfg.max_attempts = 2;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  t0 = now_ms();
  rc = fx_drain(&fx, 0);
  t1 = now_ms();
  T_EQ_INT(rc, -1, "silent server: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 2, "silent server: 2 attempts");
  T_EQ_INT(fx.c.nsleeps, 1, "silent server: a timeout is retried");
  T_EQ_INT(fx_stats(&fx).retries, 1, "stats: 1 retry");
  T_EQ_INT(fx_stats(&fx).requests_failed, 2, "stats: 2 failed");
  {
    long a0 = fx_req(&fx, 0)->at_ms, a1 = fx_req(&fx, 1)->at_ms;
    T_OK(a1 - a0 >= 250 && a1 - a0 <= 1500,
         "first attempt ended at the timeout (%ld ms)", a1 - a0);
    T_OK(t1 - a1 >= 250 && t1 - a1 <= 1500,
         "second attempt ended at the timeout (%ld ms)", t1 - a1);
    T_OK(t1 - t0 <= 3000, "whole drain %ld ms", t1 - t0);
  }
  T_OK(same_body(&fx, 0, 1), "silent server: the same body");
  T_EQ_INT(fx_qsize(&fx), 3, "silent server: datums kept");
  cw_sender_last_error(fx.s, err, sizeof(err));
  T_OK(err[0] != 0, "last error: %s", err);
  fx_done(&fx, "slow answer");
}

static void test_stop(void) {
  static const step_t steps[] = {{503, "", NULL}};
  fx_t fx;
  cw_sender_stats_t st;

  if (!T_OK(fx_init(&fx, steps, 1) == 0, "stop: fixture"))
    return;
  fx.c.stop = 1;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "stop: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 1, "stop: nothing after the first failure");
  T_EQ_INT(fx.c.nsleeps, 1, "stop: the one sleep said stop");
  T_EQ_INT(fx_qsize(&fx), 3, "stop: datums kept");
  st = fx_stats(&fx);
  T_EQ_INT(st.requests, 1, "stats: 1 request");
  /* No retry was made: counting one would make retries exceed the
   * requests after the first. */
  T_EQ_INT(st.retries, 0, "stats: a retry cut short by stop is no retry");
  fx_done(&fx, "stop");
}

static void test_deadline(void) {
  static const step_t steps[] = {{503, "", NULL}};
  fx_t fx;

  /* Shutdown's deadline has passed: no batch is started at all. */
  if (!T_OK(fx_init(&fx, steps, 0) == 0, "deadline: fixture"))
    return;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  T_EQ_INT(fx_drain(&fx, T0 - 10), -1, "past deadline: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 0, "past deadline: no request");
  T_EQ_INT(fx.c.nsleeps, 0, "past deadline: no sleep");
  T_EQ_INT(fx_stats(&fx).retries, 0, "past deadline: no retry");
  T_EQ_INT(fx_qsize(&fx), 3, "past deadline: datums kept");
  fx_done(&fx, "deadline");
}

static void test_no_credentials(void) {
  fx_t fx;
  char err[1024];

  if (!T_OK(fx_init(&fx, NULL, 0) == 0, "no credentials: fixture"))
    return;
  fx.c.no_keys = 1;
  fx.cfg.max_attempts = 2;
  if (fx_sender(&fx) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 2, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "no credentials: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 0, "no credentials: no request sent");
  T_EQ_INT(fx_qsize(&fx), 2, "no credentials: datums kept");
  T_EQ_INT(fx_stats(&fx).requests, 0, "stats: no request");
  cw_sender_last_error(fx.s, err, sizeof(err));
  if (!T_OK(strstr(err, "credentials") != NULL,
            "last error says there are no credentials"))
    T_NOTE("last error: %s", err);
  fx_done(&fx, "no credentials");
}

/* A datum too large for any body is dropped, logged and counted, and
 * does not block the ones behind it. */
static void test_too_large(void) {
  static const step_t steps[] = {{200, "{}", NULL}, {200, "{}", NULL}};
  static char big[CW_DIM_VALUE_MAX + 1];
  cw_dimension_t bigdim[] = {{"Host", big}};
  fx_t fx;
  size_t l1, l2;
  char name[32];
  cw_datum_t d;
  cw_encode_t *e =
      cw_encode_create(NS, CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES, NULL, 0);

  if (!T_OK(e != NULL, "encoder for sizes"))
    return;
  make_datum(0, 1, name, sizeof(name), &d);
  d.timestamp = period_of(d.timestamp);
  cw_encode_add(e, &d);
  cw_encode_body(e, &l1);
  make_datum(1, 1, name, sizeof(name), &d);
  d.timestamp = period_of(d.timestamp);
  cw_encode_add(e, &d);
  cw_encode_body(e, &l2);
  cw_encode_destroy(e);
  memset(big, 'x', CW_DIM_VALUE_MAX);

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "too large: fixture"))
    return;
  fx.cfg.max_batch_bytes = l2; /* two uniform datums; not one with big */
  if (fx_sender(&fx) != 0)
    return;
  pthread_mutex_lock(&fx.lock);
  for (size_t i = 0; i < 3; i++) {
    make_datum(i, 1, name, sizeof(name), &d);
    if (i == 1)
      d.dims = bigdim;
    cw_queue_add(fx.q, &d);
  }
  cw_queue_seal(fx.q);
  pthread_mutex_unlock(&fx.lock);
  T_EQ_INT(fx_drain(&fx, 0), 0, "too large: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 2, "too large: 2 requests around it");
  check_body(&fx, 0, 0, 1, 1, "too large");
  check_body(&fx, 1, 2, 1, 1, "too large");
  T_EQ_INT(fx_qsize(&fx), 0, "too large: queue empty");
  T_EQ_INT(fx_stats(&fx).datums_dropped, 1, "stats: 1 dropped");
  T_EQ_INT(fx_stats(&fx).datums_sent, 2, "stats: 2 sent");
  if (!T_OK(strstr(fx.c.log, "m00001") != NULL, "the drop is logged by name"))
    T_NOTE("log: %s", fx.c.log);
  fx_done(&fx, "too large");
}

/* The Host header libcurl sends leaves out the scheme's default port
 * ("http://h:80/" -> "Host: h"), so the signed host must leave it out
 * too. The fake server stands in as an HTTP proxy so that any host and
 * port can be named without binding them; the request line then carries
 * the absolute URL. A non-default port is the control. */
static void test_default_port(void) {
  static const step_t steps[] = {{200, "{}", NULL}, {200, "{}", NULL}};
  fx_t fx;
  char proxy[64];

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "default port: fixture"))
    return;
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", fx.srv.port);
  setenv("http_proxy", proxy, 1);
  unsetenv("NO_PROXY");
  unsetenv("no_proxy");

  fx.cfg.url = "http://cw.invalid:8080/";
  if (fx_sender(&fx) == 0) {
    queue_datums(fx.q, &fx.lock, 0, 2, 0);
    T_EQ_INT(fx_drain(&fx, 0), 0, "port 8080 via proxy: drain returns 0");
    if (srv_count(&fx.srv) >= 1)
      check_signed_at(&fx, 0, "cw.invalid:8080",
                      "POST http://cw.invalid:8080/ HTTP/1.1\r\n", K1, S1, NULL,
                      "port 8080 via proxy");
    cw_sender_destroy(fx.s);
    fx.s = NULL;
  }

  fx.cfg.url = "http://cw.invalid:80/";
  if (fx_sender(&fx) == 0) {
    queue_datums(fx.q, &fx.lock, 2, 2, 0);
    T_EQ_INT(fx_drain(&fx, 0), 0, "port 80 via proxy: drain returns 0");
    if (srv_count(&fx.srv) >= 2)
      check_signed_at(&fx, 1, "cw.invalid",
                      "POST http://cw.invalid/ HTTP/1.1\r\n", K1, S1, NULL,
                      "explicit default port 80");
  }

  unsetenv("http_proxy");
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  fx_done(&fx, "default port");
}

static void test_create(void) {
  cw_sender_config_t cfg = {.url = "ftp://example.com/",
                            .region = REGION,
                            .ns = NS,
                            .now = fake_now,
                            .random01 = fake_random,
                            .sleep_ms = fake_sleep};
  char err[256];
  cw_sender_t *s = cw_sender_create(&cfg, err, sizeof(err));
  T_OK(s == NULL && err[0] != 0, "ftp endpoint refused: %s", err);
  cw_sender_destroy(s);
  cfg.url = "http://127.0.0.1:1/";
  cfg.ns = "AWS/EC2";
  s = cw_sender_create(&cfg, err, sizeof(err));
  T_OK(s == NULL && err[0] != 0, "reserved namespace refused: %s", err);
  cw_sender_destroy(s);
}

/* The spool: a batch that fails its attempts goes to disk with the rest;
 * the next drain appends what is new behind it and sends the spooled
 * batches oldest first, re-encoded exactly; datums grown too old are
 * dropped and counted; requests keep to the configured rate. */
static void test_spool(void) {
  static const step_t steps[] = {{503, "", NULL},   {503, "", NULL},
                                 {200, "{}", NULL}, {200, "{}", NULL},
                                 {503, "", NULL},   {503, "", NULL}};
  char dir[] = "/tmp/sm-spool-test.XXXXXX", err[512], cmd[128];
  cw_spool_t *sp;
  cw_spool_stats_t ss;
  cw_sender_stats_t st;
  fx_t fx;
  int spaced = 0;

  if (!T_OK(mkdtemp(dir) != NULL, "spool: a directory") ||
      !T_OK(fx_init(&fx, steps, 6) == 0, "spool: fixture"))
    return;
  sp = cw_spool_open(dir, CW_SPOOL_DEFAULT_MAX_BYTES, NULL, err, sizeof(err));
  if (!T_OK(sp != NULL, "spool: open %s", dir)) {
    T_NOTE("%s", err);
    return;
  }
  fx.cfg.max_attempts = 2;
  fx.cfg.spool = sp;
  fx.cfg.max_requests_per_second = 2;
  fx.cfg.mono_ms = fake_mono;
  if (fx_sender(&fx) != 0)
    return;

  queue_datums(fx.q, &fx.lock, 0, 6, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "spool: CloudWatch down: drain returns -1");
  T_EQ_INT(srv_count(&fx.srv), 2, "spool: two attempts");
  T_EQ_INT(fx_qsize(&fx), 0, "spool: the queue is empty");
  cw_spool_get_stats(sp, &ss);
  T_OK(ss.files == 1 && ss.datums == 6, "spool: one batch of 6 datums on disk");
  T_EQ_INT(fx_stats(&fx).datums_spooled, 6, "spool: counted as spooled");

  queue_datums(fx.q, &fx.lock, 6, 4, 0);
  fx.c.nsleeps = 0;
  T_EQ_INT(fx_drain(&fx, 0), 0, "spool: CloudWatch back: drain returns 0");
  T_EQ_INT(srv_count(&fx.srv), 4, "spool: two more requests");
  check_body(&fx, 2, 0, 6, 0, "spool: first the spooled batch");
  check_body(&fx, 3, 6, 4, 0, "spool: then the new datums, spooled behind");
  cw_spool_get_stats(sp, &ss);
  T_OK(ss.files == 0 && ss.datums == 0, "spool: empty again");
  st = fx_stats(&fx);
  T_OK(st.datums_sent == 10 && st.datums_dropped == 0,
       "spool: all 10 datums sent, none dropped");
  for (size_t i = 0; i < fx.c.nsleeps && i < 64; i++)
    if (fx.c.sleeps[i] >= 499)
      spaced = 1;
  T_OK(spaced, "spool: at 2 requests per second, the sender waited 500 ms "
               "between requests");

  queue_datums(fx.q, &fx.lock, 10, 3, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "spool: down again: spooled");
  fx.c.now += 15 * 24 * 3600;
  T_EQ_INT(fx_drain(&fx, 0), 0, "spool: 15 days later: nothing to send");
  st = fx_stats(&fx);
  T_EQ_INT(st.datums_expired, 3, "spool: 3 datums too old, dropped, counted");
  T_EQ_INT(srv_count(&fx.srv), 6, "spool: no request for them");
  cw_spool_get_stats(sp, &ss);
  T_EQ_INT(ss.files, 0, "spool: their batch is gone");
  fx_done(&fx, "spool");
  cw_spool_close(sp);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    T_NOTE("could not remove %s", dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* The fake server is on 127.0.0.1: never through a proxy. */
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  test_create();
  test_success();
  test_gzip();
  test_batching();
  test_batching_bytes();
  test_throttling();
  test_5xx();
  test_expired_token();
  test_expired_twice();
  test_permanent();
  test_persistent();
  test_slow();
  test_stop();
  test_deadline();
  test_no_credentials();
  test_too_large();
  test_default_port();
  test_spool();
  curl_global_cleanup();
  return t_done();
}
