/* SPDX-License-Identifier: MIT */
/*
 * cw_spool: batches survive a close and reopen in order, with their kind,
 * destination and body byte for byte; files are 0600 in a 0700 directory;
 * one spool per directory; the size bound drops the oldest and counts
 * them per kind; what a crash leaves (a temporary file) is removed;
 * damaged files (truncated, a flipped byte, not a spool file) are set
 * aside with a reason and the spool goes on; files of the first format
 * and an earlier version's host/ spool are read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cw_decode.h"
#include "cw_encode.h"
#include "cw_spool.h"
#include "tap.h"

#define NS "SageMaker/AsyncInference"

static char dir[64];

/* A PutMetricData body of n datums whose names start at first. */
static char *body_of(size_t first, size_t n, size_t *len) {
  char err[128];
  cw_encode_t *e = cw_encode_create(NS, 1000, 1000000, err, sizeof(err));
  static const cw_dimension_t dims[] = {{"EndpointName", "ep"},
                                        {"VariantName", "AllTraffic"}};
  static const double values[] = {3, 17, 250.5};
  static const double counts[] = {1, 40, 2};
  const char *b;
  char *out;

  for (size_t i = first; i < first + n; i++) {
    char name[32];
    cw_datum_t d;
    cw_datum_init(&d);
    snprintf(name, sizeof(name), "Metric%zu", i);
    d.metric_name = name;
    d.dims = dims;
    d.num_dims = 2;
    d.timestamp = 1764187200.5 + (double)i;
    d.unit = CW_UNIT_MICROSECONDS;
    switch (i % 3) {
    case 0:
      d.kind = CW_KIND_VALUE;
      d.value = -(double)i / 7;
      break;
    case 1:
      d.kind = CW_KIND_STATS;
      d.stats = (cw_statset_t){4, 100, 1, 60};
      break;
    default:
      d.kind = CW_KIND_VALUES;
      d.values = values;
      d.counts = counts;
      d.num_values = 3;
      d.storage_resolution = 1;
    }
    cw_encode_add(e, &d);
  }
  b = cw_encode_body(e, len);
  out = strdup(b);
  cw_encode_destroy(e);
  return out;
}

static char *path_of(const char *name) {
  static char p[256];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return p;
}

static int count_suffix(const char *suffix) {
  char cmd[256], line[64];
  FILE *f;
  int n = 0;
  snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
  f = popen(cmd, "r");
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    size_t l = strlen(line);
    if (l > 0 && line[l - 1] == '\n')
      line[--l] = 0;
    if (l >= strlen(suffix) && strcmp(line + l - strlen(suffix), suffix) == 0)
      n++;
  }
  if (f != NULL)
    pclose(f);
  return n;
}

typedef struct {
  size_t n;
  int kinds[3];
  double first_ts;
  int values_ok;
} seen_t;

static int on_datum(const cw_datum_t *d, void *ud) {
  seen_t *s = ud;
  if (s->n == 0)
    s->first_ts = d->timestamp;
  if (d->kind == CW_KIND_VALUE)
    s->kinds[0]++;
  else if (d->kind == CW_KIND_STATS)
    s->kinds[1]++;
  else if (d->kind == CW_KIND_VALUES) {
    s->kinds[2]++;
    s->values_ok = d->num_values == 3 && d->values[2] == 250.5 &&
                   d->counts[1] == 40 && d->storage_resolution == 1 &&
                   d->num_dims == 2 &&
                   strcmp(d->dims[1].value, "AllTraffic") == 0;
  }
  s->n++;
  return 0;
}

/* Reads and removes the oldest batch of kind: 1 with its body, or what
 * cw_spool_read said. info->dest is a copy (the spool's goes with the
 * batch). */
static int take(cw_spool_t *sp, cw_spool_kind_t kind, cw_spool_batch_t *info,
                char **body, size_t *len, char *err, size_t size) {
  static char dest[CW_SPOOL_DEST_MAX + 1];
  int rc;
  if (!cw_spool_next(sp, 0, kind, NULL, info))
    return 0;
  snprintf(dest, sizeof(dest), "%s", info->dest);
  info->dest = dest;
  rc = cw_spool_read(sp, info->seq, body, len, err, size);
  if (rc == 1)
    cw_spool_remove(sp, info->seq);
  return rc;
}

static void test_round_trip(void) {
  char err[256];
  size_t len[3], got_len;
  char *bodies[3], *got;
  cw_spool_batch_t info;
  cw_spool_t *sp = cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err));
  cw_spool_stats_t st;
  struct stat sb;
  int ok = 1;

  if (!T_OK(sp != NULL, "open %s", dir)) {
    T_NOTE("%s", err);
    return;
  }
  T_OK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700,
       "the directory is 0700");
  T_OK(cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err)) == NULL &&
           strstr(err, "in use") != NULL,
       "a second spool on the same directory is refused (%s)", err);
  for (int i = 0; i < 3; i++) {
    bodies[i] = body_of((size_t)i * 10, 10, &len[i]);
    if (cw_spool_write(sp, CW_SPOOL_METRICS, NS, bodies[i], len[i], 10,
                       1764187200.5 + i * 10, err, sizeof(err)) != 0)
      ok = 0;
  }
  T_OK(ok, "three batches written");
  T_OK(stat(path_of("00000000000000000001.spool"), &sb) == 0 &&
           (sb.st_mode & 0777) == 0600,
       "files are 0600");
  cw_spool_get_stats(sp, &st);
  T_OK(st.files == 3 && st.items[CW_SPOOL_METRICS] == 30 &&
           st.items_written[CW_SPOOL_METRICS] == 30 &&
           st.items[CW_SPOOL_LOGS] == 0,
       "stats: 3 files, 30 datums");
  cw_spool_close(sp);

  /* A crash mid-write leaves a temporary file. */
  close(open(path_of("00000000000000000004.spool.tmp"), O_CREAT | O_WRONLY,
             0600));
  sp = cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err));
  T_OK(sp != NULL, "reopened");
  T_EQ_INT(count_suffix(".tmp"), 0, "the temporary file is removed");
  cw_spool_get_stats(sp, &st);
  T_OK(st.files == 3 && st.items[CW_SPOOL_METRICS] == 30,
       "the three batches are still there");
  for (int i = 0; i < 3; i++) {
    seen_t seen = {0};
    char ns[CW_NAMESPACE_MAX + 1];
    int rc =
        take(sp, CW_SPOOL_METRICS, &info, &got, &got_len, err, sizeof(err));
    if (!T_OK(rc == 1 && got_len == len[i] &&
                  memcmp(got, bodies[i], len[i]) == 0 && info.items == 10 &&
                  strcmp(info.dest, NS) == 0 &&
                  info.oldest == 1764187200.5 + i * 10,
              "batch %d comes back first-in first-out, byte for byte, with "
              "its destination, items and oldest time",
              i))
      T_NOTE("rc %d: %s; len %zu/%zu items %llu dest %s oldest %.3f", rc, err,
             got_len, len[i], (unsigned long long)info.items,
             rc == 1 ? info.dest : "-", info.oldest);
    if (rc == 1) {
      T_EQ_INT(cw_decode_metrics(got, got_len, ns, sizeof(ns), on_datum, &seen,
                                 err, sizeof(err)),
               10, "its body parses back into 10 datums");
      T_EQ_STR(ns, NS, "of its namespace");
      T_OK(seen.kinds[0] == (i == 0 ? 4 : 3) &&
               seen.kinds[0] + seen.kinds[1] + seen.kinds[2] == 10 &&
               seen.first_ts == 1764187200.5 + i * 10 && seen.values_ok,
           "... with their kinds, timestamps, dimensions, values and counts");
      free(got);
    }
  }
  T_EQ_INT(take(sp, CW_SPOOL_METRICS, &info, &got, &got_len, err, sizeof(err)),
           0, "then the spool is empty");
  T_EQ_INT(count_suffix(".spool"), 0, "and so is the directory");

  /* The bound: 200 batches of 1000 datums do not fit 1 MiB. */
  cw_spool_close(sp);
  sp = cw_spool_open(dir, 1 << 20, NULL, err, sizeof(err));
  {
    size_t blen;
    char *big = body_of(0, 1000, &blen);
    ok = 1;
    for (int i = 0; i < 200; i++)
      if (cw_spool_write(sp, i % 2 ? CW_SPOOL_LOGS : CW_SPOOL_METRICS, "g:s",
                         big, blen, 1000, 1764187200.5, err, sizeof(err)) != 0)
        ok = 0;
    free(big);
  }
  cw_spool_get_stats(sp, &st);
  T_OK(ok && st.bytes <= (1 << 20),
       "a 1 MiB spool stays within 1 MiB "
       "(%llu bytes in %llu files)",
       (unsigned long long)st.bytes, (unsigned long long)st.files);
  T_OK(st.items_dropped_full[CW_SPOOL_METRICS] + st.items[CW_SPOOL_METRICS] ==
               100000 &&
           st.items_dropped_full[CW_SPOOL_LOGS] + st.items[CW_SPOOL_LOGS] ==
               100000 &&
           st.items_dropped_full[CW_SPOOL_METRICS] > 0 &&
           st.items_dropped_full[CW_SPOOL_LOGS] > 0,
       "the oldest of both kinds were dropped and counted per kind (%llu, "
       "%llu)",
       (unsigned long long)st.items_dropped_full[CW_SPOOL_METRICS],
       (unsigned long long)st.items_dropped_full[CW_SPOOL_LOGS]);
  for (int k = 0; k < CW_SPOOL_KINDS; k++)
    while (take(sp, (cw_spool_kind_t)k, &info, &got, &got_len, err,
                sizeof(err)) == 1)
      free(got);
  cw_spool_close(sp);
  for (int i = 0; i < 3; i++)
    free(bodies[i]);
}

/* Writes bytes to a file of the spool directory. */
static void put_file(const char *name, const void *data, size_t len) {
  FILE *f = fopen(path_of(name), "wb");
  if (f != NULL) {
    fwrite(data, 1, len, f);
    fclose(f);
  }
}

static unsigned char *get_file(const char *name, size_t *len) {
  FILE *f = fopen(path_of(name), "rb");
  unsigned char *buf = malloc(1 << 20);
  *len = f != NULL ? fread(buf, 1, 1 << 20, f) : 0;
  if (f != NULL)
    fclose(f);
  return buf;
}

static void test_damage(void) {
  char err[256], *notes = NULL, *got;
  size_t len, flen, got_len;
  cw_spool_batch_t info;
  char *body = body_of(0, 5, &len);
  cw_spool_t *sp = cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err));
  unsigned char *file;
  cw_spool_stats_t st;
  int rc;

  for (int i = 0; i < 4; i++)
    cw_spool_write(sp, CW_SPOOL_METRICS, NS, body, len, 5, 1764187200, err,
                   sizeof(err));
  cw_spool_close(sp);
  /* 1: truncated; 2: a flipped payload byte; 3: intact; +: garbage. */
  file = get_file("00000000000000000001.spool", &flen);
  put_file("00000000000000000001.spool", file, flen - 7);
  file[flen - 3] ^= 0x40;
  put_file("00000000000000000002.spool", file, flen);
  free(file);
  put_file("00000000000000000009.spool", "hello\n", 6);

  sp = cw_spool_open(dir, 8 << 20, &notes, err, sizeof(err));
  T_OK(sp != NULL, "a spool with damaged files opens");
  T_OK(notes != NULL && strstr(notes, "00000000000000000001.spool") != NULL &&
           strstr(notes, "truncated") != NULL &&
           strstr(notes, "00000000000000000009.spool") != NULL,
       "the truncated file and the foreign one are named, with the reason "
       "(%s)",
       notes ? notes : "none");
  free(notes);
  cw_spool_get_stats(sp, &st);
  T_OK(st.files == 3 && st.files_corrupt == 2,
       "they are set aside at open (%llu files left)",
       (unsigned long long)st.files);
  rc = take(sp, CW_SPOOL_METRICS, &info, &got, &got_len, err, sizeof(err));
  T_OK(rc == -2 && strstr(err, "CRC") != NULL &&
           strstr(err, "00000000000000000002.spool") != NULL,
       "a flipped byte is found when read: %s", err);
  rc = take(sp, CW_SPOOL_METRICS, &info, &got, &got_len, err, sizeof(err));
  T_OK(rc == 1 && got_len == len && memcmp(got, body, len) == 0,
       "and the spool goes on with the next batch");
  if (rc == 1)
    free(got);
  T_EQ_INT(count_suffix(".corrupt"), 3, "three files set aside as .corrupt");
  cw_spool_close(sp);
  free(body);
}

/* Empties the spool directory between cases. */
static void clean(void) {
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    T_NOTE("could not empty %s", dir);
}

/* Batches of both kinds and several destinations: cw_spool_next finds
 * each destination's in order, past the others. */
static void test_kinds(void) {
  char err[256], *got;
  size_t got_len;
  cw_spool_batch_t b;
  cw_spool_t *sp;

  clean();
  sp = cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err));
  static const struct {
    cw_spool_kind_t kind;
    const char *dest;
    const char *body;
  } w[] = {
      {CW_SPOOL_METRICS, "NS/A", "{\"a\":1}"},
      {CW_SPOOL_LOGS, "/aws/g:v/i/data-log", "{\"l\":1}"},
      {CW_SPOOL_METRICS, "NS/B", "{\"b\":1}"},
      {CW_SPOOL_METRICS, "NS/A", "{\"a\":2}"},
      {CW_SPOOL_LOGS, "/aws/g:v/i/data-log", "{\"l\":2}"},
  };
  uint64_t seq[5];
  int ok = 1;

  for (size_t i = 0; i < 5; i++) {
    ok &=
        cw_spool_write(sp, w[i].kind, w[i].dest, w[i].body, strlen(w[i].body),
                       i + 1, 1764187200.0 + (double)i, err, sizeof(err)) == 0;
  }
  T_OK(ok, "five batches of two kinds and three destinations");
  cw_spool_close(sp);
  sp = cw_spool_open(dir, 8 << 20, NULL, err, sizeof(err));
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b) &&
           strcmp(b.dest, "NS/A") == 0 && b.items == 1,
       "after a reopen: the oldest metrics batch");
  seq[0] = b.seq;
  T_OK(cw_spool_next(sp, seq[0], CW_SPOOL_METRICS, "NS/A", &b) &&
           b.items == 4 && b.oldest == 1764187203.0,
       "the next of its namespace skips the other namespace and the logs");
  seq[3] = b.seq;
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_LOGS, NULL, &b) &&
           strcmp(b.dest, "/aws/g:v/i/data-log") == 0 && b.items == 2,
       "the oldest logs batch, its destination whole");
  seq[1] = b.seq;
  T_OK(cw_spool_read(sp, seq[3], &got, &got_len, err, sizeof(err)) == 1 &&
           strcmp(got, "{\"a\":2}") == 0,
       "a batch is read by its seq, out of order");
  free(got);
  cw_spool_remove(sp, seq[0]);
  cw_spool_remove(sp, seq[3]);
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b) &&
           strcmp(b.dest, "NS/B") == 0,
       "removed batches are gone; the other namespace is next");
  cw_spool_remove(sp, b.seq);
  cw_spool_remove(sp, seq[1]);
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_LOGS, NULL, &b) && b.items == 5,
       "the second logs batch");
  cw_spool_remove(sp, b.seq);
  T_OK(!cw_spool_next(sp, 0, CW_SPOOL_LOGS, NULL, &b) &&
           !cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b),
       "empty");
  T_OK(cw_spool_write(sp, CW_SPOOL_LOGS, "bad\ndest", "{}", 2, 1, 1, err,
                      sizeof(err)) != 0 &&
           cw_spool_write(sp, CW_SPOOL_LOGS, "", "{}", 2, 1, 1, err,
                          sizeof(err)) != 0 &&
           cw_spool_write(sp, CW_SPOOL_METRICS, "ns", "{}", 2, 0, 1, err,
                          sizeof(err)) != 0,
       "a destination with a newline, an empty one, no items: refused");
  cw_spool_close(sp);
}

/* A file of the first format ("cw-spool 1", namespace, datums), as an
 * earlier version wrote it, in the spool and in its host/ directory. */
static void put_v1(const char *path, const char *ns, const char *body,
                   size_t datums) {
  unsigned char *gz = NULL;
  size_t gz_len = 0;
  char head[512];
  FILE *f;
  uLong crc;

  cw_encode_gzip(body, strlen(body), 6, &gz, &gz_len);
  crc = crc32(crc32(0L, Z_NULL, 0), gz, (uInt)gz_len);
  snprintf(head, sizeof(head),
           "cw-spool 1\nnamespace %s\ndatums %zu\noldest 1764187200.5\n"
           "length %zu\ncrc32 %08lx\n\n",
           ns, datums, gz_len, (unsigned long)crc);
  f = fopen(path, "wb");
  if (f != NULL) {
    fputs(head, f);
    fwrite(gz, 1, gz_len, f);
    fclose(f);
  }
  free(gz);
}

static void test_first_format(void) {
  char err[256], *notes = NULL, *got, host[300], p[400];
  size_t len, got_len;
  char *body = body_of(0, 4, &len), *hbody;
  cw_spool_batch_t b;
  cw_spool_t *sp;

  clean();
  mkdir(dir, 0700);
  put_v1(path_of("00000000000000000007.spool"), NS, body, 4);
  snprintf(host, sizeof(host), "%s/host", dir);
  mkdir(host, 0700);
  hbody = strdup(body);
  snprintf(p, sizeof(p), "%s/00000000000000000002.spool", host);
  put_v1(p, "/aws/sagemaker/Endpoints", hbody, 4);
  snprintf(p, sizeof(p), "%s/00000000000000000001.spool", host);
  put_v1(p, "/aws/sagemaker/Endpoints", hbody, 3);
  snprintf(p, sizeof(p), "%s/.lock", host);
  close(open(p, O_CREAT | O_WRONLY, 0600));

  sp = cw_spool_open(dir, 8 << 20, &notes, err, sizeof(err));
  T_OK(sp != NULL && notes != NULL && strstr(notes, "2 batches") != NULL,
       "an earlier version's spool opens; its host/ batches are moved in (%s)",
       notes ? notes : "no note");
  free(notes);
  T_OK(access(host, F_OK) != 0, "and host/ is gone");
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b) &&
           strcmp(b.dest, NS) == 0 && b.items == 4 && b.oldest == 1764187200.5,
       "a first-format file is a metrics batch of its namespace");
  T_OK(cw_spool_read(sp, b.seq, &got, &got_len, err, sizeof(err)) == 1 &&
           got_len == len && memcmp(got, body, len) == 0,
       "read back byte for byte");
  free(got);
  cw_spool_remove(sp, b.seq);
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b) &&
           strcmp(b.dest, "/aws/sagemaker/Endpoints") == 0 && b.items == 3,
       "then the host batches, in their order, with their own namespace");
  cw_spool_remove(sp, b.seq);
  T_OK(cw_spool_next(sp, 0, CW_SPOOL_METRICS, NULL, &b) && b.items == 4,
       "the second host batch");
  cw_spool_remove(sp, b.seq);
  cw_spool_close(sp);
  free(body);
  free(hbody);
}

static void test_refusals(void) {
  char err[256];
  T_OK(cw_spool_open("relative/dir", 8 << 20, NULL, err, sizeof(err)) == NULL,
       "a relative directory is refused");
  T_OK(cw_spool_open("/proc/no/such/place", 8 << 20, NULL, err, sizeof(err)) ==
               NULL &&
           strstr(err, "/proc/no/such/place") != NULL,
       "an unusable directory is refused, named: %s", err);
}

int main(void) {
  char cmd[128];
  snprintf(dir, sizeof(dir), "/tmp/sm-spool.XXXXXX");
  if (mkdtemp(dir) == NULL)
    return 1;
  strncat(dir, "/spool", sizeof(dir) - strlen(dir) - 1);
  test_round_trip();
  test_damage();
  test_kinds();
  test_first_format();
  test_refusals();
  snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 6), dir);
  if (system(cmd) != 0)
    T_NOTE("could not remove %s", dir);
  return t_done();
}
