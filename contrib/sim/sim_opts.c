/* SPDX-License-Identifier: MIT */
/*
 * sim_opts: the simulator's command line: --help, every option's range
 * and meaning, and the message naming what was wrong with a bad one.
 */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NAME_MAX 256 /* endpoint, variant, instance ID */
#define SIM_RING_MAX 10000000
#define SIM_RATE_MAX 10000000.0
#define SIM_SECONDS_MAX (10.0 * 365 * 86400)
#define SIM_COUNT_MAX 1000000 /* instance count, max concurrency */
#define SIM_START_DELAY_MAX_MS ((uint64_t)86400 * 1000)

static void usage(FILE *f) {
  fputs(
      "Usage: " SIM_NAME " --socket PATH [--ledger FILE] [options]\n"
      "Serves the SageMaker async runtime's stats API (version 1) with a\n"
      "seeded synthetic workload and writes a ledger of what it served.\n"
      "\n"
      "  --socket PATH          Unix socket to listen on (a socket file there\n"
      "                         is replaced; other file types are refused)\n"
      "  --ledger FILE          JSON-lines ledger, '-' for stdout (default: "
      "none)\n"
      "  --seed N               PRNG seed (default 1)\n"
      "  --rate R               completed requests per second (default 50;\n"
      "                         0 = no traffic)\n"
      "  --duration S           generate for S seconds, then only serve\n"
      "                         (default 0 = forever)\n"
      "  --total N              stop generating after N requests (0 = no "
      "limit)\n"
      "  --mix LIST             outcome weights, e.g. success=0.9,expired=0.1\n"
      "                         (success, model_error, download_failed,\n"
      "                         upload_failed, expired, timeout, "
      "internal_error)\n"
      "  --notification-fail P  probability of a failed notification "
      "(0.02)\n"
      "  --ring N               records kept for /v1/requests (100000)\n"
      "  --restart-every S      simulate a restart every S seconds (0 = "
      "never);\n"
      "                         SIGUSR1 restarts at once\n"
      "  --burst AT:SECONDS:LOAD[:EVERY]\n"
      "                         a plain load pattern instead of the default\n"
      "                         waves and random bursts: from AT seconds into\n"
      "                         generation, for SECONDS, requests arrive LOAD\n"
      "                         times as fast as the instances complete them\n"
      "                         (the backlog builds), and at half their pace\n"
      "                         otherwise (it drains); with EVERY, again\n"
      "                         every EVERY seconds\n"
      "  --chunked MODE         never | always | random (default random)\n"
      "  --endpoint NAME        endpoint name (sim-endpoint)\n"
      "  --variant NAME         variant name (AllTraffic)\n"
      "  --instance-id ID       instance ID (i-0sim0000000000001); \"\": none\n"
      "  --instance-count N     instances behind the endpoint (2)\n"
      "  --max-concurrency N    concurrent invocations per instance (4)\n"
      "  --start-delay-ms MS    answer 503 for MS ms after each boot (0)\n"
      "  --pidfile FILE         write the process ID\n"
      "  --quiet                no progress lines on stderr\n"
      "  -h, --help             this text\n"
      "SIGTERM/SIGINT flush the ledger, remove the socket and exit 0.\n",
      f);
}

static bool arg_u64(const char *opt, const char *arg, uint64_t min,
                    uint64_t max, uint64_t *out) {
  char *end = NULL;
  unsigned long long v = 0;

  if (arg[0] >= '0' && arg[0] <= '9') {
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno == 0 && *end == '\0' && v >= min && v <= max) {
      *out = v;
      return true;
    }
  }
  sim_err("--%s: expected an integer from %" PRIu64 " to %" PRIu64 ", got '%s'",
          opt, min, max, arg);
  return false;
}

static bool arg_double(const char *opt, const char *arg, double min, double max,
                       double *out) {
  char *end = NULL;
  double v = 0.0;

  if ((arg[0] >= '0' && arg[0] <= '9') || arg[0] == '.') {
    errno = 0;
    v = strtod(arg, &end);
    if (errno == 0 && *end == '\0' && isfinite(v) && v >= min && v <= max) {
      *out = v;
      return true;
    }
  }
  sim_err("--%s: expected a number from %g to %g, got '%s'", opt, min, max,
          arg);
  return false;
}

/* Printable ASCII only: the names go into JSON unchanged but for escaping,
 * and real endpoint, variant and instance names are ASCII. */
static bool arg_name(const char *opt, const char *arg) {
  size_t len = strlen(arg);
  bool ok = len > 0 && len <= SIM_NAME_MAX;
  for (size_t i = 0; ok && i < len; i++)
    ok = arg[i] >= 0x20 && arg[i] < 0x7f;
  if (!ok)
    sim_err("--%s: expected 1 to %d printable ASCII characters", opt,
            SIM_NAME_MAX);
  return ok;
}

static bool arg_mix(const char *arg, double mix[SIM_OUT_COUNT]) {
  double w[SIM_OUT_COUNT] = {0};
  bool seen[SIM_OUT_COUNT] = {false};
  double sum = 0.0;
  const char *p = arg;

  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    char value[64];
    size_t k;

    if (eq == NULL) {
      sim_err("--mix: expected NAME=WEIGHT, got '%.*s'", (int)len, p);
      return false;
    }
    for (k = 0; k < SIM_OUT_COUNT; k++)
      if (strlen(sim_record_outcome_names[k]) == (size_t)(eq - p) &&
          strncmp(sim_record_outcome_names[k], p, (size_t)(eq - p)) == 0)
        break;
    if (k == SIM_OUT_COUNT) {
      sim_err("--mix: unknown outcome '%.*s'", (int)(eq - p), p);
      return false;
    }
    if (seen[k]) {
      sim_err("--mix: outcome '%s' given twice", sim_record_outcome_names[k]);
      return false;
    }
    seen[k] = true;
    size_t vlen = len - (size_t)(eq + 1 - p);
    if (vlen >= sizeof(value)) {
      sim_err("--mix: weight of '%s' is too long", sim_record_outcome_names[k]);
      return false;
    }
    memcpy(value, eq + 1, vlen);
    value[vlen] = '\0';
    if (!arg_double("mix", value, 0.0, 1e9, &w[k]))
      return false;
    sum += w[k];
    if (comma == NULL)
      break;
    p = comma + 1;
  }
  if (!(sum > 0.0)) {
    sim_err("--mix: the weights add up to zero");
    return false;
  }
  for (size_t k = 0; k < SIM_OUT_COUNT; k++)
    mix[k] = w[k] / sum;
  return true;
}

/* AT:SECONDS:LOAD[:EVERY] */
static bool arg_burst(const char *arg, struct sim_opts *o) {
  static const char *const what[] = {"AT", "SECONDS", "LOAD", "EVERY"};
  double v[4] = {0.0, 0.0, 0.0, 0.0};
  const char *p = arg;
  size_t n = 0;

  for (;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
    char field[64];
    char opt[32];

    if (n == 4 || len >= sizeof(field)) {
      sim_err("--burst: expected AT:SECONDS:LOAD[:EVERY], got '%s'", arg);
      return false;
    }
    memcpy(field, p, len);
    field[len] = '\0';
    snprintf(opt, sizeof(opt), "burst %s", what[n]);
    if (!arg_double(opt, field, n == 2 ? 1.0 : 0.0,
                    n == 2 ? WL_PATTERN_LOAD_MAX : SIM_SECONDS_MAX, &v[n]))
      return false;
    n++;
    if (colon == NULL)
      break;
    p = colon + 1;
  }
  if (n < 3) {
    sim_err("--burst: expected AT:SECONDS:LOAD[:EVERY], got '%s'", arg);
    return false;
  }
  if (!(v[1] > 0.0)) {
    sim_err("--burst: SECONDS must be above 0");
    return false;
  }
  if (v[3] != 0.0 && v[3] <= v[1]) {
    sim_err("--burst: EVERY (%g) must exceed SECONDS (%g), or the burst "
            "never ends",
            v[3], v[1]);
    return false;
  }
  o->burst = true;
  o->burst_at_s = v[0];
  o->burst_len_s = v[1];
  o->burst_load = v[2];
  o->burst_every_s = v[3];
  return true;
}

enum {
  OPT_SOCKET = 256,
  OPT_LEDGER,
  OPT_SEED,
  OPT_RATE,
  OPT_DURATION,
  OPT_TOTAL,
  OPT_MIX,
  OPT_NOTIFY_FAIL,
  OPT_RING,
  OPT_RESTART_EVERY,
  OPT_BURST,
  OPT_CHUNKED,
  OPT_ENDPOINT,
  OPT_VARIANT,
  OPT_INSTANCE_ID,
  OPT_INSTANCE_COUNT,
  OPT_MAX_CONCURRENCY,
  OPT_START_DELAY,
  OPT_PIDFILE,
  OPT_QUIET,
};

static const struct option long_options[] = {
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"ledger", required_argument, NULL, OPT_LEDGER},
    {"seed", required_argument, NULL, OPT_SEED},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"total", required_argument, NULL, OPT_TOTAL},
    {"mix", required_argument, NULL, OPT_MIX},
    {"notification-fail", required_argument, NULL, OPT_NOTIFY_FAIL},
    {"ring", required_argument, NULL, OPT_RING},
    {"restart-every", required_argument, NULL, OPT_RESTART_EVERY},
    {"burst", required_argument, NULL, OPT_BURST},
    {"chunked", required_argument, NULL, OPT_CHUNKED},
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"variant", required_argument, NULL, OPT_VARIANT},
    {"instance-id", required_argument, NULL, OPT_INSTANCE_ID},
    {"instance-count", required_argument, NULL, OPT_INSTANCE_COUNT},
    {"max-concurrency", required_argument, NULL, OPT_MAX_CONCURRENCY},
    {"start-delay-ms", required_argument, NULL, OPT_START_DELAY},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool opt_one(struct sim_opts *o, int c, const char *arg) {
  const char *name = NULL;
  for (size_t i = 0; long_options[i].name != NULL; i++)
    if (long_options[i].val == c)
      name = long_options[i].name;

  switch (c) {
  case OPT_SOCKET:
    o->socket_path = arg;
    return arg[0] != '\0' || (sim_err("--socket: empty path"), false);
  case OPT_LEDGER:
    o->ledger_path = arg;
    return arg[0] != '\0' || (sim_err("--ledger: empty path"), false);
  case OPT_PIDFILE:
    o->pidfile = arg;
    return arg[0] != '\0' || (sim_err("--pidfile: empty path"), false);
  case OPT_SEED:
    return arg_u64(name, arg, 0, UINT64_MAX, &o->seed);
  case OPT_RATE:
    return arg_double(name, arg, 0.0, SIM_RATE_MAX, &o->rate);
  case OPT_DURATION:
    return arg_double(name, arg, 0.0, SIM_SECONDS_MAX, &o->duration_s);
  case OPT_TOTAL:
    return arg_u64(name, arg, 0, UINT64_MAX / 2, &o->total);
  case OPT_MIX:
    return arg_mix(arg, o->mix);
  case OPT_NOTIFY_FAIL:
    return arg_double(name, arg, 0.0, 1.0, &o->notify_fail);
  case OPT_RING:
    return arg_u64(name, arg, 1, SIM_RING_MAX, &o->ring);
  case OPT_RESTART_EVERY:
    return arg_double(name, arg, 0.0, SIM_SECONDS_MAX, &o->restart_every_s);
  case OPT_BURST:
    return arg_burst(arg, o);
  case OPT_CHUNKED:
    if (strcmp(arg, "never") == 0)
      o->chunked = SIM_CHUNKED_NEVER;
    else if (strcmp(arg, "always") == 0)
      o->chunked = SIM_CHUNKED_ALWAYS;
    else if (strcmp(arg, "random") == 0)
      o->chunked = SIM_CHUNKED_RANDOM;
    else {
      sim_err("--chunked: expected never, always or random, got '%s'", arg);
      return false;
    }
    return true;
  case OPT_ENDPOINT:
    o->endpoint = arg;
    return arg_name(name, arg);
  case OPT_VARIANT:
    o->variant = arg;
    return arg_name(name, arg);
  case OPT_INSTANCE_ID:
    /* "": the snapshot leaves instance_id out (it is optional). */
    o->instance_id = arg;
    return arg[0] == '\0' || arg_name(name, arg);
  case OPT_INSTANCE_COUNT:
    return arg_u64(name, arg, 1, SIM_COUNT_MAX, &o->instance_count);
  case OPT_MAX_CONCURRENCY:
    return arg_u64(name, arg, 1, SIM_COUNT_MAX, &o->max_concurrency);
  case OPT_START_DELAY:
    return arg_u64(name, arg, 0, SIM_START_DELAY_MAX_MS, &o->start_delay_ms);
  case OPT_QUIET:
    o->quiet = true;
    return true;
  default:
    return false;
  }
}

int sim_opts_parse(int argc, char **argv, struct sim_opts *o) {
  static const double default_mix[SIM_OUT_COUNT] = {
      [SIM_OUT_SUCCESS] = 0.90,         [SIM_OUT_MODEL_ERROR] = 0.03,
      [SIM_OUT_DOWNLOAD_FAILED] = 0.01, [SIM_OUT_UPLOAD_FAILED] = 0.01,
      [SIM_OUT_EXPIRED] = 0.03,         [SIM_OUT_TIMEOUT] = 0.01,
      [SIM_OUT_INTERNAL_ERROR] = 0.01,
  };
  int c;

  memset(o, 0, sizeof(*o));
  o->seed = 1;
  o->rate = 50.0;
  o->ring = 100000;
  o->notify_fail = 0.02;
  o->chunked = SIM_CHUNKED_RANDOM;
  o->endpoint = "sim-endpoint";
  o->variant = "AllTraffic";
  o->instance_id = "i-0sim0000000000001";
  o->instance_count = 2;
  o->max_concurrency = 4;
  memcpy(o->mix, default_mix, sizeof(o->mix));

  while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == '?' || !opt_one(o, c, optarg)) {
      fputs("Try '" SIM_NAME " --help'.\n", stderr);
      return 2;
    }
  }
  if (optind < argc) {
    sim_err("unexpected argument '%s'", argv[optind]);
    fputs("Try '" SIM_NAME " --help'.\n", stderr);
    return 2;
  }
  if (o->socket_path == NULL) {
    sim_err("--socket PATH is required");
    fputs("Try '" SIM_NAME " --help'.\n", stderr);
    return 2;
  }
  return -1;
}
