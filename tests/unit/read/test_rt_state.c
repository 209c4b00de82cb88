/* SPDX-License-Identifier: MIT */
/*
 * rt_state: the cursor file's format (a golden file whose CRC-32 was
 * computed with Python's zlib.crc32, round trips, every truncation and
 * every one-byte change refused, each rule of the grammar), the file
 * operations (mode 0600 whatever the umask, a crash between prepare and
 * commit, links, foreign and damaged files set aside) and how rt_collect
 * takes a restored cursor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_collect.h"
#include "rt_state.h"
#include "rt_test_util.h"
#include "tap.h"

/* A state written by hand, with its CRC-32 from an independent
 * implementation (Python: "%08x" % zlib.crc32(body)). */
static const char GOLDEN[] = "sagemaker_async state 1\n"
                             "runtime main%20runtime\n"
                             "boot_id 0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11\n"
                             "seq 1042\n"
                             "next_seq 1050\n"
                             "saved_ms 1764187200123\n"
                             "crc32 ec193b9a\n";

static rt_state_t golden_state(void) {
  rt_state_t st;
  memset(&st, 0, sizeof(st));
  snprintf(st.runtime, sizeof(st.runtime), "main runtime");
  snprintf(st.boot_id, sizeof(st.boot_id),
           "0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11");
  st.seq = 1042;
  st.next_seq = 1050;
  st.saved_ms = 1764187200123;
  return st;
}

static int same_state(const rt_state_t *a, const rt_state_t *b) {
  return strcmp(a->runtime, b->runtime) == 0 &&
         strcmp(a->boot_id, b->boot_id) == 0 && a->seq == b->seq &&
         a->next_seq == b->next_seq && a->saved_ms == b->saved_ms;
}

/* body with a correct crc32 line appended, so that a test reaches the
 * rule it is about rather than the checksum. */
static int parse_signed(const char *body, char *err, size_t err_size) {
  char text[RT_STATE_FILE_MAX * 2];
  rt_state_t st;
  size_t n = strlen(body);
  snprintf(text, sizeof(text), "%scrc32 %08x\n", body,
           (unsigned)rt_state_checksum(body, n));
  return rt_state_parse(text, strlen(text), &st, err, err_size);
}

static void test_format(void) {
  rt_state_t st = golden_state(), back;
  char buf[RT_STATE_FILE_MAX];
  char err[256];
  int len = rt_state_format(&st, buf, sizeof(buf));

  T_EQ_INT(len, (int)strlen(GOLDEN), "format: length of the golden file");
  T_EQ_STR(buf, GOLDEN, "format: the golden file, byte for byte");
  T_EQ_INT(rt_state_parse(GOLDEN, strlen(GOLDEN), &back, err, sizeof(err)), 0,
           "parse: the golden file");
  T_OK(same_state(&back, &st), "parse: every field of the golden file");

  /* Too small a buffer, at every size: refused, never cut. */
  {
    int bad = 0;
    for (int size = 0; size <= len; size++)
      if (rt_state_format(&st, buf, (size_t)size) != -1)
        bad++;
    T_EQ_INT(bad, 0, "format: a buffer below the length + 1 is refused");
    T_EQ_INT(rt_state_format(&st, buf, (size_t)len + 1), len,
             "format: length + 1 is enough");
  }

  /* Names with every kind of byte, the longest, the extreme numbers. */
  {
    rt_state_t odd = golden_state();
    int ok = 1;
    for (int i = 0; i < RT_STATE_NAME_MAX; i++)
      odd.runtime[i] = (char)(1 + (i * 7) % 255); /* every non-NUL byte */
    odd.runtime[RT_STATE_NAME_MAX] = 0;
    for (int i = 0; i < RT_BOOT_ID_MAX; i++)
      odd.boot_id[i] = "%% \n\x7f\xff-aZ"[i % 9];
    odd.boot_id[RT_BOOT_ID_MAX] = 0;
    odd.seq = INT64_MAX - 1;
    odd.next_seq = INT64_MAX;
    odd.saved_ms = INT64_MAX;
    len = rt_state_format(&odd, buf, sizeof(buf));
    ok = len > 0 && (size_t)len < sizeof(buf) &&
         rt_state_parse(buf, (size_t)len, &back, err, sizeof(err)) == 0 &&
         same_state(&back, &odd);
    T_OK(ok, "round trip: longest names of any bytes, largest numbers");
    if (!ok)
      T_NOTE("%s", err);
    T_OK(memchr(buf, '\r', (size_t)len) == NULL && strchr(buf, '\x7f') == NULL,
         "round trip: the file is printable lines");
    odd.seq = 0;
    odd.next_seq = 1;
    odd.saved_ms = 0;
    len = rt_state_format(&odd, buf, sizeof(buf));
    T_OK(len > 0 &&
             rt_state_parse(buf, (size_t)len, &back, err, sizeof(err)) == 0 &&
             same_state(&back, &odd),
         "round trip: seq 0, next_seq 1, saved_ms 0");
  }

  /* What format refuses. */
  {
    rt_state_t bad = golden_state();
    bad.runtime[0] = 0;
    T_EQ_INT(rt_state_format(&bad, buf, sizeof(buf)), -1,
             "format: an empty runtime name is refused");
    bad = golden_state();
    bad.boot_id[0] = 0;
    T_EQ_INT(rt_state_format(&bad, buf, sizeof(buf)), -1,
             "format: an empty boot_id is refused");
    bad = golden_state();
    bad.next_seq = bad.seq;
    T_EQ_INT(rt_state_format(&bad, buf, sizeof(buf)), -1,
             "format: next_seq not above seq is refused");
    bad = golden_state();
    bad.seq = -1;
    T_EQ_INT(rt_state_format(&bad, buf, sizeof(buf)), -1,
             "format: a negative seq is refused");
    bad = golden_state();
    memset(bad.runtime, 'x', sizeof(bad.runtime));
    T_EQ_INT(rt_state_format(&bad, buf, sizeof(buf)), -1,
             "format: a runtime name without its NUL is refused");
  }
}

static void test_damage(void) {
  size_t n = strlen(GOLDEN);
  char text[sizeof(GOLDEN)];
  char err[256];
  rt_state_t st;
  int accepted = 0, silent = 0, truncated_named = 0;
  static const unsigned char flips[] = {0x01, 0x02, 0x04, 0x08,
                                        0x10, 0x20, 0x40, 0x80};

  /* Every proper prefix: a file cut anywhere is refused and says so. */
  for (size_t len = 0; len < n; len++) {
    err[0] = 0;
    if (rt_state_parse(GOLDEN, len, &st, err, sizeof(err)) == 0)
      accepted++;
    if (err[0] == 0)
      silent++;
    if (strstr(err, "truncated") || strstr(err, "empty"))
      truncated_named++;
  }
  T_EQ_INT(accepted, 0, "every truncation of the file is refused");
  T_EQ_INT(silent, 0, "every refusal says why");
  T_OK(truncated_named >= (int)n - 30,
       "a truncation is called one (%d of %zu prefixes; the rest break the "
       "last line's syntax first)",
       truncated_named, n);

  /* Every bit of every byte flipped, and each byte set to a digit, a
   * newline, a space: CRC-32 catches every burst of up to 32 bits, and
   * the grammar the rest. */
  accepted = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t f = 0; f < sizeof(flips) + 3; f++) {
      memcpy(text, GOLDEN, n);
      if (f < sizeof(flips))
        text[i] = (char)((unsigned char)text[i] ^ flips[f]);
      else
        text[i] = "0\n "[f - sizeof(flips)];
      if (text[i] == GOLDEN[i])
        continue;
      if (rt_state_parse(text, n, &st, err, sizeof(err)) == 0)
        accepted++;
    }
  }
  T_EQ_INT(accepted, 0, "every one-byte change of the file is refused");

  memcpy(text, GOLDEN, n);
  text[strstr(GOLDEN, "1042") - GOLDEN + 3] = '3';
  T_EQ_INT(rt_state_parse(text, n, &st, err, sizeof(err)), -1,
           "a changed seq is refused");
  T_OK(strstr(err, "checksum") != NULL, "  as a checksum mismatch: %s", err);
}

static void test_grammar(void) {
  char err[256];
  char big[RT_STATE_FILE_MAX + 2];
  rt_state_t st;
  const char *head = "sagemaker_async state 1\n";
  struct {
    const char *body;
    const char *why; /* a word the error must contain */
    const char *what;
  } cases[] = {
      {"runtime r\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", NULL,
       "a minimal valid file"},
      {"runtime r\nboot_id b\nseq 2\nnext_seq 2\nsaved_ms 3\n", "below",
       "next_seq equal to seq"},
      {"runtime r\nboot_id b\nseq 01\nnext_seq 2\nsaved_ms 3\n", "leading",
       "a leading zero"},
      {"runtime r\nboot_id b\nseq -1\nnext_seq 2\nsaved_ms 3\n", "decimal",
       "a sign"},
      {"runtime r\nboot_id b\nseq 1\nnext_seq 9223372036854775808\n"
       "saved_ms 3\n",
       "range", "next_seq above INT64_MAX"},
      {"runtime r\nboot_id b\nseq 9223372036854775807\n"
       "next_seq 9223372036854775807\nsaved_ms 3\n",
       "below", "seq INT64_MAX"},
      {"runtime r\nboot_id b\nseq \nnext_seq 2\nsaved_ms 3\n", "empty",
       "an empty number"},
      {"runtime r\nboot_id b\nseq 1 \nnext_seq 2\nsaved_ms 3\n", "decimal",
       "a trailing space"},
      {"runtime r\nboot_id b\nnext_seq 2\nseq 1\nsaved_ms 3\n", "seq",
       "keys out of order"},
      {"runtime r\nboot_id b\nseq 1\nseq 1\nnext_seq 2\nsaved_ms 3\n",
       "next_seq", "a key twice"},
      {"runtime r\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\nextra 1\n",
       "crc32", "an unknown key"},
      {"runtime \nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "empty",
       "an empty runtime name"},
      {"runtime a b\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "escaped",
       "a raw space in a name"},
      {"runtime a%2\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "cut",
       "a cut escape"},
      {"runtime a%2g\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "hex",
       "a bad escape"},
      {"runtime a%2f\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "hex",
       "a lowercase escape"},
      {"runtime %41\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "never",
       "an escape of a byte that is never escaped"},
      {"runtime a%00\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "never",
       "an escaped NUL"},
      {"runtime r\r\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n", "escaped",
       "a CR line end"},
      {"runtime r\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3", "truncated",
       "no newline at the end of the last line"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char body[512];
    int rc;
    snprintf(body, sizeof(body), "%s%s", head, cases[i].body);
    if (cases[i].why != NULL && strcmp(cases[i].why, "truncated") == 0) {
      /* The crc32 line itself is what lacks its end here. */
      char text[600];
      snprintf(text, sizeof(text), "%s%scrc32 %08x", head,
               "runtime r\nboot_id b\nseq 1\nnext_seq 2\nsaved_ms 3\n",
               (unsigned)rt_state_checksum(
                   body, strlen(body) + 1 /* the newline it lacks */));
      rc = rt_state_parse(text, strlen(text), &st, err, sizeof(err));
    } else {
      rc = parse_signed(body, err, sizeof(err));
    }
    if (cases[i].why == NULL)
      T_EQ_INT(rc, 0, cases[i].what);
    else
      T_OK(rc == -1 && strstr(err, cases[i].why) != NULL, "refused: %s (%s)",
           cases[i].what, err);
  }

  T_OK(parse_signed("sagemaker_async state 2\nruntime r\nboot_id b\nseq 1\n"
                    "next_seq 2\nsaved_ms 3\n",
                    err, sizeof(err)) == -1 &&
           strstr(err, "version 2") != NULL,
       "refused: a newer format version (%s)", err);
  T_OK(parse_signed("[Unit]\nDescription=x\n", err, sizeof(err)) == -1 &&
           strstr(err, "not a sagemaker_async state file") != NULL,
       "refused: a foreign file (%s)", err);
  {
    const char *t = GOLDEN;
    char text[sizeof(GOLDEN) + 8];
    snprintf(text, sizeof(text), "%s\n", t);
    T_OK(rt_state_parse(text, strlen(text), &st, err, sizeof(err)) == -1 &&
             strstr(err, "after") != NULL,
         "refused: data after the crc32 line (%s)", err);
    memcpy(text, GOLDEN, sizeof(GOLDEN));
    text[5] = 0;
    T_OK(rt_state_parse(text, sizeof(GOLDEN) - 1, &st, err, sizeof(err)) ==
                 -1 &&
             strstr(err, "NUL") != NULL,
         "refused: a NUL byte (%s)", err);
  }
  memset(big, 'x', sizeof(big));
  T_OK(rt_state_parse(big, sizeof(big), &st, err, sizeof(err)) == -1 &&
           strstr(err, "larger than") != NULL,
       "refused: a file over %d bytes (%s)", RT_STATE_FILE_MAX, err);
  T_OK(rt_state_parse("", 0, &st, err, sizeof(err)) == -1 &&
           strstr(err, "empty") != NULL,
       "refused: an empty file (%s)", err);
}

/* ---------------------------------------------------------------- files */

static char dir[64];

static void path_in(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", dir, name);
}

static int write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fwrite(text, 1, len, f);
  return fclose(f);
}

static int file_exists(const char *path) {
  struct stat sb;
  return lstat(path, &sb) == 0;
}

/* The file at path has mode 0600. */
static void check_mode(const char *path, const char *what) {
  struct stat sb;
  memset(&sb, 0, sizeof(sb));
  stat(path, &sb);
  T_OK((sb.st_mode & 07777) == 0600, "%s: mode 0600 (%o)", what,
       (unsigned)(sb.st_mode & 07777));
}

/* st saved again under umask mask: still mode 0600. */
static void save_under(const char *path, const rt_state_t *st, mode_t mask) {
  char err[PATH_MAX + 256], what[64];
  snprintf(what, sizeof(what), "saved again under umask %04o", (unsigned)mask);
  umask(mask);
  T_OK(rt_state_prepare(path, st, err, sizeof(err)) == 0 &&
           rt_state_commit(path, err, sizeof(err)) == 0,
       "%s", what);
  check_mode(path, what);
}

static void test_files(void) {
  char path[256], tmp[300], aside[300], other[256];
  char err[PATH_MAX + 256];
  rt_state_t st = golden_state(), back;
  struct stat sb;
  mode_t old_umask;

  path_in(path, sizeof(path), "rt.state");
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  snprintf(aside, sizeof(aside), "%s.corrupt", path);
  path_in(other, sizeof(other), "elsewhere");

  T_EQ_INT(rt_state_load(path, "main runtime", &back, err, sizeof(err)),
           RT_STATE_MISSING, "load: no file yet");

  /* Saved with a permissive and with a strict umask: 0600 both times. */
  old_umask = umask(0);
  T_EQ_INT(rt_state_prepare(path, &st, err, sizeof(err)), 0, "prepare");
  T_OK(file_exists(tmp) && !file_exists(path),
       "prepare writes only the temporary file");
  T_EQ_INT(rt_state_commit(path, err, sizeof(err)), 0, "commit");
  T_OK(!file_exists(tmp), "commit leaves no temporary file");
  check_mode(path, "created under umask 0");
  st.seq = 1043;
  save_under(path, &st, 0277);
  save_under(path, &st, 0477); /* the owner's read bit taken away */
  umask(old_umask);
  T_EQ_INT(rt_state_load(path, "main runtime", &back, err, sizeof(err)),
           RT_STATE_LOADED, "load");
  T_OK(same_state(&back, &st), "load gives what was saved");

  /* A crash between prepare and commit: the old file stands, and the
   * stale temporary file does not stop the next save. */
  st.seq = 1049;
  rt_state_prepare(path, &st, err, sizeof(err));
  T_OK(rt_state_load(path, "main runtime", &back, err, sizeof(err)) ==
               RT_STATE_LOADED &&
           back.seq == 1043,
       "killed before the rename: the previous cursor is read");
  st.seq = 1048;
  T_OK(rt_state_prepare(path, &st, err, sizeof(err)) == 0 &&
           rt_state_commit(path, err, sizeof(err)) == 0 &&
           rt_state_load(path, "main runtime", &back, err, sizeof(err)) ==
               RT_STATE_LOADED &&
           back.seq == 1048,
       "the next save replaces the stale temporary file");

  /* A link at the temporary name is replaced, not written through. */
  write_file(other, "untouched\n", 10);
  T_EQ_INT(symlink(other, tmp), 0, "a symbolic link at the temporary name");
  T_OK(rt_state_prepare(path, &st, err, sizeof(err)) == 0 &&
           rt_state_commit(path, err, sizeof(err)) == 0,
       "  saving still works");
  T_OK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode),
       "  the state file is a regular file");
  {
    char buf[32] = {0};
    FILE *f = fopen(other, "r");
    if (f != NULL) {
      size_t n = fread(buf, 1, sizeof(buf) - 1, f);
      buf[n] = 0;
      fclose(f);
    }
    T_EQ_STR(buf, "untouched\n", "  and the link's target was not written");
  }

  /* Another runtime's file. */
  T_EQ_INT(rt_state_load(path, "other", &back, err, sizeof(err)),
           RT_STATE_INVALID, "load: a file of another runtime is invalid");
  T_OK(strstr(err, "main%20runtime") && strstr(err, "\"other\""),
       "  and the error names both runtimes: %s", err);

  /* Damaged: invalid, then set aside. */
  write_file(path, GOLDEN, strlen(GOLDEN) - 5);
  T_EQ_INT(rt_state_load(path, "main runtime", &back, err, sizeof(err)),
           RT_STATE_INVALID, "load: a truncated file is invalid");
  T_OK(strstr(err, "truncated") != NULL, "  and says so: %s", err);
  T_EQ_INT(rt_state_set_aside(path, err, sizeof(err)), 0, "set aside");
  T_OK(!file_exists(path) && file_exists(aside),
       "  the file is renamed to .corrupt");
  write_file(path, "garbage", 7);
  T_OK(rt_state_set_aside(path, err, sizeof(err)) == 0 && file_exists(aside),
       "  an older .corrupt is replaced");
  /* A .corrupt name that cannot be replaced: the file goes anyway. */
  unlink(aside);
  write_file(path, "garbage", 7);
  {
    char inside[320];
    snprintf(inside, sizeof(inside), "%s/x", aside);
    mkdir(aside, 0700);
    write_file(inside, "x", 1);
    T_OK(rt_state_set_aside(path, err, sizeof(err)) == -1 &&
             !file_exists(path) && strstr(err, "removed") != NULL,
         "  when it cannot be renamed, it is removed: %s", err);
    unlink(inside);
    rmdir(aside);
  }
  {
    char big[RT_STATE_FILE_MAX + 100];
    memset(big, 'a', sizeof(big));
    write_file(path, big, sizeof(big));
    T_OK(rt_state_load(path, "main runtime", &back, err, sizeof(err)) ==
                 RT_STATE_INVALID &&
             strstr(err, "larger") != NULL,
         "load: an oversized file is invalid (%s)", err);
    unlink(path);
  }

  /* Not a regular file. */
  T_EQ_INT(symlink(other, path), 0, "a symbolic link at the state path");
  T_OK(rt_state_load(path, "main runtime", &back, err, sizeof(err)) ==
               RT_STATE_UNREADABLE &&
           strstr(err, "symbolic link") != NULL,
       "  load refuses to follow it: %s", err);
  unlink(path);
  mkdir(path, 0700);
  T_OK(rt_state_load(path, "main runtime", &back, err, sizeof(err)) ==
               RT_STATE_UNREADABLE &&
           strstr(err, "regular") != NULL,
       "load: a directory is not a state file: %s", err);
  T_OK(rt_state_prepare(path, &st, err, sizeof(err)) == 0 &&
           rt_state_commit(path, err, sizeof(err)) == -1 &&
           strstr(err, path) != NULL,
       "commit over a directory fails, naming it: %s", err);
  T_OK(!file_exists(tmp), "  and removes its temporary file");
  rmdir(path);

  /* Nowhere to write. */
  {
    char nodir[PATH_MAX];
    path_in(nodir, sizeof(nodir), "no/such/dir/rt.state");
    T_OK(rt_state_prepare(nodir, &st, err, sizeof(err)) == -1 &&
             strstr(err, "no/such/dir/rt.state.tmp") != NULL &&
             strstr(err, "No such file") != NULL,
         "prepare in a missing directory fails, naming the file: %s", err);
    T_OK(rt_state_commit(path, err, sizeof(err)) == -1 &&
             strstr(err, "rename") != NULL,
         "commit without a prepared file fails: %s", err);
  }
  unlink(other);
  unlink(aside);
}

/* ------------------------------------------------------ restored cursor */

static void test_restore(void) {
  rt_collect_t *c = rt_collect_create(10);
  rt_snapshot_t s;

  T_EQ_INT(rt_collect_known_next_seq(c), 0, "known next_seq before any");
  T_EQ_INT(rt_collect_restore(c, "boot-a", 40, 55), 0, "restore");
  T_EQ_INT(rt_collect_cursor(c), 40, "restored cursor");
  T_EQ_INT(rt_collect_known_next_seq(c), 55, "restored known next_seq");
  s = snap("boot-a", 70);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_SAME_BOOT,
           "same boot: not a first contact");
  T_EQ_INT(rt_collect_cursor(c), 40,
           "same boot: reading on from the saved seq, not next_seq");
  T_EQ_INT(rt_collect_known_next_seq(c), 70, "same boot: next_seq follows");
  T_EQ_INT(rt_collect_lost_interval(c), 0, "same boot: nothing lost");

  rt_collect_begin_interval(c);
  T_EQ_INT(rt_collect_restore(c, "boot-a", 40, 55), 0, "restore again");
  s = snap("boot-b", 9);
  T_EQ_INT(rt_collect_snapshot(c, &s), RT_COLLECT_NEW_BOOT,
           "other boot: a restart");
  T_EQ_INT(rt_collect_cursor(c), 0, "other boot: read from its first record");
  T_EQ_INT(rt_collect_lost_interval(c), 14,
           "other boot: seqs 41..54 that boot announced are lost");

  rt_collect_begin_interval(c);
  T_EQ_INT(rt_collect_restore(c, "boot-a", 40, 12), 0,
           "restore with next_seq below the cursor");
  T_EQ_INT(rt_collect_known_next_seq(c), 41, "  taken as seq + 1");
  s = snap("boot-c", 3);
  rt_collect_snapshot(c, &s);
  T_EQ_INT(rt_collect_lost_interval(c), 0, "  and nothing counted lost");
  T_EQ_INT(rt_collect_restore(c, "boot-a", INT64_MAX, 0), -1,
           "restore refuses seq INT64_MAX");
  rt_collect_destroy(c);
}

int main(void) {
  snprintf(dir, sizeof(dir), "/tmp/sm-state-test-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    T_OK(0, "mkdtemp: %s", strerror(errno));
    return t_done();
  }
  test_format();
  test_damage();
  test_grammar();
  test_files();
  test_restore();
  rmdir(dir);
  return t_done();
}
