/* SPDX-License-Identifier: MIT */
/*
 * sim_workload: when records are generated, and the queue they waited in.
 *
 * Pacing follows the wall clock: by now, --rate records per second of
 * generating time (start delays excluded) are due, with limits on how much
 * one loop turn generates and how much is caught up after a stall. The
 * queue model runs in virtual time instead, one step per generated record,
 * so that the wait a record reports depends on the seed and options alone:
 * arrivals per completion follow a slow wave with random bursts, or the
 * plain --burst pattern, and after generation stops the backlog drains.
 * The snapshot's backlog_size, oldest_request_age_ms and in_flight are read
 * from the same model.
 */
#include "sim.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define SIM_CATCHUP_MAX_S 1.0 /* most records owed after a stall */
#define SIM_TURN_MAX_S 0.05   /* most records generated in one loop turn */

/* Arrivals per completion under --burst at virtual time vt. */
static double pattern(const struct sim_opts *o, double vt) {
  double t = vt - o->burst_at_s;

  if (t >= 0.0 && o->burst_every_s > 0.0)
    t = fmod(t, o->burst_every_s);
  return t >= 0.0 && t < o->burst_len_s ? o->burst_load : WL_PATTERN_REST;
}

/* One step of the endpoint's queue per completion, in virtual time, so that
 * the backlog a record saw depends on the seed alone. Returns the time the
 * completing request waited. */
static double queue_step(struct sim *s) {
  struct sim_workload *w = &s->wl;
  const double rate = s->o->rate;
  const double ic = (double)s->o->instance_count;
  const double vt = (double)w->gen_count / rate;
  double m =
      WL_ARRIVAL_BASE + WL_ARRIVAL_WAVE * sin(WL_TAU * vt / WL_WAVE_PERIOD_S);
  double wait_s = w->queue / (rate * ic);

  if (s->o->burst) {
    /* The pattern alone: no wave, no random bursts. */
    m = pattern(s->o, vt);
  } else if (w->burst_left_s > 0.0) {
    m += w->burst_level;
    w->burst_left_s -= 1.0 / rate;
  } else if (sim_rng_unit(&s->rec_rng) * rate * WL_BURST_GAP_S < 1.0) {
    w->burst_left_s = WL_BURST_MIN_S + (WL_BURST_MAX_S - WL_BURST_MIN_S) *
                                           sim_rng_unit(&s->rec_rng);
    w->burst_level =
        WL_BURST_LEVEL_MIN +
        (WL_BURST_LEVEL_MAX - WL_BURST_LEVEL_MIN) * sim_rng_unit(&s->rec_rng);
  }
  /* Every instance completes at --rate; arrivals are endpoint-wide. */
  w->queue += (m - 1.0) * ic;
  if (w->queue < 0.0)
    w->queue = 0.0;
  if (w->queue > rate * ic * WL_QUEUE_MAX_S)
    w->queue = rate * ic * WL_QUEUE_MAX_S;
  return wait_s;
}

static void generate_one(struct sim *s, int64_t now_ms) {
  double wait_s = queue_step(s);
  uint64_t evicted;
  struct sim_record *r = sim_ring_push(&s->ring, &evicted);

  if (evicted != 0)
    sim_ledger_evict(s, evicted, evicted);
  sim_record_fill(r, s->o, &s->rec_rng, wait_s, now_ms);
  s->wl.gen_count++;
  sim_ledger_request(s, r);
}

void sim_workload_view(const struct sim *s, uint64_t now_us,
                       struct sim_workload_view *v) {
  const struct sim_workload *w = &s->wl;
  const double rate = s->o->rate;
  const uint64_t maxc = s->o->max_concurrency;
  double waiting, out_rate;

  memset(v, 0, sizeof(*v));
  if (!(rate > 0.0))
    return;
  if (!w->stopped) {
    uint64_t base = (uint64_t)llround(rate * WL_SERVICE_S);
    /* With requests waiting, every slot is busy. */
    v->in_flight = w->queue >= 1.0 ? maxc : (base < maxc ? base : maxc);
    waiting = floor(w->queue);
    out_rate = rate * (double)s->o->instance_count;
  } else {
    double left =
        w->stop_backlog - w->drain_rate * (double)(now_us - w->stop_us) / 1e6;
    if (!(left > 0.0))
      return;
    double remaining = ceil(left);
    v->in_flight = remaining < (double)maxc ? (uint64_t)remaining : maxc;
    waiting = remaining - (double)v->in_flight;
    out_rate = w->drain_rate;
  }
  v->backlog_size = (uint64_t)waiting + v->in_flight;
  if (v->backlog_size > 0)
    v->oldest_age_ms = (uint64_t)llround(1000.0 * waiting / out_rate) +
                       (uint64_t)llround(WL_SERVICE_S * 1000.0);
}

/* No more arrivals: what is queued drains over at most WL_DRAIN_MAX_S. */
static void stop(struct sim *s, uint64_t now_us) {
  struct sim_workload *w = &s->wl;
  struct sim_workload_view v;
  double rate = s->o->rate * (double)s->o->instance_count;

  sim_workload_view(s, now_us, &v);
  w->stopped = true;
  w->stop_us = now_us;
  w->stop_backlog = (double)v.backlog_size;
  w->drain_rate = w->stop_backlog / WL_DRAIN_MAX_S;
  if (w->drain_rate < rate)
    w->drain_rate = rate;
  sim_log(s, "generation stopped after %" PRIu64 " requests", w->gen_count);
}

void sim_workload_start(struct sim *s, uint64_t now_us) {
  s->wl.stopped = !(s->o->rate > 0.0);
  s->wl.last_turn_us = now_us;
}

/* How many records are due this turn, dt_us after the last one; *want is
 * how many should exist by now. */
static uint64_t due_now(struct sim *s, uint64_t dt_us, uint64_t *want) {
  const struct sim_opts *o = s->o;
  struct sim_workload *w = &s->wl;
  uint64_t due, cap, turn_cap;
  double duration_us = o->duration_s * 1e6;

  w->active_us += dt_us;
  if (o->duration_s > 0.0 && (double)w->active_us > duration_us)
    w->active_us = (uint64_t)duration_us;

  /* The epsilon keeps rate * duration from landing a hair under an integer. */
  *want = (uint64_t)floor(o->rate * (double)w->active_us / 1e6 + 1e-7);
  *want = *want > w->forgiven ? *want - w->forgiven : 0;
  if (o->total > 0 && *want > o->total)
    *want = o->total;
  due = *want > w->gen_count ? *want - w->gen_count : 0;
  /* After a stall, catch up at most this much and forgive the rest, so a
   * stopped process does not produce millions of records at once. */
  cap = (uint64_t)ceil(o->rate * SIM_CATCHUP_MAX_S);
  if (due > cap) {
    w->forgiven += due - cap;
    due = cap;
  }
  /* What is due beyond one turn's share waits for the next turns, so that
   * clients are still served when generation cannot keep up. */
  turn_cap = (uint64_t)ceil(o->rate * SIM_TURN_MAX_S);
  return due < turn_cap ? due : turn_cap;
}

void sim_workload_turn(struct sim *s, uint64_t now_us) {
  const struct sim_opts *o = s->o;
  struct sim_workload *w = &s->wl;
  uint64_t dt = now_us - w->last_turn_us;
  uint64_t want, due;

  w->last_turn_us = now_us;
  if (w->stopped || sim_in_start_delay(s, now_us))
    return;
  due = due_now(s, dt, &want);
  if (due > 0) {
    int64_t now_ms = sim_wall_ms();
    for (uint64_t i = 0; i < due && !s->fatal; i++)
      generate_one(s, now_ms);
  }
  if ((o->duration_s > 0.0 && (double)w->active_us >= o->duration_s * 1e6 &&
       w->gen_count >= want) ||
      (o->total > 0 && w->gen_count >= o->total))
    stop(s, now_us);
}
