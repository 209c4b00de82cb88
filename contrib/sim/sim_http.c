/* SPDX-License-Identifier: MIT */
/*
 * sim_http: the simulator's HTTP/1.1, without I/O: a request head parsed
 * (request line, and the headers that matter: Connection, and the two that
 * would announce a body, which is refused), and a document framed as a
 * response with Content-Length or, as --chunked says, in chunks of random
 * sizes from the framing stream, so that clients meet tiny chunks and
 * chunks that split tokens and UTF-8 sequences.
 */
#define _GNU_SOURCE /* memmem */

#include "sim.h"

#include <string.h>
#include <strings.h>

#define SIM_CHUNK_MAX 4096 /* largest chunk in chunked framing */

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 503:
    return "Service Unavailable";
  default:
    return "Internal Server Error";
  }
}

/* Chunk sizes from 1 byte to SIM_CHUNK_MAX, biased so that tiny chunks and
 * splits inside tokens and UTF-8 sequences are common. */
static size_t chunk_size(struct sim_rng *g) {
  uint64_t k = sim_rng_below(g, 8);
  if (k == 0)
    return 1;
  if (k == 1)
    return 2 + (size_t)sim_rng_below(g, 63);
  return 65 + (size_t)sim_rng_below(g, SIM_CHUNK_MAX - 64);
}

static void put_head(sm_buf_t *out, const struct sim_conn *c, int status,
                     bool chunked, size_t body_len, const char *extra_headers) {
  SIM_TEXT_LIT(out, "HTTP/1.1 ");
  sim_text_u64(out, (uint64_t)status);
  sm_buf_addc(out, ' ');
  sm_buf_adds(out, reason(status));
  SIM_TEXT_LIT(out, "\r\nContent-Type: application/json\r\n");
  if (chunked) {
    SIM_TEXT_LIT(out, "Transfer-Encoding: chunked\r\n");
  } else {
    SIM_TEXT_LIT(out, "Content-Length: ");
    sim_text_u64(out, body_len);
    SIM_TEXT_LIT(out, "\r\n");
  }
  if (c->close_after)
    SIM_TEXT_LIT(out, "Connection: close\r\n");
  else if (c->http10)
    SIM_TEXT_LIT(out, "Connection: keep-alive\r\n");
  if (extra_headers != NULL)
    sm_buf_adds(out, extra_headers);
  SIM_TEXT_LIT(out, "\r\n");
}

static void put_chunked(sm_buf_t *out, const sm_buf_t *body,
                        struct sim_rng *g) {
  for (size_t off = 0; off < body->len;) {
    size_t n = chunk_size(g);
    if (n > body->len - off)
      n = body->len - off;
    sim_text_hex(out, n);
    SIM_TEXT_LIT(out, "\r\n");
    sm_buf_add(out, body->p + off, n);
    SIM_TEXT_LIT(out, "\r\n");
    off += n;
  }
  SIM_TEXT_LIT(out, "0\r\n\r\n");
}

bool sim_http_respond(struct sim *s, struct sim_conn *c, int status,
                      const char *extra_headers) {
  sm_buf_t *out = &c->out;
  const sm_buf_t *body = &s->body;
  size_t mark = out->len;
  bool chunked = false;

  if (!sm_buf_ok(body)) {
    sim_err("response body over %zu bytes", body->max);
    c->broken = true;
    return false;
  }
  if (!c->http10 && s->o->chunked != SIM_CHUNKED_NEVER)
    chunked = s->o->chunked == SIM_CHUNKED_ALWAYS ||
              (sim_rng_next(&s->frame_rng) & 1);

  put_head(out, c, status, chunked, body->len, extra_headers);
  if (!chunked)
    sm_buf_add(out, body->p, body->len);
  else
    put_chunked(out, body, &s->frame_rng);
  if (!sm_buf_ok(out)) {
    sim_err("output buffer over %zu bytes; dropping the client", out->max);
    sm_buf_truncate(out, mark);
    c->broken = true;
    return false;
  }
  if (status != 200)
    s->n_errors++;
  return true;
}

void sim_http_error(struct sim *s, struct sim_conn *c, int status,
                    const char *msg, const char *extra_headers) {
  sm_buf_reset(&s->body);
  SIM_TEXT_LIT(&s->body, "{\"error\":");
  sim_text_jstr(&s->body, msg);
  sm_buf_addc(&s->body, '}');
  sim_http_respond(s, c, status, extra_headers);
}

static bool header_is(const char *p, size_t len, const char *name) {
  return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

static void header_connection(const char *v, size_t len, bool *close,
                              bool *keep_alive) {
  const char *end = v + len;
  while (v < end) {
    const char *comma = memchr(v, ',', (size_t)(end - v));
    const char *tok_end = comma != NULL ? comma : end;
    while (v < tok_end && (*v == ' ' || *v == '\t'))
      v++;
    const char *t = tok_end;
    while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if (header_is(v, (size_t)(t - v), "close"))
      *close = true;
    else if (header_is(v, (size_t)(t - v), "keep-alive"))
      *keep_alive = true;
    v = comma != NULL ? comma + 1 : end;
  }
}

/* The request line p[0..eol). Returns NULL, or why it is malformed. */
static const char *parse_request_line(const char *p, const char *eol,
                                      struct sim_http_req *q) {
  const char *sp1, *sp2;

  sp1 = memchr(p, ' ', (size_t)(eol - p));
  if (sp1 == NULL || sp1 == p)
    return "malformed request line";
  for (const char *m = p; m < sp1; m++)
    if (*m < 'A' || *m > 'Z')
      return "malformed method";
  sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
  if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
    return "malformed request target";
  for (const char *t = sp1 + 1; t < sp2; t++)
    if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
      return "malformed request target";
  if (sim_text_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.0"))
    q->http10 = true;
  else if (!sim_text_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.1"))
    return "unsupported HTTP version";
  q->method = p;
  q->method_len = (size_t)(sp1 - p);
  q->path = sp1 + 1;
  q->path_len = (size_t)(sp2 - q->path);
  q->query = sp2;
  const char *qm = memchr(q->path, '?', q->path_len);
  if (qm != NULL) {
    q->query = qm + 1;
    q->query_len = (size_t)(sp2 - q->query);
    q->path_len = (size_t)(qm - q->path);
  }
  return NULL;
}

/* The header lines line[0..end), each ending with CRLF. Returns NULL, or
 * why they are malformed. */
static const char *parse_headers(const char *line, const char *end,
                                 struct sim_http_req *q) {
  bool close = false, keep_alive = false;

  while (line < end) {
    const char *nl = memmem(line, (size_t)(end - line), "\r\n", 2);
    const char *colon = memchr(line, ':', (size_t)(nl - line));
    const char *v, *ve;

    if (colon == NULL || colon == line || *line == ' ' || *line == '\t' ||
        colon[-1] == ' ' || colon[-1] == '\t')
      return "malformed header line";
    for (v = colon + 1; v < nl && (*v == ' ' || *v == '\t'); v++)
      ;
    for (ve = nl; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
      ;
    size_t nlen = (size_t)(colon - line), vlen = (size_t)(ve - v);
    if (header_is(line, nlen, "connection")) {
      header_connection(v, vlen, &close, &keep_alive);
    } else if (header_is(line, nlen, "content-length")) {
      uint64_t n;
      if (!sim_text_digits(v, vlen, &n))
        return "malformed Content-Length";
      if (n != 0)
        return "request bodies are not supported";
    } else if (header_is(line, nlen, "transfer-encoding")) {
      return "request bodies are not supported";
    }
    line = nl + 2;
  }
  q->close = close || (q->http10 && !keep_alive);
  return NULL;
}

const char *sim_http_parse(const char *p, size_t len, struct sim_http_req *q) {
  const char *eol = memmem(p, len, "\r\n", 2);
  const char *why;

  memset(q, 0, sizeof(*q));
  why = parse_request_line(p, eol, q);
  return why != NULL ? why : parse_headers(eol + 2, p + len, q);
}
