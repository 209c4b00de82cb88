#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scripted CloudWatch PutMetricData endpoint for fault-injection tests.

It speaks AWS JSON 1.0 over HTTP/1.1 on 127.0.0.1 (X-Amz-Target
GraniteServiceVersion20100801.PutMetricData, Content-Type
application/x-amz-json-1.0, bodies plain or Content-Encoding: gzip),
answers 200 "{}" and records every datum it accepted. Its mode is switched
at run time through a control port, which also serves container
credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI) so that a token can expire
mid-run:

  ok            answer 200 and record the datums
  refuse        close the listening socket and every open connection:
                connections are refused until the mode changes (the port
                is reopened, the same number)
  throttle      400 {"__type":"ThrottlingException","message":"Rate exceeded"}
  error500      500 {"__type":"InternalServiceFault",...}
  hang          read the request, never answer; the connection is closed
                when the client gives up or the hang is released
  expire_token  400 {"__type":"ExpiredTokenException",...} whatever the token
  revoke_token  (a one-off) the token handed out so far is expired from
                now on: requests signed with it get ExpiredTokenException;
                the next credentials fetch gets a new one

A mode lasts for the next "count" requests or "seconds" seconds (or until
the next change), then the fake returns to ok by itself, reopening the
port. Hung requests are released when a timed mode ends or the mode is
changed (after "count" requests they hang until POST /release).
CloudWatch Logs is not served: tests using this fake set "DataLog false".

Files, in the directory given with --dir (JSON lines, flushed per line):
  ports.json     {"service": PORT, "control": PORT}, written once both listen
  requests.jsonl one line per PutMetricData request as it ended: arrival
                 time, end time, mode, status, error type, token, encoding,
                 bytes, datums accepted; and one per credentials fetch
  datums.jsonl   one line per accepted datum: request number, namespace,
                 name, dimensions, timestamp, unit, storage resolution and
                 Value | StatisticValues | Values and Counts

Control (HTTP on the control port, JSON bodies):
  POST /mode     {"mode": NAME, "count": N, "seconds": S}
  POST /release  end every hung request now (the mode is left as it is)
  GET  /state    the mode, the requests seen, the requests hanging now
  GET  /creds    container credentials (AccessKeyId, SecretAccessKey,
                 Token, Expiration in an hour)

The test-side class FakeCloudWatch below starts it as a process (never
under the sanitizers' preload) and drives it.
"""
import argparse
import datetime
import gzip
import json
import os
import select
import socket
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = "GraniteServiceVersion20100801.PutMetricData"
CONTENT_TYPE = "application/x-amz-json-1.0"
MODES = ("ok", "refuse", "throttle", "error500", "hang", "expire_token")
# Error answers as CloudWatch's JSON 1.0 protocol shapes them. The 500 is
# the PutMetricData API reference's InternalServiceFault.
ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "error500": (500, "InternalServiceFault",
                 "Request processing has failed due to some unknown error, "
                 "exception, or failure."),
    "expire_token": (400, "ExpiredTokenException",
                     "The security token included in the request is expired"),
}


class State:
    """Everything the service and control handlers share, under one lock."""

    def __init__(self, directory):
        self.lock = threading.Lock()
        self.mode = "ok"
        self.count = None      # requests left in the mode, or None
        self.until = None      # monotonic deadline of the mode, or None
        self.hang_gen = 0      # released hangs have a lower generation
        self.requests = 0
        self.hung = 0          # requests hanging now
        self.token_gen = 1
        self.revoked = set()
        self.service = None    # the listening server while not refusing
        self.service_port = 0
        self.conns = set()     # open service connections
        self.req_log = open(os.path.join(directory, "requests.jsonl"), "a")
        self.datum_log = open(os.path.join(directory, "datums.jsonl"), "a")

    def token(self):
        return "fake-session-token-%d" % self.token_gen

    def log_request(self, entry):
        with self.lock:
            self.req_log.write(json.dumps(entry) + "\n")
            self.req_log.flush()

    def log_datums(self, lines):
        with self.lock:
            self.datum_log.write("".join(json.dumps(d) + "\n" for d in lines))
            self.datum_log.flush()

    # -- modes (called with the lock held) --

    def take_mode(self):
        """The mode for an arriving request; counts it."""
        self.requests += 1
        mode = self.mode
        if self.count is not None:
            self.count -= 1
            if self.count <= 0:
                # Requests hung by this mode stay hung until released.
                self.set_mode("ok", release=False)
        return mode, self.hang_gen

    def set_mode(self, mode, count=None, seconds=None, release=True):
        if release:
            self.hang_gen += 1
        self.mode = mode
        self.count = count
        self.until = time.monotonic() + seconds if seconds else None
        if mode == "refuse":
            self._close_service()
        elif self.service is None:
            self._open_service()

    def expire(self):
        if self.until is not None and time.monotonic() >= self.until:
            self.set_mode("ok")

    def _open_service(self):
        srv = ThreadingHTTPServer(("127.0.0.1", self.service_port),
                                  ServiceHandler)
        srv.daemon_threads = True
        srv.state = self
        self.service_port = srv.server_address[1]
        self.service = srv
        threading.Thread(target=srv.serve_forever, args=(0.05,),
                         daemon=True).start()

    def _close_service(self):
        srv, self.service = self.service, None
        if srv is None:
            return
        # serve_forever runs in its own thread: shutdown() waits for it.
        srv.shutdown()
        srv.server_close()
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServiceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-cloudwatch"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.state.lock:
            self.server.state.conns.add(self.connection)

    def finish(self):
        with self.server.state.lock:
            self.server.state.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def answer(self, status, body, error=None):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_POST(self):
        st = self.server.state
        t = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        with st.lock:
            mode, gen = st.take_mode()
            n = st.requests
        token = self.headers.get("X-Amz-Security-Token")
        auth = self.headers.get("Authorization") or ""
        entry = {"kind": "put", "n": n, "t": t, "mode": mode,
                 "target": self.headers.get("X-Amz-Target"),
                 "encoding": self.headers.get("Content-Encoding"),
                 "bytes": len(body), "token": token,
                 "key_id": auth.split("Credential=")[-1].split("/")[0]
                 if "Credential=" in auth else None,
                 "peer": self.client_address[1]}
        status, error, accepted = None, None, 0
        try:
            if mode == "hang":
                entry["closed_by"] = self.hang(gen)
                self.close_connection = True
            elif mode in ERRORS:
                status, error, message = ERRORS[mode]
                self.answer(status, {"__type": error, "message": message},
                            error)
            elif token is not None and token in st.revoked:
                status, error, message = ERRORS["expire_token"]
                entry["mode"] = "revoked"
                self.answer(status, {"__type": error, "message": message},
                            error)
            else:
                status, error, accepted = self.put(n, t, body)
        finally:
            entry.update({"t_end": time.time(), "status": status,
                          "error": error, "datums": accepted})
            st.log_request(entry)

    def hang(self, gen):
        """Waits, never answering, until the client closes the connection
        or the hang is released. Says which came first."""
        st = self.server.state
        sock = self.connection
        with st.lock:
            st.hung += 1
        try:
            while True:
                with st.lock:
                    if st.hang_gen != gen:
                        return "release"
                try:
                    r, _, _ = select.select([sock], [], [], 0.05)
                    if r and not sock.recv(1, socket.MSG_PEEK):
                        return "client"
                except OSError:
                    return "client"
        finally:
            with st.lock:
                st.hung -= 1

    def put(self, n, t, body):
        """Checks the request as CloudWatch would (only what these tests
        need) and records its datums."""
        def refuse(status, error, message):
            self.answer(status, {"__type": error, "message": message}, error)
            return status, error, 0

        target = self.headers.get("X-Amz-Target")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if target != TARGET:
            return refuse(400, "UnknownOperationException",
                          "unknown target %r" % target)
        if ctype != CONTENT_TYPE:
            return refuse(400, "SerializationException", "wrong content type")
        if "Authorization" not in self.headers:
            return refuse(400, "MissingAuthenticationTokenException",
                          "Request is missing Authentication Token")
        try:
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            doc = json.loads(body)
            ns = doc["Namespace"]
            data = doc["MetricData"]
            lines = []
            for d in data:
                line = {"req": n, "t": t, "ns": ns, "name": d["MetricName"],
                        "dims": {x["Name"]: x["Value"]
                                 for x in d.get("Dimensions", [])},
                        "ts": d.get("Timestamp"), "unit": d.get("Unit"),
                        "res": d.get("StorageResolution")}
                for k in ("Value", "StatisticValues", "Values", "Counts"):
                    if k in d:
                        line[k] = d[k]
                lines.append(line)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
            return refuse(400, "SerializationException", str(e)[:200])
        self.server.state.log_datums(lines)
        self.answer(200, {})
        return 200, None, len(lines)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.state
        if self.path == "/creds":
            with st.lock:
                token = st.token()
                gen = st.token_gen
            exp = datetime.datetime.now(datetime.timezone.utc) + \
                datetime.timedelta(hours=1)
            st.log_request({"kind": "creds", "t": time.time(), "token": token})
            self.reply(200, {
                "AccessKeyId": "AKIDFAKECW%06d" % gen,
                "SecretAccessKey": "fake-secret-%d" % gen,
                "Token": token,
                "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")})
        elif self.path == "/state":
            with st.lock:
                self.reply(200, {"mode": st.mode, "requests": st.requests,
                                 "hung": st.hung, "token": st.token()})
        else:
            self.reply(404, {"error": "no such path"})

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            doc = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "not JSON"})
        if self.path == "/release":
            with st.lock:
                st.hang_gen += 1
            return self.reply(200, {"ok": True})
        if self.path != "/mode":
            return self.reply(404, {"error": "no such path"})
        mode = doc.get("mode")
        with st.lock:
            if mode == "revoke_token":
                st.revoked.add(st.token())
                st.token_gen += 1
            elif mode in MODES:
                st.set_mode(mode, doc.get("count"), doc.get("seconds"))
            else:
                return self.reply(400, {"error": "unknown mode %r" % mode})
        st.log_request({"kind": "control", "t": time.time(), "mode": mode,
                        "count": doc.get("count"),
                        "seconds": doc.get("seconds")})
        return self.reply(200, {"ok": True})


def serve(directory, port, control_port):
    st = State(directory)
    st.service_port = port
    with st.lock:
        st._open_service()
    ctl = ThreadingHTTPServer(("127.0.0.1", control_port), ControlHandler)
    ctl.daemon_threads = True
    ctl.state = st
    threading.Thread(target=ctl.serve_forever, args=(0.05,),
                     daemon=True).start()
    tmp = os.path.join(directory, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"service": st.service_port,
                   "control": ctl.server_address[1]}, f)
    os.rename(tmp, os.path.join(directory, "ports.json"))
    while True:  # ends a timed mode when its time is up
        time.sleep(0.02)
        with st.lock:
            st.expire()


# ------------------------------------------------------------ test side


class FakeCloudWatch:
    """Starts the fake as a process and drives it through its control
    port. Its files live in work.file(name)."""

    def __init__(self, work, name="fakecw"):
        from harness import start, wait_for
        self.dir = work.file(name)
        os.makedirs(self.dir, exist_ok=True)
        ports = os.path.join(self.dir, "ports.json")
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        self.proc = start([sys.executable, os.path.abspath(__file__),
                           "--dir", self.dir], work.file(name + ".log"),
                          env=env)
        if not wait_for(lambda: os.path.exists(ports) or
                        self.proc.poll() is not None, 15):
            raise RuntimeError("fake CloudWatch did not start")
        if self.proc.poll() is not None:
            raise RuntimeError("fake CloudWatch exited %s"
                               % self.proc.returncode)
        with open(ports) as f:
            p = json.load(f)
        self.port = p["service"]
        self.control = "http://127.0.0.1:%d" % p["control"]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.creds_url = self.control + "/creds"

    def _post(self, path, doc):
        req = urllib.request.Request(self.control + path,
                                     data=json.dumps(doc).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def set(self, mode, count=None, seconds=None):
        doc = {"mode": mode}
        if count is not None:
            doc["count"] = count
        if seconds is not None:
            doc["seconds"] = seconds
        self._post("/mode", doc)
        return time.time()

    def release(self):
        self._post("/release", {})
        return time.time()

    def state(self):
        with urllib.request.urlopen(self.control + "/state", timeout=10) as r:
            return json.load(r)

    def log(self):
        from harness import read_jsonl
        return read_jsonl(os.path.join(self.dir, "requests.jsonl"))

    def puts(self):
        return [r for r in self.log() if r["kind"] == "put"]

    def datums(self):
        from harness import read_jsonl
        return read_jsonl(os.path.join(self.dir, "datums.jsonl"))

    def stop(self):
        from harness import stop
        stop(self.proc, timeout=3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    a = ap.parse_args()
    try:
        serve(a.dir, a.port, a.control_port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
