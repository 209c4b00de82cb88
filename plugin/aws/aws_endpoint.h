/* SPDX-License-Identifier: MIT */
/*
 * aws_endpoint: the URL a service is called at, resolved as the AWS SDKs
 * resolve it, for one service given by its SDK service ID ("CloudWatch",
 * "CloudWatch Logs") and its endpoint prefix ("monitoring", "logs").
 *
 * First match wins (the SDKs and Tools reference guide, "Service-specific
 * endpoints"; the AWS CLI's configured-endpoint-URL tests check the same
 * order):
 *   1. the explicit URL (the plugin's Endpoint or LogsEndpoint option);
 *   2. AWS_ENDPOINT_URL_<SERVICE>: the service ID uppercased, spaces as
 *      underscores (AWS_ENDPOINT_URL_CLOUDWATCH,
 *      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS);
 *   3. AWS_ENDPOINT_URL;
 *   4. in the shared config file, the profile's "services = NAME" naming a
 *      "[services NAME]" section whose sub-section for the service (the
 *      service ID lowercased, spaces as underscores: "cloudwatch =",
 *      "cloudwatch_logs =") has "endpoint_url = URL" (aws_profile.h);
 *   5. the profile's own endpoint_url;
 *   6. the region's default: https://PREFIX.REGION.DNS_SUFFIX, the DNS
 *      suffix of the region's partition (below), "PREFIX-fips" when
 *      use_fips_endpoint / AWS_USE_FIPS_ENDPOINT is true, the partition's
 *      dual-stack suffix when use_dualstack_endpoint /
 *      AWS_USE_DUALSTACK_ENDPOINT is true, both together (the guide's
 *      "Dual-stack and FIPS endpoints"; hostname patterns as botocore's
 *      endpoints data writes them, {service}-fips.{region}.{dnsSuffix}).
 * Steps 2 to 5 are skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
 * true, or, that variable unset, when the profile has
 * "ignore_configured_endpoint_urls = true"; the explicit URL still wins.
 * The environment decides over the profile for the three switches, as for
 * every setting the SDKs read from both. A URL from steps 1 to 5 is used
 * as it is: FIPS and dual-stack then only add a note (the guide: a
 * service-specific endpoint overrides use_fips_endpoint).
 *
 * Partitions (the AWS SDKs' partitions.json: region pattern, DNS suffix,
 * dual-stack DNS suffix):
 *   aws         (us|eu|ap|sa|ca|me|af|il|mx)-WORD-N  amazonaws.com  api.aws
 *   aws-cn      cn-WORD-N      amazonaws.com.cn  api.amazonwebservices.com.cn
 *   aws-us-gov  us-gov-WORD-N  amazonaws.com     api.aws
 *   aws-iso     us-iso-WORD-N  c2s.ic.gov        (no dual-stack)
 *   aws-iso-b   us-isob-WORD-N sc2s.sgov.gov     (no dual-stack)
 *   aws-iso-e   eu-isoe-WORD-N cloud.adc-e.uk    (no dual-stack)
 *   aws-iso-f   us-isof-WORD-N csp.hci.ic.gov    (no dual-stack)
 *   aws-eusc    eusc-de-WORD-N amazonaws.eu      (no dual-stack)
 * A region no pattern matches is taken as aws's, as the SDKs do, with a
 * note.
 *
 * Whatever the URL, requests are signed for the region and the endpoint
 * prefix. Errors name the variable, or the file and line, of the value
 * that was wrong. collectd-free; reads the config file, no network.
 */
#ifndef SM_AWS_ENDPOINT_H
#define SM_AWS_ENDPOINT_H 1

#include <stdbool.h>
#include <stddef.h>

#include "aws_creds.h"
#include "aws_region.h"

#define AWS_ENDPOINT_URL_MAX 1024u
/* Service IDs and endpoint prefixes. */
#define AWS_ENDPOINT_NAME_MAX 64u

typedef struct {
  char url[AWS_ENDPOINT_URL_MAX]; /* where to send the requests */
  /* Where url came from, for one log line: "configuration",
   * "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL", "~/.aws/config line
   * 9 ([services local] cloudwatch)", "~/.aws/config line 3 (profile dev)",
   * "the default for us-east-1 (partition aws)". */
  char source[AWS_CREDS_SOURCE_MAX];
  /* What SigV4 signs with, whatever the URL: the region and the prefix. */
  char signing_region[AWS_REGION_MAX + 1];
  char signing_service[AWS_ENDPOINT_NAME_MAX + 1];
  /* "" or a remark worth a log line of its own (a region in no known
   * partition, FIPS or dual-stack ignored for a configured URL). */
  char note[256];
} aws_endpoint_t;

/* Resolves the endpoint for service_id / prefix in region (a region name,
 * as aws_region_resolve gives). cfg: getenv_fn, home_dir and profile are
 * used (aws_profile_file.h). explicit_url: NULL or "" when not set.
 * 0 with out filled, or -1 with out zeroed and err naming what was wrong
 * (a URL that is not http(s), a switch that is neither true nor false, a
 * malformed config file, dual-stack in a partition without it). */
int aws_endpoint_resolve(const aws_creds_config_t *cfg, const char *service_id,
                         const char *prefix, const char *explicit_url,
                         const char *region, aws_endpoint_t *out, char *err,
                         size_t err_size);

#endif /* SM_AWS_ENDPOINT_H */
