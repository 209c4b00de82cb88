/* SPDX-License-Identifier: MIT */
/*
 * bench_read: the read path of sagemaker_async without collectd, against
 * the runtime simulator, beside a bare yajl parse of the same bytes,
 * streamed the same way and from memory.
 *
 * The simulator must hold seqs 1..RECORDS of one boot (start it with
 * --total RECORDS and a ring at least that large, and wait until it has
 * generated them). Each round then measures, in an order that alternates
 * between rounds so that drifts of the machine's speed fall on both:
 *
 *   streamed  what the plugin does on a read: GET /v1/snapshot, then
 *             GET /v1/requests pages of PAGE records through
 *             rt_client (libcurl over the Unix socket) into
 *             rt_parser with rt_collect's record callback (staging,
 *             aggregation), each page committed, until caught up;
 *   parse     the same parser and callback fed the same page bodies from
 *             memory, in 16 KiB pieces as libcurl hands them over;
 *   plain     the same, without the percentile sketches (the plugin's
 *             Percentiles false);
 *   bare      yajl with no callbacks over the same bytes, same pieces:
 *             the floor of any yajl-based parser;
 *   noop      yajl with a callback for every token that returns at once,
 *             same bytes, same pieces: the floor of any parser built on
 *             yajl's callbacks (their calls alone);
 *   bare streamed  yajl with no callbacks fed by libcurl from the same
 *             GETs over the same Unix socket (rt_client's options, one
 *             handle reused): the floor of the streamed read, with
 *             libcurl's cost on both sides of the ratio.
 *
 * One line per round on stdout:
 *   round N records R bytes B streamed_wall S streamed_cpu S parse_cpu S
 *   plain_cpu S bare_cpu S bare_streamed_wall S bare_streamed_cpu S
 *   noop_cpu S
 * (seconds; CPU of this process, which is single-threaded).
 *
 * Usage: bench_read SOCKET RECORDS PAGE ROUNDS [PASS]
 *
 * With PASS (streamed, bare_streamed, parse, plain, bare or noop), only that
 * pass runs, ROUNDS times, and nothing is printed: for a profiler
 * (perf record -g bench_read ... streamed).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

#include "rt_client.h"
#include "rt_collect.h"
#include "rt_parser.h"
#include "sm_sketch.h"

#define PIECE 16384 /* CURL_MAX_WRITE_SIZE: what a write callback gets */
#define TIMEOUT_MS 60000L
#define STEPS 6 /* passes per round */

typedef struct {
  char *data;
  size_t len, cap;
} buf_t;

typedef struct {
  buf_t *pages;
  size_t num;
  size_t bytes;
} corpus_t;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "bench_read: %s\n", what);
  exit(1);
}

/* The plugin's state for one runtime, with a sketch per timing as
 * deployed (Percentiles true) or without: made once and kept from read to
 * read, as the plugin keeps it (each read starts an interval). */
static rt_collect_t *collects[2];

static rt_collect_t *collect_for(long page, bool sketches) {
  rt_collect_t **col = &collects[sketches ? 1 : 0];

  if (*col == NULL) {
    *col = rt_collect_create((size_t)page);
    if (*col == NULL || (sketches && rt_collect_enable_sketches(
                                         *col, SM_SKETCH_DEFAULT_ACCURACY,
                                         sm_sketch_buckets_for(
                                             SM_SKETCH_DEFAULT_ACCURACY)) != 0))
      die("out of memory");
  }
  rt_collect_begin_interval(*col);
  return *col;
}

static size_t raw_write(char *data, size_t size, size_t nmemb, void *ud) {
  buf_t *b = ud;
  size_t n = size * nmemb;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < n)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
      return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return n;
}

/* The page bodies the streamed pass reads, fetched once, as they are. */
static void fetch_corpus(const char *sock, long records, long page,
                         corpus_t *c) {
  CURL *h = curl_easy_init();
  if (h == NULL)
    die("curl_easy_init failed");
  c->num = (size_t)((records + page - 1) / page);
  c->pages = calloc(c->num, sizeof(*c->pages));
  if (c->pages == NULL)
    die("out of memory");
  for (size_t i = 0; i < c->num; i++) {
    char url[128];
    long code = 0;
    snprintf(url, sizeof(url),
             "http://localhost/v1/requests?after=%ld&limit=%ld", (long)i * page,
             page);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, raw_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->pages[i]);
    if (curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
        code != 200)
      die("fetching a page from the simulator failed");
    c->bytes += c->pages[i].len;
  }
  curl_easy_cleanup(h);
}

/* The plugin's read, from the snapshot to caught up, cursor at 0. Returns
 * the records aggregated. */
static uint64_t streamed(rt_client_t *cl, long page) {
  rt_limits_t lim = {.max_records = (size_t)page};
  rt_collect_t *col = collect_for(page, true);
  rt_parser_t *p;
  rt_client_get_result_t res;
  rt_snapshot_t snap;
  bool more = true;

  p = rt_parser_create(RT_DOC_SNAPSHOT, NULL, NULL, NULL);
  rt_client_get(cl, "/v1/snapshot", p, TIMEOUT_MS, &res);
  if (res.status != RT_CLIENT_GET_OK)
    die(res.message);
  snap = *rt_parser_snapshot(p);
  rt_parser_destroy(p);
  rt_collect_snapshot(col, &snap);
  /* Read the boot from its start, as after a restart. */
  rt_collect_set_cursor(col, snap.boot_id, 0);
  while (more) {
    char path[96];
    p = rt_parser_create(RT_DOC_REQUESTS, rt_collect_record_cb, col, &lim);
    snprintf(path, sizeof(path), "/v1/requests?after=%" PRId64 "&limit=%ld",
             rt_collect_cursor(col), page);
    rt_collect_page_begin(col);
    rt_client_get(cl, path, p, TIMEOUT_MS, &res);
    if (res.status != RT_CLIENT_GET_OK)
      die(res.message);
    if (rt_collect_page_commit(col, rt_parser_page(p), &more) !=
        RT_COLLECT_COMMITTED)
      die(rt_collect_page_error(col));
    rt_parser_destroy(p);
  }
  return rt_collect_agg(col)->records;
}

/* The same parser and callback over the stored bodies. */
static uint64_t parse_memory(const corpus_t *c, long page, bool sketches) {
  rt_limits_t lim = {.max_records = (size_t)page};
  rt_collect_t *col = collect_for(page, sketches);
  rt_snapshot_t snap;
  bool more;

  memset(&snap, 0, sizeof(snap));
  for (size_t i = 0; i < c->num; i++) {
    rt_parser_t *p =
        rt_parser_create(RT_DOC_REQUESTS, rt_collect_record_cb, col, &lim);
    if (i == 0) {
      /* The cursor at 0 of the corpus' boot, known from its first page. */
      const char *b = strstr(c->pages[0].data, "\"boot_id\":\"");
      if (b == NULL)
        die("no boot_id in the first page");
      snprintf(snap.boot_id, sizeof(snap.boot_id), "%.36s", b + 11);
      snap.protocol = 1;
      snap.instance_count = 1;
      rt_collect_snapshot(col, &snap);
      rt_collect_set_cursor(col, snap.boot_id, 0);
    }
    rt_collect_page_begin(col);
    for (size_t off = 0; off < c->pages[i].len; off += PIECE) {
      size_t len =
          c->pages[i].len - off < PIECE ? c->pages[i].len - off : PIECE;
      if (rt_parser_feed(p, c->pages[i].data + off, len) != 0)
        die(rt_parser_error(p));
    }
    if (rt_parser_finish(p) != 0)
      die(rt_parser_error(p));
    if (rt_collect_page_commit(col, rt_parser_page(p), &more) !=
        RT_COLLECT_COMMITTED)
      die(rt_collect_page_error(col));
    rt_parser_destroy(p);
  }
  return rt_collect_agg(col)->records;
}

/* Callbacks that return at once: what yajl's calls cost by themselves. */
static int noop_event(void *ctx) {
  (void)ctx;
  return 1;
}
static int noop_boolean(void *ctx, int v) {
  (void)ctx;
  (void)v;
  return 1;
}
static int noop_number(void *ctx, const char *s, size_t len) {
  (void)ctx;
  (void)s;
  (void)len;
  return 1;
}
static int noop_string(void *ctx, const unsigned char *s, size_t len) {
  (void)ctx;
  (void)s;
  (void)len;
  return 1;
}
static const yajl_callbacks noop_callbacks = {
    .yajl_null = noop_event,
    .yajl_boolean = noop_boolean,
    .yajl_number = noop_number,
    .yajl_string = noop_string,
    .yajl_start_map = noop_event,
    .yajl_map_key = noop_string,
    .yajl_end_map = noop_event,
    .yajl_start_array = noop_event,
    .yajl_end_array = noop_event,
};

/* yajl over the stored bodies, with no callbacks (tokenising and
 * validating, nothing else) or with callbacks that do nothing. */
static void parse_bare(const corpus_t *c, const yajl_callbacks *cbs) {
  for (size_t i = 0; i < c->num; i++) {
    yajl_handle h = yajl_alloc(cbs, NULL, NULL);
    if (h == NULL)
      die("out of memory");
    for (size_t off = 0; off < c->pages[i].len; off += PIECE) {
      size_t len =
          c->pages[i].len - off < PIECE ? c->pages[i].len - off : PIECE;
      if (yajl_parse(h, (const unsigned char *)c->pages[i].data + off, len) !=
          yajl_status_ok)
        die("yajl refused a page");
    }
    if (yajl_complete_parse(h) != yajl_status_ok)
      die("yajl refused a page");
    yajl_free(h);
  }
}

/* The body of one GET, into yajl with no callbacks. */
typedef struct {
  yajl_handle yajl;
  bool failed;
} bare_get_t;

static size_t bare_write(char *data, size_t size, size_t nmemb, void *ud) {
  bare_get_t *g = ud;
  size_t n = size * nmemb;
  if (yajl_parse(g->yajl, (const unsigned char *)data, n) != yajl_status_ok) {
    g->failed = true;
    return 0;
  }
  return n;
}

/* GET path into a callback-less yajl, with rt_client's options. */
static void bare_get(CURL *h, const char *sock, const char *path) {
  char url[160];
  long code = 0;
  bare_get_t g = {.yajl = yajl_alloc(NULL, NULL, NULL)};

  if (g.yajl == NULL)
    die("out of memory");
  snprintf(url, sizeof(url), "http://localhost%s", path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bare_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "collectd-sagemaker");
  if (curl_easy_perform(h) != CURLE_OK || g.failed ||
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
      code != 200 || yajl_complete_parse(g.yajl) != yajl_status_ok)
    die("a streamed bare parse failed");
  yajl_free(g.yajl);
}

/* The same GETs as streamed() (the snapshot, then the pages from seq 0),
 * each body into yajl with no callbacks: what the streamed read costs
 * before the parser does anything. */
static void bare_streamed(CURL *h, const char *sock, long records, long page) {
  bare_get(h, sock, "/v1/snapshot");
  for (long after = 0; after < records; after += page) {
    char path[96];
    snprintf(path, sizeof(path), "/v1/requests?after=%ld&limit=%ld", after,
             page);
    bare_get(h, sock, path);
  }
}

/* The passes, in the order of a round's columns. */
static const char *const pass_names[STEPS] = {
    "streamed", "bare_streamed", "parse", "plain", "bare", "noop"};

static int pass_index(const char *name) {
  for (int i = 0; i < STEPS; i++)
    if (strcmp(name, pass_names[i]) == 0)
      return i;
  return -1;
}

/* What every pass reads from. */
typedef struct {
  rt_client_t *cl; /* the plugin's client */
  CURL *bare_h;    /* the bare streamed pass's handle */
  const char *sock;
  corpus_t corpus; /* the page bodies, for the passes from memory */
  long records;
  long page;
} bench_t;

/* Runs pass what; returns the records it aggregated (0 for the bare
 * ones). */
static uint64_t run_pass(int what, const bench_t *b) {
  switch (what) {
  case 0:
    return streamed(b->cl, b->page);
  case 1:
    bare_streamed(b->bare_h, b->sock, b->records, b->page);
    return 0;
  case 2:
    return parse_memory(&b->corpus, b->page, true);
  case 3:
    return parse_memory(&b->corpus, b->page, false);
  case 4:
    parse_bare(&b->corpus, NULL);
    return 0;
  default:
    parse_bare(&b->corpus, &noop_callbacks);
    return 0;
  }
}

/* Round r: every pass, in an order that alternates between rounds, and
 * its line on stdout. */
static void one_round(long r, const bench_t *b) {
  double wall[STEPS], cpu[STEPS];
  uint64_t got[STEPS];

  for (int step = 0; step < STEPS; step++) {
    /* streamed, bare streamed, parse, plain, bare, noop; then the other
     * way round */
    int what = r % 2 == 0 ? step : STEPS - 1 - step;
    double w0 = clock_s(CLOCK_MONOTONIC);
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    got[what] = run_pass(what, b);
    wall[what] = clock_s(CLOCK_MONOTONIC) - w0;
    cpu[what] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  }
  if (got[0] != (uint64_t)b->records || got[2] != (uint64_t)b->records ||
      got[3] != (uint64_t)b->records) {
    fprintf(stderr,
            "bench_read: %" PRIu64 ", %" PRIu64 " and %" PRIu64
            " records aggregated, %ld served\n",
            got[0], got[2], got[3], b->records);
    exit(1);
  }
  printf("round %ld records %ld bytes %zu streamed_wall %.6f streamed_cpu "
         "%.6f parse_cpu %.6f plain_cpu %.6f bare_cpu %.6f "
         "bare_streamed_wall %.6f bare_streamed_cpu %.6f noop_cpu %.6f\n",
         r, b->records, b->corpus.bytes, wall[0], cpu[0], cpu[2], cpu[3],
         cpu[4], wall[1], cpu[1], cpu[5]);
  fflush(stdout);
}

int main(int argc, char **argv) {
  bench_t b;
  long rounds;
  int only = -1;

  if (argc != 5 && argc != 6) {
    fputs("Usage: bench_read SOCKET RECORDS PAGE ROUNDS [PASS]\n", stderr);
    return 2;
  }
  memset(&b, 0, sizeof(b));
  b.sock = argv[1];
  b.records = strtol(argv[2], NULL, 10);
  b.page = strtol(argv[3], NULL, 10);
  rounds = strtol(argv[4], NULL, 10);
  if (b.records < 1 || b.page < 1 || b.page > 10000 || rounds < 1)
    die("bad arguments");
  if (argc == 6 && (only = pass_index(argv[5])) < 0)
    die("PASS must be streamed, bare_streamed, parse, plain, bare or noop");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  b.cl = rt_client_create(b.sock);
  if (b.cl == NULL)
    die("socket path too long");
  fetch_corpus(b.sock, b.records, b.page, &b.corpus);
  b.bare_h = curl_easy_init();
  if (b.bare_h == NULL)
    die("curl_easy_init failed");

  if (only >= 0) {
    for (long r = 0; r < rounds; r++)
      run_pass(only, &b);
  } else {
    /* One pass of each to warm caches and the simulator's buffers. */
    for (int what = 0; what < STEPS; what++)
      run_pass(what, &b);
    for (long r = 0; r < rounds; r++)
      one_round(r, &b);
  }
  rt_collect_destroy(collects[0]);
  rt_collect_destroy(collects[1]);
  curl_easy_cleanup(b.bare_h);
  rt_client_destroy(b.cl);
  curl_global_cleanup();
  return 0;
}
