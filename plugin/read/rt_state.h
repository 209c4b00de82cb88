/* SPDX-License-Identifier: MIT */
/*
 * rt_state: the read plugin's cursor of one runtime on disk, so that a
 * restart of collectd neither skips nor re-reads the requests the runtime
 * still holds.
 *
 * The file is a few lines of text, written by the plugin and checked
 * whole when read back:
 *
 *   sagemaker_async state 1
 *   runtime main
 *   boot_id 0d5b3f5e-8a36-4c3b-9d2e-3b6f1f0e9a11
 *   seq 1042
 *   next_seq 1050
 *   saved_ms 1764187200123
 *   crc32 5c1e8f0a
 *
 * The first line names the format and its version; "runtime" is the
 * <Runtime> block the file belongs to; "seq" is the cursor (the last seq
 * accepted or counted as lost) of boot "boot_id"; "next_seq" the highest
 * next_seq the runtime announced for that boot, which bounds what a later
 * boot change counts as lost; "saved_ms" the wall-clock time of the save;
 * "crc32" the CRC-32 (zlib's) of every byte before that line, in eight
 * lowercase hex digits. runtime and boot_id are percent-encoded: every
 * byte outside '!'..'~' and every '%' is written %XX (uppercase hex).
 * Each key appears once, in this order, each line ends with "\n".
 *
 * The file is written, read and set aside through sm_durable, in two
 * steps so that the caller can put its dispatch between them:
 * rt_state_prepare() writes PATH.tmp (mode 0600) and fsyncs it;
 * rt_state_commit() renames it over PATH and fsyncs the directory. A
 * process killed at any point leaves either the old file or the new one.
 * PATH may be relative (to the working directory); its last part is at
 * most SM_DURABLE_NAME_MAX bytes.
 *
 * collectd-free; no global state; not thread-safe for one path.
 */
#ifndef RT_STATE_H
#define RT_STATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "rt_parser.h"

#define RT_STATE_VERSION 1
/* Longest runtime name kept (collectd's plugin instance is shorter). */
#define RT_STATE_NAME_MAX 128
/* Largest state file read: the encoded fields at their longest fit. */
#define RT_STATE_FILE_MAX 4096

typedef struct {
  char runtime[RT_STATE_NAME_MAX + 1];
  char boot_id[RT_BOOT_ID_MAX + 1];
  int64_t seq;      /* 0 .. INT64_MAX - 1 */
  int64_t next_seq; /* above seq */
  int64_t saved_ms; /* 0 .. INT64_MAX */
} rt_state_t;

/* Results of rt_state_load(). */
typedef enum {
  RT_STATE_LOADED = 0,
  RT_STATE_MISSING,    /* no file at the path: a first start */
  RT_STATE_UNREADABLE, /* it could not be opened or read (see err) */
  RT_STATE_INVALID,    /* corrupt, truncated, foreign or of another
                          runtime (see err): set it aside */
} rt_state_load_t;

/* The CRC-32 the "crc32" line carries, of len bytes. */
uint32_t rt_state_checksum(const char *text, size_t len);

/* Writes st in the format above into buf, NUL-terminated. Returns the
 * length, or -1 when st is not valid (empty names, seq out of range,
 * next_seq not above seq) or buf is too small. */
int rt_state_format(const rt_state_t *st, char *buf, size_t size);

/* Parses len bytes (no NUL needed). Returns 0, or -1 with what is wrong
 * in err (always NUL-terminated when err_size > 0). Whatever it accepts,
 * rt_state_format() writes back byte for byte. */
int rt_state_parse(const char *text, size_t len, rt_state_t *st, char *err,
                   size_t err_size);

/* Reads the state file of runtime at path. A file of another runtime
 * (its "runtime" line) is RT_STATE_INVALID. A symbolic link or anything
 * but a regular file is RT_STATE_UNREADABLE. err says why, without the
 * path. */
rt_state_load_t rt_state_load(const char *path, const char *runtime,
                              rt_state_t *st, char *err, size_t err_size);

/* Writes st to path.tmp (created anew with mode 0600, never through a
 * symbolic link) and fsyncs it. Returns 0, or -1 with err naming the file
 * and the failure. */
int rt_state_prepare(const char *path, const rt_state_t *st, char *err,
                     size_t err_size);

/* Renames path.tmp over path and fsyncs the directory. Returns 0, or -1
 * with err naming the file and the failure. */
int rt_state_commit(const char *path, char *err, size_t err_size);

/* Renames path to path.corrupt (replacing an older one), so that an
 * invalid file stays for inspection. Returns 0, or -1 with err; the file
 * is then removed if it can be, so that it is not read again. */
int rt_state_set_aside(const char *path, char *err, size_t err_size);

#endif /* RT_STATE_H */
