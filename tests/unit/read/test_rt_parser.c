/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of rt_parser: every document, valid or not, is parsed
 * whole and then re-fed in every chunk size from 1 to 64 bytes (or its
 * length), and the outcomes must be identical: the parser may not depend
 * on how the socket happened to split the body.
 */
#include "rt_parser.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNK 64 /* chunk sizes tried: 1 .. MAX_CHUNK */
#define MAX_KEPT 64  /* records copied out of one parse */
#define MAX_FIELDS 16

/* ---- growable string for building documents ---- */

typedef struct {
  char *s;
  size_t len;
  size_t cap;
} sb_t;

static void sb_addn(sb_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *ns = realloc(b->s, cap);
    if (ns == NULL)
      abort();
    b->s = ns;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(sb_t *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_rep(sb_t *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++)
    sb_addn(b, &c, 1);
}

static void sb_int(sb_t *b, long long v) {
  char tmp[32];
  snprintf(tmp, sizeof(tmp), "%lld", v);
  sb_add(b, tmp);
}

static void sb_free(sb_t *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

/* ---- one parse, and its outcome ---- */

typedef struct {
  int feed_rc;   /* -1 when a feed failed */
  int finish_rc; /* finish is called in any case */
  char error[512];
  size_t nrec; /* records handed to the callback */
  rt_record_t recs[MAX_KEPT];
  bool has_snap;
  rt_snapshot_t snap;
  bool has_page;
  rt_page_t page;
  bool has_text;
  char text[RT_ERROR_MAX + 1];
  /* seen from the first callback: the page header read so far */
  char boot_id_at_first_record[RT_BOOT_ID_MAX + 1];
  /* callback control */
  size_t stop_at; /* return non-zero on this record (1-based); 0: never */
  rt_parser_t *parser;
} run_t;

static run_t *R_whole; /* the reference: the document fed in one piece */
static run_t *R_chunk;

static int record_cb(const rt_record_t *rec, void *ud) {
  run_t *r = ud;
  if (r->nrec == 0) {
    const rt_page_t *pg = rt_parser_page(r->parser);
    snprintf(r->boot_id_at_first_record, sizeof(r->boot_id_at_first_record),
             "%s", pg != NULL ? pg->boot_id : "(null)");
  }
  if (r->nrec < MAX_KEPT)
    r->recs[r->nrec] = *rec;
  r->nrec++;
  return r->stop_at != 0 && r->nrec == r->stop_at;
}

/* chunk 0: the whole document in one feed. */
static void run(run_t *r, rt_doc_t kind, const char *doc, size_t len,
                size_t chunk, const rt_limits_t *lim, size_t stop_at,
                bool with_cb) {
  rt_parser_t *p;

  memset(r, 0, sizeof(*r));
  r->stop_at = stop_at;
  p = rt_parser_create(kind, with_cb ? record_cb : NULL, r, lim);
  if (p == NULL)
    abort();
  r->parser = p;
  if (chunk == 0)
    chunk = len > 0 ? len : 1;
  for (size_t off = 0; off < len && r->feed_rc == 0; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    r->feed_rc = rt_parser_feed(p, doc + off, n);
  }
  r->finish_rc = rt_parser_finish(p);
  snprintf(r->error, sizeof(r->error), "%s", rt_parser_error(p));
  if (rt_parser_snapshot(p) != NULL) {
    r->has_snap = true;
    r->snap = *rt_parser_snapshot(p);
  }
  if (rt_parser_page(p) != NULL) {
    r->has_page = true;
    r->page = *rt_parser_page(p);
  }
  if (rt_parser_error_text(p) != NULL) {
    r->has_text = true;
    snprintf(r->text, sizeof(r->text), "%s", rt_parser_error_text(p));
  }
  if (!with_cb && r->has_page)
    r->nrec = r->page.records;
  rt_parser_destroy(p);
  r->parser = NULL;
}

static bool rec_equal(const rt_record_t *a, const rt_record_t *b) {
  return a->seq == b->seq && strcmp(a->inference_id, b->inference_id) == 0 &&
         a->received_ms == b->received_ms &&
         a->completed_ms == b->completed_ms && a->outcome == b->outcome &&
         a->backlog_us == b->backlog_us && a->download_us == b->download_us &&
         a->download_ok == b->download_ok && a->model_us == b->model_us &&
         a->status_code == b->status_code && a->upload_us == b->upload_us &&
         a->upload_ok == b->upload_ok && a->notification == b->notification &&
         a->total_ms == b->total_ms && strcmp(a->error, b->error) == 0 &&
         a->have == b->have;
}

static bool snap_equal(const rt_snapshot_t *a, const rt_snapshot_t *b) {
  return a->protocol == b->protocol && strcmp(a->boot_id, b->boot_id) == 0 &&
         strcmp(a->endpoint_name, b->endpoint_name) == 0 &&
         strcmp(a->variant_name, b->variant_name) == 0 &&
         strcmp(a->instance_id, b->instance_id) == 0 &&
         a->instance_count == b->instance_count && a->time_ms == b->time_ms &&
         a->backlog_size == b->backlog_size &&
         a->oldest_request_age_ms == b->oldest_request_age_ms &&
         a->in_flight == b->in_flight &&
         a->max_concurrency == b->max_concurrency && a->next_seq == b->next_seq;
}

static bool page_equal(const rt_page_t *a, const rt_page_t *b) {
  return a->protocol == b->protocol && strcmp(a->boot_id, b->boot_id) == 0 &&
         a->first_seq == b->first_seq && a->next_seq == b->next_seq &&
         a->records == b->records;
}

/* Why a and b differ, or NULL. */
static const char *run_diff(const run_t *a, const run_t *b) {
  if (a->feed_rc != b->feed_rc)
    return "feed result";
  if (a->finish_rc != b->finish_rc)
    return "finish result";
  if (strcmp(a->error, b->error) != 0)
    return "error message";
  if (a->nrec != b->nrec)
    return "record count";
  for (size_t i = 0; i < a->nrec && i < MAX_KEPT; i++)
    if (!rec_equal(&a->recs[i], &b->recs[i]))
      return "a record";
  if (strcmp(a->boot_id_at_first_record, b->boot_id_at_first_record) != 0)
    return "page header during the parse";
  if (a->has_snap != b->has_snap ||
      (a->has_snap && !snap_equal(&a->snap, &b->snap)))
    return "snapshot";
  if (a->has_page != b->has_page ||
      (a->has_page && !page_equal(&a->page, &b->page)))
    return "page";
  if (a->has_text != b->has_text ||
      (a->has_text && strcmp(a->text, b->text) != 0))
    return "error text";
  return NULL;
}

/* Parses doc whole into R_whole, then in every chunk size, and checks that
 * all give the same. Returns R_whole. */
static const run_t *check_lim(rt_doc_t kind, const char *doc, size_t len,
                              const rt_limits_t *lim, size_t stop_at,
                              const char *what) {
  size_t max = len < MAX_CHUNK ? len : MAX_CHUNK;
  size_t bad_chunk = 0;
  const char *why = NULL;

  run(R_whole, kind, doc, len, 0, lim, stop_at, true);
  for (size_t c = 1; c <= max && why == NULL; c++) {
    run(R_chunk, kind, doc, len, c, lim, stop_at, true);
    why = run_diff(R_whole, R_chunk);
    bad_chunk = c;
  }
  if (!T_OK(why == NULL, "%s: same in chunks of 1..%zu bytes", what, max)) {
    T_NOTE("chunk %zu differs in %s", bad_chunk, why);
    T_NOTE("whole: %s", R_whole->error);
    T_NOTE("chunk: %s", R_chunk->error);
  }
  /* The reference run again, so that R_whole is the whole-document one. */
  run(R_whole, kind, doc, len, 0, lim, stop_at, true);
  return R_whole;
}

static const run_t *check(rt_doc_t kind, const char *doc, const char *what) {
  return check_lim(kind, doc, strlen(doc), NULL, 0, what);
}

static void expect_ok_lim(rt_doc_t kind, const char *doc, size_t len,
                          const rt_limits_t *lim, const char *what) {
  const run_t *r = check_lim(kind, doc, len, lim, 0, what);
  if (!T_OK(r->feed_rc == 0 && r->finish_rc == 0, "%s: accepted", what))
    T_NOTE("error: %s", r->error);
}

static void expect_ok(rt_doc_t kind, const char *doc, const char *what) {
  expect_ok_lim(kind, doc, strlen(doc), NULL, what);
}

static void expect_fail_lim(rt_doc_t kind, const char *doc, size_t len,
                            const rt_limits_t *lim, const char *want,
                            const char *what) {
  const run_t *r = check_lim(kind, doc, len, lim, 0, what);
  bool ok = r->finish_rc != 0 && strstr(r->error, want) != NULL &&
            !r->has_snap && !r->has_text;
  if (!T_OK(ok, "%s: rejected with \"%s\"", what, want))
    T_NOTE("finish %d, error: \"%s\"", r->finish_rc, r->error);
}

static void expect_fail(rt_doc_t kind, const char *doc, const char *want,
                        const char *what) {
  expect_fail_lim(kind, doc, strlen(doc), NULL, want, what);
}

/* ---- document templates ---- */

enum { K_INT, K_INT1, K_STATUS, K_BOOL, K_STR, K_ID, K_REQ, K_PROTO };

typedef struct {
  const char *name;
  const char *value;
  int kind;
  bool required;
} field_t;

#define BOOT "0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11"

static const field_t snap_fields[] = {
    {"protocol", "1", K_PROTO, true},
    {"boot_id", "\"" BOOT "\"", K_ID, true},
    {"endpoint_name", "\"my-endpoint\"", K_STR, false},
    {"variant_name", "\"AllTraffic\"", K_STR, false},
    {"instance_id", "\"i-0123456789abcdef0\"", K_STR, false},
    {"instance_count", "3", K_INT1, true},
    {"time_ms", "1764187200123", K_INT, true},
    {"backlog_size", "42", K_INT, true},
    {"oldest_request_age_ms", "5300", K_INT, true},
    {"in_flight", "4", K_INT, false},
    {"max_concurrency", "4", K_INT, false},
    {"next_seq", "1043", K_INT1, true},
};
#define N_SNAP (sizeof(snap_fields) / sizeof(snap_fields[0]))

static const field_t page_fields[] = {
    {"protocol", "1", K_PROTO, true},   {"boot_id", "\"" BOOT "\"", K_ID, true},
    {"first_seq", "1000", K_INT, true}, {"next_seq", "1043", K_INT1, true},
    {"requests", NULL, K_REQ, true},
};
#define N_PAGE (sizeof(page_fields) / sizeof(page_fields[0]))

static const field_t rec_fields[] = {
    {"seq", "1001", K_INT1, true},
    {"inference_id", "\"5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44\"", K_ID, true},
    {"received_ms", "1764187190000", K_INT, true},
    {"completed_ms", "1764187199000", K_INT, true},
    {"outcome", "\"success\"", K_STR, true},
    {"backlog_us", "1200000", K_INT, true},
    {"download_us", "35000", K_INT, false},
    {"download_ok", "true", K_BOOL, false},
    {"model_us", "250000", K_INT, false},
    {"status_code", "200", K_STATUS, false},
    {"upload_us", "12000", K_INT, false},
    {"upload_ok", "true", K_BOOL, false},
    {"notification", "\"sent\"", K_STR, false},
    {"total_ms", "1500", K_INT, true},
};
#define N_REC (sizeof(rec_fields) / sizeof(rec_fields[0]))

/* Appends an object of fields, leaving out index omit and giving index
 * repl the value repl_val (-1: none); a K_REQ field takes requests. */
static void build_obj(sb_t *b, const field_t *f, size_t n, int omit, int repl,
                      const char *repl_val, const char *requests) {
  bool first = true;
  sb_add(b, "{");
  for (size_t i = 0; i < n; i++) {
    if ((int)i == omit)
      continue;
    if (!first)
      sb_add(b, ",");
    first = false;
    sb_add(b, "\"");
    sb_add(b, f[i].name);
    sb_add(b, "\":");
    if ((int)i == repl)
      sb_add(b, repl_val);
    else if (f[i].kind == K_REQ)
      sb_add(b, requests);
    else
      sb_add(b, f[i].value);
  }
  sb_add(b, "}");
}

/* A page around one record built from rec_fields. */
static void build_page(sb_t *b, int page_omit, int page_repl,
                       const char *page_val, int rec_omit, int rec_repl,
                       const char *rec_val) {
  sb_t req = {0};
  sb_add(&req, "[");
  build_obj(&req, rec_fields, N_REC, rec_omit, rec_repl, rec_val, NULL);
  sb_add(&req, "]");
  build_obj(b, page_fields, N_PAGE, page_omit, page_repl, page_val, req.s);
  sb_free(&req);
}

/* Documents that must be refused with want (found in the message), or
 * accepted: build_page's page (the arguments after b), build_obj's
 * snapshot of snap_fields (omit, repl, repl_val). */
static void fail_page(int page_omit, int page_repl, const char *page_val,
                      int rec_omit, int rec_repl, const char *rec_val,
                      const char *want, const char *what) {
  sb_t b = {0};
  build_page(&b, page_omit, page_repl, page_val, rec_omit, rec_repl, rec_val);
  expect_fail(RT_DOC_REQUESTS, b.s, want, what);
  sb_free(&b);
}

static void ok_page(int page_omit, int page_repl, const char *page_val,
                    int rec_omit, int rec_repl, const char *rec_val,
                    const char *what) {
  sb_t b = {0};
  build_page(&b, page_omit, page_repl, page_val, rec_omit, rec_repl, rec_val);
  expect_ok(RT_DOC_REQUESTS, b.s, what);
  sb_free(&b);
}

static void fail_snap(int omit, int repl, const char *val, const char *want,
                      const char *what) {
  sb_t b = {0};
  build_obj(&b, snap_fields, N_SNAP, omit, repl, val, NULL);
  expect_fail(RT_DOC_SNAPSHOT, b.s, want, what);
  sb_free(&b);
}

static void ok_snap(int omit, int repl, const char *val, const char *what) {
  sb_t b = {0};
  build_obj(&b, snap_fields, N_SNAP, omit, repl, val, NULL);
  expect_ok(RT_DOC_SNAPSHOT, b.s, what);
  sb_free(&b);
}

/* The page with its record's field rec_repl given the value rec_val. */
static void fail_rec(int rec_repl, const char *rec_val, const char *want,
                     const char *what) {
  fail_page(-1, -1, NULL, -1, rec_repl, rec_val, want, what);
}

static void ok_rec(int rec_repl, const char *rec_val, const char *what) {
  ok_page(-1, -1, NULL, -1, rec_repl, rec_val, what);
}

/* How a message names build_page's record when its field i is at fault:
 * by its seq once that is read (field 0 is seq). */
static const char *record_at(size_t i) {
  return i == 0 ? "record 1" : "record 1 (seq 1001)";
}

/* Appends an object of the n fields in reverse order. */
static void build_reversed(sb_t *b, const field_t *f, size_t n) {
  sb_add(b, "{");
  for (size_t i = n; i-- > 0;) {
    sb_add(b, "\"");
    sb_add(b, f[i].name);
    sb_add(b, "\":");
    sb_add(b, f[i].value);
    if (i > 0)
      sb_add(b, ",");
  }
  sb_add(b, "}");
}

/* ---- the tests ---- */

static const char SNAPSHOT_EXAMPLE[] =
    "{\n"
    "  \"protocol\": 1,\n"
    "  \"boot_id\": \"0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11\",\n"
    "  \"endpoint_name\": \"my-endpoint\",\n"
    "  \"variant_name\": \"AllTraffic\",\n"
    "  \"instance_id\": \"i-0123456789abcdef0\",\n"
    "  \"instance_count\": 3,\n"
    "  \"time_ms\": 1764187200123,\n"
    "  \"backlog_size\": 42,\n"
    "  \"oldest_request_age_ms\": 5300,\n"
    "  \"in_flight\": 4,\n"
    "  \"max_concurrency\": 4,\n"
    "  \"next_seq\": 1043\n"
    "}\n";

static const char PAGE_EXAMPLE[] =
    "{\n"
    "  \"protocol\": 1,\n"
    "  \"boot_id\": \"0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11\",\n"
    "  \"first_seq\": 1000,\n"
    "  \"next_seq\": 1043,\n"
    "  \"requests\": [\n"
    "    {\n"
    "      \"seq\": 1001,\n"
    "      \"inference_id\": \"5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44\",\n"
    "      \"received_ms\": 1764187190000,\n"
    "      \"completed_ms\": 1764187199000,\n"
    "      \"outcome\": \"success\",\n"
    "      \"backlog_us\": 1200000,\n"
    "      \"download_us\": 35000,\n"
    "      \"download_ok\": true,\n"
    "      \"model_us\": 250000,\n"
    "      \"status_code\": 200,\n"
    "      \"upload_us\": 12000,\n"
    "      \"upload_ok\": true,\n"
    "      \"notification\": \"sent\",\n"
    "      \"total_ms\": 1500\n"
    "    }\n"
    "  ]\n"
    "}\n";

#define HAVE_ALL                                                               \
  (RT_HAVE_DOWNLOAD_US | RT_HAVE_DOWNLOAD_OK | RT_HAVE_MODEL_US |              \
   RT_HAVE_STATUS_CODE | RT_HAVE_UPLOAD_US | RT_HAVE_UPLOAD_OK)

static void test_examples(void) {
  const run_t *r = check(RT_DOC_SNAPSHOT, SNAPSHOT_EXAMPLE, "snapshot");
  T_OK(r->finish_rc == 0 && r->has_snap, "snapshot example accepted");
  T_EQ_STR(r->error, "", "no error message after success");
  T_OK(!r->has_page && !r->has_text, "no page or error text for a snapshot");
  T_EQ_INT(r->snap.protocol, 1, "snapshot protocol");
  T_EQ_STR(r->snap.boot_id, BOOT, "snapshot boot_id");
  T_EQ_STR(r->snap.endpoint_name, "my-endpoint", "snapshot endpoint_name");
  T_EQ_STR(r->snap.variant_name, "AllTraffic", "snapshot variant_name");
  T_EQ_STR(r->snap.instance_id, "i-0123456789abcdef0", "snapshot instance_id");
  T_EQ_INT(r->snap.instance_count, 3, "snapshot instance_count");
  T_EQ_INT(r->snap.time_ms, INT64_C(1764187200123), "snapshot time_ms");
  T_EQ_INT(r->snap.backlog_size, 42, "snapshot backlog_size");
  T_EQ_INT(r->snap.oldest_request_age_ms, 5300,
           "snapshot oldest_request_age_ms");
  T_EQ_INT(r->snap.in_flight, 4, "snapshot in_flight");
  T_EQ_INT(r->snap.max_concurrency, 4, "snapshot max_concurrency");
  T_EQ_INT(r->snap.next_seq, 1043, "snapshot next_seq");

  r = check(RT_DOC_REQUESTS, PAGE_EXAMPLE, "page");
  T_OK(r->finish_rc == 0 && r->has_page, "page example accepted");
  T_OK(!r->has_snap && !r->has_text, "no snapshot or error text for a page");
  T_EQ_INT(r->page.protocol, 1, "page protocol");
  T_EQ_STR(r->page.boot_id, BOOT, "page boot_id");
  T_EQ_INT(r->page.first_seq, 1000, "page first_seq");
  T_EQ_INT(r->page.next_seq, 1043, "page next_seq");
  T_EQ_INT(r->page.records, 1, "page records");
  T_EQ_INT(r->nrec, 1, "one record handed over");
  T_EQ_STR(r->boot_id_at_first_record, BOOT,
           "page header readable from the record callback");
  const rt_record_t *rec = &r->recs[0];
  T_EQ_INT(rec->seq, 1001, "record seq");
  T_EQ_STR(rec->inference_id, "5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44",
           "record inference_id");
  T_EQ_INT(rec->received_ms, INT64_C(1764187190000), "record received_ms");
  T_EQ_INT(rec->completed_ms, INT64_C(1764187199000), "record completed_ms");
  T_EQ_INT(rec->outcome, RT_OUTCOME_SUCCESS, "record outcome");
  T_EQ_INT(rec->backlog_us, 1200000, "record backlog_us");
  T_EQ_INT(rec->download_us, 35000, "record download_us");
  T_EQ_INT(rec->download_ok, true, "record download_ok");
  T_EQ_INT(rec->model_us, 250000, "record model_us");
  T_EQ_INT(rec->status_code, 200, "record status_code");
  T_EQ_INT(rec->upload_us, 12000, "record upload_us");
  T_EQ_INT(rec->upload_ok, true, "record upload_ok");
  T_EQ_INT(rec->notification, RT_NOTIFY_SENT, "record notification");
  T_EQ_INT(rec->total_ms, 1500, "record total_ms");
  T_EQ_STR(rec->error, "", "record error empty");
  T_EQ_INT(rec->have, HAVE_ALL, "record have bits");

  /* Counting only, with no callback. */
  run(R_chunk, RT_DOC_REQUESTS, PAGE_EXAMPLE, strlen(PAGE_EXAMPLE), 5, NULL, 0,
      false);
  T_OK(R_chunk->finish_rc == 0 && R_chunk->page.records == 1,
       "a NULL callback: records validated and counted");
}

static void test_snapshot_optional(void) {
  sb_t b = {0};
  /* Only the required members. */
  sb_add(&b, "{\"protocol\":1,\"boot_id\":\"b\",\"instance_count\":1,"
             "\"time_ms\":0,\"backlog_size\":0,\"oldest_request_age_ms\":0,"
             "\"next_seq\":1}");
  const run_t *r = check(RT_DOC_SNAPSHOT, b.s, "minimal snapshot");
  T_OK(r->finish_rc == 0, "minimal snapshot accepted");
  T_EQ_STR(r->snap.endpoint_name, "", "absent endpoint_name is empty");
  T_EQ_STR(r->snap.variant_name, "", "absent variant_name is empty");
  T_EQ_STR(r->snap.instance_id, "", "absent instance_id is empty");
  T_EQ_INT(r->snap.in_flight, -1, "absent in_flight is -1");
  T_EQ_INT(r->snap.max_concurrency, -1, "absent max_concurrency is -1");
  sb_free(&b);
}

typedef struct {
  const char *outcome;
  rt_outcome_t o;
  const char *members; /* optional members, JSON */
  unsigned have;
  rt_notify_t notify;
} shape_t;

static const shape_t shapes[] = {
    {"success", RT_OUTCOME_SUCCESS,
     ",\"download_us\":10,\"download_ok\":true,\"model_us\":20,"
     "\"status_code\":200,\"upload_us\":30,\"upload_ok\":true,"
     "\"notification\":\"sent\"",
     HAVE_ALL, RT_NOTIFY_SENT},
    {"model_error", RT_OUTCOME_MODEL_ERROR,
     ",\"download_us\":10,\"download_ok\":true,\"model_us\":20,"
     "\"status_code\":503,\"upload_us\":30,\"upload_ok\":true,"
     "\"notification\":\"failed\",\"error\":\"model answered 503\"",
     HAVE_ALL | RT_HAVE_ERROR, RT_NOTIFY_FAILED},
    {"download_failed", RT_OUTCOME_DOWNLOAD_FAILED,
     ",\"download_us\":10,\"download_ok\":false,\"notification\":\"none\","
     "\"error\":\"AccessDenied\"",
     RT_HAVE_DOWNLOAD_US | RT_HAVE_DOWNLOAD_OK | RT_HAVE_ERROR, RT_NOTIFY_NONE},
    {"upload_failed", RT_OUTCOME_UPLOAD_FAILED,
     ",\"download_us\":10,\"download_ok\":true,\"model_us\":20,"
     "\"status_code\":200,\"upload_us\":30,\"upload_ok\":false,"
     "\"notification\":\"sent\",\"error\":\"SlowDown\"",
     HAVE_ALL | RT_HAVE_ERROR, RT_NOTIFY_SENT},
    {"expired", RT_OUTCOME_EXPIRED, "", 0, RT_NOTIFY_ABSENT},
    {"timeout", RT_OUTCOME_TIMEOUT,
     ",\"download_us\":10,\"download_ok\":true,\"model_us\":20,"
     "\"notification\":\"failed\",\"error\":\"timed out\"",
     RT_HAVE_DOWNLOAD_US | RT_HAVE_DOWNLOAD_OK | RT_HAVE_MODEL_US |
         RT_HAVE_ERROR,
     RT_NOTIFY_FAILED},
    {"internal_error", RT_OUTCOME_INTERNAL_ERROR,
     ",\"notification\":\"none\",\"error\":\"bug\"", RT_HAVE_ERROR,
     RT_NOTIFY_NONE},
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* A page of n records cycling through every outcome. */
static void build_many(sb_t *b, size_t n, size_t first_seq) {
  sb_add(b, "{\"protocol\":1,\"boot_id\":\"boot-2\",\"first_seq\":");
  sb_int(b, (long long)first_seq - 1);
  sb_add(b, ",\"next_seq\":");
  sb_int(b, (long long)(first_seq + n));
  sb_add(b, ",\"requests\":[");
  for (size_t i = 0; i < n; i++) {
    const shape_t *s = &shapes[i % N_SHAPES];
    if (i > 0)
      sb_add(b, ",");
    sb_add(b, "{\"seq\":");
    sb_int(b, (long long)(first_seq + i));
    sb_add(b, ",\"inference_id\":\"id-");
    sb_int(b, (long long)i);
    sb_add(b, "\",\"received_ms\":1000,\"completed_ms\":");
    sb_int(b, 2000 + (long long)i);
    sb_add(b, ",\"outcome\":\"");
    sb_add(b, s->outcome);
    sb_add(b, "\",\"backlog_us\":5");
    sb_add(b, s->members);
    sb_add(b, ",\"total_ms\":");
    sb_int(b, (long long)i);
    sb_add(b, "}");
  }
  sb_add(b, "]}");
}

static void test_many_records(void) {
  sb_t b = {0};
  const size_t n = 3 * N_SHAPES + 2;
  bool ok = true;

  build_many(&b, n, 500);
  const run_t *r = check(RT_DOC_REQUESTS, b.s, "page of every outcome");
  T_OK(r->finish_rc == 0, "page of every outcome accepted");
  T_EQ_INT(r->nrec, n, "every record handed over");
  T_EQ_INT(r->page.records, n, "page records counts them");
  for (size_t i = 0; i < n && i < MAX_KEPT; i++) {
    const rt_record_t *rec = &r->recs[i];
    const shape_t *s = &shapes[i % N_SHAPES];
    if (rec->seq != (int64_t)(500 + i) || rec->outcome != s->o ||
        rec->have != s->have || rec->notification != s->notify ||
        rec->total_ms != (int64_t)i || rec->completed_ms != 2000 + (int)i) {
      T_NOTE("record %zu (%s) differs: have %#x", i, s->outcome, rec->have);
      ok = false;
    }
    if ((s->have & RT_HAVE_DOWNLOAD_OK) &&
        rec->download_ok != (s->o != RT_OUTCOME_DOWNLOAD_FAILED))
      ok = false;
    if ((s->have & RT_HAVE_UPLOAD_OK) &&
        rec->upload_ok != (s->o != RT_OUTCOME_UPLOAD_FAILED))
      ok = false;
    if ((s->have & RT_HAVE_ERROR) == 0 && rec->error[0] != '\0')
      ok = false;
    /* Members left out are zero, not the previous record's. */
    if (!(s->have & RT_HAVE_MODEL_US) && rec->model_us != 0)
      ok = false;
    if (!(s->have & RT_HAVE_STATUS_CODE) && rec->status_code != 0)
      ok = false;
  }
  T_OK(ok, "each record has its outcome, its members and no others");
  T_EQ_INT(r->recs[1].status_code, 503, "model_error status_code");
  T_EQ_STR(r->recs[1].error, "model answered 503", "model_error error text");
  T_EQ_STR(r->recs[2].error, "AccessDenied", "download_failed error text");

  run(R_chunk, RT_DOC_REQUESTS, b.s, b.len, 3, NULL, 0, false);
  T_OK(R_chunk->finish_rc == 0 && R_chunk->page.records == n,
       "many records with a NULL callback");
  sb_free(&b);
}

static void test_order_and_unknown(void) {
  sb_t b = {0};
  const run_t *r;

  /* Members in reverse order everywhere; boot_id after requests. */
  sb_add(&b, "{\"requests\":[");
  build_reversed(&b, rec_fields, N_REC);
  sb_add(&b, "],\"next_seq\":1043,\"first_seq\":1000,\"boot_id\":\"late\","
             "\"protocol\":1}");
  r = check(RT_DOC_REQUESTS, b.s, "shuffled page");
  T_OK(r->finish_rc == 0 && r->nrec == 1, "shuffled page accepted");
  T_EQ_STR(r->page.boot_id, "late", "boot_id after requests is read");
  T_EQ_STR(r->boot_id_at_first_record, "",
           "boot_id not yet known when the record came");
  T_EQ_INT(r->recs[0].seq, 1001, "shuffled record seq");
  T_EQ_INT(r->recs[0].have, HAVE_ALL, "shuffled record have bits");
  T_EQ_INT(r->page.next_seq, 1043, "shuffled page next_seq");
  sb_free(&b);

  /* Snapshot members in reverse order. */
  build_reversed(&b, snap_fields, N_SNAP);
  r = check(RT_DOC_SNAPSHOT, b.s, "reversed snapshot");
  T_OK(r->finish_rc == 0 && r->snap.next_seq == 1043 &&
           strcmp(r->snap.boot_id, BOOT) == 0,
       "reversed snapshot accepted");
  sb_free(&b);

  /* Unknown members of every type, nested, everywhere. */
  static const char junk[] =
      "\"u_null\":null,\"u_true\":true,\"u_false\":false,\"u_int\":-12,"
      "\"u_dbl\":1.5e300,\"u_big\":123456789012345678901234567890,"
      "\"u_huge\":1e999,\"u_str\":\"x\\\"\\u00e9\",\"u_obj\":{},"
      "\"u_arr\":[],\"u_nest\":{\"a\":[1,{\"seq\":\"no\",\"b\":[[],{}]},"
      "null],\"requests\":{\"protocol\":2}},\"se\":1,\"seqq\":1,"
      "\"Seq\":\"x\",\"boot_id2\":[],\"inference_i\":{},\"\":0,";
  sb_add(&b, "{");
  sb_add(&b, junk);
  sb_add(&b, "\"protocol\":1,\"boot_id\":\"b\",");
  sb_add(&b, junk);
  sb_add(&b, "\"first_seq\":0,\"next_seq\":2,\"requests\":[{");
  sb_add(&b, junk);
  sb_add(&b, "\"seq\":1,\"inference_id\":\"i\",\"received_ms\":1,");
  sb_add(&b, junk);
  sb_add(&b, "\"completed_ms\":2,\"outcome\":\"expired\",\"backlog_us\":3,"
             "\"total_ms\":4,");
  sb_add(&b, junk);
  sb_add(&b, "\"zz\":[[[{\"x\":[]}]]]}],");
  sb_add(&b, junk);
  sb_add(&b, "\"zz\":{\"y\":{\"z\":[true]}}}");
  r = check(RT_DOC_REQUESTS, b.s, "unknown members");
  if (!T_OK(r->finish_rc == 0 && r->nrec == 1,
            "unknown members of every type skipped"))
    T_NOTE("error: %s", r->error);
  T_OK(r->recs[0].seq == 1 && r->recs[0].total_ms == 4 &&
           r->recs[0].have == 0 && r->recs[0].notification == RT_NOTIFY_ABSENT,
       "record read around unknown members");
  sb_free(&b);

  sb_add(&b, "{");
  sb_add(&b, junk);
  sb_add(&b, "\"requests\":[1,{\"x\":2}],");
  sb_add(&b, SNAPSHOT_EXAMPLE + 1);
  expect_ok(RT_DOC_SNAPSHOT, b.s,
            "snapshot with unknown members (and a requests member)");
  sb_free(&b);

  /* A key spelled with an escape is the same key. */
  expect_ok(RT_DOC_REQUESTS,
            "{\"protocol\":1,\"b\\u006f\\u006ft_id\":\"b\",\"first_seq\":0,"
            "\"next_seq\":1,\"requests\":[]}",
            "escaped key");

  /* Empty requests array. */
  r = check(RT_DOC_REQUESTS,
            "{\"protocol\":1,\"boot_id\":\"b\",\"first_seq\":0,"
            "\"next_seq\":1,\"requests\":[]}",
            "empty page");
  T_OK(r->finish_rc == 0 && r->nrec == 0 && r->page.records == 0 &&
           r->page.next_seq == 1,
       "empty requests array accepted");
}

static void test_error_body(void) {
  const run_t *r;

  r = check(RT_DOC_ERROR, "{\"error\": \"runtime is starting\"}\n",
            "error body");
  T_OK(r->finish_rc == 0 && r->has_text, "error body accepted");
  T_EQ_STR(r->text, "runtime is starting", "error body text");
  T_OK(!r->has_snap && !r->has_page, "no snapshot or page for an error body");

  r = check(RT_DOC_ERROR,
            "{\"code\":503,\"details\":{\"a\":[1,{}]},\"error\":\"bad "
            "\\\"after\\\" \\\\ \\u00e9\",\"more\":null}",
            "error body with unknown members");
  T_EQ_STR(r->text, "bad \"after\" \\ \xc3\xa9",
           "error body with escapes and unknown members");

  r = check(RT_DOC_ERROR, "{\"error\":\"\"}", "empty error text");
  T_OK(r->finish_rc == 0 && r->has_text && r->text[0] == '\0',
       "an empty error text is a text");

  r = check(RT_DOC_ERROR, "{\"error\":\"a\\u0000b\"}", "NUL in error text");
  T_EQ_STR(r->text, "a?b", "NUL in error text replaced with '?'");

  expect_fail(RT_DOC_ERROR, "{}", "error body: missing member error",
              "error body without error");
  expect_fail(RT_DOC_ERROR, "{\"message\":\"x\"}",
              "error body: missing member error", "error body of other shape");
  expect_fail(RT_DOC_ERROR, "{\"error\":5}",
              "error body: member error must be a string",
              "error body with a number");
  expect_fail(RT_DOC_ERROR, "{\"error\":null}",
              "error body: member error must be a string",
              "error body with null");
  expect_fail(RT_DOC_ERROR, "{\"error\":{\"text\":\"x\"}}",
              "error body: member error must be a string",
              "error body with an object");
  expect_fail(RT_DOC_ERROR, "[\"error\"]",
              "error body: the document is not a JSON object",
              "error body as an array");
  expect_fail(RT_DOC_ERROR, "\"error\"",
              "error body: the document is not a JSON object",
              "error body as a string");
  expect_fail(RT_DOC_ERROR, "Service Unavailable", "malformed JSON",
              "error body as plain text");
  expect_fail(RT_DOC_ERROR, "{\"error\":\"x\",\"error\":\"y\"}",
              "duplicate member error", "error body with two errors");
  expect_fail(RT_DOC_ERROR, "", "error body: empty document",
              "empty error body");

  /* A snapshot parser given an error body. */
  expect_fail(RT_DOC_SNAPSHOT, "{\"error\":\"x\"}",
              "snapshot: missing member protocol",
              "snapshot parser given an error body");
}

static void test_missing(void) {
  sb_t b = {0};
  char what[128], want[128];

  for (size_t i = 0; i < N_SNAP; i++) {
    build_obj(&b, snap_fields, N_SNAP, (int)i, -1, NULL, NULL);
    snprintf(what, sizeof(what), "snapshot without %s", snap_fields[i].name);
    if (snap_fields[i].required) {
      snprintf(want, sizeof(want), "snapshot: missing member %s",
               snap_fields[i].name);
      expect_fail(RT_DOC_SNAPSHOT, b.s, want, what);
    } else {
      expect_ok(RT_DOC_SNAPSHOT, b.s, what);
    }
    sb_free(&b);
  }
  for (size_t i = 0; i < N_PAGE; i++) {
    snprintf(what, sizeof(what), "page without %s", page_fields[i].name);
    snprintf(want, sizeof(want), "page: missing member %s",
             page_fields[i].name);
    fail_page((int)i, -1, NULL, -1, -1, NULL, want, what);
  }
  for (size_t i = 0; i < N_REC; i++) {
    build_page(&b, -1, -1, NULL, (int)i, -1, NULL);
    snprintf(what, sizeof(what), "record without %s", rec_fields[i].name);
    if (rec_fields[i].required) {
      snprintf(want, sizeof(want), "%s: missing member %s", record_at(i),
               rec_fields[i].name);
      expect_fail(RT_DOC_REQUESTS, b.s, want, what);
    } else {
      expect_ok(RT_DOC_REQUESTS, b.s, what);
    }
    sb_free(&b);
  }
}

/* Values of the wrong JSON type for a member of the given kind. */
static const char *const *wrong_values(int kind) {
  static const char *const for_int[] = {"\"1\"", "true", "null", "{}",
                                        "[]",    "[1]",  "1.5",  "1e3",
                                        "1.0",   "-0.0", "2E2",  NULL};
  static const char *const for_bool[] = {"1",  "\"true\"", "null", "{}",
                                         "[]", "0",        NULL};
  static const char *const for_str[] = {"1",  "true", "null", "{}",
                                        "[]", "1.5",  NULL};
  static const char *const for_req[] = {"{}",   "1",   "\"x\"", "null",
                                        "true", "1.5", NULL};
  switch (kind) {
  case K_BOOL:
    return for_bool;
  case K_STR:
  case K_ID:
    return for_str;
  case K_REQ:
    return for_req;
  default:
    return for_int;
  }
}

static const char *type_word(int kind) {
  switch (kind) {
  case K_BOOL:
    return "must be true or false";
  case K_STR:
  case K_ID:
    return "must be a string";
  case K_REQ:
    return "must be an array";
  default:
    return "must be an integer";
  }
}

static void test_wrong_types(void) {
  sb_t b = {0};
  char what[160], want[160];

  for (size_t i = 0; i < N_SNAP; i++)
    for (const char *const *v = wrong_values(snap_fields[i].kind); *v; v++) {
      snprintf(what, sizeof(what), "snapshot %s: %s", snap_fields[i].name, *v);
      snprintf(want, sizeof(want), "snapshot: member %s %s",
               snap_fields[i].name, type_word(snap_fields[i].kind));
      fail_snap(-1, (int)i, *v, want, what);
    }
  for (size_t i = 0; i < N_PAGE; i++)
    for (const char *const *v = wrong_values(page_fields[i].kind); *v; v++) {
      snprintf(what, sizeof(what), "page %s: %s", page_fields[i].name, *v);
      snprintf(want, sizeof(want), "page: member %s %s", page_fields[i].name,
               type_word(page_fields[i].kind));
      fail_page(-1, (int)i, *v, -1, -1, NULL, want, what);
    }
  for (size_t i = 0; i < N_REC; i++)
    for (const char *const *v = wrong_values(rec_fields[i].kind); *v; v++) {
      snprintf(what, sizeof(what), "record %s: %s", rec_fields[i].name, *v);
      snprintf(want, sizeof(want), "%s: member %s %s", record_at(i),
               rec_fields[i].name, type_word(rec_fields[i].kind));
      fail_rec((int)i, *v, want, what);
    }

  /* The error member of a record. */
  fail_rec(4, "\"success\",\"error\":17",
           "record 1 (seq 1001): member error must be a string",
           "record error: 17");

  /* Elements of requests that are not objects. */
  static const char *const elems[] = {"1",    "[]",   "\"x\"",
                                      "null", "true", "[{}]"};
  for (size_t i = 0; i < sizeof(elems) / sizeof(elems[0]); i++) {
    sb_add(&b, "{\"protocol\":1,\"boot_id\":\"b\",\"first_seq\":0,"
               "\"next_seq\":1,\"requests\":[");
    sb_add(&b, elems[i]);
    sb_add(&b, "]}");
    snprintf(what, sizeof(what), "requests element %s", elems[i]);
    expect_fail(RT_DOC_REQUESTS, b.s, "record 1: not a JSON object", what);
    sb_free(&b);
  }
  sb_add(&b, "{\"protocol\":1,\"boot_id\":\"b\",\"first_seq\":0,"
             "\"next_seq\":9,\"requests\":[");
  build_obj(&b, rec_fields, N_REC, -1, -1, NULL, NULL);
  sb_add(&b, ",7]}");
  expect_fail(RT_DOC_REQUESTS, b.s, "record 2: not a JSON object",
              "second element not an object");
  sb_free(&b);

  /* The document itself. */
  static const char *const tops[] = {"[]",   "1",    "\"x\"",
                                     "null", "true", "[{\"protocol\":1}]"};
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    snprintf(what, sizeof(what), "top-level %s", tops[i]);
    expect_fail(RT_DOC_REQUESTS, tops[i],
                "page: the document is not a JSON object", what);
  }
}

static void test_numbers(void) {
  sb_t b = {0};
  char what[160], want[160];
  const run_t *r;

  /* Negative values and values below the minimum. */
  for (size_t i = 0; i < N_SNAP; i++) {
    int k = snap_fields[i].kind;
    if (k != K_INT && k != K_INT1)
      continue;
    snprintf(what, sizeof(what), "snapshot %s -1", snap_fields[i].name);
    snprintf(want, sizeof(want), "snapshot: member %s %s", snap_fields[i].name,
             k == K_INT ? "must not be negative" : "must be at least 1");
    fail_snap(-1, (int)i, "-1", want, what);
    if (k == K_INT1) {
      snprintf(what, sizeof(what), "snapshot %s 0", snap_fields[i].name);
      snprintf(want, sizeof(want), "snapshot: member %s must be at least 1",
               snap_fields[i].name);
      fail_snap(-1, (int)i, "0", want, what);
    }
  }
  for (size_t i = 0; i < N_PAGE; i++) {
    int k = page_fields[i].kind;
    if (k != K_INT && k != K_INT1)
      continue;
    snprintf(what, sizeof(what), "page %s -5", page_fields[i].name);
    snprintf(want, sizeof(want), "page: member %s %s", page_fields[i].name,
             k == K_INT ? "must not be negative" : "must be at least 1");
    fail_page(-1, (int)i, "-5", -1, -1, NULL, want, what);
  }
  for (size_t i = 0; i < N_REC; i++) {
    int k = rec_fields[i].kind;
    if (k != K_INT && k != K_INT1)
      continue;
    snprintf(what, sizeof(what), "record %s -1", rec_fields[i].name);
    snprintf(want, sizeof(want), "%s: member %s %s", record_at(i),
             rec_fields[i].name,
             k == K_INT ? "must not be negative" : "must be at least 1");
    fail_rec((int)i, "-1", want, what);
  }
  fail_rec(0, "0", "record 1: member seq must be at least 1", "record seq 0");

  /* status_code range. */
  static const struct {
    const char *v;
    bool ok;
  } codes[] = {{"99", false}, {"100", true},  {"404", true},
               {"599", true}, {"600", false}, {"-200", false}};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    build_page(&b, -1, -1, NULL, -1, 9, codes[i].v);
    snprintf(what, sizeof(what), "status_code %s", codes[i].v);
    if (codes[i].ok)
      expect_ok(RT_DOC_REQUESTS, b.s, what);
    else
      expect_fail(RT_DOC_REQUESTS, b.s,
                  "record 1 (seq 1001): member status_code must be between "
                  "100 and 599",
                  what);
    sb_free(&b);
  }

  /* Integer overflow, and the largest integer. */
  fail_rec(8, "9223372036854775808",
           "record 1 (seq 1001): member model_us is out of range (integer "
           "overflow)",
           "model_us overflow");
  fail_rec(0, "99999999999999999999999",
           "record 1: member seq is out of range (integer overflow)",
           "seq overflow");
  fail_snap(-1, 6, "-9223372036854775809",
            "snapshot: member time_ms is out of range (integer overflow)",
            "negative overflow");
  build_obj(&b, snap_fields, N_SNAP, -1, 6, "9223372036854775807", NULL);
  r = check(RT_DOC_SNAPSHOT, b.s, "INT64_MAX");
  T_OK(r->finish_rc == 0 && r->snap.time_ms == INT64_MAX, "INT64_MAX accepted");
  sb_free(&b);
  fail_snap(-1, 6, "99999999999999999999.5",
            "snapshot: member time_ms must be an integer",
            "huge double is a double");
  build_obj(&b, snap_fields, N_SNAP, -1, 6, "-0", NULL);
  r = check(RT_DOC_SNAPSHOT, b.s, "-0");
  T_OK(r->finish_rc == 0 && r->snap.time_ms == 0, "-0 is the integer 0");
  sb_free(&b);

  /* Eight digits at a time: every length from 1 to 18 digits, each digit
   * in each place, against strtoll. */
  {
    static const char digits[] = "918273645501928374";
    int all = 1;
    for (size_t n = 1; n <= 18; n++) {
      char num[20];
      memcpy(num, digits, n);
      num[n] = 0;
      build_page(&b, -1, -1, NULL, -1, 8, num);
      r = check(RT_DOC_REQUESTS, b.s, "model_us digits");
      if (!(r->finish_rc == 0 && r->nrec == 1 &&
            r->recs[0].model_us == strtoll(num, NULL, 10))) {
        T_OK(0, "model_us %s", num);
        all = 0;
      }
      sb_free(&b);
    }
    T_OK(all, "integers of 1 to 18 digits read as strtoll reads them");
  }
  /* What is not an integer may show only after the eighth digit. */
  {
    static const char *const not_int[] = {
        "12345678.5", "123456789e3",       "1234567812345678.25", "12345678E0",
        "1234567.0",  "123456789012345.0", "1234567890123e-3"};
    for (size_t i = 0; i < sizeof(not_int) / sizeof(not_int[0]); i++) {
      fail_rec(8, not_int[i],
               "record 1 (seq 1001): member model_us must be an integer",
               not_int[i]);
    }
  }
  fail_rec(8, "-123456789",
           "record 1 (seq 1001): member model_us must not be negative",
           "model_us -123456789");

  /* A double for an integer names the member. */
  fail_rec(8, "1.5", "record 1 (seq 1001): member model_us must be an integer",
           "model_us 1.5");
  fail_rec(8, "1e3", "record 1 (seq 1001): member model_us must be an integer",
           "model_us 1e3");
}

/* The record of the page whose record's field holds the string name (in
 * quotes), parsed whole; NULL when the page is refused. */
static const rt_record_t *quoted_in_record(int field, const char *name) {
  sb_t b = {0}, v = {0};

  sb_add(&v, "\"");
  sb_add(&v, name);
  sb_add(&v, "\"");
  build_page(&b, -1, -1, NULL, -1, field, v.s);
  run(R_chunk, RT_DOC_REQUESTS, b.s, b.len, 0, NULL, 0, true);
  sb_free(&b);
  sb_free(&v);
  return R_chunk->finish_rc == 0 ? &R_chunk->recs[0] : NULL;
}

static void test_enums_protocol_dup(void) {
  sb_t b = {0};
  char what[160];

  static const char *const bad_outcomes[] = {
      "\"SUCCESS\"",        "\"\"",          "\"succes\"", "\"success \"",
      "\"expired\\u0000\"", "\"a\\\"b\\nc\""};
  for (size_t i = 0; i < sizeof(bad_outcomes) / sizeof(bad_outcomes[0]); i++) {
    snprintf(what, sizeof(what), "outcome %s", bad_outcomes[i]);
    fail_rec(4, bad_outcomes[i], "record 1 (seq 1001): unknown outcome", what);
  }
  fail_rec(4, "\"a\\\"b\\nc\"", "unknown outcome \"a?b?c\"",
           "unknown outcome quoted plainly");
  sb_t longv = {0};
  sb_add(&longv, "\"");
  sb_rep(&longv, 'x', 100);
  sb_add(&longv, "\"");
  fail_rec(4, longv.s, "unknown outcome \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
           "long unknown outcome quoted short");
  sb_free(&longv);

  static const char *const bad_notes[] = {"\"maybe\"", "\"\"", "\"Sent\"",
                                          "\"absent\""};
  for (size_t i = 0; i < sizeof(bad_notes) / sizeof(bad_notes[0]); i++) {
    snprintf(what, sizeof(what), "notification %s", bad_notes[i]);
    fail_rec(12, bad_notes[i], "record 1 (seq 1001): unknown notification",
             what);
  }

  /* Every outcome and notification name parses to its value. */
  for (int o = 0; o < RT_OUTCOME_COUNT; o++) {
    const rt_record_t *rec =
        quoted_in_record(4, rt_parser_outcome_name((rt_outcome_t)o));
    T_OK(rec != NULL && (int)rec->outcome == o, "outcome \"%s\" parses",
         rt_parser_outcome_name((rt_outcome_t)o));
  }
  for (int n = RT_NOTIFY_NONE; n <= RT_NOTIFY_FAILED; n++) {
    const rt_record_t *rec =
        quoted_in_record(12, rt_parser_notify_name((rt_notify_t)n));
    T_OK(rec != NULL && (int)rec->notification == n,
         "notification \"%s\" parses", rt_parser_notify_name((rt_notify_t)n));
  }

  /* protocol */
  fail_page(-1, 0, "2", -1, -1, NULL,
            "page: protocol 2 is not supported (version 1 expected)",
            "page protocol 2");
  fail_snap(-1, 0, "2",
            "snapshot: protocol 2 is not supported (version 1 expected)",
            "snapshot protocol 2");
  fail_snap(-1, 0, "0", "snapshot: protocol 0 is not supported",
            "snapshot protocol 0");
  fail_snap(-1, 0, "-1", "snapshot: protocol -1 is not supported",
            "snapshot protocol -1");
  /* protocol after the records: the records came, the page fails. */
  build_page(&b, 0, -1, NULL, -1, -1, NULL);
  b.s[b.len - 1] = ',';
  sb_add(&b, "\"protocol\":2}");
  const run_t *r = check(RT_DOC_REQUESTS, b.s, "late protocol 2");
  T_OK(r->finish_rc != 0 && r->nrec == 1 &&
           strcmp(r->error,
                  "page: protocol 2 is not supported (version 1 expected)") ==
               0,
       "protocol 2 after the records fails the page");
  sb_free(&b);

  /* Duplicates are errors. */
  fail_rec(13, "1500,\"seq\":7", "record 1 (seq 1001): duplicate member seq",
           "duplicate seq");
  fail_snap(-1, 11, "1043,\"boot_id\":\"other\"",
            "snapshot: duplicate member boot_id", "duplicate boot_id");
  sb_add(&b, "{\"protocol\":1,\"boot_id\":\"b\",\"first_seq\":0,"
             "\"next_seq\":1,\"requests\":[],\"requests\":[]}");
  expect_fail(RT_DOC_REQUESTS, b.s, "page: duplicate member requests",
              "duplicate requests");
  sb_free(&b);
  ok_rec(13, "1500,\"x\":1,\"x\":2", "duplicate unknown members are fine");
}

static void test_strings(void) {
  sb_t b = {0}, v = {0};
  const run_t *r;

  /* Escapes: \" \\ \u00e9 and a surrogate pair. */
  build_page(&b, -1, -1, NULL, -1, 1,
             "\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\/\\t\"");
  r = check(RT_DOC_REQUESTS, b.s, "escapes in inference_id");
  T_EQ_STR(r->recs[0].inference_id, "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80/\t",
           "escapes decoded in inference_id");
  sb_free(&b);
  build_page(&b, -1, -1, NULL, -1, 13,
             "1,\"error\":\"\\\"quoted\\\" \\\\ caf\\u00e9 "
             "\\uD83D\\uDE00 \xe2\x82\xac\"");
  r = check(RT_DOC_REQUESTS, b.s, "escapes in error");
  T_EQ_STR(r->recs[0].error,
           "\"quoted\" \\ caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac",
           "escapes decoded in error text");
  T_OK(r->recs[0].have & RT_HAVE_ERROR, "error has its bit");
  sb_free(&b);

  /* inference_id length cap. */
  sb_add(&v, "\"");
  sb_rep(&v, 'i', RT_INFERENCE_ID_MAX);
  sb_add(&v, "\"");
  build_page(&b, -1, -1, NULL, -1, 1, v.s);
  r = check(RT_DOC_REQUESTS, b.s, "inference_id at the cap");
  T_OK(r->finish_rc == 0 &&
           strlen(r->recs[0].inference_id) == RT_INFERENCE_ID_MAX,
       "inference_id of %d bytes accepted", RT_INFERENCE_ID_MAX);
  sb_free(&b);
  v.len--;
  sb_add(&v, "i\"");
  fail_rec(1, v.s,
           "record 1 (seq 1001): member inference_id is longer than 256 "
           "bytes",
           "inference_id over the cap");
  sb_free(&v);
  fail_rec(1, "\"\"",
           "record 1 (seq 1001): member inference_id must not be empty",
           "empty inference_id");
  fail_rec(1, "\"ab\\u0000cd\"",
           "record 1 (seq 1001): member inference_id contains a NUL",
           "NUL in inference_id");

  /* IDs of every length from 1 to 72 bytes come out as they went in (they
   * are copied a word at a time from 8 to 64 bytes). */
  {
    int same = 0;
    for (int n = 1; n <= 72; n++) {
      static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
      char id[80];
      for (int i = 0; i < n; i++)
        id[i] = chars[(i * 7 + n) % (sizeof(chars) - 1)];
      id[n] = '\0';
      sb_free(&v);
      sb_add(&v, "\"");
      sb_add(&v, id);
      sb_add(&v, "\"");
      build_page(&b, -1, -1, NULL, -1, 1, v.s);
      r = check(RT_DOC_REQUESTS, b.s, "an ID of n bytes");
      same += r->finish_rc == 0 && r->nrec == 1 &&
              strcmp(r->recs[0].inference_id, id) == 0;
      sb_free(&b);
    }
    T_OK(same == 72, "IDs of 1 to 72 bytes kept as given (%d of 72)", same);
  }
  sb_free(&v);

  /* A NUL at every place of IDs of 8 bytes and more (read a word at a
   * time), and bytes that are not NUL but look alike to a careless check
   * (\u0001, \u0080 in UTF-8: C2 80, \u00ff: C3 BF). */
  {
    static const size_t lens[] = {8, 9, 15, 16, 17, 36};
    int tried = 0;
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
      for (size_t at = 0; at < lens[l]; at++) {
        char what[64];
        sb_free(&v);
        sb_add(&v, "\"");
        sb_rep(&v, 'a', at);
        sb_add(&v, "\\u0000");
        sb_rep(&v, 'a', lens[l] - at - 1);
        sb_add(&v, "\"");
        snprintf(what, sizeof(what), "NUL at byte %zu of %zu", at, lens[l]);
        fail_rec(1, v.s, "member inference_id contains a NUL", what);
        tried++;
      }
    T_OK(tried == 101, "NUL at each of the %d places tried", tried);
  }
  ok_rec(1, "\"\\u0001\\u0080\\u00ff\\u0001\\u0080\\u00ff-id\"",
         "\\u0001, \\u0080, \\u00ff in an ID");
  sb_free(&v);

  /* boot_id length cap. */
  sb_add(&v, "\"");
  sb_rep(&v, 'b', RT_BOOT_ID_MAX);
  sb_add(&v, "\"");
  ok_snap(-1, 1, v.s, "boot_id at the cap");
  v.len--;
  sb_add(&v, "b\"");
  fail_snap(-1, 1, v.s, "snapshot: member boot_id is longer than 128 bytes",
            "boot_id over the cap");
  fail_page(-1, 1, v.s, -1, -1, NULL,
            "page: member boot_id is longer than 128 bytes",
            "page boot_id over the cap");
  sb_free(&v);
  fail_snap(-1, 1, "\"\"", "snapshot: member boot_id must not be",
            "empty boot_id");
  fail_snap(-1, 1, "\"\\u0000\"", "snapshot: member boot_id contains a NUL",
            "NUL boot_id");
  fail_snap(-1, 4, "\"i-1\\u0000\"",
            "snapshot: member instance_id contains a NUL", "NUL instance_id");

  /* Truncation on a UTF-8 boundary: a 2-, 3- and 4-byte character
   * straddling the cap, raw or escaped. */
  static const struct {
    const char *ch;   /* as written in JSON */
    const char *utf8; /* its bytes */
    size_t pad_less;  /* ASCII bytes before it: cap - pad_less */
  } cuts[] = {
      {"\xc3\xa9", "\xc3\xa9", 1},
      {"\\u00e9", "\xc3\xa9", 1},
      {"\xe2\x82\xac", "\xe2\x82\xac", 2},
      {"\xe2\x82\xac", "\xe2\x82\xac", 1},
      {"\\u20ac", "\xe2\x82\xac", 2},
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 3},
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 1},
      {"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 2},
      {"\xc3\xa9", "\xc3\xa9", 2},                 /* fits exactly */
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 4}, /* fits exactly */
  };
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    char what[96];
    size_t bytes = strlen(cuts[i].utf8);
    size_t pad = RT_ERROR_MAX - cuts[i].pad_less;
    /* A character that straddles the cap goes whole; one that ends on it
     * stays whole. */
    bool fits = cuts[i].pad_less == bytes;
    size_t kept = fits ? RT_ERROR_MAX : pad;

    sb_add(&v, "\"");
    sb_rep(&v, 'e', pad);
    sb_add(&v, cuts[i].ch);
    sb_add(&v, "tail\"");

    /* In a record. */
    build_page(&b, -1, -1, NULL, -1, 13, "1");
    b.len -= 3; /* "}]}" */
    sb_add(&b, ",\"error\":");
    sb_add(&b, v.s);
    sb_add(&b, "}]}");
    snprintf(what, sizeof(what), "record error cut %zu", i);
    r = check(RT_DOC_REQUESTS, b.s, what);
    size_t got = strlen(r->recs[0].error);
    bool ok =
        r->finish_rc == 0 && got == kept &&
        (!fits || memcmp(r->recs[0].error + pad, cuts[i].utf8, bytes) == 0);
    if (!T_OK(ok, "record error: %zu-byte char %s the cap: %zu bytes kept",
              bytes, fits ? "ending on" : "across", kept))
      T_NOTE("got %zu bytes: %s", got, r->error);
    sb_free(&b);

    /* In an error body. */
    sb_add(&b, "{\"error\":");
    sb_add(&b, v.s);
    sb_add(&b, "}");
    snprintf(what, sizeof(what), "error body cut %zu", i);
    r = check(RT_DOC_ERROR, b.s, what);
    T_OK(r->finish_rc == 0 && strlen(r->text) == kept &&
             (!fits || memcmp(r->text + pad, cuts[i].utf8, bytes) == 0),
         "error body: %zu-byte char %s the cap: %zu bytes kept", bytes,
         fits ? "ending on" : "across", kept);
    sb_free(&b);
    sb_free(&v);
  }

  /* Names are cut at RT_NAME_MAX the same way. */
  sb_add(&v, "\"");
  sb_rep(&v, 'n', RT_NAME_MAX - 1);
  sb_add(&v, "\xe2\x82\xac\"");
  build_obj(&b, snap_fields, N_SNAP, -1, 2, v.s, NULL);
  r = check(RT_DOC_SNAPSHOT, b.s, "long endpoint_name");
  T_OK(r->finish_rc == 0 && strlen(r->snap.endpoint_name) == RT_NAME_MAX - 1,
       "endpoint_name cut before a 3-byte char at the cap");
  sb_free(&b);
  build_obj(&b, snap_fields, N_SNAP, -1, 3, v.s, NULL);
  r = check(RT_DOC_SNAPSHOT, b.s, "long variant_name");
  T_OK(r->finish_rc == 0 && strlen(r->snap.variant_name) == RT_NAME_MAX - 1,
       "variant_name cut on a character boundary");
  sb_free(&b);
  build_obj(&b, snap_fields, N_SNAP, -1, 4, v.s, NULL);
  r = check(RT_DOC_SNAPSHOT, b.s, "long instance_id");
  T_OK(r->finish_rc == 0 && strlen(r->snap.instance_id) == RT_NAME_MAX - 1,
       "instance_id cut on a character boundary");
  sb_free(&b);
  sb_free(&v);

  /* NUL in a record's error text is replaced. */
  build_page(&b, -1, -1, NULL, -1, 13, "1,\"error\":\"\\u0000x\\u0000\"");
  r = check(RT_DOC_REQUESTS, b.s, "NUL in record error");
  T_EQ_STR(r->recs[0].error, "?x?", "NULs in record error replaced");
  sb_free(&b);
}

static void test_malformed(void) {
  static const char *const docs[] = {
      "{\"protocol\":}",
      "{\"protocol\" 1}",
      "{\"protocol\":1,}",
      "{\"protocol\":tru}",
      "{\"protocol\":1} x",
      "{\"protocol\":1}{}",
      "{\"x\":01}",
      "{\"protocol\":1 2}",
      "{\"boot_id\":\"x\" \"y\"}",
      "{\"boot_id\":\"ab\xff\"}",
      "{\"boot_id\":\"ab\xc3\"}",
      "{\"boot_id\":\"a\\q\"}",
      "{\"boot_id\":\"\\u12g4\"}",
      "{\"boot_id\":\"a\nb\"}",
      "{/* c */\"protocol\":1}",
      "{\"protocol\":-}",
      "{\"protocol\":1.}",
      "{\"protocol\":1e}",
      "{'protocol':1}",
      "{\"requests\":[1,]}",
      "{\"requests\":[1 2]}",
      "{\"requests\":]}",
      "{\"a\":[}",
      "}",
      "   ",
      "{",
      "{\"protocol\":1",
      "{\"protocol\":\"abc",
      "{\"x\":[[[[",
      "\xef\xbb\xbf{}",
  };
  char what[96];

  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    snprintf(what, sizeof(what), "malformed %zu", i);
    expect_fail(RT_DOC_SNAPSHOT, docs[i], "malformed JSON", what);
  }
  /* A raw NUL byte in the middle of the document. */
  expect_fail_lim(RT_DOC_SNAPSHOT, "{\"protocol\":1\0}", 15, NULL,
                  "malformed JSON", "raw NUL byte");

  /* The byte offset counts from the start of the document. */
  expect_fail(RT_DOC_SNAPSHOT, "{\"protocol\":x}",
              "malformed JSON at byte 13: lexical error: invalid char in json "
              "text",
              "offset of a bad character");
  expect_fail(RT_DOC_SNAPSHOT, "{\"protocol\":1}  x",
              "malformed JSON at byte 17: parse error: trailing garbage",
              "offset of trailing garbage");
  expect_fail(RT_DOC_SNAPSHOT, "{\"protocol\":1",
              "malformed JSON at byte 13: parse error: premature EOF",
              "premature EOF at the end");
  /* yajl places this one at the start of the token it did not expect,
   * except when that token was split across feeds: the parser names the
   * member before it instead of a byte. */
  expect_fail(RT_DOC_SNAPSHOT, "{\"boot_id\":\"abc\" \"def\"}",
              "snapshot: malformed JSON after member boot_id: parse error: "
              "after key and value, inside map, I expect ',' or '}'",
              "missing comma after a member");
  expect_fail(RT_DOC_SNAPSHOT, "{\"x\":12 \"c\"}",
              "snapshot: malformed JSON after an unknown member: parse error: "
              "after key and value",
              "missing comma after an unknown member");
  expect_fail(RT_DOC_SNAPSHOT, "{\"a\":[{\"b\":12 \"c\"}]}",
              "snapshot: malformed JSON inside an unknown member: parse "
              "error: after key and value",
              "missing comma inside an unknown member");
  fail_rec(5, "1200000 true",
           "record 1 (seq 1001): malformed JSON after member backlog_us: "
           "parse error: after key and value",
           "missing comma in a record");
  expect_fail(RT_DOC_SNAPSHOT, "", "snapshot: empty document",
              "empty snapshot");
}

static void test_limits(void) {
  sb_t b = {0};
  rt_limits_t lim = {0};
  char want[96];

  /* Depth: a page needs 3; unknown members may nest up to the cap. */
  lim.max_depth = 5;
  build_page(&b, -1, -1, NULL, -1, 13, "1,\"x\":[[]]");
  expect_ok_lim(RT_DOC_REQUESTS, b.s, b.len, &lim, "depth 5 of 5");
  sb_free(&b);
  build_page(&b, -1, -1, NULL, -1, 13, "1,\"x\":[[{}]]");
  expect_fail_lim(RT_DOC_REQUESTS, b.s, b.len, &lim,
                  "record 1 (seq 1001): nesting deeper than 5 levels",
                  "depth 6 of 5");
  sb_free(&b);
  lim.max_depth = 2;
  build_page(&b, -1, -1, NULL, -1, -1, NULL);
  expect_fail_lim(RT_DOC_REQUESTS, b.s, b.len, &lim,
                  "page: nesting deeper than 2 levels", "page deeper than 2");
  sb_free(&b);

  /* The default depth cap. */
  sb_add(&b, "{\"x\":");
  sb_rep(&b, '[', RT_DEFAULT_MAX_DEPTH - 1);
  sb_rep(&b, ']', RT_DEFAULT_MAX_DEPTH - 1);
  sb_add(&b, ",");
  sb_add(&b, SNAPSHOT_EXAMPLE + 1);
  expect_ok(RT_DOC_SNAPSHOT, b.s, "default depth cap reached");
  sb_free(&b);
  sb_add(&b, "{\"x\":");
  sb_rep(&b, '[', RT_DEFAULT_MAX_DEPTH);
  sb_rep(&b, ']', RT_DEFAULT_MAX_DEPTH);
  sb_add(&b, ",");
  sb_add(&b, SNAPSHOT_EXAMPLE + 1);
  snprintf(want, sizeof(want), "snapshot: nesting deeper than %u levels",
           RT_DEFAULT_MAX_DEPTH);
  expect_fail(RT_DOC_SNAPSHOT, b.s, want, "default depth cap passed");
  sb_free(&b);
  /* Deep enough to hurt if nothing stopped it. */
  sb_add(&b, "{\"x\":");
  sb_rep(&b, '[', 100000);
  expect_fail(RT_DOC_SNAPSHOT, b.s, "nesting deeper than",
              "100000 nested arrays");
  sb_free(&b);

  /* Byte cap. */
  lim = (rt_limits_t){0};
  lim.max_bytes = strlen(SNAPSHOT_EXAMPLE);
  expect_ok_lim(RT_DOC_SNAPSHOT, SNAPSHOT_EXAMPLE, lim.max_bytes, &lim,
                "document of exactly max_bytes");
  lim.max_bytes--;
  snprintf(want, sizeof(want), "snapshot: document larger than %zu bytes",
           lim.max_bytes);
  expect_fail_lim(RT_DOC_SNAPSHOT, SNAPSHOT_EXAMPLE, strlen(SNAPSHOT_EXAMPLE),
                  &lim, want, "document one byte over max_bytes");
  lim.max_bytes = 10;
  expect_fail_lim(RT_DOC_SNAPSHOT, "{\"p\":x}  and much more", 22, &lim,
                  "malformed JSON at byte 6",
                  "an error within max_bytes is reported first");
  /* Mid-record: only complete records came. */
  build_many(&b, 10, 1);
  lim.max_bytes = b.len / 2;
  {
    const run_t *r =
        check_lim(RT_DOC_REQUESTS, b.s, b.len, &lim, 0, "page over max_bytes");
    T_OK(r->finish_rc != 0 && r->nrec > 0 && r->nrec < 10 &&
             strstr(r->error, "page: document larger than") != NULL,
         "page over max_bytes: some records, then the cap");
  }
  sb_free(&b);

  /* Record cap. */
  lim = (rt_limits_t){0};
  lim.max_records = 3;
  build_many(&b, 3, 1);
  expect_ok_lim(RT_DOC_REQUESTS, b.s, b.len, &lim, "3 records of 3");
  sb_free(&b);
  build_many(&b, 4, 1);
  {
    const run_t *r =
        check_lim(RT_DOC_REQUESTS, b.s, b.len, &lim, 0, "4 records of 3");
    T_OK(r->finish_rc != 0 && r->nrec == 3 &&
             strcmp(r->error, "page: more than 3 records") == 0,
         "4 records of 3: rejected after 3");
  }
  sb_free(&b);
  /* The default record cap. */
  build_many(&b, RT_DEFAULT_MAX_RECORDS + 1, 1);
  run(R_chunk, RT_DOC_REQUESTS, b.s, b.len, 4096, NULL, 0, false);
  snprintf(want, sizeof(want), "page: more than %u records",
           RT_DEFAULT_MAX_RECORDS);
  T_OK(R_chunk->finish_rc != 0 && strcmp(R_chunk->error, want) == 0 &&
           R_chunk->page.records == RT_DEFAULT_MAX_RECORDS,
       "default record cap");
  sb_free(&b);
}

static void test_truncated(void) {
  sb_t b = {0};
  static const size_t chunks[] = {1, 2, 3, 7, 16, 64};
  size_t bad = 0, bad_at = 0, full_n;
  rt_record_t *full;

  /* A page with a bit of everything. */
  sb_add(&b, "{\"protocol\":1,\"u\":[1,{\"v\":null}],\"boot_id\":\"b\\u00e9\","
             "\"requests\":[");
  for (size_t i = 0; i < 3; i++) {
    const shape_t *s = &shapes[(i * 3) % N_SHAPES];
    if (i > 0)
      sb_add(&b, ", ");
    sb_add(&b, "{\"seq\":");
    sb_int(&b, 10 + (long long)i);
    sb_add(&b, ",\"inference_id\":\"id\\\"");
    sb_int(&b, (long long)i);
    sb_add(&b, "\",\"received_ms\":1764187190000,\"completed_ms\":"
               "1764187199000,\"outcome\":\"");
    sb_add(&b, s->outcome);
    sb_add(&b, "\",\"backlog_us\":-0,\"x\":[true,false,1.5e-3]");
    sb_add(&b, s->members);
    sb_add(&b, ",\"total_ms\":12345}");
  }
  sb_add(&b, "],\"first_seq\":9,\"next_seq\":13}");

  run(R_whole, RT_DOC_REQUESTS, b.s, b.len, 0, NULL, 0, true);
  T_OK(R_whole->finish_rc == 0 && R_whole->nrec == 3,
       "the page to truncate is valid");
  full_n = R_whole->nrec;
  full = malloc(sizeof(*full) * full_n);
  if (full == NULL)
    abort();
  memcpy(full, R_whole->recs, sizeof(*full) * full_n);

  for (size_t cut = 0; cut < b.len; cut++) {
    run(R_whole, RT_DOC_REQUESTS, b.s, cut, 0, NULL, 0, true);
    bool ok = R_whole->finish_rc != 0 && R_whole->error[0] != '\0' &&
              R_whole->nrec <= full_n;
    for (size_t i = 0; ok && i < R_whole->nrec; i++)
      ok = rec_equal(&R_whole->recs[i], &full[i]);
    for (size_t c = 0; ok && c < sizeof(chunks) / sizeof(chunks[0]); c++) {
      run(R_chunk, RT_DOC_REQUESTS, b.s, cut, chunks[c], NULL, 0, true);
      ok = run_diff(R_whole, R_chunk) == NULL;
    }
    if (!ok && bad++ == 0)
      bad_at = cut;
  }
  if (!T_OK(bad == 0,
            "page cut at each of its %zu bytes: fails, only whole records "
            "came, same in chunks",
            b.len))
    T_NOTE("%zu bad cuts, the first at %zu", bad, bad_at);
  free(full);
  sb_free(&b);

  /* The snapshot example cut anywhere fails too. */
  bad = 0;
  for (size_t cut = 0; cut + 1 < sizeof(SNAPSHOT_EXAMPLE) - 1; cut++) {
    run(R_whole, RT_DOC_SNAPSHOT, SNAPSHOT_EXAMPLE, cut, 0, NULL, 0, true);
    if (R_whole->finish_rc == 0 || R_whole->has_snap)
      bad++;
  }
  T_OK(bad == 0, "snapshot cut anywhere fails");
}

static void test_callback_stop(void) {
  sb_t b = {0};
  const run_t *r;

  build_many(&b, 5, 1);
  r = check_lim(RT_DOC_REQUESTS, b.s, b.len, NULL, 2, "stop at record 2");
  T_OK(r->finish_rc != 0 && r->nrec == 2 && r->page.records == 2,
       "a non-zero callback return stops the parse after that record");
  T_EQ_STR(r->error, "stopped by the record callback", "stop message");
  r = check_lim(RT_DOC_REQUESTS, b.s, b.len, NULL, 5, "stop at record 5");
  T_OK(r->finish_rc != 0 && r->nrec == 5, "stopping at the last record fails");
  sb_free(&b);
}

static int count_cb(const rt_record_t *rec, void *ud) {
  (void)rec;
  (*(int *)ud)++;
  return 0;
}

static void test_api(void) {
  rt_parser_t *p;
  int n = 0;

  for (int o = 0; o < RT_OUTCOME_COUNT; o++)
    T_OK(rt_parser_outcome_name((rt_outcome_t)o)[0] != '\0', "outcome %d named",
         o);
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_SUCCESS), "success", "success");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_MODEL_ERROR), "model_error",
           "model_error");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_DOWNLOAD_FAILED),
           "download_failed", "download_failed");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_UPLOAD_FAILED), "upload_failed",
           "upload_failed");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_EXPIRED), "expired", "expired");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_TIMEOUT), "timeout", "timeout");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_INTERNAL_ERROR), "internal_error",
           "internal_error");
  T_EQ_STR(rt_parser_outcome_name(RT_OUTCOME_COUNT), "unknown",
           "outcome out of range");
  T_EQ_STR(rt_parser_notify_name(RT_NOTIFY_ABSENT), "", "notify absent");
  T_EQ_STR(rt_parser_notify_name(RT_NOTIFY_NONE), "none", "notify none");
  T_EQ_STR(rt_parser_notify_name(RT_NOTIFY_SENT), "sent", "notify sent");
  T_EQ_STR(rt_parser_notify_name(RT_NOTIFY_FAILED), "failed", "notify failed");
  T_EQ_STR(rt_parser_notify_name((rt_notify_t)42), "unknown",
           "notify out of range");

  T_OK(rt_parser_create((rt_doc_t)7, NULL, NULL, NULL) == NULL,
       "unknown document kind refused");

  /* Accessors before the end; finish twice; feed after finish. */
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  T_EQ_STR(rt_parser_error(p), "", "no error at first");
  T_OK(rt_parser_snapshot(p) == NULL, "no snapshot before finish");
  T_OK(rt_parser_page(p) == NULL && rt_parser_error_text(p) == NULL,
       "no page or error text from a snapshot parser");
  T_EQ_INT(rt_parser_feed(p, SNAPSHOT_EXAMPLE, 0), 0, "empty feed is fine");
  T_EQ_INT(rt_parser_feed(p, SNAPSHOT_EXAMPLE, strlen(SNAPSHOT_EXAMPLE)), 0,
           "feed");
  T_OK(rt_parser_snapshot(p) == NULL, "no snapshot before finish, still");
  T_EQ_INT(rt_parser_finish(p), 0, "finish");
  T_EQ_INT(rt_parser_finish(p), 0, "finish again says the same");
  T_OK(rt_parser_snapshot(p) != NULL, "snapshot after finish");
  T_EQ_INT(rt_parser_feed(p, "{}", 2), -1, "feed after finish fails");
  T_OK(strstr(rt_parser_error(p), "after the end") != NULL,
       "feed after finish: message");
  T_OK(rt_parser_snapshot(p) == NULL, "no snapshot after misuse");
  T_EQ_INT(rt_parser_finish(p), -1, "finish after an error fails");
  rt_parser_destroy(p);

  /* After an error, everything fails and the first message stays. */
  p = rt_parser_create(RT_DOC_REQUESTS, NULL, NULL, NULL);
  T_EQ_INT(rt_parser_feed(p, "{\"protocol\":3,", 14), -1, "protocol 3");
  T_EQ_INT(rt_parser_feed(p, "\"boot_id\":\"x\"", 13), -1,
           "feed after an error fails");
  T_EQ_INT(rt_parser_finish(p), -1, "finish after an error fails");
  T_EQ_STR(rt_parser_error(p),
           "page: protocol 3 is not supported (version 1 expected)",
           "the first error stays");
  T_OK(rt_parser_page(p) != NULL, "page header still readable");
  rt_parser_destroy(p);

  p = rt_parser_create(RT_DOC_ERROR, NULL, NULL, NULL);
  T_EQ_INT(rt_parser_feed(p, NULL, 3), -1, "NULL buffer refused");
  rt_parser_destroy(p);

  /* Destroy mid-parse: nothing leaks (valgrind and ASan say). */
  p = rt_parser_create(RT_DOC_REQUESTS, count_cb, &n, NULL);
  T_EQ_INT(rt_parser_feed(p, PAGE_EXAMPLE, 200), 0, "half a page");
  rt_parser_destroy(p);
  p = rt_parser_create(RT_DOC_REQUESTS, count_cb, &n, NULL);
  T_EQ_INT(rt_parser_feed(p, PAGE_EXAMPLE, strlen(PAGE_EXAMPLE) - 3), 0,
           "most of a page");
  T_EQ_INT(n, 1, "the complete record came");
  rt_parser_destroy(p);
  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_parser_destroy(p); /* never fed */
  rt_parser_destroy(NULL);
  T_OK(1, "destroy mid-parse, unfed and NULL");
}

int main(void) {
  R_whole = calloc(1, sizeof(*R_whole));
  R_chunk = calloc(1, sizeof(*R_chunk));
  if (R_whole == NULL || R_chunk == NULL)
    return 1;

  test_examples();
  test_snapshot_optional();
  test_many_records();
  test_order_and_unknown();
  test_error_body();
  test_missing();
  test_wrong_types();
  test_numbers();
  test_enums_protocol_dup();
  test_strings();
  test_malformed();
  test_limits();
  test_truncated();
  test_callback_stop();
  test_api();

  free(R_whole);
  free(R_chunk);
  return t_done();
}
