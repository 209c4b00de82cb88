#!/usr/bin/env python3
"""Reads the SageMaker metrics back from a CloudWatch endpoint with the AWS
SDK (boto3) and prints one row per metric and dimension set: the
statistics over the last minutes; then the endpoints' data logs from
CloudWatch Logs at the same endpoint.

  show_cloudwatch.py ENDPOINT_URL NAMESPACE [MINUTES]
"""
import datetime
import sys

import boto3


def main():
    url, ns = sys.argv[1], sys.argv[2]
    minutes = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    cw = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="demo", aws_secret_access_key="demo")
    now = datetime.datetime.now(datetime.timezone.utc)
    seen = set()
    rows = []
    for m in cw.list_metrics(Namespace=ns)["Metrics"]:
        dims = tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
        key = (m["MetricName"], dims)
        if key in seen:
            continue
        seen.add(key)
        dps = cw.get_metric_statistics(
            Namespace=ns, MetricName=m["MetricName"],
            Dimensions=[{"Name": n, "Value": v} for n, v in dims],
            StartTime=now - datetime.timedelta(minutes=minutes),
            EndTime=now + datetime.timedelta(minutes=1), Period=60,
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum"],
        )["Datapoints"]
        if not dps:
            continue
        n = sum(d["SampleCount"] for d in dps)
        s = sum(d["Sum"] for d in dps)
        rows.append((m["MetricName"], ",".join(v for _, v in dims),
                     dps[0].get("Unit", ""), n, s, s / n if n else 0,
                     min(d["Minimum"] for d in dps),
                     max(d["Maximum"] for d in dps)))
    rows.sort()
    print("%-34s %-26s %-12s %9s %16s %14s %12s %14s" % (
        "metric", "dimensions", "unit", "samples", "sum", "average",
        "minimum", "maximum"))
    for r in rows:
        print("%-34s %-26s %-12s %9d %16.6g %14.6g %12.6g %14.6g" % r)
    print("(%d metrics read back from %s, namespace %s)" % (len(rows), url, ns))

    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")
    for g in logs.describe_log_groups(
            logGroupNamePrefix="/aws/sagemaker/Endpoints/")["logGroups"]:
        for st in logs.describe_log_streams(
                logGroupName=g["logGroupName"])["logStreams"]:
            evs = logs.get_log_events(logGroupName=g["logGroupName"],
                                      logStreamName=st["logStreamName"],
                                      startFromHead=True)["events"]
            print("\ndata log %s, stream %s: %d events; the last ones:"
                  % (g["logGroupName"], st["logStreamName"], len(evs)))
            for e in evs[-3:]:
                print("  " + e["message"])
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
