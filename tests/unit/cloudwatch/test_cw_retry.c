/* SPDX-License-Identifier: MIT */
/*
 * cw_retry: the backoff's ceilings and jitter, and the retry budget.
 */
#include "cw_retry.h"

#include "tap.h"

static void test_backoff(void) {
  T_EQ_INT(cw_retry_backoff_ms(0, 100, 20000, 0.5), 50,
           "attempt 0: half of base");
  T_EQ_INT(cw_retry_backoff_ms(3, 100, 20000, 0.5), 400,
           "attempt 3: 800 ceiling");
  T_EQ_INT(cw_retry_backoff_ms(40, 100, 20000, 0.5), 10000, "capped");
  T_EQ_INT(cw_retry_backoff_ms(40, 100, 20000, 0.0), 0,
           "full jitter reaches 0");
  T_OK(cw_retry_backoff_ms(40, 100, 20000, 1.0) < 20000,
       "and stays below the cap");
  {
    cw_retry_budget_t b;
    int taken = 0;
    cw_retry_budget_init(&b, 20, 5);
    while (cw_retry_budget_take(&b) == 0)
      taken++;
    T_EQ_INT(taken, 4, "budget of 20 at 5 a retry: 4 retries");
    for (int i = 0; i < 5; i++)
      cw_retry_budget_success(&b);
    T_EQ_INT(cw_retry_budget_take(&b), 0, "5 successes earn a retry");
    for (int i = 0; i < 100; i++)
      cw_retry_budget_success(&b);
    T_EQ_INT(b.tokens, 20, "never above capacity");
  }
}

int main(void) {
  test_backoff();
  return t_done();
}
