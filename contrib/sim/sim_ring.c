/* SPDX-License-Identifier: MIT */
/*
 * sim_ring: the records a client can still page through /v1/requests, the
 * last --ring of the current boot, oldest first. A full ring makes room by
 * dropping its oldest record, which the caller reports to the ledger as
 * evicted: a client that fell that far behind has lost it.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int sim_ring_init(struct sim_ring *r, uint64_t cap) {
  r->cap = cap;
  r->recs = calloc(cap, sizeof(*r->recs));
  if (r->recs == NULL) {
    sim_err("out of memory for a ring of %" PRIu64 " records", cap);
    return -1;
  }
  return 0;
}

void sim_ring_free(struct sim_ring *r) {
  free(r->recs);
  r->recs = NULL;
}

void sim_ring_reset(struct sim_ring *r) {
  r->head = 0;
  r->count = 0;
  r->first_seq = 1;
  r->next_seq = 1;
}

struct sim_record *sim_ring_push(struct sim_ring *r, uint64_t *evicted) {
  struct sim_record *rec;

  *evicted = 0;
  if (r->count == r->cap) {
    *evicted = r->first_seq;
    r->head = (r->head + 1) % r->cap;
    r->count--;
    r->first_seq++;
  }
  rec = &r->recs[(r->head + r->count) % r->cap];
  memset(rec, 0, sizeof(*rec));
  rec->seq = r->next_seq++;
  r->count++;
  return rec;
}

const struct sim_record *sim_ring_at(const struct sim_ring *r, uint64_t seq) {
  return &r->recs[(r->head + (seq - r->first_seq)) % r->cap];
}
