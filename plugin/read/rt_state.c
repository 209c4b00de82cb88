/* SPDX-License-Identifier: MIT */
/*
 * rt_state: the read plugin's cursor on disk (see rt_state.h).
 */
#include "rt_state.h"
#include "sm_text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "sm_durable.h"

#define MAGIC "sagemaker_async state "

static const char hex_upper[] = "0123456789ABCDEF";

uint32_t rt_state_checksum(const char *text, size_t len) {
  uLong crc = crc32(0L, Z_NULL, 0);
  /* zlib takes uInt lengths; the file is at most RT_STATE_FILE_MAX. */
  while (len > 0) {
    uInt n = len > 65536 ? 65536 : (uInt)len;
    crc = crc32(crc, (const Bytef *)text, n);
    text += n;
    len -= n;
  }
  return (uint32_t)crc;
}

/* ------------------------------------------------------------- format */

static bool needs_escape(unsigned char ch) {
  return ch < '!' || ch > '~' || ch == '%';
}

/* Appends src percent-encoded; returns false when it does not fit. */
static bool put_encoded(char *buf, size_t size, size_t *len, const char *src) {
  for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
    size_t need = needs_escape(*s) ? 3 : 1;
    if (*len + need >= size)
      return false;
    if (need == 3) {
      buf[(*len)++] = '%';
      buf[(*len)++] = hex_upper[*s >> 4];
      buf[(*len)++] = hex_upper[*s & 0xf];
    } else {
      buf[(*len)++] = (char)*s;
    }
  }
  buf[*len] = 0;
  return true;
}

static bool put_text(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool put_text(char *buf, size_t size, size_t *len, const char *fmt,
                     ...) {
  va_list ap;
  int n;

  if (*len >= size)
    return false;
  va_start(ap, fmt);
  n = vsnprintf(buf + *len, size - *len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= size - *len)
    return false;
  *len += (size_t)n;
  return true;
}

static bool state_valid(const rt_state_t *st) {
  return st->runtime[0] != 0 && strlen(st->runtime) <= RT_STATE_NAME_MAX &&
         st->boot_id[0] != 0 && strlen(st->boot_id) <= RT_BOOT_ID_MAX &&
         st->seq >= 0 && st->next_seq > st->seq && st->saved_ms >= 0;
}

int rt_state_format(const rt_state_t *st, char *buf, size_t size) {
  size_t len = 0;
  size_t crc_at;

  if (size == 0)
    return -1;
  buf[0] = 0;
  /* Both names are bounded: memchr keeps strlen within the arrays. */
  if (memchr(st->runtime, 0, sizeof(st->runtime)) == NULL ||
      memchr(st->boot_id, 0, sizeof(st->boot_id)) == NULL || !state_valid(st))
    return -1;
  if (!put_text(buf, size, &len, MAGIC "%d\nruntime ", RT_STATE_VERSION) ||
      !put_encoded(buf, size, &len, st->runtime) ||
      !put_text(buf, size, &len, "\nboot_id ") ||
      !put_encoded(buf, size, &len, st->boot_id) ||
      !put_text(buf, size, &len,
                "\nseq %" PRId64 "\nnext_seq %" PRId64 "\nsaved_ms %" PRId64
                "\n",
                st->seq, st->next_seq, st->saved_ms))
    return -1;
  crc_at = len;
  if (!put_text(buf, size, &len, "crc32 %08" PRIx32 "\n",
                rt_state_checksum(buf, crc_at)) ||
      len > INT_MAX)
    return -1;
  return (int)len;
}

/* -------------------------------------------------------------- parse */

typedef struct {
  const char *text;
  size_t len;
  size_t pos;
  int line_no;
  const char *line; /* the current line, without its "\n" */
  size_t line_len;
} reader_t;

/* Moves to the next line. Returns false at the end of the text, or when
 * the last line has no end (r->line is then that rest). */
static bool next_line(reader_t *r, bool *unterminated) {
  const char *nl;

  *unterminated = false;
  if (r->pos >= r->len)
    return false;
  r->line = r->text + r->pos;
  nl = memchr(r->line, '\n', r->len - r->pos);
  r->line_no++;
  if (nl == NULL) {
    r->line_len = r->len - r->pos;
    r->pos = r->len;
    *unterminated = true;
    return false;
  }
  r->line_len = (size_t)(nl - r->line);
  r->pos += r->line_len + 1;
  return true;
}

static int hex_value(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Decodes a percent-encoded value into out (cap bytes without the NUL).
 * Only what put_encoded() writes is accepted, so that parse and format
 * are inverse. Returns NULL, or what is wrong. */
static const char *decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;

  if (n == 0)
    return "is empty";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (o >= cap)
      return "is too long";
    if (ch == '%') {
      int hi, lo;
      if (i + 2 >= n)
        return "has a cut %-escape";
      hi = hex_value(s[i + 1]);
      lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0)
        return "has a %-escape that is not two uppercase hex digits";
      ch = (unsigned char)(hi << 4 | lo);
      if (ch == 0 || !needs_escape(ch))
        return "has a %-escape of a byte that is never escaped";
      i += 2;
    } else if (needs_escape(ch)) {
      return "has a byte that should have been %-escaped";
    }
    out[o++] = (char)ch;
  }
  out[o] = 0;
  return NULL;
}

/* A decimal integer from 0 to INT64_MAX, without sign or leading zeros. */
static const char *parse_int(const char *s, size_t n, int64_t *v) {
  int64_t x = 0;

  if (n == 0)
    return "is empty";
  if (n > 1 && s[0] == '0')
    return "has a leading zero";
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return "is not a decimal number";
    if (x > (INT64_MAX - (s[i] - '0')) / 10)
      return "is out of range";
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return NULL;
}

/* The keys of the lines after the first, in their order. */
static const char *const keys[] = {"runtime",  "boot_id",  "seq",
                                   "next_seq", "saved_ms", "crc32"};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))
#define KEY_CRC32 (KEY_COUNT - 1)

/* The first line: the format and its version. Returns false with err. */
static bool parse_magic(reader_t *r, char *err, size_t err_size) {
  bool unterminated = false;
  int64_t version = 0;
  const char *v;
  size_t vlen;

  if (!next_line(r, &unterminated) && !unterminated) {
    sm_text_printf(err, err_size, "the file is empty");
    return false;
  }
  if (r->line_len < sizeof(MAGIC) - 1 ||
      memcmp(r->line, MAGIC, sizeof(MAGIC) - 1) != 0) {
    sm_text_printf(err, err_size,
                   "not a sagemaker_async state file (the first line is not "
                   "\"" MAGIC "%d\")",
                   RT_STATE_VERSION);
    return false;
  }
  v = r->line + sizeof(MAGIC) - 1;
  vlen = r->line_len - (sizeof(MAGIC) - 1);
  if (parse_int(v, vlen, &version) != NULL || version != RT_STATE_VERSION) {
    sm_text_printf(
        err, err_size,
        "format version %.*s is not the version %d this plugin reads",
        (int)(vlen > 20 ? 20 : vlen), v, RT_STATE_VERSION);
    return false;
  }
  if (unterminated) {
    sm_text_printf(err, err_size, "truncated after line 1");
    return false;
  }
  return true;
}

/* The eight lowercase hex digits of the crc32 line. */
static const char *parse_crc(const char *s, size_t n, uint32_t *crc) {
  uint32_t x = 0;

  if (n != 8)
    return "is not eight hex digits";
  for (size_t i = 0; i < 8; i++) {
    int d = s[i] >= 'a' && s[i] <= 'f'   ? s[i] - 'a' + 10
            : s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
                                         : -1;
    if (d < 0)
      return "is not eight lowercase hex digits";
    x = x << 4 | (uint32_t)d;
  }
  *crc = x;
  return NULL;
}

/* The value of the line of keys[k] into out (or *crc). Returns NULL, or
 * what is wrong with it. */
static const char *parse_value(size_t k, const char *value, size_t vlen,
                               rt_state_t *out, uint32_t *crc) {
  switch (k) {
  case 0:
    return decode(value, vlen, out->runtime, RT_STATE_NAME_MAX);
  case 1:
    return decode(value, vlen, out->boot_id, RT_BOOT_ID_MAX);
  case 2:
    return parse_int(value, vlen, &out->seq);
  case 3:
    return parse_int(value, vlen, &out->next_seq);
  case 4:
    return parse_int(value, vlen, &out->saved_ms);
  default:
    return parse_crc(value, vlen, crc);
  }
}

int rt_state_parse(const char *text, size_t len, rt_state_t *st, char *err,
                   size_t err_size) {
  reader_t r = {.text = text, .len = len};
  rt_state_t out;
  bool unterminated = false;
  size_t crc_at = 0;
  uint32_t crc = 0;

  sm_text_printf(err, err_size, "%s", "");
  memset(&out, 0, sizeof(out));
  if (len == 0) {
    sm_text_printf(err, err_size, "the file is empty");
    return -1;
  }
  if (len > RT_STATE_FILE_MAX) {
    sm_text_printf(err, err_size, "the file is larger than %d bytes",
                   RT_STATE_FILE_MAX);
    return -1;
  }
  if (memchr(text, 0, len) != NULL) {
    sm_text_printf(err, err_size, "the file holds a NUL byte");
    return -1;
  }
  if (!parse_magic(&r, err, err_size))
    return -1;

  for (size_t k = 0; k < KEY_COUNT; k++) {
    size_t klen = strlen(keys[k]);
    size_t line_start = r.pos;
    const char *why;

    if (!next_line(&r, &unterminated) && !unterminated) {
      sm_text_printf(err, err_size, "truncated: no \"%s\" line", keys[k]);
      return -1;
    }
    if (unterminated) {
      sm_text_printf(err, err_size, "truncated in line %d", r.line_no);
      return -1;
    }
    if (r.line_len <= klen || memcmp(r.line, keys[k], klen) != 0 ||
        r.line[klen] != ' ') {
      sm_text_printf(err, err_size, "line %d is not the \"%s\" line", r.line_no,
                     keys[k]);
      return -1;
    }
    if (k == KEY_CRC32)
      crc_at = line_start;
    why = parse_value(k, r.line + klen + 1, r.line_len - klen - 1, &out, &crc);
    if (why != NULL) {
      sm_text_printf(err, err_size, "line %d: %s %s", r.line_no, keys[k], why);
      return -1;
    }
  }
  if (r.pos != len) {
    sm_text_printf(err, err_size, "data after the crc32 line");
    return -1;
  }
  if (rt_state_checksum(text, crc_at) != crc) {
    sm_text_printf(err, err_size,
                   "checksum mismatch (crc32 %08" PRIx32 " recorded, %08" PRIx32
                   " computed): the file was changed or damaged",
                   crc, rt_state_checksum(text, crc_at));
    return -1;
  }
  if (out.seq == INT64_MAX || out.next_seq <= out.seq) {
    sm_text_printf(err, err_size,
                   "seq %" PRId64 " is not below next_seq %" PRId64, out.seq,
                   out.next_seq);
    return -1;
  }
  *st = out;
  return 0;
}

/* ---------------------------------------------------------------- files */

/* The file itself goes through sm_durable (the temporary file, the
 * fsyncs, the rename, the .corrupt file), relative to a descriptor of its
 * directory, opened here: a StateFile may be relative (to collectd's
 * BaseDir), which sm_durable_open_dir() does not take. */

/* The directory of path and its last part: "a/b" is "a" and "b", "b" is
 * "." and "b", "/b" is "/" and "b". -1 when path is empty, ends in '/' or
 * does not fit dir. */
static int split_path(const char *path, char *dir, size_t dir_size,
                      const char **name) {
  const char *slash = strrchr(path, '/');
  int n;

  if (path[0] == 0 || (slash != NULL && slash[1] == 0))
    return -1;
  if (slash == NULL) {
    *name = path;
    n = snprintf(dir, dir_size, ".");
  } else {
    *name = slash + 1;
    /* "/b": the root; else everything before the last '/'. */
    n = snprintf(dir, dir_size, "%.*s", slash == path ? 1 : (int)(slash - path),
                 path);
  }
  return n > 0 && (size_t)n < dir_size ? 0 : -1;
}

/* A descriptor of path's directory, *name set to the file's name in it;
 * -1 with errno set (ENAMETOOLONG when the path cannot be split). */
static int open_parent(const char *path, const char **name) {
  char dir[PATH_MAX];

  if (split_path(path, dir, sizeof(dir), name) != 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

rt_state_load_t rt_state_load(const char *path, const char *runtime,
                              rt_state_t *st, char *err, size_t err_size) {
  const char *name = NULL;
  unsigned char *text = NULL;
  size_t len = 0;
  int dir_fd, e = 0;

  sm_text_printf(err, err_size, "%s", "");
  dir_fd = open_parent(path, &name);
  if (dir_fd < 0)
    e = errno;
  else {
    /* Neither a link nor anything but a regular file is read; a FIFO
     * planted at the path does not block (sm_durable_read). */
    text = sm_durable_read(dir_fd, name, RT_STATE_FILE_MAX, &len, &e);
    close(dir_fd);
  }
  if (text == NULL) {
    if (e == ENOENT)
      return RT_STATE_MISSING;
    if (e == EFBIG) {
      sm_text_printf(err, err_size, "the file is larger than %d bytes",
                     RT_STATE_FILE_MAX);
      return RT_STATE_INVALID;
    }
    sm_text_printf(err, err_size, "%s",
                   e == ELOOP    ? "is a symbolic link, which is not followed"
                   : e == EINVAL ? "is not a regular file"
                                 : strerror(e));
    return RT_STATE_UNREADABLE;
  }
  if (rt_state_parse((const char *)text, len, st, err, err_size) != 0) {
    free(text);
    return RT_STATE_INVALID;
  }
  free(text);
  if (strcmp(st->runtime, runtime) != 0) {
    /* Shown encoded: the log line stays one line of printable text. */
    char shown[RT_STATE_NAME_MAX * 3 + 1];
    size_t sl = 0;
    put_encoded(shown, sizeof(shown), &sl, st->runtime);
    sm_text_printf(err, err_size, "written for runtime \"%s\", not \"%s\"",
                   shown, runtime);
    return RT_STATE_INVALID;
  }
  return RT_STATE_LOADED;
}

/* sm_durable creates NAME.tmp with mode 0600 less the umask. A state file
 * is 0600 whatever the umask: one that takes the owner's read bit away
 * would leave a file the plugin cannot read back. The mode is set through
 * a descriptor opened without following a link (by path only when the
 * umask left no read bit to open it with), and synced before the rename. */
static int make_private(int dir_fd, const char *tmp_name) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  const mode_t mode = S_IRUSR | S_IWUSR;
  struct stat sb;
  int fd = openat(dir_fd, tmp_name, flags);
  int rc = 0, e;

  if (fd < 0 && errno == EACCES &&
      fchmodat(dir_fd, tmp_name, mode, AT_SYMLINK_NOFOLLOW) == 0)
    fd = openat(dir_fd, tmp_name, flags);
  if (fd < 0)
    return -1;
  if (fstat(fd, &sb) != 0)
    rc = -1;
  else if (!S_ISREG(sb.st_mode)) {
    errno = EINVAL;
    rc = -1;
  } else if ((sb.st_mode & 07777) != mode &&
             (fchmod(fd, mode) != 0 || fsync(fd) != 0))
    rc = -1;
  e = errno;
  close(fd);
  errno = e;
  return rc;
}

int rt_state_prepare(const char *path, const rt_state_t *st, char *err,
                     size_t err_size) {
  char text[RT_STATE_FILE_MAX];
  char tmp_name[NAME_MAX + 1];
  char why[PATH_MAX + 128];
  const char *name = NULL;
  struct iovec iov;
  int len = rt_state_format(st, text, sizeof(text));
  int dir_fd, rc = 0;

  sm_text_printf(err, err_size, "%s", "");
  if (len < 0) {
    sm_text_printf(err, err_size,
                   "the cursor (boot %.40s, seq %" PRId64
                   ") cannot be written in the state format",
                   st->boot_id, st->seq);
    return -1;
  }
  dir_fd = open_parent(path, &name);
  if (dir_fd < 0) {
    sm_text_printf(err, err_size, "create %s" SM_DURABLE_TMP_SUFFIX ": %s",
                   path, strerror(errno));
    return -1;
  }
  iov.iov_base = text;
  iov.iov_len = (size_t)len;
  /* sm_durable_prepare() has checked that the name fits. */
  snprintf(tmp_name, sizeof(tmp_name), "%s" SM_DURABLE_TMP_SUFFIX, name);
  if (sm_durable_prepare(dir_fd, name, &iov, 1, why, sizeof(why)) != 0) {
    sm_text_printf(err, err_size, "%s: %s", path, why);
    rc = -1;
  } else if (make_private(dir_fd, tmp_name) != 0) {
    sm_text_printf(err, err_size, "chmod %s" SM_DURABLE_TMP_SUFFIX ": %s", path,
                   strerror(errno));
    unlinkat(dir_fd, tmp_name, 0);
    rc = -1;
  }
  close(dir_fd);
  return rc;
}

/* Runs op (sm_durable_commit or sm_durable_set_aside) on path in its
 * directory. what says what was being done, for the error when the
 * directory cannot be opened; with name_path, op's own error is prefixed
 * with the path (it names the file by its name in the directory). */
static int in_parent(const char *path,
                     int (*op)(int, const char *, char *, size_t),
                     const char *what, bool name_path, char *err,
                     size_t err_size) {
  char why[PATH_MAX + 128];
  const char *name = NULL;
  int dir_fd, rc = 0;

  sm_text_printf(err, err_size, "%s", "");
  dir_fd = open_parent(path, &name);
  if (dir_fd < 0) {
    sm_text_printf(err, err_size, "%s: %s", what, strerror(errno));
    return -1;
  }
  if (op(dir_fd, name, why, sizeof(why)) != 0) {
    sm_text_printf(err, err_size, "%s%s%s", name_path ? path : "",
                   name_path ? ": " : "", why);
    rc = -1;
  }
  close(dir_fd);
  return rc;
}

int rt_state_commit(const char *path, char *err, size_t err_size) {
  char what[PATH_MAX * 2 + 64];

  sm_text_printf(what, sizeof(what), "rename %s" SM_DURABLE_TMP_SUFFIX " to %s",
                 path, path);
  return in_parent(path, sm_durable_commit, what, true, err, err_size);
}

/* When the rename fails, sm_durable removes the file: it is not read
 * again either way. */
int rt_state_set_aside(const char *path, char *err, size_t err_size) {
  char what[PATH_MAX + 64];

  sm_text_printf(what, sizeof(what), "rename to %s" SM_DURABLE_ASIDE_SUFFIX,
                 path);
  return in_parent(path, sm_durable_set_aside, what, false, err, err_size);
}
