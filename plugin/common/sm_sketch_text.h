/* SPDX-License-Identifier: MIT */
/*
 * sm_sketch_text: a sketch (sm_sketch.h) as one line of text, the form in
 * which it travels from sagemaker_async to write_cloudwatch in a value
 * list's meta data.
 *
 * The line starts with a version that names the bucket mapping: "2" for
 * SM_SKETCH_CUBIC (written by this version), "1" for SM_SKETCH_LOG
 * (written by earlier ones). Both are read, so that write_cloudwatch
 * reads what an older sagemaker_async sent during an upgrade; a sketch
 * read from a "1" line keeps the logarithmic mapping (and so does not
 * merge with a "2" one: sm_sketch_merge refuses other mappings).
 *
 * collectd-free; not thread-safe.
 */
#ifndef SM_SKETCH_TEXT_H
#define SM_SKETCH_TEXT_H 1

#include <stddef.h>

#include "sm_sketch.h"

/* The longest line sm_sketch_text_encode writes: the head, and per
 * bucket a blank, an index step, a count and a 17-digit sum. */
#define SM_SKETCH_TEXT_MAX (256u + 72u * SM_SKETCH_MAX_MAX_BUCKETS)

/* The sketch as one line of text (malloc'ed, NUL-terminated); NULL for an
 * empty or broken sketch or when out of memory. */
char *sm_sketch_text_encode(const sm_sketch_t *s);

/* A sketch read back from sm_sketch_text_encode's text (of this version
 * or an earlier one), checked: NULL when the text is not a consistent
 * sketch or needs more than max_buckets buckets, with a line saying what
 * is wrong in err (unless NULL). */
sm_sketch_t *sm_sketch_text_decode(const char *text, size_t max_buckets,
                                   char *err, size_t err_size);

#endif /* SM_SKETCH_TEXT_H */
