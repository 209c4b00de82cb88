/* SPDX-License-Identifier: MIT */
/*
 * sim_record: one completed request as the runtime reports it. Its
 * contents come from the records' PRNG stream and the wait the queue model
 * gives it: an outcome from --mix, the stages that outcome ran with
 * lognormal times (the model's with a Pareto tail), a status code, a
 * notification and an error text. Its JSON form is written by one
 * formatter, for the pages and the ledger alike, from the one table of
 * which members each outcome carries, so generation and formatting cannot
 * disagree.
 */
#include "sim.h"

#include <math.h>
#include <stddef.h>

const char *const sim_record_outcome_names[SIM_OUT_COUNT] = {
    "success", "model_error", "download_failed", "upload_failed",
    "expired", "timeout",     "internal_error",
};

/* Which optional members each outcome carries (runtime-api.md: a stage that
 * did not run leaves its members out). The one table both generation and
 * formatting read, so they cannot disagree. */
#define M_DOWNLOAD (1u << 0) /* download_us, download_ok */
#define M_MODEL (1u << 1)    /* model_us */
#define M_STATUS (1u << 2)   /* status_code */
#define M_UPLOAD (1u << 3)   /* upload_us, upload_ok */
#define M_NOTIFY (1u << 4)   /* notification */
#define M_ERROR (1u << 5)    /* error */

static const unsigned outcome_members[SIM_OUT_COUNT] = {
    [SIM_OUT_SUCCESS] = M_DOWNLOAD | M_MODEL | M_STATUS | M_UPLOAD | M_NOTIFY,
    [SIM_OUT_MODEL_ERROR] =
        M_DOWNLOAD | M_MODEL | M_STATUS | M_UPLOAD | M_NOTIFY | M_ERROR,
    [SIM_OUT_DOWNLOAD_FAILED] = M_DOWNLOAD | M_NOTIFY | M_ERROR,
    [SIM_OUT_UPLOAD_FAILED] =
        M_DOWNLOAD | M_MODEL | M_STATUS | M_UPLOAD | M_NOTIFY | M_ERROR,
    [SIM_OUT_EXPIRED] = M_ERROR,
    [SIM_OUT_TIMEOUT] = M_DOWNLOAD | M_MODEL | M_NOTIFY | M_ERROR,
    [SIM_OUT_INTERNAL_ERROR] = M_DOWNLOAD | M_NOTIFY | M_ERROR,
};

enum { NOTIFY_NONE, NOTIFY_SENT, NOTIFY_FAILED };
static const char *const notify_names[] = {"none", "sent", "failed"};

/* Error texts. Some carry a quote, a backslash, a control character or
 * non-ASCII UTF-8 so that clients' JSON unescaping is exercised. */
struct err_text {
  const char *head;
  bool with_status; /* the status code follows head */
  const char *tail;
};

static const struct err_text err_model[] = {
    {"model container returned HTTP ", true, ""},
    {"container replied ", true, ": \"invalid input shape\""},
    {"container replied ", true, " \xe2\x80\x94 see the model logs"},
    {"Traceback (most recent call last):\n  File \"serve.py\"; status ", true,
     ""},
};
static const struct err_text err_download[] = {
    {"S3 GetObject failed: AccessDenied", false, ""},
    {"S3 GetObject failed: NoSuchKey s3://sim-bucket/in/\xe2\x80\xa6", false,
     ""},
    {"request payload download timed out", false, ""},
    {"S3 GetObject failed: SlowDown \"Please reduce your request rate.\"",
     false, ""},
};
static const struct err_text err_upload[] = {
    {"S3 PutObject failed: AccessDenied", false, ""},
    {"S3 PutObject failed: InternalError", false, ""},
    {"response upload failed for key out\\results\\part-0", false, ""},
    {"S3 PutObject failed: EntityTooLarge \xe2\x80\x94 response over limit",
     false, ""},
};
static const struct err_text err_expired[] = {
    {"request TTL exceeded while queued", false, ""},
    {"expired before processing: \"RequestTTLSeconds\" reached", false, ""},
    {"dropped from the queue after its TTL", false, ""},
};
static const struct err_text err_timeout[] = {
    {"model invocation timed out", false, ""},
    {"no response within InvocationTimeoutSeconds", false, ""},
    {"d\xc3\xa9lai d\xc3\xa9pass\xc3\xa9 \xc3\xa0 l'invocation", false, ""},
};
static const struct err_text err_internal[] = {
    {"internal runtime error", false, ""},
    {"container health check failed", false, ""},
    {"worker crashed:\tsignal 11 in C:\\runtime\\worker", false, ""},
};

#define ERR_SET(a)                                                             \
  { (a), sizeof(a) / sizeof((a)[0]) }
static const struct {
  const struct err_text *texts;
  size_t count;
} outcome_errors[SIM_OUT_COUNT] = {
    [SIM_OUT_SUCCESS] = {NULL, 0},
    [SIM_OUT_MODEL_ERROR] = ERR_SET(err_model),
    [SIM_OUT_DOWNLOAD_FAILED] = ERR_SET(err_download),
    [SIM_OUT_UPLOAD_FAILED] = ERR_SET(err_upload),
    [SIM_OUT_EXPIRED] = ERR_SET(err_expired),
    [SIM_OUT_TIMEOUT] = ERR_SET(err_timeout),
    [SIM_OUT_INTERNAL_ERROR] = ERR_SET(err_internal),
};

static const uint16_t status_4xx[] = {400, 404, 408, 413, 422, 424, 429};
static const uint16_t status_5xx[] = {500, 502, 503, 504, 507};
/* SageMaker async: RequestTTLSeconds and InvocationTimeoutSeconds choices. */
static const uint32_t ttl_s[] = {60, 300, 900, 3600, 21600};
static const uint32_t invocation_timeout_s[] = {60, 120, 300, 900, 3600};
#define PICK(r, a) ((a)[sim_rng_below((r), sizeof(a) / sizeof((a)[0]))])

static uint64_t clamp_us(double v, double max) {
  if (!(v > 0.0)) /* also catches NaN */
    return 0;
  return (uint64_t)llround(v < max ? v : max);
}

static enum sim_outcome pick_outcome(const struct sim_opts *o,
                                     struct sim_rng *g) {
  double u = sim_rng_unit(g);
  size_t last = SIM_OUT_SUCCESS;
  for (size_t k = 0; k < SIM_OUT_COUNT; k++) {
    if (o->mix[k] <= 0.0)
      continue;
    last = k;
    if (u < o->mix[k])
      return (enum sim_outcome)k;
    u -= o->mix[k];
  }
  return (enum sim_outcome)last; /* rounding left u just above the sum */
}

/* Lognormal body with a Pareto tail: rare invocations take minutes. */
static uint64_t model_us(struct sim_rng *g) {
  double v;
  if (sim_rng_unit(g) < WL_MODEL_TAIL_P)
    v = WL_MODEL_TAIL_MIN_US / pow(sim_rng_open(g), 1.0 / WL_MODEL_TAIL_ALPHA);
  else
    v = sim_rng_lognormal(g, WL_MODEL_MEDIAN_US, 0.8);
  return clamp_us(v, WL_MODEL_MAX_US);
}

/* The time it waited: its TTL when it expired, otherwise the queue's wait
 * give or take, and the dequeue. */
static void fill_backlog(struct sim_record *r, struct sim_rng *g,
                         double wait_s) {
  if (r->outcome == SIM_OUT_EXPIRED) {
    /* It waited out its TTL and never reached a stage. */
    r->backlog_us =
        (uint64_t)PICK(g, ttl_s) * 1000000u + sim_rng_below(g, 1000000);
  } else {
    r->backlog_us =
        clamp_us(wait_s * 1e6 * sim_rng_lognormal(g, 1.0, 0.2) +
                     sim_rng_lognormal(g, WL_DEQUEUE_MEDIAN_US, 0.6),
                 WL_QUEUE_MAX_S * 1e6);
  }
}

/* The stages the outcome ran: download, model (and its status), upload. */
static void fill_stages(struct sim_record *r, struct sim_rng *g) {
  enum sim_outcome out = (enum sim_outcome)r->outcome;
  unsigned m = outcome_members[out];

  if (m & M_DOWNLOAD) {
    r->download_us = clamp_us(sim_rng_lognormal(g, WL_DOWNLOAD_MEDIAN_US, 0.6),
                              WL_STAGE_MAX_US);
    r->download_ok = out != SIM_OUT_DOWNLOAD_FAILED;
  }
  if (m & M_MODEL) {
    if (out == SIM_OUT_TIMEOUT)
      r->model_us = (uint64_t)PICK(g, invocation_timeout_s) * 1000000u +
                    sim_rng_below(g, 50000);
    else
      r->model_us = model_us(g);
  }
  if (m & M_STATUS) {
    if (out != SIM_OUT_MODEL_ERROR)
      r->status_code = 200;
    else if (sim_rng_below(g, 2) == 0)
      r->status_code = PICK(g, status_4xx);
    else
      r->status_code = PICK(g, status_5xx);
  }
  if (m & M_UPLOAD) {
    r->upload_us = clamp_us(sim_rng_lognormal(g, WL_UPLOAD_MEDIAN_US, 0.7),
                            WL_STAGE_MAX_US);
    r->upload_ok = out != SIM_OUT_UPLOAD_FAILED;
  }
}

/* The notification's outcome; returns the milliseconds it added. */
static uint64_t fill_notification(struct sim_record *r,
                                  const struct sim_opts *o, struct sim_rng *g) {
  double u = sim_rng_unit(g);
  double p_none = WL_NOTIFY_NONE_P < 1.0 - o->notify_fail
                      ? WL_NOTIFY_NONE_P
                      : 1.0 - o->notify_fail;
  if (u < o->notify_fail)
    r->notification = NOTIFY_FAILED;
  else if (u < o->notify_fail + p_none)
    r->notification = NOTIFY_NONE;
  else
    r->notification = NOTIFY_SENT;
  if (r->notification == NOTIFY_NONE)
    return 0;
  /* A failed notification was retried, so it took longer. */
  double us = sim_rng_lognormal(g, WL_NOTIFY_MEDIAN_US, 0.7) *
              (r->notification == NOTIFY_FAILED ? 3.0 : 1.0);
  return (clamp_us(us, 60e6) + 999) / 1000;
}

void sim_record_fill(struct sim_record *r, const struct sim_opts *o,
                     struct sim_rng *g, double wait_s, int64_t now_ms) {
  enum sim_outcome out = pick_outcome(o, g);
  unsigned m = outcome_members[out];
  uint64_t stages_us, overhead_ms = 0;

  r->outcome = (uint8_t)out;
  sim_rng_uuid(g, r->id);
  fill_backlog(r, g, wait_s);
  fill_stages(r, g);
  if (m & M_NOTIFY)
    overhead_ms = fill_notification(r, o, g);
  if (m & M_ERROR)
    r->error_idx = (uint8_t)sim_rng_below(g, outcome_errors[out].count);

  /* Rounded up, so total_ms never claims less than the stages took. */
  stages_us = r->backlog_us + r->download_us + r->model_us + r->upload_us;
  r->total_ms = (stages_us + 999) / 1000 + overhead_ms;
  r->completed_ms = now_ms;
  r->received_ms = now_ms - (int64_t)r->total_ms;
}

static void put_error(sm_buf_t *b, const struct sim_record *r) {
  const struct err_text *e = &outcome_errors[r->outcome].texts[r->error_idx];
  SIM_TEXT_LIT(b, ",\"error\":\"");
  sim_text_escaped(b, e->head);
  if (e->with_status)
    sim_text_u64(b, r->status_code);
  sim_text_escaped(b, e->tail);
  sm_buf_addc(b, '"');
}

void sim_record_put(sm_buf_t *b, const struct sim_record *r) {
  unsigned m = outcome_members[r->outcome];
  char id[SIM_UUID_LEN + 1];

  sim_text_uuid(r->id, id);
  SIM_TEXT_LIT(b, "\"seq\":");
  sim_text_u64(b, r->seq);
  SIM_TEXT_LIT(b, ",\"inference_id\":\"");
  sm_buf_add(b, id, SIM_UUID_LEN);
  SIM_TEXT_LIT(b, "\",\"received_ms\":");
  sim_text_i64(b, r->received_ms);
  SIM_TEXT_LIT(b, ",\"completed_ms\":");
  sim_text_i64(b, r->completed_ms);
  SIM_TEXT_LIT(b, ",\"outcome\":\"");
  sm_buf_adds(b, sim_record_outcome_names[r->outcome]);
  SIM_TEXT_LIT(b, "\",\"backlog_us\":");
  sim_text_u64(b, r->backlog_us);
  if (m & M_DOWNLOAD) {
    SIM_TEXT_LIT(b, ",\"download_us\":");
    sim_text_u64(b, r->download_us);
    if (r->download_ok)
      SIM_TEXT_LIT(b, ",\"download_ok\":true");
    else
      SIM_TEXT_LIT(b, ",\"download_ok\":false");
  }
  if (m & M_MODEL) {
    SIM_TEXT_LIT(b, ",\"model_us\":");
    sim_text_u64(b, r->model_us);
  }
  if (m & M_STATUS) {
    SIM_TEXT_LIT(b, ",\"status_code\":");
    sim_text_u64(b, r->status_code);
  }
  if (m & M_UPLOAD) {
    SIM_TEXT_LIT(b, ",\"upload_us\":");
    sim_text_u64(b, r->upload_us);
    if (r->upload_ok)
      SIM_TEXT_LIT(b, ",\"upload_ok\":true");
    else
      SIM_TEXT_LIT(b, ",\"upload_ok\":false");
  }
  if (m & M_NOTIFY) {
    SIM_TEXT_LIT(b, ",\"notification\":\"");
    sm_buf_adds(b, notify_names[r->notification]);
    sm_buf_addc(b, '"');
  }
  SIM_TEXT_LIT(b, ",\"total_ms\":");
  sim_text_u64(b, r->total_ms);
  if (m & M_ERROR)
    put_error(b, r);
}
