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
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "cw_encode.h"
#include "sm_durable.h"
#include "sm_text.h"

#define MAGIC_V1 "cw-spool 1\n"
#define MAGIC_V2 "cw-spool 2\n"
#define SUFFIX ".spool"
#define HEADER_MAX 2048
/* The directory where earlier versions spooled the host metrics. */
#define LEGACY_HOST_DIR "host"

static const char *const kind_names[CW_SPOOL_KINDS] = {"metrics", "logs"};

const char *cw_spool_kind_name(cw_spool_kind_t k) {
  return k < CW_SPOOL_KINDS ? kind_names[k] : "?";
}

typedef struct {
  uint64_t seq;
  uint64_t size;
  uint64_t items;
  double oldest;
  cw_spool_kind_t kind;
  char *dest;
} entry_t;

struct cw_spool_s {
  char *dir;
  int dir_fd;
  int lock_fd;
  uint64_t max_bytes;
  entry_t *files; /* oldest first (by seq) */
  size_t num, cap;
  uint64_t next_seq;
  cw_spool_stats_t st;
};

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
    sm_text_printf(err, err_size, "out of memory");
    return -1;
  }
  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    free(buf);
    sm_text_printf(err, err_size, "zlib refused to start");
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
    sm_text_printf(err, err_size, "%s",
                   rc == Z_MEM_ERROR    ? "out of memory inflating the body"
                   : rc == Z_STREAM_END ? "bytes after the gzip stream"
                   : zs.total_out + 1 >= max + 1
                       ? "body larger than a batch"
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

/* The header of a spool file and where the payload starts. */
typedef struct {
  cw_spool_kind_t kind;
  char dest[CW_SPOOL_DEST_MAX + 1];
  uint64_t items;
  double oldest;
  uint64_t length;
  uint32_t crc;
  size_t header_len;
} header_t;

/* data[0..avail) is the start of a file of size bytes. */
static int parse_header(const unsigned char *data, size_t avail, size_t size,
                        header_t *h, char *err, size_t err_size) {
  const char *p = (const char *)data, *end;
  char v[64];
  uint64_t crc;
  char *e;
  bool v1;

  memset(h, 0, sizeof(*h));
  end = p + (avail < HEADER_MAX ? avail : HEADER_MAX);
  if ((size_t)(end - p) >= strlen(MAGIC_V2) &&
      memcmp(p, MAGIC_V2, strlen(MAGIC_V2)) == 0) {
    v1 = false;
  } else if ((size_t)(end - p) >= strlen(MAGIC_V1) &&
             memcmp(p, MAGIC_V1, strlen(MAGIC_V1)) == 0) {
    v1 = true;
  } else {
    sm_text_printf(err, err_size, "not a spool file (no \"cw-spool 2\" line)");
    return -1;
  }
  p += strlen(MAGIC_V2);
  if (v1) {
    h->kind = CW_SPOOL_METRICS;
    if (!header_line(&p, end, "namespace", h->dest, sizeof(h->dest))) {
      sm_text_printf(err, err_size, "bad namespace line");
      return -1;
    }
  } else {
    if (!header_line(&p, end, "kind", v, sizeof(v))) {
      sm_text_printf(err, err_size, "bad kind line");
      return -1;
    }
    for (h->kind = 0; h->kind < CW_SPOOL_KINDS; h->kind++)
      if (strcmp(v, kind_names[h->kind]) == 0)
        break;
    if (h->kind == CW_SPOOL_KINDS) {
      sm_text_printf(err, err_size, "unknown kind \"%s\"", v);
      return -1;
    }
    if (!header_line(&p, end, "destination", h->dest, sizeof(h->dest))) {
      sm_text_printf(err, err_size, "bad destination line");
      return -1;
    }
  }
  if (!header_line(&p, end, v1 ? "datums" : "items", v, sizeof(v)) ||
      !parse_u64(v, &h->items) || h->items == 0 ||
      h->items > CW_SPOOL_MAX_ITEMS) {
    sm_text_printf(err, err_size, "bad %s line", v1 ? "datums" : "items");
    return -1;
  }
  if (!header_line(&p, end, "oldest", v, sizeof(v))) {
    sm_text_printf(err, err_size, "bad oldest line");
    return -1;
  }
  errno = 0;
  h->oldest = strtod(v, &e);
  if (errno != 0 || *e != 0 || !isfinite(h->oldest)) {
    sm_text_printf(err, err_size, "bad oldest line");
    return -1;
  }
  if (!header_line(&p, end, "length", v, sizeof(v)) ||
      !parse_u64(v, &h->length)) {
    sm_text_printf(err, err_size, "bad length line");
    return -1;
  }
  if (!header_line(&p, end, "crc32", v, sizeof(v)) || strlen(v) != 8 ||
      strspn(v, "0123456789abcdef") != 8) {
    sm_text_printf(err, err_size, "bad crc32 line");
    return -1;
  }
  crc = strtoull(v, NULL, 16);
  h->crc = (uint32_t)crc;
  if (p >= end || *p != '\n') {
    sm_text_printf(err, err_size, "no blank line after the header");
    return -1;
  }
  p++;
  h->header_len = (size_t)(p - (const char *)data);
  if (h->length != size - h->header_len) {
    sm_text_printf(err, err_size,
                   "length %" PRIu64
                   " but %zu bytes follow the header (truncated?)",
                   h->length, size - h->header_len);
    return -1;
  }
  return 0;
}

int cw_spool_decode(const unsigned char *data, size_t size, char **body,
                    size_t *body_len, cw_spool_batch_t *info, char *dest,
                    size_t dest_size, char *err, size_t err_size) {
  header_t h;
  const unsigned char *payload;
  uLong crc;

  *body = NULL;
  if (parse_header(data, size, size, &h, err, err_size) != 0)
    return -1;
  payload = data + h.header_len;
  crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, payload, (uInt)h.length);
  if ((uint32_t)crc != h.crc) {
    sm_text_printf(err, err_size, "CRC mismatch (%08x, header says %08x)",
                   (unsigned)crc, (unsigned)h.crc);
    return -1;
  }
  if (gunzip(payload, h.length, CW_SPOOL_MAX_BODY, body, body_len, err,
             err_size) != 0)
    return -1;
  if (info != NULL) {
    memset(info, 0, sizeof(*info));
    info->kind = h.kind;
    info->items = h.items;
    info->oldest = h.oldest;
    info->size = size;
    if (dest != NULL && dest_size > 0) {
      snprintf(dest, dest_size, "%s", h.dest);
      info->dest = dest;
    }
  }
  return 0;
}

/* ------------------------------------------------------------ index */

static void entry_drop(cw_spool_t *sp, size_t i) {
  entry_t *e = &sp->files[i];
  sp->st.files--;
  sp->st.bytes -= e->size;
  sp->st.items[e->kind] -= e->items;
  free(e->dest);
  memmove(&sp->files[i], &sp->files[i + 1],
          (sp->num - i - 1) * sizeof(*sp->files));
  sp->num--;
}

static int entry_add(cw_spool_t *sp, uint64_t seq, uint64_t size,
                     const header_t *h) {
  entry_t *e;
  if (sp->num == sp->cap) {
    size_t cap = sp->cap ? sp->cap * 2 : 64;
    entry_t *p = realloc(sp->files, cap * sizeof(*p));
    if (p == NULL)
      return -1;
    sp->files = p;
    sp->cap = cap;
  }
  e = &sp->files[sp->num];
  *e = (entry_t){seq, size, h->items, h->oldest, h->kind, strdup(h->dest)};
  if (e->dest == NULL)
    return -1;
  sp->num++;
  sp->st.files++;
  sp->st.bytes += size;
  sp->st.items[h->kind] += h->items;
  if (seq >= sp->next_seq)
    sp->next_seq = seq + 1;
  return 0;
}

/* The index of batch seq, or sp->num. */
static size_t entry_find(const cw_spool_t *sp, uint64_t seq) {
  size_t lo = 0, hi = sp->num;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sp->files[mid].seq < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < sp->num && sp->files[lo].seq == seq ? lo : sp->num;
}

static int by_seq(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void set_aside(cw_spool_t *sp, const char *name) {
  sm_durable_set_aside(sp->dir_fd, name, NULL, 0);
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

/* The seq of a batch file's name, or 0 when the name is not one. */
static uint64_t name_seq(const char *name) {
  char digits[32];
  uint64_t seq;
  if (strlen(name) != 20 + strlen(SUFFIX) || strcmp(name + 20, SUFFIX) != 0)
    return 0;
  memcpy(digits, name, 20);
  digits[20] = 0;
  if (strspn(digits, "0123456789") != 20 || !parse_u64(digits, &seq))
    return 0;
  return seq;
}

/* Reads the header of file name in dir_fd: 0 with *h and *size, -1 with
 * why. */
static int read_header(int dir_fd, const char *name, header_t *h,
                       uint64_t *size, char *why, size_t why_size) {
  unsigned char head[HEADER_MAX];
  struct stat st;
  ssize_t got;
  int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    sm_text_printf(why, why_size, "not a regular file");
    if (fd >= 0)
      close(fd);
    return -1;
  }
  got = read(fd, head, sizeof(head));
  close(fd);
  if (got < 0) {
    sm_text_printf(why, why_size, "%s", strerror(errno));
    return -1;
  }
  *size = (uint64_t)st.st_size;
  return parse_header(head, (size_t)got, (size_t)st.st_size, h, why, why_size);
}

/* Indexes the batch files of the directory; sets aside what fails. */
static int index_dir(cw_spool_t *sp, char **notes, char *err, size_t err_size) {
  int fd = dup(sp->dir_fd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *de;

  if (d == NULL) {
    sm_text_printf(err, err_size, "cannot list %s: %s", sp->dir,
                   strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    size_t len = strlen(name);
    uint64_t seq, size = 0;
    header_t h;
    char why[256];

    if (len > 4 && strcmp(name + len - 4, SM_DURABLE_TMP_SUFFIX) == 0) {
      /* A write a crash interrupted: never renamed into place. */
      unlinkat(sp->dir_fd, name, 0);
      continue;
    }
    if ((seq = name_seq(name)) == 0)
      continue;
    if (read_header(sp->dir_fd, name, &h, &size, why, sizeof(why)) != 0) {
      note(notes, "%s: %s; set aside as %s.corrupt", name, why, name);
      set_aside(sp, name);
      continue;
    }
    if (entry_add(sp, seq, size, &h) != 0) {
      closedir(d);
      sm_text_printf(err, err_size, "out of memory");
      return -1;
    }
  }
  closedir(d);
  if (sp->num > 1)
    qsort(sp->files, sp->num, sizeof(*sp->files), by_seq);
  return 0;
}

static int by_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Earlier versions kept the host metrics' batches in dir/host: they move
 * into the spool, after what it holds, in their order. */
static void adopt_legacy(cw_spool_t *sp, char **notes) {
  int hfd = openat(sp->dir_fd, LEGACY_HOST_DIR,
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  int lfd, fd;
  DIR *d;
  struct dirent *de;
  uint64_t *seqs = NULL;
  size_t n = 0, cap = 0, moved = 0;

  if (hfd < 0)
    return;
  lfd = openat(hfd, ".lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) != 0) {
    note(notes, "%s/" LEGACY_HOST_DIR " is in use; left alone", sp->dir);
    close(lfd);
    close(hfd);
    return;
  }
  fd = dup(hfd);
  d = fd >= 0 ? fdopendir(fd) : NULL;
  while (d != NULL && (de = readdir(d)) != NULL) {
    uint64_t seq = name_seq(de->d_name);
    if (seq == 0)
      continue;
    if (n == cap) {
      uint64_t *p = realloc(seqs, (cap = cap ? cap * 2 : 64) * sizeof(*p));
      if (p == NULL)
        break;
      seqs = p;
    }
    seqs[n++] = seq;
  }
  if (d != NULL)
    closedir(d);
  else if (fd >= 0)
    close(fd);
  qsort(seqs, n, sizeof(*seqs), by_u64);
  for (size_t i = 0; i < n; i++) {
    char from[64], to[64], why[256];
    header_t h;
    uint64_t size = 0;

    file_name(seqs[i], from, sizeof(from));
    if (read_header(hfd, from, &h, &size, why, sizeof(why)) != 0) {
      note(notes, LEGACY_HOST_DIR "/%s: %s; set aside", from, why);
      sm_durable_set_aside(hfd, from, NULL, 0);
      sp->st.files_corrupt++;
      continue;
    }
    file_name(sp->next_seq, to, sizeof(to));
    if (renameat(hfd, from, sp->dir_fd, to) != 0 ||
        entry_add(sp, sp->next_seq, size, &h) != 0)
      break;
    moved++;
  }
  free(seqs);
  fsync(sp->dir_fd);
  if (lfd >= 0)
    close(lfd);
  unlinkat(hfd, ".lock", 0);
  close(hfd);
  /* Anything else there (.corrupt files) keeps the directory. */
  unlinkat(sp->dir_fd, LEGACY_HOST_DIR, AT_REMOVEDIR);
  if (moved > 0)
    note(notes, "%zu batches of %s/" LEGACY_HOST_DIR " moved into the spool",
         moved, sp->dir);
}

cw_spool_t *cw_spool_open(const char *dir, uint64_t max_bytes, char **notes,
                          char *err, size_t err_size) {
  cw_spool_t *sp;

  if (notes != NULL)
    *notes = NULL;
  if (dir == NULL || dir[0] != '/') {
    sm_text_printf(err, err_size,
                   "the spool directory must be an absolute path");
    return NULL;
  }
  if (max_bytes < CW_SPOOL_MIN_MAX_BYTES) {
    sm_text_printf(err, err_size, "a spool needs at least %u bytes",
                   CW_SPOOL_MIN_MAX_BYTES);
    return NULL;
  }
  sp = calloc(1, sizeof(*sp));
  if (sp == NULL) {
    sm_text_printf(err, err_size, "out of memory");
    return NULL;
  }
  sp->lock_fd = -1;
  sp->max_bytes = max_bytes;
  sp->next_seq = 1;
  sp->dir = strdup(dir);
  sp->dir_fd = sm_durable_open_dir(dir, 1, err, err_size);
  if (sp->dir == NULL || sp->dir_fd < 0) {
    if (sp->dir == NULL)
      sm_text_printf(err, err_size, "out of memory");
    cw_spool_close(sp);
    return NULL;
  }
  sp->lock_fd = openat(sp->dir_fd, ".lock",
                       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    sm_text_printf(err, err_size, "%s is in use by another spool (%s)", dir,
                   errno == EWOULDBLOCK ? "locked" : strerror(errno));
    cw_spool_close(sp);
    return NULL;
  }
  if (index_dir(sp, notes, err, err_size) != 0) {
    cw_spool_close(sp);
    return NULL;
  }
  adopt_legacy(sp, notes);
  return sp;
}

void cw_spool_close(cw_spool_t *sp) {
  if (sp == NULL)
    return;
  if (sp->lock_fd >= 0)
    close(sp->lock_fd); /* releases the lock */
  if (sp->dir_fd >= 0)
    close(sp->dir_fd);
  for (size_t i = 0; i < sp->num; i++)
    free(sp->files[i].dest);
  free(sp->files);
  free(sp->dir);
  free(sp);
}

/* ------------------------------------------------------------ batches */

static bool dest_ok(const char *dest) {
  size_t n;
  if (dest == NULL)
    return false;
  n = strnlen(dest, CW_SPOOL_DEST_MAX + 1);
  if (n == 0 || n > CW_SPOOL_DEST_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)dest[i] < 0x20 || dest[i] == 0x7f)
      return false;
  return true;
}

int cw_spool_write(cw_spool_t *sp, cw_spool_kind_t kind, const char *dest,
                   const char *body, size_t len, size_t items, double oldest,
                   char *err, size_t err_size) {
  unsigned char *gz = NULL;
  size_t gz_len = 0;
  char header[HEADER_MAX], name[64], ts[CW_ENCODE_NUMBER_MAX];
  struct iovec iov[2];
  header_t h;
  int hl;
  uLong crc;
  uint64_t size;

  if (kind >= CW_SPOOL_KINDS || items == 0 || items > CW_SPOOL_MAX_ITEMS ||
      len > CW_SPOOL_MAX_BODY || !dest_ok(dest) ||
      cw_encode_format_timestamp(oldest, ts, sizeof(ts)) == 0) {
    sm_text_printf(err, err_size, "not a batch that can be spooled");
    return -1;
  }
  if (cw_encode_gzip(body, len, 6, &gz, &gz_len) != CW_ENCODE_GZIP_OK) {
    sm_text_printf(err, err_size, "cannot compress the batch");
    return -1;
  }
  crc = crc32(crc32(0L, Z_NULL, 0), gz, (uInt)gz_len);
  hl = snprintf(header, sizeof(header),
                MAGIC_V2 "kind %s\ndestination %s\nitems %zu\noldest %s\n"
                         "length %zu\ncrc32 %08lx\n\n",
                kind_names[kind], dest, items, ts, gz_len, (unsigned long)crc);
  if (hl < 0 || (size_t)hl >= sizeof(header)) {
    free(gz);
    sm_text_printf(err, err_size, "header too long");
    return -1;
  }
  size = (uint64_t)hl + gz_len;
  if (size > sp->max_bytes) {
    free(gz);
    sm_text_printf(err, err_size,
                   "a batch of %" PRIu64 " bytes exceeds the spool", size);
    return -1;
  }
  /* Room: the oldest batches go first. */
  while (sp->num > 0 && sp->st.bytes + size > sp->max_bytes) {
    file_name(sp->files[0].seq, name, sizeof(name));
    unlinkat(sp->dir_fd, name, 0);
    sp->st.items_dropped_full[sp->files[0].kind] += sp->files[0].items;
    entry_drop(sp, 0);
  }
  file_name(sp->next_seq, name, sizeof(name));
  iov[0] = (struct iovec){header, (size_t)hl};
  iov[1] = (struct iovec){gz, gz_len};
  if (sm_durable_write(sp->dir_fd, name, iov, 2, err, err_size) != 0) {
    char why[512];
    snprintf(why, sizeof(why), "%s", err);
    sm_text_printf(err, err_size, "spool %s: %s", sp->dir, why);
    free(gz);
    return -1;
  }
  free(gz);
  memset(&h, 0, sizeof(h));
  h.kind = kind;
  snprintf(h.dest, sizeof(h.dest), "%s", dest);
  h.items = items;
  h.oldest = oldest;
  if (entry_add(sp, sp->next_seq, size, &h) != 0) {
    /* On disk, not indexed: found at the next open. */
    sp->next_seq++;
    sm_text_printf(err, err_size, "out of memory");
    return -1;
  }
  sp->st.items_written[kind] += items;
  return 0;
}

int cw_spool_next(const cw_spool_t *sp, uint64_t after, cw_spool_kind_t kind,
                  const char *dest, cw_spool_batch_t *out) {
  for (size_t i = 0; i < sp->num; i++) {
    const entry_t *e = &sp->files[i];
    if (e->seq <= after || e->kind != kind ||
        (dest != NULL && strcmp(e->dest, dest) != 0))
      continue;
    *out = (cw_spool_batch_t){e->seq,   e->kind,   e->dest,
                              e->items, e->oldest, e->size};
    return 1;
  }
  return 0;
}

int cw_spool_read(cw_spool_t *sp, uint64_t seq, char **body, size_t *len,
                  char *err, size_t err_size) {
  char name[64], why[256];
  unsigned char *data;
  size_t size = 0, i = entry_find(sp, seq);
  int errnum;

  *body = NULL;
  if (i == sp->num) {
    sm_text_printf(err, err_size, "no batch %" PRIu64 " in the spool", seq);
    return -2;
  }
  file_name(seq, name, sizeof(name));
  data = sm_durable_read(sp->dir_fd, name, sp->max_bytes, &size, &errnum);
  if (data == NULL) {
    if (errnum == ENOENT || errnum == EFBIG || errnum == ELOOP ||
        errnum == EINVAL) {
      sm_text_printf(err, err_size, "%s/%s: %s; skipped", sp->dir, name,
                     strerror(errnum));
      if (errnum != ENOENT)
        set_aside(sp, name);
      entry_drop(sp, i);
      return -2;
    }
    sm_text_printf(err, err_size, "cannot read %s/%s: %s", sp->dir, name,
                   strerror(errnum));
    return -1;
  }
  if (cw_spool_decode(data, size, body, len, NULL, NULL, 0, why, sizeof(why)) !=
      0) {
    free(data);
    sm_text_printf(err, err_size, "%s/%s: %s; set aside as %s.corrupt", sp->dir,
                   name, why, name);
    set_aside(sp, name);
    entry_drop(sp, i);
    return -2;
  }
  free(data);
  return 1;
}

void cw_spool_remove(cw_spool_t *sp, uint64_t seq) {
  char name[64];
  size_t i = entry_find(sp, seq);
  if (i == sp->num)
    return;
  file_name(seq, name, sizeof(name));
  unlinkat(sp->dir_fd, name, 0);
  entry_drop(sp, i);
}

void cw_spool_get_stats(const cw_spool_t *sp, cw_spool_stats_t *out) {
  *out = sp->st;
}
