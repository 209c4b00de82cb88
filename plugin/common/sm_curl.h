/* SPDX-License-Identifier: MIT */
/*
 * sm_curl: what every libcurl handle of the project is set up with, in
 * one place: a timeout for the whole exchange and for connecting, no
 * signals (collectd's threads), no redirects, only the protocols named,
 * curl's messages into the caller's buffer, and the project's User-Agent.
 */
#ifndef SM_CURL_H
#define SM_CURL_H 1

#include <curl/curl.h>

/* protocols: "http" or "http,https". timeout_ms below 1 is taken as 1:
 * libcurl would read 0 as no timeout. errbuf: CURL_ERROR_SIZE bytes. */
void sm_curl_limits(CURL *c, const char *protocols, long timeout_ms,
                    char *errbuf);

#endif /* SM_CURL_H */
