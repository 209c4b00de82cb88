/* SPDX-License-Identifier: MIT */
/*
 * tap_note.h: tap.h's T_NOTE alone, for the test helpers compiled apart
 * from the test (tap.h's counters are the test's).
 */
#ifndef SM_TESTS_TAP_NOTE_H
#define SM_TESTS_TAP_NOTE_H 1

#include <stdio.h>

/* Diagnostic line, shown by the TAP driver in the log. */
#define T_NOTE(...)                                                            \
  do {                                                                         \
    printf("# ");                                                              \
    printf(__VA_ARGS__);                                                       \
    printf("\n");                                                              \
  } while (0)

#endif /* SM_TESTS_TAP_NOTE_H */
