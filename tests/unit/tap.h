/* SPDX-License-Identifier: MIT */
/*
 * tap.h: the few helpers our C unit tests need to speak TAP, which
 * automake's tap-driver.sh counts test by test.
 *
 *   T_OK(cond, "what is checked %d", x);
 *   T_EQ_INT(got, want, "name");  T_EQ_DBL(...);  T_EQ_STR(...);
 *   return t_done();
 */
#ifndef SM_TESTS_TAP_H
#define SM_TESTS_TAP_H 1

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap_note.h"

static int t_count_;
static int t_failed_;

__attribute__((format(printf, 4, 5))) static int
t_ok_(int cond, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  t_count_++;
  printf("%s %d - ", cond ? "ok" : "not ok", t_count_);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  if (cond)
    printf("\n");
  else {
    printf(" # at %s:%d\n", file, line);
    t_failed_++;
  }
  fflush(stdout);
  return cond;
}

#define T_OK(cond, ...) t_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define T_EQ_INT(got, want, what)                                              \
  do {                                                                         \
    int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);                         \
    if (!T_OK(g_ == w_, "%s", what))                                           \
      printf("#   got %" PRId64 ", want %" PRId64 "\n", g_, w_);               \
  } while (0)

#define T_EQ_DBL(got, want, what)                                              \
  do {                                                                         \
    double g_ = (double)(got), w_ = (double)(want);                            \
    if (!T_OK(g_ == w_ || (g_ != g_ && w_ != w_), "%s", what))                 \
      printf("#   got %.17g, want %.17g\n", g_, w_);                           \
  } while (0)

#define T_EQ_STR(got, want, what)                                              \
  do {                                                                         \
    const char *g_ = (got), *w_ = (want);                                      \
    if (!T_OK(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, "%s", what))    \
      printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",              \
             w_ ? w_ : "(null)");                                              \
  } while (0)

static inline int t_done(void) {
  printf("1..%d\n", t_count_);
  return t_failed_ == 0 ? 0 : 1;
}

#endif /* SM_TESTS_TAP_H */
