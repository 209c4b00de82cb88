/* SPDX-License-Identifier: MIT */
/*
 * cw_retry: when to try a request again. Full-jitter exponential backoff
 * (AWS's "Exponential Backoff And Jitter") and a retry budget shared by
 * all of a sender's requests, as the AWS SDKs' standard retry mode keeps
 * one. Pure: randomness is passed in.
 *
 * collectd-free; a budget is used by one thread.
 */
#ifndef CW_RETRY_H
#define CW_RETRY_H 1

#include <stdint.h>

/* Full-jitter exponential backoff: a delay in [0, min(cap, base * 2^n)),
 * with random01 in [0, 1). */
uint64_t cw_retry_backoff_ms(unsigned attempt, uint64_t base_ms,
                             uint64_t cap_ms, double random01);

/* A retry budget shared by all of a sender's requests, so that a long
 * outage does not turn into a retry storm: each retry takes cost tokens,
 * each success gives one back, up to capacity. */
typedef struct {
  unsigned tokens;
  unsigned capacity;
  unsigned retry_cost;
} cw_retry_budget_t;

void cw_retry_budget_init(cw_retry_budget_t *b, unsigned capacity,
                          unsigned retry_cost);
/* Takes the tokens for one retry: 0 if there were enough, -1 if not (do
 * not retry now). */
int cw_retry_budget_take(cw_retry_budget_t *b);
void cw_retry_budget_success(cw_retry_budget_t *b);

#endif /* CW_RETRY_H */
