#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""aws_sigv4 against botocore: requests shaped like the ones
write_cloudwatch sends (PutMetricData, plain and gzipped, with and without
a session token; PutLogEvents; a local endpoint with a port) are signed by
tests/unit/aws/sigv4_tool and by botocore's SigV4Auth with the same fixed clock, and
the canonical request, string to sign and every added header must match.

Needs $SM_BUILDDIR/tests/unit/aws/sigv4_tool. TAP output; exit 1 on a failure."""
import datetime
import gzip
import hashlib
import json
import os
import subprocess
import sys
from unittest import mock
from urllib.parse import urlsplit

from harness import Tap

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("1..0 # SKIP botocore not installed")
    sys.exit(0)

TOOL = os.path.join(os.environ.get("SM_BUILDDIR", "."), "tests", "unit", "aws",
                    "sigv4_tool")

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# Shaped like an STS token: long, base64 with "/", "+" and "=".
TOKEN = ("IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJHMEUCIQD/+example+token/"
         "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEfGhIjKlMnOpQrStUv"
         "WxYz0123456789==")

CW_HEADERS = [("Content-Type", "application/x-amz-json-1.0"),
              ("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")]
LOGS_HEADERS = [("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "Logs_20140328.PutLogEvents")]

CW_BODY = json.dumps({
    "Namespace": "aws/sagemaker/Endpoints",
    "MetricData": [
        {"MetricName": "ApproximateBacklogSize", "Value": 12.0,
         "Unit": "Count", "Timestamp": 1764187200,
         "Dimensions": [{"Name": "EndpointName", "Value": "my-endpoint"}]},
        {"MetricName": "ModelLatency", "Unit": "Microseconds",
         "StatisticValues": {"SampleCount": 4, "Sum": 4200.5,
                             "Minimum": 800, "Maximum": 1500},
         "Dimensions": [{"Name": "EndpointName", "Value": "my-endpoint"},
                        {"Name": "VariantName", "Value": "AllTraffic"}]},
    ]}, separators=(",", ":")).encode()
LOGS_BODY = json.dumps({
    "logGroupName": "/aws/sagemaker/Endpoints/my-endpoint",
    "logStreamName": "data-log/i-0123",
    "logEvents": [{"timestamp": 1764187200123,
                   "message": "{\"inferenceId\":\"r-1\",\"outcome\":"
                              "\"timeout\",\"text\":\"caf\u00e9\"}"}]},
    ensure_ascii=False).encode()
T0 = datetime.datetime(2025, 11, 26, 20, 0, 0)

# name, method, url, headers, body, region, service, token, time, options
CASES = [
    ("PutMetricData", "POST", "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS, CW_BODY, "us-east-1", "monitoring", None, T0, []),
    ("PutMetricData gzip", "POST",
     "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS + [("Content-Encoding", "gzip")],
     gzip.compress(CW_BODY, mtime=0), "us-east-1", "monitoring", None, T0, []),
    ("PutMetricData with a session token", "POST",
     "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS, CW_BODY, "us-east-1", "monitoring", TOKEN, T0, []),
    ("PutMetricData gzip with a session token", "POST",
     "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS + [("Content-Encoding", "gzip")],
     gzip.compress(CW_BODY, mtime=0), "us-east-1", "monitoring", TOKEN, T0,
     []),
    ("PutMetricData eu-west-1, leap day", "POST",
     "https://monitoring.eu-west-1.amazonaws.com/",
     CW_HEADERS, CW_BODY, "eu-west-1", "monitoring", TOKEN,
     datetime.datetime(2024, 2, 29, 23, 59, 59), []),
    ("PutMetricData with X-Amz-Content-Sha256", "POST",
     "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS, CW_BODY, "us-east-1", "monitoring", None, T0,
     ["--content-sha256"]),
    ("PutLogEvents us-west-2", "POST", "https://logs.us-west-2.amazonaws.com/",
     LOGS_HEADERS, LOGS_BODY, "us-west-2", "logs", None, T0, []),
    ("PutLogEvents us-west-2 with a session token", "POST",
     "https://logs.us-west-2.amazonaws.com/",
     LOGS_HEADERS, LOGS_BODY, "us-west-2", "logs", TOKEN,
     datetime.datetime(2000, 1, 1, 0, 0, 0), []),
    ("local endpoint with a port (moto)", "POST", "http://127.0.0.1:5000/",
     CW_HEADERS, CW_BODY, "us-east-1", "monitoring", "testing", T0, []),
    ("local logs endpoint with a port, gzip", "POST",
     "http://localhost:4566/",
     LOGS_HEADERS + [("Content-Encoding", "gzip")],
     gzip.compress(LOGS_BODY, mtime=0), "us-east-1", "logs", None, T0, []),
    ("GET with a query and a path to normalise", "GET",
     "https://monitoring.us-east-1.amazonaws.com/a/./b//../c"
     "?Version=2010-08-01&Action=ListMetrics&Namespace=AWS%2FEC2",
     [("Accept", "application/json")], b"", "us-east-1", "monitoring", None,
     T0, []),
    ("header values with runs of spaces, mixed-case names", "POST",
     "https://monitoring.us-east-1.amazonaws.com/",
     CW_HEADERS + [("X-Custom-HEADER", "  a   b\tc  ")], CW_BODY,
     "us-east-1", "monitoring", TOKEN, T0, []),
]


def patch_clock(when):
    """Fix botocore's clock as its own tests do: newer botocore reads it
    through botocore.auth.get_current_datetime, older through
    datetime.datetime.utcnow."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch("botocore.auth.get_current_datetime",
                          return_value=when)
    fake = mock.Mock(wraps=datetime.datetime)
    fake.utcnow.return_value = when
    return mock.patch("botocore.auth.datetime.datetime", fake)


def botocore_sign(method, url, headers, body, region, service, token, when,
                  options):
    creds = Credentials(AKID, SECRET, token)
    hdrs = dict(headers)
    if "--content-sha256" in options:
        # botocore signs a preset X-Amz-Content-SHA256 and uses it as the
        # payload hash, which is what the flag does in aws_sigv4.
        hdrs["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()

    def request():
        return AWSRequest(method=method, url=url, data=body or None,
                          headers=dict(hdrs))

    auth = botocore.auth.SigV4Auth(creds, service, region)
    signed = request()
    with patch_clock(when):
        auth.add_auth(signed)

    # The intermediate strings, by the same steps add_auth takes, on a
    # fresh request (a signed one would also sign its own Authorization).
    steps = request()
    steps.context["timestamp"] = when.strftime(botocore.auth.SIGV4_TIMESTAMP)
    auth._modify_request_before_signing(steps)
    creq = auth.canonical_request(steps)
    sts = auth.string_to_sign(steps, creq)
    return signed.headers, creq, sts


def tool_sign(method, url, headers, body, region, service, token, when,
              options):
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    host = parts.netloc  # with the port when the URL has one
    argv = [TOOL, "-X", method, "-H", host, "-p", target, "-b", "-",
            "-r", region, "-s", service,
            "-t", when.strftime("%Y%m%dT%H%M%SZ"), "-a", AKID, "-k", SECRET]
    for name, value in headers:
        argv += ["-h", "%s:%s" % (name, value)]
    if token:
        argv += ["-T", token]
    argv += options
    res = subprocess.run(argv, input=body, capture_output=True, timeout=30)
    if res.returncode != 0:
        return None, res.stderr.decode(errors="replace")
    sections, name = {}, None
    for line in res.stdout.decode().split("\n"):
        if line.startswith("== "):
            name = line[3:]
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    out = {
        "canonical request":
            "\n".join(sections["canonical request"]).rstrip("\n"),
        "string to sign": "\n".join(sections["string to sign"]).rstrip("\n"),
        "headers": {},
    }
    for line in sections["headers"]:
        if line:
            k, _, v = line.partition(": ")
            out["headers"][k.lower()] = v
    return out, None


def main():
    tap = Tap()
    if not os.access(TOOL, os.X_OK):
        tap.ok(False, "sigv4_tool is built", "missing: " + TOOL)
        tap.done()

    for (name, method, url, headers, body, region, service, token, when,
         options) in CASES:
        want_headers, want_creq, want_sts = botocore_sign(
            method, url, headers, body, region, service, token, when, options)
        got, err = tool_sign(method, url, headers, body, region, service,
                             token, when, options)
        tap.ok(got is not None, "%s: sigv4_tool signs" % name, err)
        if got is None:
            continue
        tap.eq(got["canonical request"], want_creq,
               "%s: canonical request" % name)
        tap.eq(got["string to sign"], want_sts, "%s: string to sign" % name)
        tap.eq(got["headers"].get("authorization"),
               want_headers.get("Authorization"),
               "%s: Authorization" % name)
        tap.eq(got["headers"].get("x-amz-date"),
               want_headers.get("X-Amz-Date"), "%s: X-Amz-Date" % name)
        tap.eq(got["headers"].get("x-amz-security-token"),
               want_headers.get("X-Amz-Security-Token"),
               "%s: X-Amz-Security-Token" % name)
        if "--content-sha256" in options:
            tap.eq(got["headers"].get("x-amz-content-sha256"),
                   want_headers.get("X-Amz-Content-SHA256"),
                   "%s: X-Amz-Content-Sha256" % name)
        want_added = ["authorization", "x-amz-date"]
        if token:
            want_added.append("x-amz-security-token")
        if "--content-sha256" in options:
            want_added.append("x-amz-content-sha256")
        tap.eq(sorted(got["headers"]), sorted(want_added),
               "%s: no other header added" % name)

    # The tool reports the signer's refusal without a crash and without
    # the secret.
    res = subprocess.run([TOOL, "-H", "monitoring.us-east-1.amazonaws.com",
                          "-h", "Host: evil.example", "-r", "us-east-1",
                          "-s", "monitoring", "-t", "0", "-a", AKID,
                          "-k", SECRET], capture_output=True, timeout=30)
    tap.ok(res.returncode == 1 and b"set by the signer" in res.stderr and
           SECRET.encode() not in res.stderr + res.stdout,
           "a Host header among the signed headers is refused",
           res.stderr.decode(errors="replace"))
    tap.done()


if __name__ == "__main__":
    main()
