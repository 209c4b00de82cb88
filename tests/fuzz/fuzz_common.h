/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h: what the libFuzzer targets share. The entry point's
 * prototype; CHECK, whose failure traps so that libFuzzer keeps the
 * input; for the parsers fed in chunks, the feeding and the contract
 * their finish and message keep (FEED_AND_FINISH does both); and an FNV-1a
 * digest, to compare what a whole parse and a chunked one produced.
 */
#ifndef SM_TESTS_FUZZ_COMMON_H
#define SM_TESTS_FUZZ_COMMON_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__);        \
      __builtin_trap();                                                        \
    }                                                                          \
  } while (0)

/* rc = feed(p, piece, n) over the len bytes of doc, in pieces of chunk
 * bytes (the last one shorter), for as long as it returns 0. */
#define FEED_IN_CHUNKS(rc, feed, p, doc, len, chunk)                           \
  for (size_t off_ = 0; off_ < (len) && (rc) == 0; off_ += (chunk))            \
  (rc) = (feed)((p), (doc) + off_, (len)-off_ < (chunk) ? (len)-off_ : (chunk))

/* The contract of a chunked parser's finish (rt_parser.h, aws_profile.h,
 * aws_creds_json.h): 0 or -1, -1 whenever a feed failed, the same when
 * asked again (again_rc), and a message exactly when it failed. */
static inline void check_finish(int feed_rc, int finish_rc, int again_rc,
                                const char *message) {
  CHECK(finish_rc == 0 || finish_rc == -1);
  CHECK(feed_rc == 0 || finish_rc == -1);
  CHECK(again_rc == finish_rc);
  CHECK(message != NULL);
  CHECK((message[0] == '\0') == (finish_rc == 0));
}

/* Feeds the len bytes of doc to p, a parser of api (api##_feed,
 * api##_finish, api##_error), in pieces of chunk bytes (FEED_IN_CHUNKS),
 * finishes it and checks the finish's contract (check_finish): o->feed_rc,
 * o->finish_rc and o->message (a char array member) are what they gave. */
#define FEED_AND_FINISH(o, message, api, p, doc, len, chunk)                   \
  do {                                                                         \
    FEED_IN_CHUNKS((o)->feed_rc, api##_feed, p, doc, len, chunk);              \
    (o)->finish_rc = api##_finish(p);                                          \
    check_finish((o)->feed_rc, (o)->finish_rc, api##_finish(p),                \
                 api##_error(p));                                              \
    snprintf((o)->message, sizeof((o)->message), "%s", api##_error(p));        \
  } while (0)

/* FNV-1a over the 8 bytes of v, over n such numbers, and over a string
 * (NULL apart from any string), each string closed by a byte no string
 * holds. */
#define FUZZ_HASH_INIT UINT64_C(0xcbf29ce484222325)

static inline uint64_t fuzz_mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

static inline uint64_t fuzz_mix_nums(uint64_t h, const uint64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = fuzz_mix(h, v[i]);
  return h;
}

static inline uint64_t fuzz_mix_str(uint64_t h, const char *s) {
  if (s == NULL)
    return fuzz_mix(h, 0xfe);
  for (; *s != '\0'; s++)
    h = fuzz_mix(h, (unsigned char)*s);
  return fuzz_mix(h, 0xff);
}

#endif /* SM_TESTS_FUZZ_COMMON_H */
