/* SPDX-License-Identifier: MIT */
/*
 * pipeline_harness.h: what test_cw_pipeline.c and test_cw_stream_logs.c
 * do alike with pipeline_fixture.h (included first): start the fake
 * service and note how it is reached, read a stream's statistics, and
 * prepare the process before the cases.
 */
#ifndef SM_TESTS_PIPELINE_HARNESS_H
#define SM_TESTS_PIPELINE_HARNESS_H 1

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#ifndef SM_TESTS_PIPELINE_FIXTURE_H
#error "include pipeline_fixture.h before pipeline_harness.h"
#endif

#define FX_ADDR_MAX 64

/* An answer of the services' refusing kind: status code, a JSON body with
 * the error's __type and message. */
#define REFUSAL(code, type, message)                                           \
  ANSWER((code), "{\"__type\":\"" type "\",\"message\":\"" message "\"}", NULL)

/* The fake service answering steps, on lock (fake_server); writes its URL
 * (path "/") to url and its Host header to host, FX_ADDR_MAX bytes each.
 * NULL when it did not start. */
static inline fake_http_t *fx_serve(const fake_http_step_t *steps, size_t n,
                                    pthread_mutex_t *lock, char *url,
                                    char *host) {
  fake_http_t *s = fake_server(steps, n, lock);

  if (s != NULL) {
    snprintf(url, FX_ADDR_MAX, "%s/", fake_http_url(s));
    snprintf(host, FX_ADDR_MAX, "127.0.0.1:%d", fake_http_port(s));
  }
  return s;
}

/* The statistics of stream st of p. */
static inline cw_pipeline_stats_t fx_stream_stats(cw_pipeline_t *p, int st) {
  cw_pipeline_stats_t out;
  cw_pipeline_get_stats(p, st, &out);
  return out;
}

/* A statistic a case checks: its name, its place in cw_pipeline_stats_t
 * and what it must be. */
typedef struct {
  const char *name;
  size_t offset;
  int64_t want;
} fx_stat_t;
#define STAT(field, value)                                                     \
  { #field, offsetof(cw_pipeline_stats_t, field), (value) }

static inline void fx_check_stats_(const cw_pipeline_stats_t *got,
                                   const fx_stat_t *want, size_t n,
                                   const char *what) {
  char m[160];
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    memcpy(&v, (const char *)got + want[i].offset, sizeof(v));
    snprintf(m, sizeof(m), "%s: stats: %s", what, want[i].name);
    T_EQ_INT(v, want[i].want, m);
  }
}

/* Each statistic of *got that the STAT()s after what name is what it must
 * be (checks named "<what>: stats: <field>"). */
#define CHECK_STATS(got, what, ...)                                            \
  fx_check_stats_(                                                             \
      (got), (const fx_stat_t[]){__VA_ARGS__},                                 \
      sizeof((const fx_stat_t[]){__VA_ARGS__}) / sizeof(fx_stat_t), (what))

/* Before the cases: no SIGPIPE from a connection the fake closed, never a
 * proxy to the fake server on 127.0.0.1, and curl initialised. */
static inline void fx_process_init(void) {
  signal(SIGPIPE, SIG_IGN);
  setenv("NO_PROXY", "*", 1);
  setenv("no_proxy", "*", 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

#endif /* SM_TESTS_PIPELINE_HARNESS_H */
