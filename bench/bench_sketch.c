/* SPDX-License-Identifier: MIT */
/*
 * bench_sketch: what a timing's percentiles cost, beside the exact way.
 *
 * For each distribution, each round measures, in an order that alternates
 * between rounds:
 *
 *   sketch  sm_sketch_add of every sample of an interval, then
 *           sm_sketch_values (the Values/Counts write_cloudwatch sends);
 *   exact   what exact percentiles need: every sample kept (appended to
 *           an array), then sorted (qsort) and p50/p90/p99/p99.9 read.
 *
 * and reports the CPU per sample of each, the sketch's values per
 * interval and the datums (at most 150 values each) per metric per
 * interval, and its bucket memory.
 *
 * One line per distribution and round on stdout:
 *   dist D round N samples S sketch_ns X exact_ns Y values V datums K
 *   bytes B
 *
 * Usage: bench_sketch SAMPLES_PER_INTERVAL INTERVALS ROUNDS
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_datum.h"
#include "sm_sketch.h"

static uint64_t rng = 42;

static double uniform01(void) { /* splitmix64, (0, 1) */
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void) {
  return sqrt(-2 * log(uniform01())) * cos(2 * M_PI * uniform01());
}

/* Integer microseconds, as the runtime reports timings. */
static double sample(int d) {
  switch (d) {
  case 0: /* model latency: lognormal around 20 ms */
    return round(exp(log(20000) + 0.8 * normal()));
  case 1: /* bimodal: cache hits at 2 ms, misses at 800 ms */
    return uniform01() < 0.7 ? round(exp(log(2000) + 0.2 * normal()))
                             : round(exp(log(800000) + 0.3 * normal()));
  default: /* time in backlog: 1 us to one hour, log-uniform */
    return round(exp(log(3.6e9) * uniform01()));
  }
}

static const char *const dist_names[] = {"lognormal", "bimodal", "1us-1h"};

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static volatile double sink;

int main(int argc, char **argv) {
  long per, intervals, rounds;
  double *x, *kept, *v, *c;
  sm_sketch_t *s;
  size_t cap;

  if (argc != 4) {
    fputs("Usage: bench_sketch SAMPLES_PER_INTERVAL INTERVALS ROUNDS\n",
          stderr);
    return 2;
  }
  per = strtol(argv[1], NULL, 10);
  intervals = strtol(argv[2], NULL, 10);
  rounds = strtol(argv[3], NULL, 10);
  if (per < 1 || intervals < 1 || rounds < 1)
    return 2;
  x = malloc((size_t)(per * intervals) * sizeof(*x));
  kept = malloc((size_t)per * sizeof(*kept));
  s = sm_sketch_create(SM_SKETCH_DEFAULT_ACCURACY,
                       sm_sketch_buckets_for(SM_SKETCH_DEFAULT_ACCURACY));
  cap = sm_sketch_buckets_for(SM_SKETCH_DEFAULT_ACCURACY) + 3;
  v = malloc(cap * sizeof(*v));
  c = malloc(cap * sizeof(*c));
  if (x == NULL || kept == NULL || s == NULL || v == NULL || c == NULL)
    return 1;

  for (int d = 0; d < 3; d++) {
    for (long i = 0; i < per * intervals; i++)
      x[i] = sample(d);
    for (long r = 0; r < rounds; r++) {
      double t_sketch = 0, t_exact = 0;
      size_t values = 0, datums = 0, bytes = 0;
      for (int step = 0; step < 2; step++) {
        int what = (r % 2 == 0) ? step : 1 - step;
        double t0 = cpu_now();
        for (long k = 0; k < intervals; k++) {
          const double *xi = x + k * per;
          if (what == 0) {
            size_t n;
            sm_sketch_reset(s);
            for (long i = 0; i < per; i++)
              sm_sketch_add(s, xi[i]);
            n = sm_sketch_values(s, v, c, cap);
            values += n;
            datums += (n + CW_MAX_VALUES - 1) / CW_MAX_VALUES;
            if (sm_sketch_memory(s) > bytes)
              bytes = sm_sketch_memory(s);
            sink = v[n / 2];
          } else {
            for (long i = 0; i < per; i++)
              kept[i] = xi[i];
            qsort(kept, (size_t)per, sizeof(*kept), cmp_double);
            sink = kept[(size_t)(0.5 * (double)per)] +
                   kept[(size_t)(0.9 * (double)per)] +
                   kept[(size_t)(0.99 * (double)per)] +
                   kept[(size_t)(0.999 * (double)per)];
          }
        }
        double t = cpu_now() - t0;
        if (what == 0)
          t_sketch = t;
        else
          t_exact = t;
      }
      printf("dist %s round %ld samples %ld sketch_ns %.3f exact_ns %.3f "
             "values %.1f datums %.2f bytes %zu\n",
             dist_names[d], r, per, t_sketch / (double)(per * intervals) * 1e9,
             t_exact / (double)(per * intervals) * 1e9,
             (double)values / (double)intervals,
             (double)datums / (double)intervals, bytes);
      fflush(stdout);
    }
  }
  sm_sketch_destroy(s);
  free(x);
  free(kept);
  free(v);
  free(c);
  return 0;
}
