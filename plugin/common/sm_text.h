/* SPDX-License-Identifier: MIT */
/*
 * sm_text: text from outside (a runtime's error bodies and records, a
 * service's messages) made safe for one log line.
 *
 * collectd's log lines end at a newline and are read on terminals and by
 * log processors; a peer that can put "\n[error] ..." or an escape
 * sequence into a message could forge lines or repaint a terminal, and a
 * long message could flood the log. sm_text_escape() keeps printable
 * ASCII and valid UTF-8 as they are, writes "\n", "\r", "\t" and "\\"
 * for those bytes, and "\xNN" for every other C0 control, DEL, C1
 * control (U+0080..U+009F) and every byte that is not part of valid
 * UTF-8 (overlong forms, surrogates, code points past U+10FFFF, cut
 * sequences). The output is never longer than the buffer allows: text
 * that does not fit is cut at a whole escape or character and ends in
 * "...". The escaping is reversible, so nothing is hidden.
 *
 * Also the one snprintf for error messages into a caller's buffer.
 *
 * collectd-free, no allocation, thread-safe.
 */
#ifndef SM_TEXT_H
#define SM_TEXT_H 1

#include <stddef.h>

/* Escapes len bytes of in (NUL bytes included; in may be NULL when len is
 * 0) into out, a buffer of size bytes, always NUL-terminated when size >
 * 0. Returns the length of what was written, without the NUL. */
size_t sm_text_escape(const char *in, size_t len, char *out, size_t size);

/* The same for a NUL-terminated string (NULL is written as ""). */
size_t sm_text_escape_str(const char *in, char *out, size_t size);

/* snprintf for an error message into a caller's buffer, which may be NULL
 * or of size 0 (nothing is written then); the text is cut to fit. */
__attribute__((format(printf, 3, 4))) void
sm_text_printf(char *buf, size_t size, const char *fmt, ...);

#endif /* SM_TEXT_H */
