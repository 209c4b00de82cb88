/* SPDX-License-Identifier: MIT */
/*
 * sim: what the parts of sagemaker-runtime-sim share. The simulator is a
 * stand-in for the Amazon SageMaker async-inference runtime's stats API,
 * version 1 (shared/reference/runtime-api.md is the contract), and the
 * integration tests' ground truth and the benchmarks' load (see
 * sim_main.c).
 *
 * The parts, each a file whose name prefixes what it exports:
 *   sim_main.c      main, life cycle and event loop
 *   sim.c           the messages and clocks every part uses
 *   sim_opts.c      the command line
 *   sim_rng.c       the seeded PRNG streams and UUIDs
 *   sim_text.c      numbers, JSON strings and tokens
 *   sim_record.c    one request record: its contents and its JSON form
 *   sim_ring.c      the records kept for /v1/requests
 *   sim_workload.c  pacing, and the endpoint's queue in virtual time
 *   sim_ledger.c    the JSON-lines ledger
 *   sim_http.c      HTTP/1.1 without I/O: request heads, response framing
 *   sim_api.c       the API: routing, the snapshot and the requests page
 *   sim_server.c    the listening socket and the connections
 *
 * Build (make does), in this folder: gcc -std=gnu11 -O2 -Wall -Wextra \
 *   -Werror -I../../plugin/common -o sagemaker-runtime-sim *.c \
 *   ../../plugin/common/sm_buf.c -lm
 */
#ifndef SIM_H
#define SIM_H 1

#include "sm_buf.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIM_NAME "sagemaker-runtime-sim"
#define SIM_UUID_LEN 36

struct sim;      /* the whole simulator's state: at the end */
struct sim_opts; /* the command line: sim_opts.c */

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

/* ---- sim_ring.c --------------------------------------------------------- */

struct sim_ring {
  struct sim_record *recs;
  uint64_t cap;
  uint64_t head; /* slot of first_seq */
  uint64_t count;
  /* The oldest seq held; next_seq while the ring is empty, which reads as
   * "nothing held": a client at after = next_seq - 1 has lost nothing, and
   * first_seq - 1 never exceeds what was handed out. */
  uint64_t first_seq;
  uint64_t next_seq;
};

/* Room for cap records; -1 (with a message) when out of memory. */
int sim_ring_init(struct sim_ring *r, uint64_t cap);
void sim_ring_free(struct sim_ring *r);
/* Empty, seqs from 1: a boot. */
void sim_ring_reset(struct sim_ring *r);
/* The next record, zeroed but for its seq. A full ring drops its oldest to
 * make room: *evicted is that record's seq, otherwise 0. */
struct sim_record *sim_ring_push(struct sim_ring *r, uint64_t *evicted);
/* The record seq, which must be held (first_seq..next_seq - 1). */
const struct sim_record *sim_ring_at(const struct sim_ring *r, uint64_t seq);

/* ---- sim_workload.c ----------------------------------------------------- */

struct sim_workload {
  /* Pacing: records due = floor(rate * active time) - forgiven. */
  uint64_t last_turn_us;
  uint64_t active_us; /* generating time: start delays excluded */
  uint64_t gen_count;
  uint64_t forgiven; /* skipped after stalls longer than the catch-up cap */
  bool stopped;      /* --duration or --total reached, or --rate 0 */

  /* Queue model: the endpoint's waiting requests, in virtual time. */
  double queue;
  double burst_left_s;
  double burst_level;
  uint64_t stop_us;
  double stop_backlog;
  double drain_rate;
};

/* The queue as a snapshot reports it. */
struct sim_workload_view {
  uint64_t backlog_size;
  uint64_t oldest_age_ms;
  uint64_t in_flight;
};

void sim_workload_start(struct sim *s, uint64_t now_us);
/* Once per loop turn: generates the records due, into the ring and the
 * ledger, and stops generating at --duration or --total. */
void sim_workload_turn(struct sim *s, uint64_t now_us);
void sim_workload_view(const struct sim *s, uint64_t now_us,
                       struct sim_workload_view *v);

/* ---- sim_ledger.c ------------------------------------------------------- */

struct sim_ledger {
  int fd; /* -1: no ledger */
  uint64_t flush_us;
  sm_buf_t buf; /* whole lines not yet written */
  /* Records leave the ring one by one; the ledger gets one line per range. */
  bool evict_pending;
  uint64_t evict_from;
  uint64_t evict_to;
};

/* Opens --ledger, if any; -1 (with a message) when it cannot. */
int sim_ledger_open(struct sim *s, uint64_t now_us);
/* Writes what is pending (the evictions noted, and an exit line when clean)
 * and closes. */
void sim_ledger_close(struct sim *s, bool clean);
/* Once per loop turn: writes the pending lines when they are due. */
void sim_ledger_tick(struct sim *s, uint64_t now_us);
/* ms, or less when pending lines are due sooner. */
int sim_ledger_timeout_ms(const struct sim *s, uint64_t now_us, int ms);
void sim_ledger_boot(struct sim *s);
void sim_ledger_request(struct sim *s, const struct sim_record *r);
/* Notes records from..to as evicted; sim_ledger_evict_flush writes the
 * range noted since the last flush as one line. */
void sim_ledger_evict(struct sim *s, uint64_t from, uint64_t to);
void sim_ledger_evict_flush(struct sim *s);
/* The document in s->body, as served: its members after the event name. */
void sim_ledger_served(struct sim *s, const char *event);
/* A page served: what was asked, what the ring held, what went out. */
void sim_ledger_page(struct sim *s, uint64_t after, uint64_t limit,
                     uint64_t from, uint64_t to, uint64_t count);

/* ---- sim_server.c ------------------------------------------------------- */

#define SIM_HEADER_MAX 8192 /* request line + headers, CRLFCRLF included */
#define SIM_CONN_MAX 64     /* more clients wait in the listen backlog */

struct sim_conn {
  int fd;
  size_t in_len;
  sm_buf_t out;
  size_t out_off;   /* sent part of out */
  bool http10;      /* no chunked framing for HTTP/1.0 clients */
  bool close_after; /* answer nothing more; close once out is sent */
  bool peer_eof;
  uint64_t linger_until_us; /* nonzero: all sent, draining input to close */
  bool broken;              /* close now, unsent data lost */
  uint64_t last_active_us;
  char in[SIM_HEADER_MAX];
};

struct sim_server {
  int listen_fd;
  bool sock_owned; /* the socket file is ours to remove: */
  dev_t sock_dev;  /* the one we bound */
  ino_t sock_ino;
  struct sim_conn *conns[SIM_CONN_MAX];
  size_t nconns;
};

/* The descriptors of one ppoll(2): the listening socket while there is
 * room for a connection, and every connection. */
struct sim_server_poll {
  struct pollfd fds[1 + SIM_CONN_MAX];
  size_t slot[1 + SIM_CONN_MAX]; /* index in conns; SIM_CONN_MAX: listener */
  nfds_t n;
};

/* Listens on --socket; -1 (with a message) when it cannot. */
int sim_server_listen(struct sim *s);
/* Closes every connection and the listener, and removes the socket file. */
void sim_server_close(struct sim *s);
/* Marks the connections with nothing pending to be closed: a restart. */
void sim_server_drop_idle(struct sim *s);
/* A loop turn: the poll set, then what came in (new connections, input),
 * then the answers, the output and the closes. */
void sim_server_poll_set(const struct sim *s, struct sim_server_poll *p);
void sim_server_poll_done(struct sim *s, const struct sim_server_poll *p,
                          uint64_t now_us);
void sim_server_turn(struct sim *s, uint64_t now_us);

/* ---- sim_http.c --------------------------------------------------------- */

struct sim_http_req {
  const char *method;
  size_t method_len;
  const char *path;
  size_t path_len;
  const char *query; /* after '?', empty when there is none */
  size_t query_len;
  bool http10;
  bool close; /* the client asked to close, or HTTP/1.0 without keep-alive */
};

/* Parses a request head: p[0..len) ends with the CRLF of its last line.
 * Returns NULL, or why it is malformed. q points into p. */
const char *sim_http_parse(const char *p, size_t len, struct sim_http_req *q);
/* Frames s->body as a response on c. Returns true when the response is
 * queued; false when it could not be (the connection is then dropped). */
bool sim_http_respond(struct sim *s, struct sim_conn *c, int status,
                      const char *extra_headers);
/* Responds with {"error":msg}. */
void sim_http_error(struct sim *s, struct sim_conn *c, int status,
                    const char *msg, const char *extra_headers);

/* ---- sim_api.c ---------------------------------------------------------- */

/* Answers the request whose head is req[0..len) (see sim_http_parse). */
void sim_api_request(struct sim *s, struct sim_conn *c, const char *req,
                     size_t len);

/* ---- sim.c: the simulator ----------------------------------------------- */

struct sim {
  const struct sim_opts *o;
  struct sim_rng rec_rng;   /* records' contents and the queue model */
  struct sim_rng boot_rng;  /* boot IDs */
  struct sim_rng frame_rng; /* chunked or not, chunk sizes */
  char boot_id[SIM_UUID_LEN + 1];
  bool booted;
  uint64_t boot_us;
  struct sim_ring ring;
  struct sim_workload wl;
  struct sim_ledger ledger;
  struct sim_server srv;
  sm_buf_t body; /* the document being answered */
  bool pid_written;
  bool fatal; /* stop now: the ledger could not be written, or ppoll failed */
  uint64_t n_pages;
  uint64_t n_snapshots;
  uint64_t n_errors;
};

/* A message on stderr, after the program's name; sim_log only without
 * --quiet (progress). */
void sim_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sim_log(const struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t sim_mono_us(void);
int64_t sim_wall_ms(void);
/* Whether the runtime is still starting (--start-delay-ms after a boot). */
bool sim_in_start_delay(const struct sim *s, uint64_t now_us);

#endif /* SIM_H */
