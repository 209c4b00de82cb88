/*
 * cw_queue: merging per series and period is exact, datums become ready in
 * arrival order, a claimed batch survives drops and is removed only when
 * done, and the bound drops the oldest and counts it.
 */
#include <stdio.h>
#include <string.h>

#include "cw_queue.h"
#include "tap.h"

static cw_datum_t mk(const char *name, const char *ep, double ts, double n,
                     double sum, double mn, double mx) {
  static cw_dimension_t dims[8][1];
  static int k;
  cw_datum_t d;
  cw_dimension_t *dim = dims[k++ % 8];

  cw_datum_init(&d);
  dim[0].name = "EndpointName";
  dim[0].value = ep;
  d.metric_name = name;
  d.dims = dim;
  d.num_dims = 1;
  d.timestamp = ts;
  d.unit = CW_UNIT_MICROSECONDS;
  d.storage_resolution = 60;
  d.kind = CW_KIND_STATS;
  d.stats.sample_count = n;
  d.stats.sum = sum;
  d.stats.minimum = mn;
  d.stats.maximum = mx;
  return d;
}

int main(void) {
  cw_queue_t *q = cw_queue_create(4);
  cw_datum_t d;
  const cw_datum_t *r;

  d = mk("ModelLatency", "e1", 1200.5, 3, 30, 5, 15);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "first value: new datum");
  d = mk("ModelLatency", "e1", 1259.9, 2, 70, 20, 50);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_MERGED, "same minute: merged");
  d = mk("ModelLatency", "e1", 1260, 1, 7, 7, 7);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "next minute: new datum");
  d = mk("ModelLatency", "e2", 1200, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "other dimension: new datum");
  d = mk("TimeInBacklog", "e1", 1200, 1, 1, 1, 1);
  d.stats.sample_count = 0;
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_INVALID, "empty set refused");
  T_EQ_INT(cw_queue_size(q), 3, "three datums held");

  T_EQ_INT(cw_queue_seal(q), 3, "three sealed");
  r = cw_queue_ready_get(q, 0);
  T_OK(r && r->timestamp == 1200 && r->stats.sample_count == 5 &&
           r->stats.sum == 100 && r->stats.minimum == 5 &&
           r->stats.maximum == 50,
       "merged datum: period start, exact statistics");
  T_EQ_STR(r->dims[0].value, "e1", "its dimension is a copy");
  r = cw_queue_ready_get(q, 1);
  T_OK(r && r->timestamp == 1260 && r->stats.sample_count == 1,
       "second in arrival order");
  T_OK(cw_queue_ready_get(q, 3) == NULL, "out of range");

  /* A value of a sealed period starts a new datum of that period. */
  d = mk("ModelLatency", "e1", 1230, 1, 9, 9, 9);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "late value: new datum");
  T_EQ_INT(cw_queue_size(q), 4, "full: 4 of 4");

  /* Claim the two oldest, then overflow: the claimed ones survive. */
  T_EQ_INT(cw_queue_claim(q, 2), 2, "claimed 2");
  d = mk("X", "e9", 1300, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_NEW, "added past the bound");
  T_EQ_INT(cw_queue_dropped(q), 1, "one dropped");
  T_OK(cw_queue_ready_get(q, 0)->timestamp == 1200 &&
           cw_queue_ready_get(q, 1)->timestamp == 1260,
       "the claimed datums are still at the front");
  T_EQ_INT(cw_queue_ready_num(q), 2, "the unclaimed ready one was dropped");
  cw_queue_release(q, 0);
  T_EQ_INT(cw_queue_ready_num(q), 2, "failed send: datums stay");
  T_EQ_INT(cw_queue_claim(q, 10), 2, "claim is capped at what is ready");
  cw_queue_release(q, 1);
  T_EQ_INT(cw_queue_ready_num(q), 0, "sent: removed");
  T_EQ_INT(cw_queue_size(q), 2, "two merging remain");

  /* Everything claimed: a new datum cannot push a claimed one out. */
  cw_queue_seal(q);
  d = mk("Y", "e9", 1300, 1, 1, 1, 1);
  cw_queue_add(q, &d);
  d = mk("Z", "e9", 1300, 1, 1, 1, 1);
  cw_queue_add(q, &d);
  cw_queue_seal(q);
  T_EQ_INT(cw_queue_claim(q, 4), 4, "all four claimed");
  d = mk("W", "e9", 1300, 1, 1, 1, 1);
  T_EQ_INT(cw_queue_add(q, &d), CW_QUEUE_FULL, "all claimed: refused");
  T_EQ_INT(cw_queue_dropped(q), 2, "and counted");
  cw_queue_release(q, 1);
  cw_queue_destroy(q);

  /* Many series: the table grows; merging stays exact. */
  q = cw_queue_create(100000);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 20000; i++) {
      char ep[32];
      snprintf(ep, sizeof(ep), "ep-%d", i);
      d = mk("ModelLatency", ep, 600, 1, i, i, i);
      cw_queue_add(q, &d);
    }
  T_EQ_INT(cw_queue_merging_num(q), 20000, "20000 series merging");
  cw_queue_seal(q);
  {
    int ok = 1;
    for (size_t i = 0; i < 20000; i++) {
      r = cw_queue_ready_get(q, i);
      if (r->stats.sample_count != 3 ||
          r->stats.sum != 3 * r->stats.minimum)
        ok = 0;
    }
    T_OK(ok, "each series merged its three values");
  }
  cw_queue_destroy(q);
  T_OK(cw_queue_create(0) == NULL, "a queue of 0 is refused");
  return t_done();
}
