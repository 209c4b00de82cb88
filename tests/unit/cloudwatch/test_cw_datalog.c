/* SPDX-License-Identifier: MIT */
/*
 * cw_datalog: the documented line format, byte for byte, and the group and
 * stream names SageMaker uses.
 */
#include <stdlib.h>

#include "cw_datalog.h"
#include "tap.h"

int main(void) {
  cw_datalog_entry_t e = {
      .time_ms = 1764193980123LL,
      .received_ms = 1764193978000LL,
      .inference_id = "5f0c7a52-4a8e-4e3b-a2d5-7b1f0c9e2d44",
      .outcome = "model_error",
      .stage = "model",
      .status_code = 500,
      .error = "container said \"no\"\n\xc3\xa9",
      .endpoint_name = "ep",
      .variant_name = "AllTraffic",
      .instance_id = "i-0123",
      .boot_id = "b-1",
      .seq = 1043,
  };
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
  return t_done();
}
