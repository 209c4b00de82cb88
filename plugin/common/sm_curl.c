/* SPDX-License-Identifier: MIT */
/*
 * sm_curl: the options every libcurl handle is given (see sm_curl.h).
 */
#include "sm_curl.h"

#include <string.h>

void sm_curl_limits(CURL *c, const char *protocols, long timeout_ms,
                    char *errbuf) {
  if (timeout_ms < 1)
    timeout_ms = 1;
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS,
                   strcmp(protocols, "http") == 0
                       ? (long)CURLPROTO_HTTP
                       : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "collectd-sagemaker");
}
