/* SPDX-License-Identifier: MIT */
/*
 * sim: what the parts of sagemaker-runtime-sim share. The simulator is a
 * stand-in for the Amazon SageMaker async-inference runtime's stats API,
 * version 1 (shared/reference/runtime-api.md is the contract), and the
 * integration tests' ground truth and the benchmarks' load (see sim.c).
 *
 * The parts, each a file whose name prefixes what it exports:
 *   sim.c           main, life cycle and event loop; messages and clocks
 *   sim_opts.c      the command line
 *   sim_rng.c       the seeded PRNG streams and UUIDs
 *   sim_text.c      numbers, JSON strings and tokens
 *   sim_record.c    one request record: its contents and its JSON form
 *
 * Build (make does), in this folder: gcc -std=gnu11 -O2 -Wall -Wextra \
 *   -Werror -I../../plugin/common -o sagemaker-runtime-sim *.c \
 *   ../../plugin/common/sm_buf.c -lm
 */
#ifndef SIM_H
#define SIM_H 1

#include "sm_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NAME "sagemaker-runtime-sim"
#define SIM_UUID_LEN 36

/* ---- Workload model (tunable constants, all in one place) -------------- */

#define WL_TAU 6.283185307179586
/* Arrivals per completion: the mean sits below 1 so that the queue drains
 * between the wave's crests and the bursts instead of random-walking away. */
#define WL_ARRIVAL_BASE 0.92
#define WL_ARRIVAL_WAVE 0.5
#define WL_WAVE_PERIOD_S 30.0 /* virtual s: builds and drains within a test */
#define WL_BURST_GAP_S 60.0   /* mean virtual time between bursts */
#define WL_BURST_MIN_S 1.0
#define WL_BURST_MAX_S 5.0
#define WL_BURST_LEVEL_MIN 0.5
#define WL_BURST_LEVEL_MAX 2.0
/* --burst: arrivals per completion between the bursts, so that a backlog
 * drains at half the instances' capacity. */
#define WL_PATTERN_REST 0.5
#define WL_PATTERN_LOAD_MAX 1000.0
#define WL_QUEUE_MAX_S 3600.0 /* the queue never holds more than an hour */
#define WL_SERVICE_S 0.1      /* typical download+model+upload, for in_flight */
#define WL_DRAIN_MAX_S 2.0    /* after generation stops the queue empties */
#define WL_DEQUEUE_MEDIAN_US 400.0
#define WL_DOWNLOAD_MEDIAN_US 15000.0
#define WL_UPLOAD_MEDIAN_US 8000.0
#define WL_MODEL_MEDIAN_US 50000.0
#define WL_MODEL_TAIL_P 0.01 /* share of model times from the Pareto tail */
#define WL_MODEL_TAIL_MIN_US 1e6
#define WL_MODEL_TAIL_ALPHA 1.1
#define WL_MODEL_MAX_US 600e6 /* rare values up to minutes */
#define WL_STAGE_MAX_US 600e6
#define WL_NOTIFY_MEDIAN_US 1500.0
#define WL_NOTIFY_NONE_P 0.05 /* share with no notification configured */

/* ---- sim_rng.c ---------------------------------------------------------- */

/* The streams drawn from one seed. */
enum { SIM_RNG_RECORDS = 1, SIM_RNG_BOOT = 2, SIM_RNG_FRAMING = 3 };

struct sim_rng {
  uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_unit(struct sim_rng *r); /* [0, 1) */
double sim_rng_open(struct sim_rng *r); /* (0, 1): safe under log() and pow() */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n); /* [0, n), n small */
double sim_rng_normal(struct sim_rng *r);
double sim_rng_lognormal(struct sim_rng *r, double median, double sigma);
/* 16 random bytes that look like a version 4 UUID. */
void sim_rng_uuid(struct sim_rng *r, uint8_t id[16]);

/* ---- sim_text.c --------------------------------------------------------- */

/* Appends a string literal. */
#define SIM_TEXT_LIT(b, lit) sm_buf_add((b), (lit), sizeof(lit) - 1)

void sim_text_u64(sm_buf_t *b, uint64_t v);
void sim_text_i64(sm_buf_t *b, int64_t v);
void sim_text_hex(sm_buf_t *b, uint64_t v); /* lower case, no leading 0s */
/* A JSON string's body: quote, backslash and control characters escaped;
 * other bytes (UTF-8 included) pass through, so s must be valid UTF-8. */
void sim_text_escaped(sm_buf_t *b, const char *s);
void sim_text_jstr(sm_buf_t *b, const char *s); /* the same, quoted */
/* The 8-4-4-4-12 form of a UUID. */
void sim_text_uuid(const uint8_t id[16], char out[SIM_UUID_LEN + 1]);
/* A non-negative decimal integer that fits in 64 bits: no sign, no space. */
bool sim_text_digits(const char *p, size_t len, uint64_t *out);
/* Whether p[0..len) is word, exactly. */
bool sim_text_is(const char *p, size_t len, const char *word);

/* ---- sim.c --------------------------------------------------------------- */

/* A message on stderr, after the program's name. */
void sim_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- sim_record.c ------------------------------------------------------- */

enum sim_outcome {
  SIM_OUT_SUCCESS,
  SIM_OUT_MODEL_ERROR,
  SIM_OUT_DOWNLOAD_FAILED,
  SIM_OUT_UPLOAD_FAILED,
  SIM_OUT_EXPIRED,
  SIM_OUT_TIMEOUT,
  SIM_OUT_INTERNAL_ERROR,
  SIM_OUT_COUNT
};

/* The outcomes' names in the API (and in --mix). */
extern const char *const sim_record_outcome_names[SIM_OUT_COUNT];

/* Compact on purpose: the ring holds --ring of these, and the JSON form is
 * produced by one formatter for both the ledger and the pages. */
struct sim_record {
  uint64_t seq;
  int64_t received_ms;
  int64_t completed_ms;
  uint64_t backlog_us;
  uint64_t download_us;
  uint64_t model_us;
  uint64_t upload_us;
  uint64_t total_ms;
  uint8_t id[16];
  uint16_t status_code;
  uint8_t outcome;
  uint8_t notification;
  uint8_t error_idx;
  bool download_ok;
  bool upload_ok;
};

struct sim_opts;

/* Fills r (zeroed but for its seq) as a request that completed at now_ms
 * after waiting wait_s in the queue, drawing from g (the records' stream). */
void sim_record_fill(struct sim_record *r, const struct sim_opts *o,
                     struct sim_rng *g, double wait_s, int64_t now_ms);
/* The record's members, without braces, in runtime-api.md's order. */
void sim_record_put(sm_buf_t *b, const struct sim_record *r);

/* ---- sim_opts.c --------------------------------------------------------- */

enum sim_chunked { SIM_CHUNKED_NEVER, SIM_CHUNKED_ALWAYS, SIM_CHUNKED_RANDOM };

struct sim_opts {
  const char *socket_path;
  const char *ledger_path;
  const char *pidfile;
  const char *endpoint;
  const char *variant;
  const char *instance_id;
  uint64_t seed;
  uint64_t total;
  uint64_t ring;
  uint64_t instance_count;
  uint64_t max_concurrency;
  uint64_t start_delay_ms;
  double rate;
  double duration_s;
  double restart_every_s;
  double notify_fail;
  /* --burst AT:SECONDS:LOAD[:EVERY], in virtual seconds of generation. */
  bool burst;
  double burst_at_s;
  double burst_len_s;
  double burst_load;
  double burst_every_s;      /* 0: once */
  double mix[SIM_OUT_COUNT]; /* normalised weights */
  enum sim_chunked chunked;
  bool quiet;
};

/* Returns -1 to run, otherwise the exit status (0 after --help, 2 on a bad
 * command line, with a message on stderr). */
int sim_opts_parse(int argc, char **argv, struct sim_opts *o);

#endif /* SIM_H */
