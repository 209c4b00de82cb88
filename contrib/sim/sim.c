/* SPDX-License-Identifier: MIT */
/*
 * sim: the messages and clocks every part of sagemaker-runtime-sim uses
 * (sim.h lists the parts; sim_main.c is the program).
 */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void sim_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(SIM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

uint64_t sim_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t sim_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_log(const struct sim *s, const char *fmt, ...) {
  va_list ap;
  if (s->o->quiet)
    return;
  va_start(ap, fmt);
  fputs(SIM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

bool sim_in_start_delay(const struct sim *s, uint64_t now_us) {
  return now_us - s->boot_us < s->o->start_delay_ms * 1000;
}
