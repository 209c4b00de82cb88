/* SPDX-License-Identifier: MIT */
/*
 * sm_durable: a write replaces the file whole (a prepared but uncommitted
 * write leaves the old content), files are 0600, a stale temporary file is
 * replaced, links are never followed (neither when writing the temporary
 * file nor when reading), reads are capped, and a damaged file is set
 * aside under NAME.corrupt.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sm_durable.h"
#include "tap.h"

static char dir[64];

/* Two calls may be used in one expression: alternating buffers. */
static const char *path_of(const char *name) {
  static char p[2][256];
  static int i;
  i = !i;
  snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
  return p[i];
}

static char *slurp(const char *name) {
  static char buf[256];
  FILE *f = fopen(path_of(name), "r");
  size_t n;
  if (f == NULL)
    return NULL;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static int write_text(int fd, const char *name, const char *a, const char *b,
                      char *err, size_t size) {
  struct iovec iov[2] = {{(void *)a, strlen(a)}, {(void *)b, strlen(b)}};
  return sm_durable_write(fd, name, iov, 2, err, size);
}

int main(void) {
  char err[256], sub[128];
  struct stat st;
  int fd, errnum;
  size_t size;
  unsigned char *data;
  struct iovec iov;

  snprintf(dir, sizeof(dir), "/tmp/sm-durable-test.XXXXXX");
  if (!T_OK(mkdtemp(dir) != NULL, "a scratch directory"))
    return t_done();
  snprintf(sub, sizeof(sub), "%s/a/b", dir);
  fd = sm_durable_open_dir(sub, 1, err, sizeof(err));
  T_OK(fd >= 0, "open_dir creates missing parents");
  T_OK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "0700");
  if (fd >= 0)
    close(fd);
  T_OK(sm_durable_open_dir("relative/dir", 1, err, sizeof(err)) < 0 &&
           strstr(err, "absolute") != NULL,
       "a relative directory is refused: %s", err);
  fd = sm_durable_open_dir(dir, 0, err, sizeof(err));
  if (!T_OK(fd >= 0, "open_dir"))
    return t_done();

  T_EQ_INT(write_text(fd, "f", "one ", "two\n", err, sizeof(err)), 0,
           "write in two parts");
  T_EQ_STR(slurp("f"), "one two\n", "the parts, in order");
  T_OK(stat(path_of("f"), &st) == 0 && (st.st_mode & 0777) == 0600,
       "the file is 0600");
  T_OK(access(path_of("f.tmp"), F_OK) != 0, "no temporary file left");

  /* A kill between the steps: the old content stays. */
  iov = (struct iovec){"new\n", 4};
  T_EQ_INT(sm_durable_prepare(fd, "f", &iov, 1, err, sizeof(err)), 0,
           "prepare");
  T_EQ_STR(slurp("f"), "one two\n", "prepared, not committed: the old file");
  T_EQ_STR(slurp("f.tmp"), "new\n", "the new content waits in f.tmp");
  T_EQ_INT(sm_durable_commit(fd, "f", err, sizeof(err)), 0, "commit");
  T_EQ_STR(slurp("f"), "new\n", "committed: the new file");
  T_OK(sm_durable_commit(fd, "f", err, sizeof(err)) != 0,
       "commit with nothing prepared fails: %s", err);
  T_EQ_STR(slurp("f"), "new\n", "and leaves the file alone");

  /* A stale temporary file, and one that is a link to elsewhere. */
  {
    FILE *s = fopen(path_of("g.tmp"), "w");
    fputs("stale", s);
    fclose(s);
  }
  T_EQ_INT(write_text(fd, "g", "fresh", "", err, sizeof(err)), 0,
           "a stale temporary file is replaced");
  T_EQ_STR(slurp("g"), "fresh", "with the new content");
  {
    FILE *t = fopen(path_of("target"), "w");
    fputs("untouched", t);
    fclose(t);
  }
  T_OK(symlink(path_of("target"), path_of("h.tmp")) == 0, "plant a link");
  T_EQ_INT(write_text(fd, "h", "mine", "", err, sizeof(err)), 0,
           "write over a planted link");
  T_EQ_STR(slurp("target"), "untouched", "the link's target is untouched");
  T_EQ_STR(slurp("h"), "mine", "the file is ours");

  /* Reads. */
  data = sm_durable_read(fd, "f", 100, &size, &errnum);
  T_OK(data != NULL && size == 4 && memcmp(data, "new\n", 4) == 0 &&
           data[4] == 0,
       "read: whole and NUL-terminated");
  free(data);
  T_OK(sm_durable_read(fd, "f", 3, &size, &errnum) == NULL && errnum == EFBIG,
       "read over the cap: EFBIG");
  T_OK(sm_durable_read(fd, "nothing", 3, &size, &errnum) == NULL &&
           errnum == ENOENT,
       "read of a missing file: ENOENT");
  T_OK(symlink(path_of("target"), path_of("link")) == 0, "a link to read");
  T_OK(sm_durable_read(fd, "link", 100, &size, &errnum) == NULL &&
           errnum == ELOOP,
       "a link is not read: ELOOP");
  T_OK(mkfifo(path_of("fifo"), 0600) == 0, "a FIFO");
  T_OK(sm_durable_read(fd, "fifo", 100, &size, &errnum) == NULL &&
           errnum == EINVAL,
       "a FIFO is not read (and does not block): EINVAL");

  /* Set aside. */
  T_EQ_INT(sm_durable_set_aside(fd, "g", err, sizeof(err)), 0, "set aside");
  T_OK(access(path_of("g"), F_OK) != 0, "the name is free");
  T_EQ_STR(slurp("g.corrupt"), "fresh", "kept as g.corrupt");
  T_OK(sm_durable_prepare(fd, "../escape", &iov, 1, err, sizeof(err)) != 0,
       "a name with a slash is refused: %s", err);
  close(fd);
  {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      T_NOTE("could not remove %s", dir);
  }
  return t_done();
}
