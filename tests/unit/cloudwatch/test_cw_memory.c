/* SPDX-License-Identifier: MIT */
/*
 * What the queues hold, measured two ways: their own account
 * (cw_queue_memory) and the heap's (mallinfo2: bytes in use, mapped
 * blocks included), from before the queue is made to when it is full.
 *
 *   - the datum queue full of statistic sets of generic series (10,000
 *     series, ten periods each, StorageResolution 1): at most
 *     CW_QUEUE_DATUM_BYTES a datum, merging and sealed; the series go with
 *     their last datum (leaks are valgrind's to find);
 *   - the data-log queue at its bounds: what it holds stays within its
 *     byte bound plus a header per event, or MaxQueuedLogEvents events of
 *     their size plus a header each;
 *   - a queue that empties gives its memory back, and the ring of ready
 *     datums keeps its order as it grows around its end;
 *   - flushes begin FlushInterval apart however long each takes, so that
 *     the datums merging between two seals are one interval's worth (a
 *     flush paced to 20 requests a second, counted from its end, let up to
 *     half as many again pile up: 8 MiB more RSS under the load);
 *   - sealing and sending free no block malloc had mapped on its own:
 *     with glibc, that raises the mmap threshold for the whole process
 *     (up to 32 MiB), after which the arenas of collectd's threads keep
 *     what large blocks leave behind (the seal freed its records, and
 *     collectd's RSS under the benchmark's load went from 56 to 74 MiB).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_encode.h"
#include "cw_logs.h"
#include "cw_pipeline.h"
#include "cw_queue.h"
#include "tap.h"

#define SERIES 10000
#define PERIODS 10
static size_t heap(void) {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/* Blocks malloc mapped on its own (glibc: 128 KiB and more while its
 * threshold is where it starts). Freeing one makes one fewer; realloc
 * moves and resizes one in place (mremap), which leaves the count, and the
 * threshold, as they were. Valgrind's malloc says 0. */
static size_t mapped_blocks(void) { return mallinfo2().hblks; }

/* The value of series i at period p, as write_cloudwatch maps a gauge of
 * collectd's bench-like plugin: plugin.type.type_instance, Host and
 * PluginInstance. */
static void datum(size_t i, size_t p, char *name, size_t size, char *inst,
                  size_t isize, cw_dimension_t *dims, cw_datum_t *d) {
  snprintf(name, size, "load.gauge.series%05zu", i);
  snprintf(inst, isize, "%zu", i % 16);
  dims[0] = (cw_dimension_t){"Host", "ip-10-0-1-23.ec2.internal"};
  dims[1] = (cw_dimension_t){"PluginInstance", inst};
  cw_datum_init(d);
  d->metric_name = name;
  d->dims = dims;
  d->num_dims = 2;
  d->timestamp = 1764187200.0 + (double)p + 0.25;
  d->unit = CW_UNIT_NONE;
  d->storage_resolution = CW_RESOLUTION_HIGH;
  d->kind = CW_KIND_STATS;
  d->stats = (cw_statset_t){1, (double)i, (double)i, (double)i};
}

static void test_datums(void) {
  size_t before = heap(), merging_mem, full_mem, heap_full, n = 0;
  cw_queue_t *q = cw_queue_create(SERIES * PERIODS);
  int dropped = 0;

  /* Two values a period, as collectd dispatches more often than the
   * resolution; a flush after every period seals what merged. */
  for (size_t p = 0; p < PERIODS; p++) {
    for (size_t v = 0; v < 2; v++)
      for (size_t i = 0; i < SERIES; i++) {
        char name[64], inst[16];
        cw_dimension_t dims[2];
        cw_datum_t d;
        datum(i, p, name, sizeof(name), inst, sizeof(inst), dims, &d);
        if (cw_queue_add(q, &d) == CW_QUEUE_FULL)
          dropped = 1;
      }
    if (p == PERIODS - 1) {
      merging_mem = cw_queue_memory(q);
      T_NOTE("with one period merging: %zu bytes in the queue's account",
             merging_mem);
    } else {
      n += cw_queue_seal(q);
    }
  }
  T_EQ_INT(cw_queue_size(q), SERIES * PERIODS, "100,000 datums held");
  T_OK(!dropped && cw_queue_dropped(q) == 0, "none dropped");
  heap_full = heap() - before;
  n += cw_queue_seal(q);
  T_EQ_INT(n, SERIES * PERIODS, "each datum sealed once");
  full_mem = cw_queue_memory(q);
  T_NOTE("full: %zu bytes (%.1f a datum) by its account, %zu (%.1f) on the "
         "heap before the last seal",
         full_mem, (double)full_mem / (SERIES * PERIODS), heap_full,
         (double)heap_full / (SERIES * PERIODS));
  T_OK(full_mem <= (size_t)CW_QUEUE_DATUM_BYTES * SERIES * PERIODS,
       "its account: at most %d bytes a datum (%.1f)", CW_QUEUE_DATUM_BYTES,
       (double)full_mem / (SERIES * PERIODS));
  T_OK(heap_full <= (size_t)CW_QUEUE_DATUM_BYTES * SERIES * PERIODS,
       "the heap: at most %d bytes a datum, a period still merging (%.1f)",
       CW_QUEUE_DATUM_BYTES, (double)heap_full / (SERIES * PERIODS));
  T_OK(heap() - before <= (size_t)CW_QUEUE_DATUM_BYTES * SERIES * PERIODS,
       "the heap: at most %d bytes a datum, all sealed (%.1f)",
       CW_QUEUE_DATUM_BYTES, (double)(heap() - before) / (SERIES * PERIODS));
  {
    /* Every datum there, exact, named in full. */
    int ok = 1;
    for (size_t k = 0; k < cw_queue_ready_num(q); k++) {
      const cw_datum_t *d = cw_queue_ready_get(q, k);
      size_t i = k % SERIES;
      char name[64];
      snprintf(name, sizeof(name), "load.gauge.series%05zu", i);
      if (strcmp(d->metric_name, name) != 0 || d->num_dims != 2 ||
          strcmp(d->dims[0].value, "ip-10-0-1-23.ec2.internal") != 0 ||
          d->stats.sample_count != 2 || d->stats.sum != 2.0 * (double)i ||
          d->timestamp != 1764187200.0 + (double)(k / SERIES))
        ok = 0;
    }
    T_OK(ok, "each datum: its series' name and dimensions, its period, "
             "both values merged");
  }
  cw_queue_claim(q, cw_queue_ready_num(q));
  cw_queue_release(q, 1);
  T_OK(cw_queue_memory(q) < full_mem / 20,
       "sent: the series go with their datums (%zu bytes left: the tables)",
       cw_queue_memory(q));
  T_OK(heap() - before < full_mem / 20,
       "sent: the heap has it back too (%zu bytes left)", heap() - before);

  /* Once more, as a flush after a burst: full, sealed, sent. */
  for (size_t p = 0; p < PERIODS; p++)
    for (size_t i = 0; i < SERIES; i++) {
      char name[64], inst[16];
      cw_dimension_t dims[2];
      cw_datum_t d;
      datum(i, p + PERIODS, name, sizeof(name), inst, sizeof(inst), dims, &d);
      cw_queue_add(q, &d);
    }
  {
    size_t m0 = mapped_blocks(), m1, m2;
    cw_queue_seal(q);
    m1 = mapped_blocks();
    T_EQ_INT(cw_queue_ready_num(q), SERIES * PERIODS, "full again, sealed");
    cw_queue_claim(q, cw_queue_ready_num(q));
    cw_queue_release(q, 1);
    m2 = mapped_blocks();
    T_OK(m1 >= m0 && m2 >= m1,
         "sealing and sending shrink the mapped blocks, free none (%zu, "
         "%zu, %zu)",
         m0, m1, m2);
  }
  cw_queue_destroy(q);
}

/* The ring of ready datums grows while it wraps around its end, and keeps
 * their order. */
static void test_ring(void) {
  cw_queue_t *q = cw_queue_create(1000);
  size_t want[3] = {150, 0, 0}, per[3] = {200, 200, 300}, k = 0;
  int ok = 1;

  for (size_t p = 0; p < 3; p++) {
    for (size_t i = 0; i < per[p]; i++) {
      char name[64], inst[16];
      cw_dimension_t dims[2];
      cw_datum_t d;
      datum(i, p, name, sizeof(name), inst, sizeof(inst), dims, &d);
      cw_queue_add(q, &d);
    }
    cw_queue_seal(q);
    if (p == 0) { /* the ring's front moves on */
      cw_queue_claim(q, 150);
      cw_queue_release(q, 1);
    }
  }
  T_EQ_INT(cw_queue_ready_num(q), 50 + 200 + 300, "550 ready");
  for (size_t p = 0; p < 3; p++)
    for (size_t i = want[p]; i < per[p]; i++, k++) {
      const cw_datum_t *d = cw_queue_ready_get(q, k);
      char name[64];
      snprintf(name, sizeof(name), "load.gauge.series%05zu", i);
      if (d == NULL || strcmp(d->metric_name, name) != 0 ||
          d->timestamp != 1764187200.0 + (double)p)
        ok = 0;
    }
  T_OK(ok && k == 550, "in arrival order, across the ring's growth");
  cw_queue_claim(q, 550);
  cw_queue_release(q, 1);
  T_OK(cw_queue_size(q) == 0 && cw_queue_memory(q) < 64 * 1024,
       "emptied: %zu bytes left", cw_queue_memory(q));
  cw_queue_destroy(q);
}

static void test_log_events(void) {
  size_t before = heap(), max_events = 20000, msg_len = 2000;
  cw_logs_queue_t *q = cw_logs_queue_create(max_events);
  char *msg = malloc(msg_len + 1);
  size_t held;

  memset(msg, 'x', msg_len);
  msg[msg_len] = 0;
  for (size_t i = 0; i < 3 * max_events; i++)
    cw_logs_queue_add(q, "/aws/sagemaker/Endpoints/ep",
                      "AllTraffic/i-0123456789abcdef0/data-log",
                      1764187200000 + (int64_t)i, msg, 1764187200000);
  held = heap() - before;
  T_OK(cw_logs_queue_size(q) <= max_events,
       "the data-log queue holds at most MaxQueuedLogEvents (%zu)",
       cw_logs_queue_size(q));
  T_NOTE("%zu events of %zu bytes: %zu bytes on the heap, %.1f an event "
         "beyond its message",
         cw_logs_queue_size(q), msg_len, held,
         (double)held / (double)cw_logs_queue_size(q) - (double)msg_len);
  T_OK(held <= CW_LOGS_QUEUE_DEFAULT_MAX_BYTES +
                   cw_logs_queue_size(q) * CW_LOGS_EVENT_HEADER_MAX,
       "and its byte bound plus at most %d bytes an event",
       CW_LOGS_EVENT_HEADER_MAX);
  cw_logs_queue_destroy(q);

  /* Short lines, as the data log's: MaxQueuedLogEvents is the bound. */
  msg_len = 300;
  msg[msg_len] = 0;
  before = heap();
  q = cw_logs_queue_create(max_events);
  for (size_t i = 0; i < 2 * max_events; i++)
    cw_logs_queue_add(q, "/aws/sagemaker/Endpoints/ep",
                      "AllTraffic/i-0123456789abcdef0/data-log",
                      1764187200000 + (int64_t)i, msg, 1764187200000);
  held = heap() - before;
  T_EQ_INT(cw_logs_queue_size(q), max_events,
           "short lines: as many as MaxQueuedLogEvents");
  T_OK(held <= max_events * (msg_len + CW_LOGS_EVENT_HEADER_MAX),
       "short lines: at most %d bytes an event beyond its message (%.1f)",
       CW_LOGS_EVENT_HEADER_MAX, (double)held / (double)max_events - 300.0);
  cw_logs_queue_destroy(q);
  free(msg);
}

/* A sender's gzip buffer, kept from one request to the next. */
static void test_gzip(void) {
  size_t len = 1000000, cap = 0, out_len = 0;
  char *body = malloc(len);
  unsigned char *buf = NULL;
  int ok = 1;

  for (size_t i = 0; i < len; i++)
    body[i] = (char)('a' + (i * 7 + i / 13) % 26);
  for (int r = 0; r < 5; r++)
    if (cw_encode_gzip_into(body, len - (size_t)r * 100000, 6, &buf, &cap,
                            &out_len) != CW_ENCODE_GZIP_OK ||
        out_len == 0 || out_len > cap)
      ok = 0;
  T_OK(ok, "five bodies compressed into one buffer (%zu bytes)", cap);
  free(buf);
  free(body);
}

/* The sender thread's schedule: each flush takes FLUSH_MS (a
 * before_flush that waits), flushes are INTERVAL_MS apart. */
#define INTERVAL_MS 400
#define FLUSH_MS 250
#define FLUSHES 5

typedef struct {
  pthread_mutex_t *lock;
  struct timespec start[FLUSHES];
  int n;
} sched_t;

static double ms_between(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) * 1e3 +
         (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void slow_flush(void *ud) {
  sched_t *s = ud;
  struct timespec nap = {0, FLUSH_MS * 1000000L};
  pthread_mutex_lock(s->lock);
  if (s->n < FLUSHES)
    clock_gettime(CLOCK_MONOTONIC, &s->start[s->n++]);
  pthread_mutex_unlock(s->lock);
  nanosleep(&nap, NULL);
}

static time_t wall(void *ud) {
  (void)ud;
  return time(NULL);
}

static double half(void *ud) {
  (void)ud;
  return 0.5;
}

static void test_schedule(void) {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  sched_t s = {.lock = &lock, .n = 0};
  cw_pipeline_config_t pc = {.creds = (aws_creds_provider_t *)1, /* unused */
                             .lock = &lock,
                             .flush_interval_ms = INTERVAL_MS,
                             .now = wall,
                             .random01 = half,
                             .before_flush = slow_flush,
                             .ud = &s};
  char err[256];
  cw_pipeline_t *p = cw_pipeline_create(&pc, err, sizeof(err));
  struct timespec wait = {0, 100 * 1000000L}, t0;
  double longest = 0, shortest = 1e9;
  int waited = 0;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_mutex_lock(&lock);
  T_OK(p != NULL && cw_pipeline_start(p) == 0, "a sender thread");
  pthread_mutex_unlock(&lock);
  while (waited++ < 60) { /* 6 s at most */
    int n;
    nanosleep(&wait, NULL);
    pthread_mutex_lock(&lock);
    n = s.n;
    pthread_mutex_unlock(&lock);
    if (n == FLUSHES)
      break;
  }
  cw_pipeline_destroy(p);
  T_EQ_INT(s.n, FLUSHES, "five flushes");
  for (int i = 1; i < s.n; i++) {
    double gap = ms_between(&s.start[i - 1], &s.start[i]);
    if (gap > longest)
      longest = gap;
    if (gap < shortest)
      shortest = gap;
  }
  /* The first, a quarter interval after the first interval: after
   * collectd's reads of that interval, not in step with them. */
  T_OK(s.n > 0 && ms_between(&t0, &s.start[0]) >= INTERVAL_MS * 5 / 4 - 20,
       "the first flush begins %d ms after the start, not %d (%.0f ms)",
       INTERVAL_MS * 5 / 4, INTERVAL_MS,
       s.n > 0 ? ms_between(&t0, &s.start[0]) : 0.0);
  /* Counted from each flush's end, they would be 650 ms apart. */
  T_OK(s.n == FLUSHES && longest < INTERVAL_MS + FLUSH_MS / 2,
       "flushes of %d ms begin %d ms apart, not %d ms after the last ended "
       "(the longest gap: %.0f ms)",
       FLUSH_MS, INTERVAL_MS, INTERVAL_MS, longest);
  /* and not sooner: a flush's length is not taken off the next wait twice. */
  T_OK(s.n == FLUSHES && shortest >= INTERVAL_MS - 20,
       "no flush begins less than %d ms after the last began (the shortest "
       "gap: %.0f ms)",
       INTERVAL_MS, shortest);
}

int main(void) {
  test_datums();
  test_ring();
  test_log_events();
  test_gzip();
  test_schedule();
  return t_done();
}
