# SPDX-License-Identifier: MIT
"""moto_server as a local CloudWatch for the integration tests: started on
127.0.0.1 with signature checking on, with an IAM user whose access key
the plugin signs with, and a boto3 client to read back."""
import os
import shutil
import socket

from harness import (Tap, free_port, listens, require_collectd, start, stop,
                     wait_for)


def available():
    """moto (the package, not this module) and boto3 are importable and
    moto_server is on the PATH."""
    import importlib.util
    if importlib.util.find_spec("boto3") is None or \
            importlib.util.find_spec("moto") is None:
        return False
    return shutil.which("moto_server") is not None


def moto_tap():
    """The Tap of a test of the real collectd against moto_server: it skips
    without collectd (require_collectd) or without moto and boto3."""
    tap = Tap()
    require_collectd(tap)
    if not available():
        tap.skip_all("moto_server and boto3 are not installed")
    return tap


class Moto:
    def __init__(self, work, auth=True):
        import boto3
        env = dict(os.environ)
        if auth:
            # The first three actions (a user, its key, its policy) go
            # unauthenticated; from then on every request must be signed
            # with a key moto knows.
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        # Another test's server may take the port between free_port() and
        # moto's bind, and would then answer in its place: the port must be
        # this process's, else another one is tried.
        for attempt in range(5):
            self.port = free_port()
            self.url = "http://127.0.0.1:%d" % self.port
            self.proc = start(["moto_server", "-H", "127.0.0.1", "-p",
                               str(self.port)],
                              work.file("moto.log"), env=env)
            wait_for(lambda: self.proc.poll() is not None or
                     (self._up() and listens(self.proc.pid, self.port)),
                     30, step=0.2)
            if self.proc.poll() is None and listens(self.proc.pid, self.port):
                break
            stop(self.proc)
        else:
            raise RuntimeError("moto_server did not start")
        self.key_id = "AKIDEXAMPLE"
        self.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        if auth:
            iam = boto3.client("iam", endpoint_url=self.url,
                               region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x")
            iam.create_user(UserName="collectd")
            key = iam.create_access_key(UserName="collectd")["AccessKey"]
            iam.put_user_policy(
                UserName="collectd", PolicyName="publish",
                PolicyDocument='{"Version":"2012-10-17","Statement":[{'
                # moto names CloudWatch actions "monitoring:*" (IAM: "cloudwatch:*").
                '"Effect":"Allow","Action":["cloudwatch:*","monitoring:*","logs:*"],'
                '"Resource":"*"}]}')
            self.key_id = key["AccessKeyId"]
            self.secret = key["SecretAccessKey"]
        self.cw = boto3.client("cloudwatch", endpoint_url=self.url,
                               region_name="us-east-1",
                               aws_access_key_id=self.key_id,
                               aws_secret_access_key=self.secret)

    def use_credentials(self):
        """collectd (started after this) signs with the key moto knows."""
        os.environ["AWS_ACCESS_KEY_ID"] = self.key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = self.secret
        os.environ.pop("AWS_SESSION_TOKEN", None)

    def logs(self):
        import boto3
        return boto3.client("logs", endpoint_url=self.url,
                            region_name="us-east-1",
                            aws_access_key_id=self.key_id,
                            aws_secret_access_key=self.secret)

    def list_metrics(self, namespace):
        """Every metric of a namespace, all pages of ListMetrics."""
        out = []
        for page in self.cw.get_paginator("list_metrics").paginate(
                Namespace=namespace):
            out.extend(page["Metrics"])
        return out

    def stored(self, namespace):
        """What moto holds for a namespace, from its state dump
        (/moto-api/data.json): {metric name: {"values": [every Value, once
        per Count], "statsets": number of StatisticValues datums}}. moto
        keeps each published Value as its own datapoint, which the
        CloudWatch API does not give back."""
        import json
        import urllib.request
        with urllib.request.urlopen(self.url + "/moto-api/data.json",
                                    timeout=30) as r:
            cw = json.load(r)["cloudwatch"]
        out = {}
        for d in cw.get("MetricDatum", []):
            if d["namespace"] == namespace:
                out.setdefault(d["name"], {"values": [], "statsets": 0})[
                    "values"].append(d["value"])
        for d in cw.get("MetricAggregatedDatum", []):
            if d["namespace"] == namespace:
                out.setdefault(d["name"], {"values": [], "statsets": 0})[
                    "statsets"] += 1
        return out

    def _up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        stop(self.proc)
