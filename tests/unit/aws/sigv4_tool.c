/* SPDX-License-Identifier: MIT */
/*
 * sigv4_tool: signs one request described on the command line with
 * aws_sigv4 and prints the canonical request, the string to sign and the
 * headers to add, so that tests/integration/test_sigv4_botocore.py can
 * compare them with botocore's. A test tool: it takes credentials as
 * arguments, which a real program must not.
 *
 *   sigv4_tool -X POST -H monitoring.us-east-1.amazonaws.com -p / \
 *     -h 'Content-Type: application/x-amz-json-1.0' -b body.json \
 *     -r us-east-1 -s monitoring -t 20251126T200000Z \
 *     -a AKIDEXAMPLE -k SECRET [-T TOKEN]
 *
 * Output, each section starting with a "== " line:
 *   == canonical request / == string to sign / == headers
 * Exit status: 0 signed, 1 the signer refused (reason on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_sigv4.h"

#define MAX_BODY (16u * 1024u * 1024u)

static void usage(FILE *f) {
  fputs("usage: sigv4_tool -H host [-X method] [-p path?query]\n"
        "         [-h 'Name: value']... [-b body-file|-]\n"
        "         -r region -s service -t epoch|YYYYMMDDTHHMMSSZ\n"
        "         -a access-key-id -k secret-key [-T session-token]\n"
        "         [--content-sha256] [--add-host] [--no-normalize]\n"
        "         [--no-double-encode] [--unsigned-token]\n",
        f);
}

/* Seconds since the epoch, or the X-Amz-Date form. */
static int parse_time(const char *s, time_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno == 0 && end != s && *end == '\0') {
    *out = (time_t)v;
    return 0;
  }
  struct tm tm;
  char z = 0;
  memset(&tm, 0, sizeof(tm));
  if (strlen(s) != 16 ||
      sscanf(s, "%4d%2d%2dT%2d%2d%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
      z != 'Z')
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *out = timegm(&tm);
  return 0;
}

static char *read_body(const char *path, size_t *len_out) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0;
  int ok = f != NULL;

  if (ok)
    buf = malloc(MAX_BODY + 1);
  ok = ok && buf != NULL;
  if (ok) {
    len = fread(buf, 1, MAX_BODY + 1, f);
    ok = !ferror(f) && len <= MAX_BODY;
  }
  if (f != NULL && f != stdin)
    fclose(f);
  if (!ok) {
    free(buf);
    return NULL;
  }
  *len_out = len;
  return buf;
}

int main(int argc, char **argv) {
  enum {
    OPT_CONTENT_SHA256 = 256,
    OPT_ADD_HOST,
    OPT_NO_NORMALIZE,
    OPT_NO_DOUBLE_ENCODE,
    OPT_UNSIGNED_TOKEN,
    OPT_HELP,
  };
  static const struct option opts[] = {
      {"method", required_argument, NULL, 'X'},
      {"host", required_argument, NULL, 'H'},
      {"path", required_argument, NULL, 'p'},
      {"header", required_argument, NULL, 'h'},
      {"body", required_argument, NULL, 'b'},
      {"region", required_argument, NULL, 'r'},
      {"service", required_argument, NULL, 's'},
      {"time", required_argument, NULL, 't'},
      {"access-key", required_argument, NULL, 'a'},
      {"secret-key", required_argument, NULL, 'k'},
      {"token", required_argument, NULL, 'T'},
      {"content-sha256", no_argument, NULL, OPT_CONTENT_SHA256},
      {"add-host", no_argument, NULL, OPT_ADD_HOST},
      {"no-normalize", no_argument, NULL, OPT_NO_NORMALIZE},
      {"no-double-encode", no_argument, NULL, OPT_NO_DOUBLE_ENCODE},
      {"unsigned-token", no_argument, NULL, OPT_UNSIGNED_TOKEN},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  aws_sigv4_header_t headers[AWS_SIGV4_MAX_HEADERS + 1];
  char *names[AWS_SIGV4_MAX_HEADERS + 1];
  size_t nheaders = 0;
  aws_sigv4_credentials_t creds = {NULL, NULL, NULL};
  aws_sigv4_request_t req;
  aws_sigv4_result_t res;
  char *path = NULL, *body = NULL;
  const char *body_file = NULL, *time_arg = NULL;
  int status = 0, opt;

  /* The options that name a string, and those that set a flag. */
  const struct {
    int opt;
    const char **to;
  } strings[] = {
      {'X', &req.method},          {'H', &req.host},
      {'b', &body_file},           {'r', &req.region},
      {'s', &req.service},         {'t', &time_arg},
      {'a', &creds.access_key_id}, {'k', &creds.secret_access_key},
      {'T', &creds.session_token},
  };
  static const struct {
    int opt;
    unsigned flag;
  } flags[] = {
      {OPT_CONTENT_SHA256, AWS_SIGV4_ADD_CONTENT_SHA256},
      {OPT_ADD_HOST, AWS_SIGV4_ADD_HOST},
      {OPT_NO_NORMALIZE, AWS_SIGV4_NO_NORMALIZE_PATH},
      {OPT_NO_DOUBLE_ENCODE, AWS_SIGV4_NO_DOUBLE_ENCODE},
      {OPT_UNSIGNED_TOKEN, AWS_SIGV4_UNSIGNED_TOKEN},
  };

  memset(&req, 0, sizeof(req));
  memset(&res, 0, sizeof(res));
  req.method = "POST";
  while (status == 0 && (opt = getopt_long(argc, argv, "X:H:p:h:b:r:s:t:a:k:T:",
                                           opts, NULL)) != -1) {
    int known = 0;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
      if (strings[i].opt == opt) {
        *strings[i].to = optarg;
        known = 1;
      }
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
      if (flags[i].opt == opt) {
        req.flags |= flags[i].flag;
        known = 1;
      }
    switch (opt) {
    case 'p':
      free(path);
      path = strdup(optarg);
      if (path == NULL)
        status = 1;
      break;
    case 'h': {
      const char *colon = strchr(optarg, ':');
      if (colon == NULL || nheaders > AWS_SIGV4_MAX_HEADERS) {
        fprintf(stderr, "sigv4_tool: -h wants \"Name: value\" (at most %d)\n",
                AWS_SIGV4_MAX_HEADERS + 1);
        status = 2;
        break;
      }
      names[nheaders] = strndup(optarg, (size_t)(colon - optarg));
      if (names[nheaders] == NULL) {
        status = 1;
        break;
      }
      headers[nheaders].name = names[nheaders];
      headers[nheaders].value = colon + 1;
      nheaders++;
      break;
    }
    case OPT_HELP:
      usage(stdout);
      status = -1;
      break;
    default:
      if (!known) {
        usage(stderr);
        status = 2;
      }
      break;
    }
  }
  if (status == 0 && optind != argc) {
    usage(stderr);
    status = 2;
  }
  if (status == 0 && (time_arg == NULL || parse_time(time_arg, &req.now))) {
    fputs("sigv4_tool: -t wants seconds since the epoch or "
          "YYYYMMDDTHHMMSSZ\n",
          stderr);
    status = 2;
  }
  if (status == 0 && body_file != NULL) {
    body = read_body(body_file, &req.payload_len);
    if (body == NULL) {
      fprintf(stderr, "sigv4_tool: cannot read %s (or over %u bytes)\n",
              body_file, MAX_BODY);
      status = 1;
    }
    req.payload = body;
  }
  if (status == 0 && path != NULL) {
    char *q = strchr(path, '?');
    if (q != NULL)
      *q++ = '\0';
    req.path = path;
    req.query = q;
  }

  if (status == 0) {
    req.headers = headers;
    req.header_count = nheaders;
    req.flags |= AWS_SIGV4_KEEP_DEBUG;
    if (aws_sigv4_sign(&req, &creds, &res) != 0) {
      fprintf(stderr, "sigv4_tool: error: %s\n", res.error);
      status = 1;
    }
  }
  if (status == 0) {
    printf("== canonical request\n%s\n", res.canonical_request);
    printf("== string to sign\n%s\n", res.string_to_sign);
    printf("== headers\n");
    for (size_t i = 0; i < res.header_count; i++)
      printf("%s\n", res.headers[i].line);
  }

  aws_sigv4_result_free(&res);
  for (size_t i = 0; i < nheaders; i++)
    free(names[i]);
  free(path);
  free(body);
  return status < 0 ? 0 : status;
}
