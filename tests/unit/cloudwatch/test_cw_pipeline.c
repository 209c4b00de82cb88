/* SPDX-License-Identifier: MIT */
/*
 * cw_pipeline with a PutMetricData stream (cw_stream_metrics) against a
 * scripted fake CloudWatch (tests/fakes/fake_http.h): a thread serving
 * HTTP/1.1 on 127.0.0.1 (ephemeral port) that answers each request with
 * the next scripted reply and records the request's head and body. Every case
 * ends by checking that each scripted reply was used and that no request came
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
 * and by bytes, throttling, 5xx, Retry-After, expired token, clock skew,
 * access denied, permanent refusal, persistent failure then a one-attempt
 * probe, a silent server, stop, deadline, no credentials, a datum too
 * large for any body, the signed Host of an endpoint naming its scheme's
 * default port (the fake server acting as an HTTP proxy), the spool
 * (spilling, replay merged into full requests of each batch's own
 * namespace, expiry), shutdown (sent without pacing, spooled, or counted),
 * and the sender thread itself.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "aws_sigv4.h"
#include "cw_datum.h"
#include "cw_encode.h"
#include "cw_pipeline.h"
#include "cw_queue.h"
#include "cw_spool.h"
#include "cw_stream_metrics.h"
#include "fake_http.h"
#include "tap.h"

#define CTYPE "application/x-amz-json-1.0"
#include "pipeline_fixture.h"

#define NS "SageMaker/SenderTest"
#define TARGET "GraniteServiceVersion20100801.PutMetricData"
/* PutMetricData's answer when it accepts a request. */
#define OK_EMPTY ANSWER(200, "{}", NULL)

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

/* Member key of object v, of type t; NULL when there is none. */
static yajl_val member(yajl_val v, const char *key, yajl_type t) {
  const char *path[] = {key, NULL};
  return yajl_tree_get(v, path, t);
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
    char name[32];
    cw_datum_t d;

    make_datum(first + k, uniform, name, sizeof(name), &d);
    if (!YAJL_IS_OBJECT(it) || it->u.object.len != 6) {
      snprintf(why, whysize, "datum %zu: not an object of 6 members", k);
      goto out;
    }
    x = member(it, "MetricName", yajl_t_string);
    if (!str_is(x, name)) {
      snprintf(why, whysize, "datum %zu: MetricName %s, want %s", k, str_of(x),
               name);
      goto out;
    }
    dims = member(it, "Dimensions", yajl_t_array);
    if (dims == NULL || dims->u.array.len != 1 ||
        !str_is(member(dims->u.array.values[0], "Name", yajl_t_string),
                "Host") ||
        !str_is(member(dims->u.array.values[0], "Value", yajl_t_string),
                "host-a") ||
        dims->u.array.values[0]->u.object.len != 2) {
      snprintf(why, whysize, "%s: Dimensions", name);
      goto out;
    }
    if (!num_eq(member(it, "Timestamp", yajl_t_number), period_of(DATUM_TS))) {
      snprintf(why, whysize, "%s: Timestamp", name);
      goto out;
    }
    x = member(it, "Unit", yajl_t_string);
    if (!str_is(x, "Milliseconds") ||
        !num_eq(member(it, "StorageResolution", yajl_t_number), 60)) {
      snprintf(why, whysize, "%s: Unit or StorageResolution", name);
      goto out;
    }
    sv = member(it, "StatisticValues", yajl_t_object);
    if (sv == NULL || sv->u.object.len != 4 ||
        !num_eq(member(sv, "SampleCount", yajl_t_number),
                d.stats.sample_count) ||
        !num_eq(member(sv, "Sum", yajl_t_number), d.stats.sum) ||
        !num_eq(member(sv, "Minimum", yajl_t_number), d.stats.minimum) ||
        !num_eq(member(sv, "Maximum", yajl_t_number), d.stats.maximum)) {
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
static char *req_json(const fake_http_request_t *r, size_t *len) {
  char enc[64];
  if (r->body == NULL)
    return NULL;
  if (fake_http_header(r, "Content-Encoding", enc, sizeof(enc)) != NULL) {
    if (strcmp(enc, "gzip") != 0)
      return NULL;
    return gunzip(r->body, r->body_len, len);
  }
  *len = r->body_len;
  return strdup((const char *)r->body);
}

/* ============================================================ fixture */

/* What the old sender's configuration said, set by a case before
 * fx_sender() builds the pipeline. */
typedef struct {
  const char *url;
  int compress;
  size_t compress_threshold;
  long timeout_ms;
  unsigned max_attempts;
  size_t max_batch_bytes;
  double max_requests_per_second;
  int fake_mono;
  cw_spool_t *spool;
} fx_cfg_t;

typedef struct {
  ctx_t c;
  fake_http_t *srv;
  size_t nsteps;
  aws_creds_provider_t *creds;
  fx_cfg_t cfg;
  cw_pipeline_t *p;
  cw_stream_metrics_t *m;
  cw_queue_t *q;
  pthread_mutex_t lock;
  char url[FX_ADDR_MAX];
  char host[FX_ADDR_MAX];
} fx_t;

static int fx_init(fx_t *fx, const fake_http_step_t *steps, size_t n) {
  memset(fx, 0, sizeof(*fx));
  fx->c.now = T0;
  pthread_mutex_init(&fx->lock, NULL);
  fx->q = cw_queue_create(10000);
  fx->nsteps = n;
  fx->srv = fx->c.srv = fx_serve(steps, n, &fx->lock, fx->url, fx->host);
  if (fx->srv == NULL)
    return -1;
  fx->creds = fake_creds(&fx->c);
  fx->cfg = (fx_cfg_t){
      .url = fx->url,
      .compress = 0,
      .compress_threshold = 1024,
      .timeout_ms = 3000,
      .max_attempts = 5,
  };
  return fx->q != NULL && fx->creds != NULL ? 0 : -1;
}

static int fx_sender(fx_t *fx) {
  char err[256];
  cw_pipeline_config_t pc = fake_config(&fx->c, fx->creds, &fx->lock);
  cw_pipeline_stream_t s;

  pc.timeout_ms = fx->cfg.timeout_ms;
  pc.max_attempts = fx->cfg.max_attempts;
  pc.mono_ms = fx->cfg.fake_mono ? fake_mono : NULL;
  fx->p = cw_pipeline_create(&pc, err, sizeof(err));
  fx->m = cw_stream_metrics_create(fx->q, NS, fx->cfg.max_batch_bytes, err,
                                   sizeof(err));
  if (!T_OK(fx->p != NULL && fx->m != NULL, "pipeline and stream created")) {
    T_NOTE("%s", err);
    return -1;
  }
  memset(&s, 0, sizeof(s));
  cw_stream_metrics_describe(fx->m, &s);
  s.url = fx->cfg.url;
  s.region = REGION;
  s.compress_threshold = fx->cfg.compress ? fx->cfg.compress_threshold : 0;
  s.max_requests_per_second = fx->cfg.max_requests_per_second;
  if (!T_OK(cw_pipeline_add_stream(fx->p, &s, err, sizeof(err)) == 0,
            "stream added")) {
    T_NOTE("%s", err);
    return -1;
  }
  cw_pipeline_set_spool(fx->p, fx->cfg.spool);
  return 0;
}

static void fx_sender_free(fx_t *fx) {
  cw_pipeline_destroy(fx->p);
  cw_stream_metrics_destroy(fx->m);
  fx->p = NULL;
  fx->m = NULL;
}

/* One flush: seals the queue and sends it (cw_pipeline_run). */
static int fx_drain(fx_t *fx, time_t deadline) {
  return cw_pipeline_run(fx->p, deadline);
}

static cw_pipeline_stats_t fx_stats(fx_t *fx) {
  return fx_stream_stats(fx->p, 0);
}

/* fx_drain timed: *t0 and *t1 the fake's clock (ms) before and after. */
static int fx_drain_timed(fx_t *fx, time_t deadline, long *t0, long *t1) {
  int rc;
  *t0 = fake_http_now_ms();
  rc = fx_drain(fx, deadline);
  *t1 = fake_http_now_ms();
  return rc;
}

/* The datums queued, read under the lock. */
static size_t fx_qsize(fx_t *fx) {
  pthread_mutex_lock(&fx->lock);
  size_t n = cw_queue_size(fx->q);
  pthread_mutex_unlock(&fx->lock);
  return n;
}

/* What a case changes before its sender is made: cfg, whose url is the
 * fixture's and whose fields left 0 keep its defaults, and
 * ctx_t's fields of the same names. */
typedef struct {
  fx_cfg_t cfg;
  const double *rnd;
  size_t nrnd;
  int rotate, with_token, stop, no_keys;
} fx_opts_t;

/* fx_init (checked as "<what>: fixture"), the changes of o (NULL: none),
 * then fx_sender: 0 when the case can go on. */
static int fx_start(fx_t *fx, const fake_http_step_t *steps, size_t n,
                    const fx_opts_t *o, const char *what) {
  static const fx_opts_t none;
  fx_cfg_t c;

  if (!T_OK(fx_init(fx, steps, n) == 0, "%s: fixture", what))
    return -1;
  o = o != NULL ? o : &none;
  c = o->cfg;
  c.url = fx->cfg.url;
  if (c.compress_threshold == 0)
    c.compress_threshold = fx->cfg.compress_threshold;
  if (c.timeout_ms == 0)
    c.timeout_ms = fx->cfg.timeout_ms;
  if (c.max_attempts == 0)
    c.max_attempts = fx->cfg.max_attempts;
  fx->cfg = c;
  fx->c.rnd = o->rnd;
  fx->c.nrnd = o->nrnd;
  fx->c.rotate = o->rotate;
  fx->c.with_token = o->with_token;
  fx->c.stop = o->stop;
  fx->c.no_keys = o->no_keys;
  return fx_sender(fx);
}

/* A spool in a new directory made from the template dir (mkdtemp, dir
 * then names it); NULL, with a failed check, when either fails. */
static cw_spool_t *spool_in(char *dir, const char *what) {
  char err[512];
  cw_spool_t *sp;

  if (!T_OK(mkdtemp(dir) != NULL, "%s: a directory", what))
    return NULL;
  sp = cw_spool_open(dir, CW_SPOOL_DEFAULT_MAX_BYTES, NULL, err, sizeof(err));
  if (!T_OK(sp != NULL, "%s: open %s", what, dir))
    T_NOTE("%s", err);
  return sp;
}

/* Closes sp (when not NULL) and removes its directory. */
static void spool_remove(cw_spool_t *sp, const char *dir) {
  char cmd[128];

  if (sp != NULL)
    cw_spool_close(sp);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    T_NOTE("could not remove %s", dir);
}

/* One flush of n datums newly queued, without a deadline: the drain
 * returns ret. */
static void fx_flush(fx_t *fx, size_t n, int ret, const char *what) {
  queue_datums(fx->q, &fx->lock, 0, n, 0);
  T_EQ_INT(fx_drain(fx, 0), ret, what);
}

/* Stops the fake and checks its script was used up exactly. */
static void fx_done(fx_t *fx, const char *what) {
  check_script_used(fx->srv, fx->nsteps, what);
  fx_sender_free(fx);
  aws_creds_provider_destroy(fx->creds);
  cw_queue_destroy(fx->q);
  pthread_mutex_destroy(&fx->lock);
}

/* Request i was sent to host as line says and signed by key for
 * CloudWatch (pipeline_fixture.h). */
static void check_signed_at(fx_t *fx, size_t i, const char *host,
                            const char *line, const char *key,
                            const char *secret, const char *token,
                            const char *what) {
  signed_at_t at = {host, line, "monitoring", TARGET, 0, T0, AMZ_DATE};
  check_signature(fx->srv, i, &at, key, secret, token, what);
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
  char *json = req_json(srv_req(fx->srv, i), &len);
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

/* ============================================================== cases */

static void test_success(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY};
  fx_t fx;
  cw_pipeline_stats_t st;
  size_t len;
  char v[64];

  if (fx_start(&fx, steps, 2, NULL, "success") != 0)
    return;
  T_EQ_INT(fx_drain(&fx, 0), 0, "empty queue: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 0, "empty queue: no request");

  fx_flush(&fx, 5, 0, "success: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 1, "success: one request");
  check_signed(&fx, 0, K1, S1, NULL, "success");
  T_OK(fake_http_header(srv_req(fx.srv, 0), "Content-Encoding", v, sizeof(v)) ==
           NULL,
       "compress off: no Content-Encoding");
  len = check_body(&fx, 0, 0, 5, 0, "success");
  T_OK(srv_req(fx.srv, 0)->lock_free,
       "the queue lock is not held while the request is in flight");
  T_EQ_INT(fx_qsize(&fx), 0, "sent datums left the queue");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "success", STAT(requests, 1), STAT(requests_failed, 0),
              STAT(items_sent, 5), STAT(items_refused, 0), STAT(retries, 0),
              STAT(bytes_sent, len), STAT(bytes_raw, len));
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep");
  T_EQ_INT(fx.c.err_logs, 0, "nothing logged as an error");

  { /* one more, merging until the flush seals it */
    char name[32];
    cw_datum_t d;
    make_datum(5, 0, name, sizeof(name), &d);
    pthread_mutex_lock(&fx.lock);
    cw_queue_add(fx.q, &d);
    pthread_mutex_unlock(&fx.lock);
  }
  T_EQ_INT(fx_qsize(&fx), 1, "a merging datum is queued");
  T_EQ_INT(fx_drain(&fx, 0), 0, "the flush seals it: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 2, "a second request");
  check_body(&fx, 1, 5, 1, 0, "success");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  T_EQ_INT(fx_stats(&fx).items_sent, 6, "stats: 6 datums sent");
  T_EQ_INT(fx_stats(&fx).requests, 2, "stats: 2 requests");
  fx_done(&fx, "success");
}

static void test_gzip(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY};
  fx_t fx;
  cw_pipeline_stats_t st;
  const fake_http_request_t *r;
  size_t len0, len1;
  char v[64];

  if (fx_start(&fx, steps, 2,
               &(fx_opts_t){.cfg.compress = 1, .cfg.compress_threshold = 1024},
               "gzip") != 0)
    return;

  fx_flush(&fx, 40, 0, "gzip: drain returns 0");
  r = srv_req(fx.srv, 0);
  T_EQ_STR(fake_http_header(r, "Content-Encoding", v, sizeof(v)), "gzip",
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
      const char *got = fake_http_header(r, "Authorization", a, sizeof(a));
      T_OK(got != NULL &&
               strcmp(got, aws_sigv4_result_header(&res, "Authorization")) != 0,
           "the signature is not the one over the uncompressed JSON");
      aws_sigv4_result_free(&res);
    }
    free(json);
  }
  st = fx_stats(&fx);
  CHECK_STATS(&st, "gzip", STAT(bytes_sent, r->body_len),
              STAT(bytes_raw, len0));

  queue_datums(fx.q, &fx.lock, 40, 1, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "gzip, small body: drain returns 0");
  r = srv_req(fx.srv, 1);
  T_OK(fake_http_header(r, "Content-Encoding", v, sizeof(v)) == NULL,
       "under the threshold: no Content-Encoding");
  len1 = check_body(&fx, 1, 40, 1, 0, "gzip, small body");
  T_OK(len1 < 1024 && r->body_len == len1, "under the threshold: plain JSON");
  check_signed(&fx, 1, K1, S1, NULL, "gzip, small body");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  fx_done(&fx, "gzip");
}

static void test_batching(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY, OK_EMPTY};
  fx_t fx;
  cw_pipeline_stats_t st;
  char v[64];

  if (fx_start(&fx, steps, 3, NULL, "batching") != 0)
    return;
  fx_flush(&fx, 2500, 0, "2500 datums: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 3, "2500 datums: 3 requests");
  check_body(&fx, 0, 0, 1000, 0, "2500 datums");
  check_body(&fx, 1, 1000, 1000, 0, "2500 datums");
  check_body(&fx, 2, 2000, 500, 0, "2500 datums");
  T_OK(fake_http_header(srv_req(fx.srv, 0), "Content-Encoding", v, sizeof(v)) ==
           NULL,
       "compress off: a large body is not compressed");
  check_signed(&fx, 2, K1, S1, NULL, "2500 datums");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "batching by count", STAT(requests, 3),
              STAT(items_sent, 2500));
  fx_done(&fx, "batching by count");
}

/* The JSON length of a body of one uniform datum (*l1) and of two (*l2),
 * as the stream's encoder writes them. */
static int uniform_sizes(size_t *l1, size_t *l2) {
  char name[32];
  cw_datum_t d;
  cw_encode_t *e =
      cw_encode_create(NS, CW_ENCODE_MAX_DATUMS, CW_ENCODE_MAX_BYTES, NULL, 0);

  if (!T_OK(e != NULL, "encoder for sizes"))
    return -1;
  for (size_t i = 0; i < 2; i++) {
    make_datum(i, 1, name, sizeof(name), &d);
    d.timestamp = period_of(d.timestamp);
    cw_encode_add(e, &d);
    cw_encode_body(e, i == 0 ? l1 : l2);
  }
  cw_encode_destroy(e);
  return 0;
}

static void test_batching_bytes(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY, OK_EMPTY};
  fx_t fx;
  size_t l1, l2, inc, max;

  /* k uniform datums take l1 + (k - 1) * inc bytes. Allow 4 a request. */
  if (uniform_sizes(&l1, &l2) != 0)
    return;
  inc = l2 - l1;
  max = l1 + 3 * inc + inc / 2;

  if (fx_start(&fx, steps, 3, &(fx_opts_t){.cfg.max_batch_bytes = max},
               "batching by bytes") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 10, 1);
  T_EQ_INT(fx_drain(&fx, 0), 0, "by bytes: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 3, "by bytes: 10 datums of 4 a body: 3 requests");
  check_body(&fx, 0, 0, 4, 1, "by bytes");
  check_body(&fx, 1, 4, 4, 1, "by bytes");
  check_body(&fx, 2, 8, 2, 1, "by bytes");
  for (size_t i = 0; i < 3; i++)
    T_OK(srv_req(fx.srv, i)->body_len <= max, "by bytes: body %zu: %zu <= %zu",
         i, srv_req(fx.srv, i)->body_len, max);
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  T_EQ_INT(fx_stats(&fx).items_sent, 10, "stats: 10 datums");
  fx_done(&fx, "batching by bytes");
}

/* Two failures of a retryable kind, then 200. */
static void retry_then_ok(const fake_http_step_t *steps, const char *what) {
  static const double rnd[] = {0.5, 0.999};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 3, &(fx_opts_t){.rnd = rnd, .nrnd = 2}, what) != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 7, 0);
  /* A deadline still ahead does not stop the retries. */
  T_EQ_INT(fx_drain(&fx, T0 + 60), 0, "drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 3, "3 requests");
  T_OK(srv_same_body(fx.srv, 0, 1) && srv_same_body(fx.srv, 0, 2),
       "%s: the same body every time", what);
  check_body(&fx, 2, 0, 7, 0, what);
  check_signed(&fx, 2, K1, S1, NULL, what);
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  CHECK_STATS(&st, what, STAT(requests, 3), STAT(requests_failed, 2),
              STAT(items_sent, 7), STAT(items_refused, 0), STAT(retries, 2));
  T_EQ_INT(fx.c.nsleeps, 2, "slept twice");
  /* Full jitter: [0, min(cap, base * 2^n)), here random * ceiling. */
  T_OK(fx.c.sleeps[0] < 200, "first delay %" PRIu64 " < 200", fx.c.sleeps[0]);
  T_OK(fx.c.sleeps[1] < 400, "second delay %" PRIu64 " < 400", fx.c.sleeps[1]);
  T_EQ_INT(fx.c.sleeps[0], 100, "first delay: 0.5 of 200");
  T_EQ_INT(fx.c.sleeps[1], 399, "second delay: 0.999 of 400");
  fx_done(&fx, what);
}

static void test_throttling(void) {
  static const fake_http_step_t steps[] = {
      REFUSAL(400, "com.amazon.coral.availability#ThrottlingException",
              "Rate exceeded"),
      REFUSAL(400, "com.amazon.coral.availability#ThrottlingException",
              "Rate exceeded"),
      OK_EMPTY};
  retry_then_ok(steps, "throttling");
}

static void test_5xx(void) {
  static const fake_http_step_t steps[] = {
      REFUSAL(500, "InternalServiceError", "Internal error"),
      ANSWER(503, "", NULL), OK_EMPTY};
  retry_then_ok(steps, "5xx");
}

static void test_expired_token(void) {
  static const fake_http_step_t steps[] = {EXPIRED_TOKEN, OK_EMPTY};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 2, &(fx_opts_t){.rotate = 1, .with_token = 1},
               "expired token") != 0)
    return;
  fx_flush(&fx, 3, 0, "expired token: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 2, "expired token: 2 requests");
  check_signed(&fx, 0, K1, S1, TOK1, "expired token: first");
  check_signed(&fx, 1, K2, S2, TOK2, "expired token: retry with fresh keys");
  T_EQ_INT(fx.c.id_reads, 2, "the environment was read again once");
  T_OK(srv_same_body(fx.srv, 0, 1), "expired token: the same body");
  check_body(&fx, 1, 0, 3, 0, "expired token");
  T_EQ_INT(fx.c.nsleeps, 0, "no sleep before the retry with fresh keys");
  T_EQ_INT(fx_qsize(&fx), 0, "queue empty");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "expired token", STAT(items_sent, 3), STAT(requests, 2),
              STAT(requests_failed, 1));
  fx_done(&fx, "expired token");
}

static void test_expired_twice(void) {
  /* Fresh keys refused too: one immediate retry only, then ordinary
   * backoff (no loop of refreshes). */
  static const fake_http_step_t steps[] = {EXPIRED_TOKEN, EXPIRED_TOKEN,
                                           EXPIRED_TOKEN};
  fx_t fx;

  if (fx_start(&fx, steps, 3, &(fx_opts_t){.rotate = 1, .cfg.max_attempts = 2},
               "expired twice") != 0)
    return;
  fx_flush(&fx, 2, -1, "expired twice: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 3,
           "expired twice: refresh once, then max_attempts 2");
  T_EQ_INT(fx.c.nsleeps, 1, "one backoff sleep");
  T_EQ_INT(fx_qsize(&fx), 2, "datums kept");
  fx_done(&fx, "expired twice");
}

static void test_permanent(void) {
  static const fake_http_step_t steps[] = {
      REFUSAL(400, "InvalidParameterValue",
              "The value -Infinity for parameter MetricData.member.1.Value is "
              "invalid.")};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 1, NULL, "permanent") != 0)
    return;
  fx_flush(&fx, 4, 0, "permanent: drain goes on (returns 0)");
  T_EQ_INT(srv_count(fx.srv), 1, "permanent: 1 request, no retry");
  T_EQ_INT(fx_qsize(&fx), 0, "permanent: the batch is dropped");
  st = fx_stats(&fx);
  CHECK_STATS(&st, "permanent", STAT(items_refused, 4), STAT(items_sent, 0),
              STAT(requests_failed, 1), STAT(retries, 0));
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
  static const fake_http_step_t steps[] = {ANSWER(503, "", NULL),
                                           ANSWER(503, "", NULL),
                                           ANSWER(503, "", NULL), OK_EMPTY};
  fx_t fx;
  cw_pipeline_stats_t st;
  char err[1024];

  if (fx_start(&fx, steps, 4, &(fx_opts_t){.cfg.max_attempts = 3},
               "persistent") != 0)
    return;
  fx_flush(&fx, 6, -1, "always 503: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 3, "always 503: exactly 3 requests");
  T_EQ_INT(fx_qsize(&fx), 6, "always 503: datums still queued");
  T_EQ_INT(fx.c.nsleeps, 2, "slept between attempts only");
  if (!T_OK(strstr(fx.c.log, "PutMetricData failed (namespace " NS
                             ": HTTP 503") != NULL &&
                fx.c.err_logs == 1,
            "one error logged, naming the namespace and HTTP 503"))
    T_NOTE("log: %s", fx.c.log);
  (void)err;
  st = fx_stats(&fx);
  CHECK_STATS(&st, "persistent failure", STAT(requests, 3),
              STAT(requests_failed, 3), STAT(retries, 2), STAT(items_sent, 0),
              STAT(items_refused, 0));

  fx.c.nsleeps = 0;
  T_EQ_INT(fx_drain(&fx, 0), 0, "later drain, server back: returns 0");
  T_EQ_INT(srv_count(fx.srv), 4,
           "later drain: the failing destination is probed with one request");
  T_EQ_INT(fx.c.nsleeps, 0, "the probe did not back off");
  T_OK(strstr(fx.c.log, "PutMetricData succeeds again for the metrics after "
                        "1 failures") != NULL,
       "the recovery is logged");
  T_OK(srv_same_body(fx.srv, 0, 3), "the same body as before");
  check_body(&fx, 3, 0, 6, 0, "later drain");
  T_EQ_INT(fx_qsize(&fx), 0, "nothing lost, queue empty");
  T_EQ_INT(fx_stats(&fx).items_sent, 6, "stats: 6 sent");
  fx_done(&fx, "persistent failure");
}

static void test_slow(void) {
  static const fake_http_step_t steps[] = {SILENT, SILENT};
  fx_t fx;
  long t0, t1;
  int rc;

  if (fx_start(&fx, steps, 2,
               &(fx_opts_t){.cfg.timeout_ms = 300, .cfg.max_attempts = 2},
               "slow") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  rc = fx_drain_timed(&fx, 0, &t0, &t1);
  T_EQ_INT(rc, -1, "silent server: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 2, "silent server: 2 attempts");
  T_EQ_INT(fx.c.nsleeps, 1, "silent server: a timeout is retried");
  T_EQ_INT(fx_stats(&fx).retries, 1, "stats: 1 retry");
  {
    long a0 = srv_req(fx.srv, 0)->at_ms, a1 = srv_req(fx.srv, 1)->at_ms;
    T_OK(a1 - a0 >= 250 && a1 - a0 <= 1500,
         "first attempt ended at the timeout (%ld ms)", a1 - a0);
    T_OK(t1 - a1 >= 250 && t1 - a1 <= 1500,
         "second attempt ended at the timeout (%ld ms)", t1 - a1);
    T_OK(t1 - t0 <= 3000, "whole drain %ld ms", t1 - t0);
  }
  T_OK(srv_same_body(fx.srv, 0, 1), "silent server: the same body");
  T_EQ_INT(fx_qsize(&fx), 3, "silent server: datums kept");
  T_OK(strstr(fx.c.log, "timed out") != NULL, "the log says it timed out");
  T_EQ_INT(fx_stats(&fx).requests_unanswered, 2,
           "stats: 2 requests without an answer");
  T_EQ_INT(fx_stats(&fx).requests, 0, "stats: none answered");
  fx_done(&fx, "slow answer");
}

static void test_stop(void) {
  static const fake_http_step_t steps[] = {ANSWER(503, "", NULL)};
  fx_t fx;
  cw_pipeline_stats_t st;

  if (fx_start(&fx, steps, 1, &(fx_opts_t){.stop = 1}, "stop") != 0)
    return;
  fx_flush(&fx, 3, -1, "stop: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 1, "stop: nothing after the first failure");
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
  static const fake_http_step_t steps[] = {ANSWER(503, "", NULL)};
  fx_t fx;

  /* Shutdown's deadline has passed: no batch is started at all. */
  if (fx_start(&fx, steps, 0, NULL, "deadline") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  T_EQ_INT(fx_drain(&fx, T0 - 10), -1, "past deadline: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 0, "past deadline: no request");
  T_EQ_INT(fx.c.nsleeps, 0, "past deadline: no sleep");
  T_EQ_INT(fx_stats(&fx).retries, 0, "past deadline: no retry");
  T_EQ_INT(fx_qsize(&fx), 3, "past deadline: datums kept");
  fx_done(&fx, "deadline");
}

/* A deadline 1 s ahead caps a request's Timeout (4 s here): a silent
 * server costs the time left, not the Timeout. */
static void test_deadline_caps_timeout(void) {
  static const fake_http_step_t steps[] = {SILENT};
  fx_t fx;
  long t0, t1;

  if (fx_start(&fx, steps, 1,
               &(fx_opts_t){.cfg.timeout_ms = 4000, .cfg.max_attempts = 1},
               "deadline cap") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  T_EQ_INT(fx_drain_timed(&fx, T0 + 1, &t0, &t1), -1,
           "deadline cap: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 1, "deadline cap: one request");
  T_OK(t1 - t0 >= 800 && t1 - t0 <= 2000,
       "deadline cap: it ended at the deadline, not the Timeout (%ld ms)",
       t1 - t0);
  T_EQ_INT(fx_qsize(&fx), 3, "deadline cap: datums kept");
  fx_done(&fx, "deadline cap");
}

static void test_no_credentials(void) {
  fx_t fx;
  char err[1024];

  if (fx_start(&fx, NULL, 0, &(fx_opts_t){.no_keys = 1, .cfg.max_attempts = 2},
               "no credentials") != 0)
    return;
  fx_flush(&fx, 2, -1, "no credentials: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 0, "no credentials: no request sent");
  T_EQ_INT(fx_qsize(&fx), 2, "no credentials: datums kept");
  T_EQ_INT(fx_stats(&fx).requests, 0, "stats: no request");
  T_EQ_INT(fx_stats(&fx).requests_unanswered, 0, "stats: none went out");
  if (!T_OK(strstr(fx.c.log, "no credentials") != NULL,
            "the log says there are no credentials"))
    T_NOTE("log: %s", fx.c.log);
  (void)err;
  fx_done(&fx, "no credentials");
}

/* A datum too large for any body is dropped, logged and counted, and
 * does not block the ones behind it. */
static void test_too_large(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY};
  static char big[CW_DIM_VALUE_MAX + 1];
  cw_dimension_t bigdim[] = {{"Host", big}};
  fx_t fx;
  size_t l1, l2;
  char name[32];
  cw_datum_t d;

  if (uniform_sizes(&l1, &l2) != 0)
    return;
  memset(big, 'x', CW_DIM_VALUE_MAX);

  /* Bodies of two uniform datums; not of one with big. */
  if (fx_start(&fx, steps, 2, &(fx_opts_t){.cfg.max_batch_bytes = l2},
               "too large") != 0)
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
  T_EQ_INT(srv_count(fx.srv), 2, "too large: 2 requests around it");
  check_body(&fx, 0, 0, 1, 1, "too large");
  check_body(&fx, 1, 2, 1, 1, "too large");
  T_EQ_INT(fx_qsize(&fx), 0, "too large: queue empty");
  T_EQ_INT(fx_stats(&fx).items_invalid, 1, "stats: 1 dropped as invalid");
  T_EQ_INT(fx_stats(&fx).items_sent, 2, "stats: 2 sent");
  fx_done(&fx, "too large");
}

/* Request i, two datums sent to url through the proxy: sent to host with
 * the request line line, and signed for host. */
static void via_proxy(fx_t *fx, const char *url, size_t i, const char *host,
                      const char *line, const char *what) {
  char m[96];

  fx->cfg.url = url;
  if (fx_sender(fx) != 0)
    return;
  queue_datums(fx->q, &fx->lock, 2 * i, 2, 0);
  snprintf(m, sizeof(m), "%s: drain returns 0", what);
  T_EQ_INT(fx_drain(fx, 0), 0, m);
  if (srv_count(fx->srv) >= i + 1)
    check_signed_at(fx, i, host, line, K1, S1, NULL, what);
  fx_sender_free(fx);
}

/* The Host header libcurl sends leaves out the scheme's default port
 * ("http://h:80/" -> "Host: h"), so the signed host must leave it out
 * too. The fake server stands in as an HTTP proxy so that any host and
 * port can be named without binding them; the request line then carries
 * the absolute URL. A non-default port is the control. */
static void test_default_port(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY};
  fx_t fx;
  char proxy[64];

  if (!T_OK(fx_init(&fx, steps, 2) == 0, "default port: fixture"))
    return;
  snprintf(proxy, sizeof(proxy), "%s", fake_http_url(fx.srv));
  setenv("http_proxy", proxy, 1);
  unsetenv("NO_PROXY");
  unsetenv("no_proxy");

  via_proxy(&fx, "http://cw.invalid:8080/", 0, "cw.invalid:8080",
            "POST http://cw.invalid:8080/ HTTP/1.1\r\n", "port 8080 via proxy");
  via_proxy(&fx, "http://cw.invalid:80/", 1, "cw.invalid",
            "POST http://cw.invalid/ HTTP/1.1\r\n", "explicit default port 80");

  unsetenv("http_proxy");
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  fx_done(&fx, "default port");
}

static void test_create(void) {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  cw_pipeline_config_t pc = {.now = fake_now, .random01 = fake_random};
  cw_pipeline_stream_t s;
  cw_stream_metrics_t *m;
  cw_queue_t *q = cw_queue_create(1000);
  cw_pipeline_t *p;
  char err[256];

  p = cw_pipeline_create(&pc, err, sizeof(err));
  T_OK(p == NULL && err[0] != 0, "no credentials or lock: refused: %s", err);
  pc.creds = (aws_creds_provider_t *)1; /* not used before a request */
  pc.lock = &lock;
  p = cw_pipeline_create(&pc, err, sizeof(err));
  m = cw_stream_metrics_create(q, NS, 0, err, sizeof(err));
  memset(&s, 0, sizeof(s));
  cw_stream_metrics_describe(m, &s);
  s.url = "ftp://example.com/";
  s.region = REGION;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) < 0 &&
           strstr(err, "ftp") != NULL,
       "ftp endpoint refused: %s", err);
  T_OK(cw_stream_metrics_create(q, "AWS/EC2", 0, err, sizeof(err)) == NULL &&
           err[0] != 0,
       "reserved namespace refused: %s", err);
  s.url = "http://127.0.0.1:1/";
  s.claim = NULL;
  T_OK(cw_pipeline_add_stream(p, &s, err, sizeof(err)) < 0,
       "an incomplete stream refused: %s", err);
  cw_pipeline_destroy(p);
  cw_stream_metrics_destroy(m);
  cw_queue_destroy(q);
}

/* The spool: a batch that fails its attempts goes to disk with the rest;
 * while the destination fails, what is new goes to disk at every flush,
 * and the first request is a probe of one attempt; the spooled batches
 * then go oldest first, merged into one request; datums grown too old are
 * dropped and counted; requests keep to the configured rate. */
static void test_spool(void) {
  static const fake_http_step_t steps[] = {
      ANSWER(503, "", NULL), ANSWER(503, "", NULL),
      ANSWER(503, "", NULL), OK_EMPTY,
      ANSWER(503, "", NULL), ANSWER(503, "", NULL)};
  char dir[] = "/tmp/sm-spool-test.XXXXXX";
  cw_spool_t *sp;
  cw_spool_stats_t ss;
  cw_pipeline_stats_t st;
  fx_t fx;
  int spaced = 0;

  if ((sp = spool_in(dir, "spool")) == NULL ||
      fx_start(&fx, steps, 6,
               &(fx_opts_t){.cfg = {.max_attempts = 2,
                                    .spool = sp,
                                    .max_requests_per_second = 2,
                                    .fake_mono = 1}},
               "spool") != 0)
    return;

  fx_flush(&fx, 6, -1, "spool: CloudWatch down: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 2, "spool: two attempts");
  T_EQ_INT(fx_qsize(&fx), 0, "spool: the queue is empty");
  cw_spool_get_stats(sp, &ss);
  T_OK(ss.files == 1 && ss.items[CW_SPOOL_METRICS] == 6,
       "spool: one batch of 6 datums on disk");
  T_EQ_INT(fx_stats(&fx).items_spooled, 6, "spool: counted as spooled");

  /* Still down: what is new is spooled first, then one probe. */
  queue_datums(fx.q, &fx.lock, 6, 4, 0);
  T_EQ_INT(fx_drain(&fx, 0), -1, "spool: still down: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 3, "spool: one probe");
  cw_spool_get_stats(sp, &ss);
  T_OK(ss.files == 2 && ss.items[CW_SPOOL_METRICS] == 10,
       "spool: the new datums spooled behind, before the probe");
  T_EQ_INT(fx_qsize(&fx), 0, "spool: the queue is empty again");

  fx.c.nsleeps = 0;
  T_EQ_INT(fx_drain(&fx, 0), 0, "spool: CloudWatch back: drain returns 0");
  T_EQ_INT(srv_count(fx.srv), 4, "spool: one request for both batches");
  check_body(&fx, 3, 0, 10, 0, "spool: the two spooled batches, merged");
  cw_spool_get_stats(sp, &ss);
  T_OK(ss.files == 0 && ss.items[CW_SPOOL_METRICS] == 0, "spool: empty again");
  st = fx_stats(&fx);
  T_OK(st.items_sent == 10 && st.items_refused == 0,
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
  T_EQ_INT(st.items_expired, 3, "spool: 3 datums too old, dropped, counted");
  T_EQ_INT(srv_count(fx.srv), 6, "spool: no request for them");
  cw_spool_get_stats(sp, &ss);
  T_EQ_INT(ss.files, 0, "spool: their batch is gone");
  fx_done(&fx, "spool");
  spool_remove(sp, dir);
}

/* A host clock 10 minutes behind: CloudWatch refuses the signature and
 * says its time in Date; the pipeline takes the offset, signs again at
 * once with the service's time, and keeps signing with it. */
static void test_clock_skew(void) {
  static const fake_http_step_t steps[] = {
      SIGNATURE_EXPIRED, ANSWER(200, "{}", SERVICE_DATE), OK_EMPTY};
  fx_t fx;
  char v[256], auth[1024];

  if (fx_start(&fx, steps, 3, NULL, "clock skew") != 0)
    return;
  fx_flush(&fx, 3, 0, "clock skew: delivered after the correction");
  T_EQ_INT(srv_count(fx.srv), 2, "clock skew: refused once, then accepted");
  T_EQ_STR(fake_http_header(srv_req(fx.srv, 0), "X-Amz-Date", v, sizeof(v)),
           AMZ_DATE, "the first request is signed with the host's clock");
  T_EQ_STR(fake_http_header(srv_req(fx.srv, 1), "X-Amz-Date", v, sizeof(v)),
           "20251126T201030Z", "the retry is signed with the service's time");
  T_OK(srv_same_body(fx.srv, 0, 1), "the same body");
  T_EQ_INT(fx.c.nsleeps, 0, "re-signed at once, no backoff");
  T_EQ_INT(cw_pipeline_clock_offset(fx.p), 600, "offset: +600 s");
  {
    const fake_http_request_t *r = srv_req(fx.srv, 1);
    char ct[128], tg[128];
    aws_sigv4_header_t sh[2] = {
        {"Content-Type", fake_http_header(r, "Content-Type", ct, sizeof(ct))},
        {"X-Amz-Target", fake_http_header(r, "X-Amz-Target", tg, sizeof(tg))}};
    aws_sigv4_request_t req = {.method = "POST",
                               .host = fx.host,
                               .path = "/",
                               .headers = sh,
                               .header_count = 2,
                               .payload = r->body,
                               .payload_len = r->body_len,
                               .region = REGION,
                               .service = "monitoring",
                               .now = T0 + 600};
    aws_sigv4_credentials_t sc = {K1, S1, NULL};
    aws_sigv4_result_t res;
    if (T_OK(aws_sigv4_sign(&req, &sc, &res) == 0, "re-sign at T0 + 600"))
      T_EQ_STR(fake_http_header(r, "Authorization", auth, sizeof(auth)),
               aws_sigv4_result_header(&res, "Authorization"),
               "the retry's signature is valid at the service's time");
    aws_sigv4_result_free(&res);
  }
  T_OK(strstr(fx.c.log, "600 s behind") != NULL &&
           strstr(fx.c.log, "InvalidSignatureException") != NULL,
       "the correction is logged with the offset and the service's error");
  queue_datums(fx.q, &fx.lock, 3, 2, 0);
  T_EQ_INT(fx_drain(&fx, 0), 0, "the next flush");
  T_EQ_STR(fake_http_header(srv_req(fx.srv, 2), "X-Amz-Date", v, sizeof(v)),
           "20251126T201030Z",
           "is signed with the corrected clock from the start");
  {
    const char *first = strstr(fx.c.log, "behind");
    T_OK(first != NULL && strstr(first + 1, "behind") == NULL, "logged once");
  }
  T_EQ_INT(fx_stats(&fx).items_sent, 5, "stats: 5 sent");
  T_EQ_INT(fx_stats(&fx).items_refused, 0, "stats: none dropped");
  fx_done(&fx, "clock skew");
}

/* AccessDenied (a policy still propagating) keeps the batch, names the
 * permission, and does not retry within the flush; the next flush probes
 * and delivers. */
static void test_denied(void) {
  static const fake_http_step_t steps[] = {
      REFUSAL(400, "AccessDenied",
              "User: arn:aws:sts::123456789012:assumed-role/r/i-1 is not "
              "authorized to perform: cloudwatch:PutMetricData"),
      OK_EMPTY};
  fx_t fx;

  if (fx_start(&fx, steps, 2, NULL, "denied") != 0)
    return;
  fx_flush(&fx, 4, -1, "denied: drain returns -1");
  T_EQ_INT(srv_count(fx.srv), 1, "denied: no retry within the flush");
  T_EQ_INT(fx_qsize(&fx), 4, "denied: the datums are kept");
  T_EQ_INT(fx_stats(&fx).items_refused, 0, "denied: nothing dropped");
  if (!T_OK(strstr(fx.c.log, "PutMetricData denied") != NULL &&
                strstr(fx.c.log, "needs the permission "
                                 "cloudwatch:PutMetricData") != NULL &&
                strstr(fx.c.log, "4 datums kept") != NULL,
            "the error names the permission and what is kept"))
    T_NOTE("log: %s", fx.c.log);
  T_EQ_INT(fx_drain(&fx, 0), 0, "denied no more: delivered");
  check_body(&fx, 1, 0, 4, 0, "denied, then allowed");
  T_EQ_INT(fx_stats(&fx).items_sent, 4, "stats: 4 sent");
  fx_done(&fx, "denied");
}

/* Retry-After: the backoff waits at least that long; longer than a flush
 * should wait, the batch waits for the next one. */
static void test_retry_after(void) {
  static const fake_http_step_t steps[] = {
      ANSWER(503, "", "Retry-After: 3\r\n"), OK_EMPTY,
      ANSWER(429, "", "Retry-After: 120\r\n")};
  fx_t fx;

  if (fx_start(&fx, steps, 3, NULL, "Retry-After") != 0)
    return;
  fx_flush(&fx, 2, 0, "Retry-After 3: delivered");
  T_EQ_INT(fx.c.nsleeps, 1, "one wait");
  T_EQ_INT(fx.c.sleeps[0], 3000, "of the 3 s the service asked for");
  queue_datums(fx.q, &fx.lock, 2, 2, 0);
  fx.c.nsleeps = 0;
  T_EQ_INT(fx_drain(&fx, 0), -1, "Retry-After 120: not within this flush");
  T_EQ_INT(fx.c.nsleeps, 0, "no wait of two minutes");
  T_EQ_INT(fx_qsize(&fx), 2, "the datums are kept");
  fx_done(&fx, "Retry-After");
}

/* Shutdown with a healthy endpoint: everything held is sent in full
 * batches, without the pacing a flush keeps. */
static void test_shutdown_sends(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY, OK_EMPTY};
  fx_t fx;

  if (fx_start(
          &fx, steps, 3,
          &(fx_opts_t){.cfg.max_requests_per_second = 1, .cfg.fake_mono = 1},
          "shutdown") != 0)
    return;
  pthread_mutex_lock(&fx.lock);
  for (size_t i = 0; i < 2500; i++) { /* merging: the stop seals them */
    char name[32];
    cw_datum_t d;
    make_datum(i, 0, name, sizeof(name), &d);
    cw_queue_add(fx.q, &d);
  }
  pthread_mutex_unlock(&fx.lock);
  cw_pipeline_stop(fx.p, T0 + 5);
  T_EQ_INT(srv_count(fx.srv), 3, "shutdown: 2500 datums in 3 requests");
  check_body(&fx, 0, 0, 1000, 0, "shutdown: full batches");
  check_body(&fx, 2, 2000, 500, 0, "shutdown");
  T_EQ_INT(fx.c.nsleeps, 0, "shutdown: no pacing, no wait");
  T_EQ_INT(fx_qsize(&fx), 0, "shutdown: nothing left");
  T_EQ_INT(fx_stats(&fx).items_unsent, 0, "shutdown: nothing unsent");
  T_OK(strstr(fx.c.log, "not sent") == NULL, "shutdown: no \"not sent\"");
  fx_done(&fx, "shutdown, healthy");
}

/* Shutdown while CloudWatch hangs: a request in flight gives up at
 * Timeout; past the deadline none starts; what is left is spooled, or,
 * without a spool, counted and logged with its number. */
static void test_shutdown_keeps(void) {
  static const fake_http_step_t steps[] = {SILENT};
  char dir[] = "/tmp/sm-stop-test.XXXXXX";
  cw_spool_t *sp;
  cw_spool_stats_t ss;
  fx_t fx;
  long t0;

  if ((sp = spool_in(dir, "shutdown")) == NULL ||
      fx_start(&fx, steps, 1,
               &(fx_opts_t){.cfg = {.spool = sp, .timeout_ms = 300}},
               "shutdown, hung") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 1200, 0);
  t0 = fake_http_now_ms();
  /* The clock is fixed: the deadline passes when the test says so. */
  fx.c.deadline_after_requests = 1;
  cw_pipeline_stop(fx.p, T0 + 5);
  T_OK(fake_http_now_ms() - t0 < 2000, "shutdown: bounded by Timeout (%ld ms)",
       fake_http_now_ms() - t0);
  T_EQ_INT(srv_count(fx.srv), 1, "shutdown: one request, then the deadline");
  cw_spool_get_stats(sp, &ss);
  T_EQ_INT(ss.items[CW_SPOOL_METRICS], 1200, "shutdown: all 1200 spooled");
  T_EQ_INT(fx_qsize(&fx), 0, "shutdown: the queue is empty");
  T_OK(strstr(fx.c.log, "shutdown: 1200 datums of the metrics spooled") != NULL,
       "shutdown: the log says how many were spooled");
  fx_done(&fx, "shutdown, hung, spool");
  spool_remove(sp, dir);

  /* Without a spool: counted and logged. */
  if (fx_start(&fx, NULL, 0, NULL, "shutdown, no spool") != 0)
    return;
  queue_datums(fx.q, &fx.lock, 0, 7, 0);
  cw_pipeline_stop(fx.p, T0 - 1);
  T_EQ_INT(fx_stats(&fx).items_unsent, 7, "no spool: 7 unsent, counted");
  T_OK(strstr(fx.c.log, "shutdown: 7 datums of the metrics not sent (no "
                        "SpoolDirectory)") != NULL,
       "no spool: logged with the exact number");
  fx_done(&fx, "shutdown, no spool");
}

/* Spooled batches go back to their own namespace (one spooled under
 * another Namespace before a restart), merged per namespace into full
 * requests: 3 batches of 400 datums make 800 + 400. */
static void test_replay(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY, OK_EMPTY, OK_EMPTY};
  char dir[] = "/tmp/sm-replay-test.XXXXXX", err[512];
  cw_spool_t *sp;
  fx_t fx;
  int ok = 1;

  if ((sp = spool_in(dir, "replay")) == NULL ||
      !T_OK(fx_init(&fx, steps, 3) == 0, "replay: fixture"))
    return;
  for (size_t b = 0; b < 4; b++) {
    const char *ns = b == 1 ? "Other/Namespace" : NS;
    cw_encode_t *e = cw_encode_create(ns, 1000, 1000000, NULL, 0);
    size_t first = b == 0 ? 0 : b == 1 ? 5000 : 400 * (b - 1);
    size_t n = b == 1 ? 3 : 400;
    const char *body;
    size_t len;
    if (b >= 2)
      first = 400 * (b - 1);
    for (size_t i = first; i < first + n; i++) {
      char name[32];
      cw_datum_t d;
      make_datum(i, 0, name, sizeof(name), &d);
      d.timestamp = period_of(d.timestamp);
      cw_encode_add(e, &d);
    }
    body = cw_encode_body(e, &len);
    ok &= cw_spool_write(sp, CW_SPOOL_METRICS, ns, body, len, n,
                         period_of(DATUM_TS), err, sizeof(err)) == 0;
    cw_encode_destroy(e);
  }
  T_OK(ok, "replay: 4 batches spooled, one of another namespace");
  fx.cfg.spool = sp;
  if (fx_sender(&fx) != 0)
    return;
  T_EQ_INT(fx_drain(&fx, 0), 0, "replay: everything sent");
  T_EQ_INT(srv_count(fx.srv), 3, "replay: three requests");
  check_body(&fx, 0, 0, 800, 0,
             "replay: the first two of the namespace, "
             "merged (800)");
  {
    size_t len;
    char *json = req_json(srv_req(fx.srv, 1), &len);
    T_OK(json != NULL &&
             strstr(json, "\"Namespace\":\"Other/Namespace\"") != NULL &&
             strstr(json, "m05002") != NULL,
         "replay: the other namespace's batch goes to its own namespace");
    free(json);
  }
  check_body(&fx, 2, 800, 400, 0, "replay: then the rest (400)");
  T_EQ_INT(fx_stats(&fx).items_sent, 1203, "replay: 1203 sent");
  fx_done(&fx, "replay");
  spool_remove(sp, dir);
}

/* The sender thread: started on first use, flushed on demand, calls the
 * hooks around each flush, and stops at once when told, also while it
 * waits for the next flush. */
typedef struct {
  pthread_mutex_t mu;
  int before, after;
} hooks_t;

/* Counts a call of a hook (the one after the request, or before), under
 * the hooks' lock. */
static void hook_count(void *ud, int after) {
  ctx_t *c = ud;
  hooks_t *h = c->arg;
  pthread_mutex_lock(&h->mu);
  if (after)
    h->after++;
  else
    h->before++;
  pthread_mutex_unlock(&h->mu);
}

static void hook_before(void *ud) { hook_count(ud, 0); }

static void hook_after(void *ud) { hook_count(ud, 1); }

static void test_thread(void) {
  static const fake_http_step_t steps[] = {OK_EMPTY};
  hooks_t hooks = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
  cw_pipeline_config_t pc;
  cw_pipeline_stream_t s;
  char err[256];
  fx_t fx;
  long t0;
  int after;

  if (!T_OK(fx_init(&fx, steps, 1) == 0, "thread: fixture"))
    return;
  fx.c.arg = &hooks;
  /* The thread waits for real: no injected sleep or monotonic clock. */
  pc = fake_config(&fx.c, fx.creds, &fx.lock);
  pc.sleep_ms = NULL;
  pc.mono_ms = NULL;
  pc.timeout_ms = 2000;
  pc.flush_interval_ms = 3600000;
  pc.before_flush = hook_before;
  pc.after_flush = hook_after;
  fx.p = cw_pipeline_create(&pc, err, sizeof(err));
  fx.m = cw_stream_metrics_create(fx.q, NS, 0, err, sizeof(err));
  memset(&s, 0, sizeof(s));
  cw_stream_metrics_describe(fx.m, &s);
  s.url = fx.url;
  s.region = REGION;
  cw_pipeline_add_stream(fx.p, &s, err, sizeof(err));
  queue_datums(fx.q, &fx.lock, 0, 3, 0);
  pthread_mutex_lock(&fx.lock);
  T_EQ_INT(cw_pipeline_start(fx.p), 0, "thread: started");
  T_EQ_INT(cw_pipeline_start(fx.p), 0, "thread: a second start is harmless");
  cw_pipeline_flush(fx.p);
  pthread_mutex_unlock(&fx.lock);
  t0 = fake_http_now_ms();
  do {
    pthread_mutex_lock(&hooks.mu);
    after = hooks.after;
    pthread_mutex_unlock(&hooks.mu);
    if (after == 0)
      usleep(10000);
  } while (after == 0 && fake_http_now_ms() - t0 < 5000);
  T_EQ_INT(srv_count(fx.srv), 1, "thread: the flush sent the queue");
  T_OK(hooks.before == 1 && after == 1, "thread: one flush, both hooks");
  t0 = fake_http_now_ms();
  cw_pipeline_stop(fx.p, T0 + 5);
  T_OK(fake_http_now_ms() - t0 < 1000,
       "thread: stopped at once while waiting an hour (%ld ms)",
       fake_http_now_ms() - t0);
  T_EQ_INT(fx_qsize(&fx), 0, "thread: nothing left");
  fx_done(&fx, "thread");
}

int main(void) {
  fx_process_init();
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
  test_deadline_caps_timeout();
  test_no_credentials();
  test_too_large();
  test_default_port();
  test_spool();
  test_clock_skew();
  test_denied();
  test_retry_after();
  test_shutdown_sends();
  test_shutdown_keeps();
  test_replay();
  test_thread();
  curl_global_cleanup();
  return t_done();
}
