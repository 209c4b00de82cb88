/* SPDX-License-Identifier: MIT */
/*
 * cw_datalog: the documented line format, byte for byte, and the group and
 * stream names SageMaker uses; a line written before the instance is known
 * (pending) and resolved later is the line written with it.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cw_datalog.h"
#include "tap.h"

/* Bytes equal to CW_DATALOG_INSTANCE_MARK in s. */
static size_t marks(const char *s) {
  size_t n = 0;
  for (; s != NULL && *s != 0; s++)
    n += *s == CW_DATALOG_INSTANCE_MARK;
  return n;
}

/* A failed request's entry, every field set, with the error text error. */
static cw_datalog_entry_t failed_request(const char *error) {
  return (cw_datalog_entry_t){
      .time_ms = 1764193980123LL,
      .received_ms = 1764193978000LL,
      .inference_id = "5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44",
      .outcome = "model_error",
      .stage = "model",
      .status_code = 500,
      .error = error,
      .endpoint_name = "ep",
      .variant_name = "AllTraffic",
      .instance_id = "i-0123",
      .boot_id = "b-1",
      .seq = 1043,
  };
}

/* The pending line of e, resolved with e->instance_id, is exactly
 * cw_datalog_line(e); the pending line has one mark and no instance. */
static void check_resolve(cw_datalog_entry_t e, const char *what) {
  char *want = cw_datalog_line(&e), *pending, *pending2, *got;
  const char *id = e.instance_id;

  pending = cw_datalog_line_pending(&e);
  e.instance_id = NULL;
  pending2 = cw_datalog_line_pending(&e);
  T_OK(want != NULL && pending != NULL, "%s: lines written", what);
  T_EQ_INT(marks(pending), 1, "pending line: exactly one mark");
  T_OK(pending != NULL && strstr(pending, "instance_id") == NULL,
       "%s: pending line: no instance_id member", what);
  T_EQ_STR(pending, pending2, "pending line: e->instance_id is ignored");
  got = pending != NULL ? cw_datalog_line_resolve(pending, strlen(pending), id)
                        : NULL;
  T_EQ_STR(got, want, "resolved line: what cw_datalog_line writes");
  T_EQ_INT(marks(got), 0, "resolved line: no mark left");
  free(want);
  free(pending);
  free(pending2);
  free(got);
}

static void test_pending(void) {
  cw_datalog_entry_t e =
      failed_request("a control byte \x01 here: \x01, a quote \"");
  const char *odd = "i-\"q\"\\/\n\x01\xc3\xa9";
  char *line, *got;
  yajl_val root;
  char err[128];
  static const char *path[] = {"instance_id", NULL};
  yajl_val v;
  const char *sv;

  check_resolve(e, "fields after instance_id");
  e.error = "container said \"no\"\x01";
  check_resolve(e, "an error text holding the mark byte (escaped)");
  e.boot_id = NULL;
  e.seq = 0;
  e.received_ms = -1;
  check_resolve(e, "no field after instance_id");
  e.endpoint_name = NULL;
  e.variant_name = NULL;
  check_resolve(e, "no field just before it either");
  e.endpoint_name = "ep";
  e.variant_name = "AllTraffic";
  e.boot_id = "b-1";
  e.instance_id = odd;
  check_resolve(e, "an instance ID that needs escaping");

  line = cw_datalog_line_pending(&e);
  got = line != NULL ? cw_datalog_line_resolve(line, strlen(line), odd) : NULL;
  if (!T_OK(got != NULL &&
                strstr(got, "\"instance_id\":\"i-\\\"q\\\"\\\\/"
                            "\\n\\u0001\xc3\xa9\",\"boot_id\"") != NULL,
            "escaped instance ID: quote, backslash, newline and control "
            "escaped, UTF-8 as is, before boot_id"))
    T_NOTE("line: %s", got ? got : "(null)");
  root = got != NULL ? yajl_tree_parse(got, err, sizeof(err)) : NULL;
  v = root != NULL ? yajl_tree_get(root, path, yajl_t_string) : NULL;
  sv = v != NULL ? YAJL_GET_STRING(v) : NULL;
  T_OK(sv != NULL && strcmp(sv, odd) == 0,
       "escaped instance ID: the resolved line parses back to it");
  yajl_tree_free(root);
  free(got);

  T_OK(line != NULL &&
           cw_datalog_line_resolve(line, strlen(line), NULL) == NULL,
       "resolve without an instance ID: NULL");
  free(line);
  line = cw_datalog_line(&e);
  T_OK(line != NULL &&
           cw_datalog_line_resolve(line, strlen(line), "i-1") == NULL,
       "resolve of a line without a mark: NULL");
  free(line);
  e.inference_id = NULL;
  T_OK(cw_datalog_line_pending(&e) == NULL,
       "pending: no inference ID: no line");
}

int main(void) {
  cw_datalog_entry_t e = failed_request("container said \"no\"\n\xc3\xa9");
  char *line = cw_datalog_line(&e);
  char buf[64];

  T_EQ_STR(line,
           "{\"time\":\"2025-11-26T21:53:00.123Z\","
           "\"inference_id\":\"5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44\","
           "\"outcome\":\"model_error\",\"stage\":\"model\","
           "\"status_code\":500,\"error\":\"container said \\\"no\\\"\\n"
           "\xc3\xa9\",\"endpoint_name\":\"ep\",\"variant_name\":"
           "\"AllTraffic\",\"instance_id\":\"i-0123\",\"boot_id\":\"b-1\","
           "\"seq\":1043,\"received\":\"2025-11-26T21:52:58.000Z\"}",
           "a failed request, every field");
  free(line);

  e.outcome = "success";
  e.stage = NULL;
  e.status_code = 0;
  e.error = NULL;
  e.boot_id = NULL;
  e.seq = 0;
  e.received_ms = -1;
  line = cw_datalog_line(&e);
  T_EQ_STR(line,
           "{\"time\":\"2025-11-26T21:53:00.123Z\","
           "\"inference_id\":\"5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44\","
           "\"outcome\":\"success\",\"endpoint_name\":\"ep\","
           "\"variant_name\":\"AllTraffic\",\"instance_id\":\"i-0123\"}",
           "absent fields are left out");
  free(line);
  e.inference_id = NULL;
  T_OK(cw_datalog_line(&e) == NULL, "no inference ID: no line");

  T_EQ_INT(cw_datalog_group("my-endpoint", buf, sizeof(buf)), 0, "group");
  T_EQ_STR(buf, "/aws/sagemaker/Endpoints/my-endpoint", "group name");
  T_EQ_INT(cw_datalog_stream("AllTraffic", "i-0abc", buf, sizeof(buf)), 0,
           "stream");
  T_EQ_STR(buf, "AllTraffic/i-0abc/data-log", "stream name");
  T_EQ_INT(cw_datalog_group("", buf, sizeof(buf)), -1, "empty endpoint");
  T_EQ_INT(cw_datalog_stream("v", "", buf, sizeof(buf)), -1, "no instance");
  T_EQ_INT(cw_datalog_group("x", buf, 10), -1, "does not fit");
  test_pending();
  return t_done();
}
