/* SPDX-License-Identifier: MIT */
/*
 * cw_spool: the on-disk spool of unsent batches (see cw_spool.h).
 */
#include "cw_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "cw_encode.h"

#define MAGIC "cw-spool 1\n"
#define SUFFIX ".spool"
#define HEADER_MAX 512
#define NS_MAX (CW_NAMESPACE_MAX + 1)

typedef struct {
  uint64_t seq;
  uint64_t size;
  uint64_t datums;
} entry_t;

struct cw_spool_s {
  char *dir;
  int dir_fd;
  int lock_fd;
  uint64_t max_bytes;
  entry_t *files; /* oldest first */
  size_t num, cap;
  uint64_t next_seq;
  cw_spool_stats_t st;
};

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t size, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, size, fmt, ap);
  va_end(ap);
}

static void file_name(uint64_t seq, char *buf, size_t size) {
  snprintf(buf, size, "%020" PRIu64 SUFFIX, seq);
}

/* ------------------------------------------------------------ format */

/* Inflates a gzip stream into at most max bytes (NUL-terminated). */
static int gunzip(const unsigned char *in, size_t len, size_t max, char **out,
                  size_t *out_len, char *err, size_t err_size) {
  z_stream zs;
  size_t cap = len * 4 + 1024;
  char *buf;
  int rc;

  if (cap > max + 1)
    cap = max + 1;
  buf = malloc(cap);
  if (buf == NULL) {
    set_err(err, err_size, "out of memory");
    return -1;
  }
  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    free(buf);
    set_err(err, err_size, "zlib refused to start");
    return -1;
  }
  zs.next_in = (unsigned char *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  for (;;) {
    if (zs.total_out + 1 >= cap) {
      char *p;
      if (cap >= max + 1) {
        rc = Z_BUF_ERROR;
        break;
      }
      cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      p = realloc(buf, cap);
      if (p == NULL) {
        rc = Z_MEM_ERROR;
        break;
      }
      buf = p;
    }
    zs.next_out = (unsigned char *)buf + zs.total_out;
    zs.avail_out = (uInt)(cap - 1 - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR))
      break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0)
      break; /* truncated */
  }
  if (rc != Z_STREAM_END || zs.avail_in != 0) {
    set_err(err, err_size, "%s",
            rc == Z_MEM_ERROR             ? "out of memory inflating the body"
            : rc == Z_STREAM_END          ? "bytes after the gzip stream"
            : zs.total_out + 1 >= max + 1 ? "body larger than a batch"
                                          : "the gzip stream is damaged");
    inflateEnd(&zs);
    free(buf);
    return -1;
  }
  *out_len = zs.total_out;
  buf[*out_len] = 0;
  inflateEnd(&zs);
  *out = buf;
  return 0;
}

/* Reads "key value\n" at *p (within end): value copied to val. */
static bool header_line(const char **p, const char *end, const char *key,
                        char *val, size_t val_size) {
  size_t kl = strlen(key), n = 0;
  const char *q = *p;

  if ((size_t)(end - q) < kl + 1 || memcmp(q, key, kl) != 0 || q[kl] != ' ')
    return false;
  q += kl + 1;
  while (q < end && *q != '\n') {
    if (n + 1 >= val_size || (unsigned char)*q < 0x20 || *q == 0x7f)
      return false;
    val[n++] = *q++;
  }
  if (q >= end || n == 0)
    return false;
  val[n] = 0;
  *p = q + 1;
  return true;
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!(*s >= '0' && *s <= '9'))
    return false;
  errno = 0;
  *out = strtoull(s, &end, 10);
  return errno == 0 && *end == 0;
}

/* The header of a spool file: its namespace, datums, payload length, CRC,
 * and where the payload starts. */
typedef struct {
  char ns[NS_MAX];
  uint64_t datums;
  double oldest;
  uint64_t length;
  uint32_t crc;
  size_t header_len;
} header_t;

/* data[0..avail) is the start of a file of size bytes. */
static int parse_header(const unsigned char *data, size_t avail, size_t size,
                        header_t *h, char *err, size_t err_size) {
  const char *p = (const char *)data, *end;
  char v[NS_MAX];
  uint64_t crc;
  char *e;

  memset(h, 0, sizeof(*h));
  end = p + (avail < HEADER_MAX ? avail : HEADER_MAX);
  if ((size_t)(end - p) < strlen(MAGIC) || memcmp(p, MAGIC, strlen(MAGIC))) {
    set_err(err, err_size, "not a spool file (no \"cw-spool 1\" line)");
    return -1;
  }
  p += strlen(MAGIC);
  if (!header_line(&p, end, "namespace", h->ns, sizeof(h->ns))) {
    set_err(err, err_size, "bad namespace line");
    return -1;
  }
  if (!header_line(&p, end, "datums", v, sizeof(v)) ||
      !parse_u64(v, &h->datums) || h->datums == 0 ||
      h->datums > CW_ENCODE_MAX_DATUMS) {
    set_err(err, err_size, "bad datums line");
    return -1;
  }
  if (!header_line(&p, end, "oldest", v, sizeof(v))) {
    set_err(err, err_size, "bad oldest line");
    return -1;
  }
  errno = 0;
  h->oldest = strtod(v, &e);
  if (errno != 0 || *e != 0 || !isfinite(h->oldest)) {
    set_err(err, err_size, "bad oldest line");
    return -1;
  }
  if (!header_line(&p, end, "length", v, sizeof(v)) ||
      !parse_u64(v, &h->length)) {
    set_err(err, err_size, "bad length line");
    return -1;
  }
  if (!header_line(&p, end, "crc32", v, sizeof(v)) || strlen(v) != 8 ||
      strspn(v, "0123456789abcdef") != 8) {
    set_err(err, err_size, "bad crc32 line");
    return -1;
  }
  crc = strtoull(v, NULL, 16);
  h->crc = (uint32_t)crc;
  if (p >= end || *p != '\n') {
    set_err(err, err_size, "no blank line after the header");
    return -1;
  }
  p++;
  h->header_len = (size_t)(p - (const char *)data);
  if (h->length != size - h->header_len) {
    set_err(err, err_size,
            "length %" PRIu64 " but %zu bytes follow the header (truncated?)",
            h->length, size - h->header_len);
    return -1;
  }
  return 0;
}

int cw_spool_decode_file(const unsigned char *data, size_t size, char **body,
                         size_t *body_len, size_t *datums, char *ns,
                         size_t ns_size, char *err, size_t err_size) {
  header_t h;
  const unsigned char *payload;
  uLong crc;

  if (parse_header(data, size, size, &h, err, err_size) != 0)
    return -1;
  payload = data + h.header_len;
  crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, payload, (uInt)h.length);
  if ((uint32_t)crc != h.crc) {
    set_err(err, err_size, "CRC mismatch (%08x, header says %08x)",
            (unsigned)crc, (unsigned)h.crc);
    return -1;
  }
  if (gunzip(payload, h.length, CW_SPOOL_MAX_BODY, body, body_len, err,
             err_size) != 0)
    return -1;
  *datums = h.datums;
  if (ns != NULL)
    snprintf(ns, ns_size, "%s", h.ns);
  return 0;
}

/* ------------------------------------------------------------ body */

typedef struct {
  cw_datum_t d;
  cw_dimension_t dims[CW_MAX_DIMENSIONS];
  double values[CW_MAX_VALUES];
  double counts[CW_MAX_VALUES];
} parsed_t;

static bool get_number(yajl_val v, double *out) {
  if (v == NULL || !YAJL_IS_DOUBLE(v))
    return false;
  *out = YAJL_GET_DOUBLE(v);
  return isfinite(*out);
}

static int parse_datum(yajl_val o, parsed_t *p, char *err, size_t err_size,
                       size_t idx) {
  bool have_name = false, have_ts = false;
  int forms = 0;
  yajl_val counts = NULL;

  cw_datum_init(&p->d);
  if (!YAJL_IS_OBJECT(o)) {
    set_err(err, err_size, "MetricData[%zu]: not an object", idx);
    return -1;
  }
  for (size_t i = 0; i < o->u.object.len; i++) {
    const char *k = o->u.object.keys[i];
    yajl_val v = o->u.object.values[i];
    if (strcmp(k, "MetricName") == 0 && YAJL_IS_STRING(v)) {
      p->d.metric_name = YAJL_GET_STRING(v);
      have_name = true;
    } else if (strcmp(k, "Dimensions") == 0 && YAJL_IS_ARRAY(v) &&
               v->u.array.len <= CW_MAX_DIMENSIONS) {
      for (size_t j = 0; j < v->u.array.len; j++) {
        yajl_val dv = v->u.array.values[j];
        const char *np[] = {"Name", NULL}, *vp[] = {"Value", NULL};
        yajl_val n = yajl_tree_get(dv, np, yajl_t_string);
        yajl_val val = yajl_tree_get(dv, vp, yajl_t_string);
        if (!YAJL_IS_OBJECT(dv) || dv->u.object.len != 2 || n == NULL ||
            val == NULL) {
          set_err(err, err_size, "MetricData[%zu].Dimensions[%zu]: bad", idx,
                  j);
          return -1;
        }
        p->dims[j].name = YAJL_GET_STRING(n);
        p->dims[j].value = YAJL_GET_STRING(val);
      }
      p->d.dims = v->u.array.len > 0 ? p->dims : NULL;
      p->d.num_dims = v->u.array.len;
    } else if (strcmp(k, "Timestamp") == 0 && get_number(v, &p->d.timestamp)) {
      have_ts = true;
    } else if (strcmp(k, "Unit") == 0 && YAJL_IS_STRING(v) &&
               cw_datum_unit_from_name(YAJL_GET_STRING(v), &p->d.unit) == 0) {
    } else if (strcmp(k, "StorageResolution") == 0 && YAJL_IS_INTEGER(v) &&
               (YAJL_GET_INTEGER(v) == CW_RESOLUTION_HIGH ||
                YAJL_GET_INTEGER(v) == CW_RESOLUTION_STANDARD)) {
      p->d.storage_resolution = (int)YAJL_GET_INTEGER(v);
    } else if (strcmp(k, "Value") == 0 && get_number(v, &p->d.value)) {
      p->d.kind = CW_KIND_VALUE;
      forms++;
    } else if (strcmp(k, "StatisticValues") == 0 && YAJL_IS_OBJECT(v)) {
      const char *sc[] = {"SampleCount", NULL}, *su[] = {"Sum", NULL},
                 *mi[] = {"Minimum", NULL}, *ma[] = {"Maximum", NULL};
      if (v->u.object.len != 4 ||
          !get_number(yajl_tree_get(v, sc, yajl_t_number),
                      &p->d.stats.sample_count) ||
          !get_number(yajl_tree_get(v, su, yajl_t_number), &p->d.stats.sum) ||
          !get_number(yajl_tree_get(v, mi, yajl_t_number),
                      &p->d.stats.minimum) ||
          !get_number(yajl_tree_get(v, ma, yajl_t_number),
                      &p->d.stats.maximum)) {
        set_err(err, err_size, "MetricData[%zu].StatisticValues: bad", idx);
        return -1;
      }
      p->d.kind = CW_KIND_STATS;
      forms++;
    } else if (strcmp(k, "Values") == 0 && YAJL_IS_ARRAY(v) &&
               v->u.array.len >= 1 && v->u.array.len <= CW_MAX_VALUES) {
      for (size_t j = 0; j < v->u.array.len; j++)
        if (!get_number(v->u.array.values[j], &p->values[j])) {
          set_err(err, err_size, "MetricData[%zu].Values[%zu]: bad", idx, j);
          return -1;
        }
      p->d.kind = CW_KIND_VALUES;
      p->d.values = p->values;
      p->d.num_values = v->u.array.len;
      forms++;
    } else if (strcmp(k, "Counts") == 0 && YAJL_IS_ARRAY(v)) {
      counts = v;
    } else {
      set_err(err, err_size, "MetricData[%zu]: unexpected %s", idx, k);
      return -1;
    }
  }
  if (!have_name || !have_ts || forms != 1) {
    set_err(err, err_size,
            "MetricData[%zu]: needs MetricName, Timestamp and one value form",
            idx);
    return -1;
  }
  if (counts != NULL) {
    if (p->d.kind != CW_KIND_VALUES || counts->u.array.len != p->d.num_values) {
      set_err(err, err_size, "MetricData[%zu].Counts: bad", idx);
      return -1;
    }
    for (size_t j = 0; j < counts->u.array.len; j++)
      if (!get_number(counts->u.array.values[j], &p->counts[j])) {
        set_err(err, err_size, "MetricData[%zu].Counts[%zu]: bad", idx, j);
        return -1;
      }
    p->d.counts = p->counts;
  }
  return 0;
}

long cw_spool_parse_body(const char *body, size_t len, cw_spool_datum_cb cb,
                         void *ud, char *err, size_t err_size) {
  char perr[256];
  yajl_val root, md;
  const char *mdp[] = {"MetricData", NULL};
  parsed_t *ps = NULL;
  size_t n;
  long rc = -1;

  if (strlen(body) != len) {
    set_err(err, err_size, "a NUL byte in the body");
    return -1;
  }
  root = yajl_tree_parse(body, perr, sizeof(perr));
  if (root == NULL) {
    set_err(err, err_size, "not JSON: %s", perr);
    return -1;
  }
  md = yajl_tree_get(root, mdp, yajl_t_array);
  if (!YAJL_IS_OBJECT(root) || md == NULL || md->u.array.len == 0 ||
      md->u.array.len > CW_ENCODE_MAX_DATUMS) {
    set_err(err, err_size, "no MetricData array of 1 to %d datums",
            CW_ENCODE_MAX_DATUMS);
    goto out;
  }
  n = md->u.array.len;
  ps = malloc(n * sizeof(*ps));
  if (ps == NULL) {
    set_err(err, err_size, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if (parse_datum(md->u.array.values[i], &ps[i], err, err_size, i) != 0)
      goto out;
  for (size_t i = 0; i < n; i++)
    cb(&ps[i].d, ud);
  rc = (long)n;
out:
  free(ps);
  yajl_tree_free(root);
  return rc;
}

/* ------------------------------------------------------------ files */

static void drop_entry(cw_spool_t *sp, size_t i) {
  sp->st.files--;
  sp->st.bytes -= sp->files[i].size;
  sp->st.datums -= sp->files[i].datums;
  memmove(&sp->files[i], &sp->files[i + 1],
          (sp->num - i - 1) * sizeof(*sp->files));
  sp->num--;
}

static int add_entry(cw_spool_t *sp, uint64_t seq, uint64_t size,
                     uint64_t datums) {
  if (sp->num == sp->cap) {
    size_t cap = sp->cap ? sp->cap * 2 : 64;
    entry_t *p = realloc(sp->files, cap * sizeof(*p));
    if (p == NULL)
      return -1;
    sp->files = p;
    sp->cap = cap;
  }
  sp->files[sp->num++] = (entry_t){seq, size, datums};
  sp->st.files++;
  sp->st.bytes += size;
  sp->st.datums += datums;
  if (seq >= sp->next_seq)
    sp->next_seq = seq + 1;
  return 0;
}

static int by_seq(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Renames a file aside as NAME.corrupt (or removes it if that fails). */
static void set_aside(cw_spool_t *sp, const char *name) {
  char to[96];
  snprintf(to, sizeof(to), "%s.corrupt", name);
  if (renameat(sp->dir_fd, name, sp->dir_fd, to) != 0)
    unlinkat(sp->dir_fd, name, 0);
  sp->st.files_corrupt++;
}

static void note(char **notes, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(char **notes, const char *fmt, ...) {
  va_list ap;
  char line[512];
  size_t old, add;
  char *p;

  if (notes == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  old = *notes ? strlen(*notes) : 0;
  add = strlen(line);
  p = realloc(*notes, old + add + 3);
  if (p == NULL)
    return;
  if (old > 0) {
    memcpy(p + old, "; ", 2);
    old += 2;
  }
  memcpy(p + old, line, add + 1);
  *notes = p;
}

/* Reads a whole file of the spool directory. */
static unsigned char *read_file(int dir_fd, const char *name, size_t max,
                                size_t *size, int *errnum) {
  int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat stbuf;
  unsigned char *buf;
  size_t got = 0;

  *errnum = 0;
  if (fd < 0) {
    *errnum = errno;
    return NULL;
  }
  if (fstat(fd, &stbuf) != 0 || !S_ISREG(stbuf.st_mode) ||
      (uint64_t)stbuf.st_size > max) {
    *errnum = fstat(fd, &stbuf) != 0 ? errno : EFBIG;
    close(fd);
    return NULL;
  }
  buf = malloc((size_t)stbuf.st_size + 1);
  if (buf == NULL) {
    *errnum = ENOMEM;
    close(fd);
    return NULL;
  }
  while (got < (size_t)stbuf.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)stbuf.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      *errnum = r < 0 ? errno : EIO;
      free(buf);
      close(fd);
      return NULL;
    }
    got += (size_t)r;
  }
  close(fd);
  *size = got;
  return buf;
}

/* Creates dir and its missing parents, 0700. */
static int make_dirs(const char *dir) {
  char *p = strdup(dir);
  int rc = 0;
  if (p == NULL)
    return -1;
  for (char *q = p + 1; *q != 0; q++) {
    if (*q != '/')
      continue;
    *q = 0;
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      rc = -1;
    *q = '/';
  }
  if (mkdir(p, 0700) != 0 && errno != EEXIST)
    rc = -1;
  free(p);
  return rc;
}

cw_spool_t *cw_spool_open(const char *dir, uint64_t max_bytes, char **notes,
                          char *err, size_t err_size) {
  cw_spool_t *sp;
  DIR *d;
  struct dirent *de;
  int fd;

  if (notes != NULL)
    *notes = NULL;
  if (dir == NULL || dir[0] != '/') {
    set_err(err, err_size, "the spool directory must be an absolute path");
    return NULL;
  }
  if (max_bytes < CW_SPOOL_MIN_MAX_BYTES) {
    set_err(err, err_size, "a spool needs at least %u bytes",
            CW_SPOOL_MIN_MAX_BYTES);
    return NULL;
  }
  if (make_dirs(dir) != 0) {
    set_err(err, err_size, "cannot create %s: %s", dir, strerror(errno));
    return NULL;
  }
  sp = calloc(1, sizeof(*sp));
  if (sp == NULL) {
    set_err(err, err_size, "out of memory");
    return NULL;
  }
  sp->lock_fd = -1;
  sp->max_bytes = max_bytes;
  sp->next_seq = 1;
  sp->dir = strdup(dir);
  sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sp->dir == NULL || sp->dir_fd < 0) {
    set_err(err, err_size, "cannot open %s: %s", dir, strerror(errno));
    sp->dir_fd = -1;
    cw_spool_close(sp);
    return NULL;
  }
  sp->lock_fd = openat(sp->dir_fd, ".lock",
                       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    set_err(err, err_size, "%s is in use by another spool (%s)", dir,
            errno == EWOULDBLOCK ? "locked" : strerror(errno));
    cw_spool_close(sp);
    return NULL;
  }

  fd = dup(sp->dir_fd);
  d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    set_err(err, err_size, "cannot list %s: %s", dir, strerror(errno));
    if (fd >= 0)
      close(fd);
    cw_spool_close(sp);
    return NULL;
  }
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    size_t len = strlen(name);
    uint64_t seq;
    char digits[32];
    unsigned char head[HEADER_MAX];
    header_t h;
    char why[256];
    int hfd;
    ssize_t got;
    struct stat stbuf;

    if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
      /* A write a crash interrupted: never renamed into place. */
      unlinkat(sp->dir_fd, name, 0);
      continue;
    }
    if (len != 20 + strlen(SUFFIX) || strcmp(name + 20, SUFFIX) != 0)
      continue;
    memcpy(digits, name, 20);
    digits[20] = 0;
    if (strspn(digits, "0123456789") != 20 || !parse_u64(digits, &seq))
      continue;
    hfd = openat(sp->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (hfd < 0 || fstat(hfd, &stbuf) != 0 || !S_ISREG(stbuf.st_mode)) {
      if (hfd >= 0)
        close(hfd);
      note(notes, "%s: not a regular file; set aside", name);
      set_aside(sp, name);
      continue;
    }
    got = read(hfd, head, sizeof(head));
    if (got < 0)
      snprintf(why, sizeof(why), "%s", strerror(errno));
    close(hfd);
    if (got < 0 || parse_header(head, (size_t)got, (size_t)stbuf.st_size, &h,
                                why, sizeof(why)) != 0) {
      note(notes, "%s: %s; set aside as %s.corrupt", name, why, name);
      set_aside(sp, name);
      continue;
    }
    if (add_entry(sp, seq, (uint64_t)stbuf.st_size, h.datums) != 0) {
      closedir(d);
      set_err(err, err_size, "out of memory");
      cw_spool_close(sp);
      return NULL;
    }
  }
  closedir(d);
  if (sp->num > 1)
    qsort(sp->files, sp->num, sizeof(*sp->files), by_seq);
  return sp;
}

void cw_spool_close(cw_spool_t *sp) {
  if (sp == NULL)
    return;
  if (sp->lock_fd >= 0)
    close(sp->lock_fd); /* releases the lock */
  if (sp->dir_fd >= 0)
    close(sp->dir_fd);
  free(sp->files);
  free(sp->dir);
  free(sp);
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int cw_spool_write(cw_spool_t *sp, const char *ns, const char *body, size_t len,
                   size_t datums, double oldest, char *err, size_t err_size) {
  unsigned char *gz = NULL;
  size_t gz_len = 0;
  char header[HEADER_MAX], name[64], tmp[80], ts[CW_ENCODE_NUMBER_MAX];
  int hl, fd;
  uLong crc;
  uint64_t size;

  if (datums == 0 || datums > CW_ENCODE_MAX_DATUMS || len > CW_SPOOL_MAX_BODY ||
      strchr(ns, '\n') != NULL || strlen(ns) >= NS_MAX ||
      cw_encode_format_timestamp(oldest, ts, sizeof(ts)) == 0) {
    set_err(err, err_size, "not a batch that can be spooled");
    return -1;
  }
  if (cw_encode_gzip(body, len, 6, &gz, &gz_len) != CW_ENCODE_GZIP_OK) {
    set_err(err, err_size, "cannot compress the batch");
    return -1;
  }
  crc = crc32(crc32(0L, Z_NULL, 0), gz, (uInt)gz_len);
  hl = snprintf(header, sizeof(header),
                MAGIC "namespace %s\ndatums %zu\noldest %s\nlength %zu\n"
                      "crc32 %08lx\n\n",
                ns, datums, ts, gz_len, (unsigned long)crc);
  if (hl < 0 || (size_t)hl >= sizeof(header)) {
    free(gz);
    set_err(err, err_size, "header too long");
    return -1;
  }
  size = (uint64_t)hl + gz_len;
  if (size > sp->max_bytes) {
    free(gz);
    set_err(err, err_size, "a batch of %" PRIu64 " bytes exceeds the spool",
            size);
    return -1;
  }
  /* Room: the oldest batches go first. */
  while (sp->num > 0 && sp->st.bytes + size > sp->max_bytes) {
    file_name(sp->files[0].seq, name, sizeof(name));
    unlinkat(sp->dir_fd, name, 0);
    sp->st.datums_dropped_full += sp->files[0].datums;
    drop_entry(sp, 0);
  }
  file_name(sp->next_seq, name, sizeof(name));
  snprintf(tmp, sizeof(tmp), "%s.tmp", name);
  fd = openat(sp->dir_fd, tmp,
              O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || write_all(fd, header, (size_t)hl) != 0 ||
      write_all(fd, gz, gz_len) != 0 || fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlinkat(sp->dir_fd, tmp, 0);
    }
    free(gz);
    set_err(err, err_size, "cannot write %s/%s: %s", sp->dir, tmp, strerror(e));
    return -1;
  }
  close(fd);
  free(gz);
  if (renameat(sp->dir_fd, tmp, sp->dir_fd, name) != 0) {
    int e = errno;
    unlinkat(sp->dir_fd, tmp, 0);
    set_err(err, err_size, "cannot rename %s/%s: %s", sp->dir, tmp,
            strerror(e));
    return -1;
  }
  fsync(sp->dir_fd); /* the rename itself */
  if (add_entry(sp, sp->next_seq, size, datums) != 0) {
    /* On disk, not indexed: found at the next open. */
    set_err(err, err_size, "out of memory");
    return -1;
  }
  sp->st.datums_written += datums;
  return 0;
}

int cw_spool_peek(cw_spool_t *sp, char **body, size_t *len, size_t *datums,
                  char *err, size_t err_size) {
  char name[64], why[256];
  unsigned char *data;
  size_t size = 0;
  int errnum;

  if (sp->num == 0)
    return 0;
  file_name(sp->files[0].seq, name, sizeof(name));
  data = read_file(sp->dir_fd, name, sp->max_bytes, &size, &errnum);
  if (data == NULL) {
    if (errnum == ENOENT || errnum == EFBIG || errnum == ELOOP) {
      set_err(err, err_size, "%s/%s: %s; skipped", sp->dir, name,
              strerror(errnum));
      if (errnum != ENOENT)
        set_aside(sp, name);
      drop_entry(sp, 0);
      return -2;
    }
    set_err(err, err_size, "cannot read %s/%s: %s", sp->dir, name,
            strerror(errnum));
    return -1;
  }
  if (cw_spool_decode_file(data, size, body, len, datums, NULL, 0, why,
                           sizeof(why)) != 0) {
    free(data);
    set_err(err, err_size, "%s/%s: %s; set aside as %s.corrupt", sp->dir, name,
            why, name);
    set_aside(sp, name);
    drop_entry(sp, 0);
    return -2;
  }
  free(data);
  return 1;
}

void cw_spool_pop(cw_spool_t *sp) {
  char name[64];
  if (sp->num == 0)
    return;
  file_name(sp->files[0].seq, name, sizeof(name));
  unlinkat(sp->dir_fd, name, 0);
  drop_entry(sp, 0);
}

void cw_spool_get_stats(const cw_spool_t *sp, cw_spool_stats_t *out) {
  *out = sp->st;
}

const char *cw_spool_dir(const cw_spool_t *sp) { return sp->dir; }
