/* SPDX-License-Identifier: MIT */
/*
 * sim_api: the runtime's stats API, version 1, on top of sim_http: a
 * request routed (503 while the runtime starts, 405 for anything but GET,
 * 404 for an unknown path) and the two documents, GET /v1/snapshot (the
 * endpoint, the queue as sim_workload sees it, next_seq) and
 * GET /v1/requests?after=N&limit=N (a page of the ring), each noted in the
 * ledger as it went out.
 */
#include "sim.h"

#include <string.h>

#define SIM_PROTOCOL "1"       /* runtime-api.md: version 1 */
#define SIM_LIMIT_DEFAULT 1000 /* runtime-api.md: default page size */
#define SIM_LIMIT_MAX 10000    /* runtime-api.md: N from 1 to 10000 */

static void body_str(sm_buf_t *b, const char *key, const char *v) {
  sm_buf_addc(b, ',');
  sim_text_jstr(b, key);
  sm_buf_addc(b, ':');
  sim_text_jstr(b, v);
}

static void body_u64(sm_buf_t *b, const char *key, uint64_t v) {
  sm_buf_addc(b, ',');
  sim_text_jstr(b, key);
  sm_buf_addc(b, ':');
  sim_text_u64(b, v);
}

static void snapshot(struct sim *s, struct sim_conn *c) {
  const struct sim_opts *o = s->o;
  sm_buf_t *b = &s->body;
  struct sim_workload_view v;

  sim_workload_view(s, sim_mono_us(), &v);
  sm_buf_reset(b);
  SIM_TEXT_LIT(b, "{\"protocol\":" SIM_PROTOCOL);
  body_str(b, "boot_id", s->boot_id);
  body_str(b, "endpoint_name", o->endpoint);
  body_str(b, "variant_name", o->variant);
  if (o->instance_id[0] != '\0')
    body_str(b, "instance_id", o->instance_id);
  body_u64(b, "instance_count", o->instance_count);
  SIM_TEXT_LIT(b, ",\"time_ms\":");
  sim_text_i64(b, sim_wall_ms());
  body_u64(b, "backlog_size", v.backlog_size);
  body_u64(b, "oldest_request_age_ms", v.oldest_age_ms);
  body_u64(b, "in_flight", v.in_flight);
  body_u64(b, "max_concurrency", o->max_concurrency);
  body_u64(b, "next_seq", s->ring.next_seq);
  sm_buf_addc(b, '}');
  if (sim_http_respond(s, c, 200, NULL)) {
    s->n_snapshots++;
    sim_ledger_served(s, "snapshot");
  }
}

/* Unknown parameters are ignored; a repeated one takes its last value. */
static const char *parse_query(const char *q, size_t len, uint64_t *after,
                               uint64_t *limit) {
  const char *p = q, *end = q + len;

  *after = 0;
  *limit = SIM_LIMIT_DEFAULT;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if (amp == NULL)
      amp = end;
    const char *eq = memchr(p, '=', (size_t)(amp - p));
    const char *key_end = eq != NULL ? eq : amp;
    const char *val = eq != NULL ? eq + 1 : amp;
    size_t klen = (size_t)(key_end - p), vlen = (size_t)(amp - val);

    if (sim_text_is(p, klen, "after")) {
      if (!sim_text_digits(val, vlen, after))
        return "after must be a non-negative integer";
    } else if (sim_text_is(p, klen, "limit")) {
      if (!sim_text_digits(val, vlen, limit) || *limit < 1 ||
          *limit > SIM_LIMIT_MAX)
        return "limit must be an integer from 1 to 10000";
    }
    p = amp < end ? amp + 1 : end;
  }
  return NULL;
}

static void requests(struct sim *s, struct sim_conn *c, const char *query,
                     size_t query_len) {
  const struct sim_ring *r = &s->ring;
  sm_buf_t *b = &s->body;
  uint64_t after, limit, from = 0, to = 0, count = 0;
  const char *why = parse_query(query, query_len, &after, &limit);

  if (why != NULL) {
    sim_http_error(s, c, 400, why, NULL);
    return;
  }
  if (r->count > 0 && after < r->next_seq - 1) {
    from = after + 1 > r->first_seq ? after + 1 : r->first_seq;
    to = r->next_seq - 1;
    if (to - from >= limit)
      to = from + limit - 1;
    count = to - from + 1;
  }
  sm_buf_reset(b);
  SIM_TEXT_LIT(b, "{\"protocol\":" SIM_PROTOCOL);
  body_str(b, "boot_id", s->boot_id);
  body_u64(b, "first_seq", r->first_seq);
  body_u64(b, "next_seq", r->next_seq);
  SIM_TEXT_LIT(b, ",\"requests\":[");
  for (uint64_t i = 0; i < count; i++) {
    if (i > 0)
      sm_buf_addc(b, ',');
    sm_buf_addc(b, '{');
    sim_record_put(b, sim_ring_at(r, from + i));
    sm_buf_addc(b, '}');
  }
  SIM_TEXT_LIT(b, "]}");
  if (sim_http_respond(s, c, 200, NULL)) {
    s->n_pages++;
    sim_ledger_page(s, after, limit, from, to, count);
  }
}

void sim_api_request(struct sim *s, struct sim_conn *c, const char *req,
                     size_t len) {
  struct sim_http_req q;
  const char *why = sim_http_parse(req, len, &q);

  if (why != NULL) {
    /* The stream cannot be trusted past a malformed head. */
    c->close_after = true;
    sim_http_error(s, c, 400, why, NULL);
    return;
  }
  c->http10 = q.http10;
  if (q.close)
    c->close_after = true;
  if (sim_in_start_delay(s, sim_mono_us()))
    sim_http_error(s, c, 503, "runtime starting", NULL);
  else if (!sim_text_is(q.method, q.method_len, "GET")) {
    /* A HEAD client expects no body; closing keeps the framing unambiguous. */
    if (sim_text_is(q.method, q.method_len, "HEAD"))
      c->close_after = true;
    sim_http_error(s, c, 405, "only GET is supported", "Allow: GET\r\n");
  } else if (sim_text_is(q.path, q.path_len, "/v1/snapshot"))
    snapshot(s, c);
  else if (sim_text_is(q.path, q.path_len, "/v1/requests"))
    requests(s, c, q.query, q.query_len);
  else
    sim_http_error(s, c, 404, "unknown path", NULL);
}
