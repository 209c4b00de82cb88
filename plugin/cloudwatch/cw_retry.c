/* SPDX-License-Identifier: MIT */
/*
 * cw_retry: full-jitter backoff and the retry budget (see cw_retry.h).
 */
#include "cw_retry.h"

uint64_t cw_retry_backoff_ms(unsigned attempt, uint64_t base_ms,
                             uint64_t cap_ms, double random01) {
  uint64_t ceiling = base_ms;

  for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
    ceiling *= 2;
  if (ceiling > cap_ms)
    ceiling = cap_ms;
  if (random01 < 0)
    random01 = 0;
  if (random01 >= 1)
    random01 = 0.999999;
  return (uint64_t)((double)ceiling * random01);
}

void cw_retry_budget_init(cw_retry_budget_t *b, unsigned capacity,
                          unsigned retry_cost) {
  b->tokens = capacity;
  b->capacity = capacity;
  b->retry_cost = retry_cost;
}

int cw_retry_budget_take(cw_retry_budget_t *b) {
  if (b->tokens < b->retry_cost)
    return -1;
  b->tokens -= b->retry_cost;
  return 0;
}

void cw_retry_budget_success(cw_retry_budget_t *b) {
  if (b->tokens < b->capacity)
    b->tokens++;
}
