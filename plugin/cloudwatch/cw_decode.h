/* SPDX-License-Identifier: MIT */
/*
 * cw_decode: reads back the PutMetricData bodies cw_encode wrote, for the
 * spool's replay. A streaming parse (yajl's callbacks): each datum is
 * handed over as soon as its object closes, held in the parser's own
 * fixed buffers, so memory does not grow with the body.
 *
 * Strict: only the members cw_encode writes, each of its type and within
 * CloudWatch's limits (names, 30 dimensions, 150 values, a known unit, a
 * storage resolution of 1 or 60, finite numbers, exactly one of Value,
 * StatisticValues and Values, Counts as long as Values), at most
 * CW_ENCODE_MAX_DATUMS datums. A body that is not such a body is refused
 * with the reason and the datum's index; datums handed over before the
 * refusal were handed over (the caller undoes them, see cw_encode_mark).
 *
 * collectd-free; no global state.
 */
#ifndef CW_DECODE_H
#define CW_DECODE_H 1

#include <stddef.h>

#include "cw_datum.h"

/* Called for each datum, valid during the call only. Returns 0 to go on,
 * non-zero to stop (the decode then fails with "stopped"). */
typedef int (*cw_decode_datum_cb)(const cw_datum_t *d, void *ud);

/* Decodes body[0..len). The namespace goes to ns (when not NULL). Returns
 * the number of datums, or -1 with a line in err. */
long cw_decode_metrics(const char *body, size_t len, char *ns, size_t ns_size,
                       cw_decode_datum_cb cb, void *ud, char *err,
                       size_t err_size);

#endif /* CW_DECODE_H */
