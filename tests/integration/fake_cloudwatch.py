#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scripted CloudWatch and CloudWatch Logs endpoint for fault-injection
tests.

Both services share one port on 127.0.0.1, told apart by X-Amz-Target,
as their API references define them:

  monitoring  GraniteServiceVersion20100801.PutMetricData, AWS JSON 1.0
              (Content-Type application/x-amz-json-1.0)
  logs        Logs_20140328.CreateLogGroup, .CreateLogStream and
              .PutLogEvents, AWS JSON 1.1 (application/x-amz-json-1.1)

Bodies come plain or with Content-Encoding: gzip. Every request is
checked as the services check it, as far as these tests need: the target
and content type, an Authorization header whose credential scope names
the right service, an X-Amz-Date within 5 minutes of the fake's clock
(else 400 InvalidSignatureException "Signature expired: ..." or "Signature
not yet current: ...", the services' wording), and every answer carries a
Date header with the fake's clock. PutMetricData answers 200 "{}" and
records every datum. CreateLogGroup and CreateLogStream create (400
ResourceAlreadyExistsException when it exists; a stream needs its group:
ResourceNotFoundException). PutLogEvents needs the group and the stream
(400 ResourceNotFoundException), events in chronological order spanning
at most 24 hours, at most 10,000 events and 1,048,576 bytes (26 counted
per event), else 400 InvalidParameterException and nothing is taken;
events more than 14 days old or 2 hours ahead of the fake's clock are
refused inside the 200 (rejectedLogEventsInfo) and the rest recorded.

Modes, switched at run time through a control port, for both services or
(with "service") for one of them:

  ok            answer as the service would, and record
  refuse        close the listening socket and every open connection:
                connections are refused until the mode changes (the port
                is reopened, the same number); both services only
  throttle      400 ThrottlingException "Rate exceeded"
  throttle_after  the same with a Retry-After header of "retry_after"
                seconds (default 2)
  error500      500 (CloudWatch's InternalServiceFault, CloudWatch Logs'
                ServiceUnavailableException)
  hang          read the request, never answer; the connection is closed
                when the client gives up or the hang is released
  expire_token  400 ExpiredTokenException whatever the token
  revoke_token  (a one-off) the token handed out so far is expired from
                now on: requests signed with it get ExpiredTokenException;
                the next credentials fetch gets a new one
  skew          the fake's clock is "offset" seconds ahead of this host's
                (negative: behind); otherwise as ok, so that a request
                signed with the local time is refused as expired
  deny          the identity may not: CloudWatch answers 400 AccessDenied,
                CloudWatch Logs 400 AccessDeniedException, with a message
                naming the action ("is not authorized to perform:
                cloudwatch:PutMetricData ...")

A mode lasts for the next "count" requests or "seconds" seconds (or until
the next change), then the fake returns to ok by itself, reopening the
port. Hung requests are released when a timed mode ends or the mode is
changed (after "count" requests they hang until POST /release).

The control port also serves container credentials
(AWS_CONTAINER_CREDENTIALS_FULL_URI), so that a token can expire mid-run,
and an EC2 instance-metadata service, IMDSv2 only
(AWS_EC2_METADATA_SERVICE_ENDPOINT): PUT /latest/api/token with the TTL
header gives a session token, GET /latest/meta-data/instance-id with it
gives the instance ID. The mode "imds_fail" makes both answer 500 for
"seconds" seconds (and sets the ID, "instance_id", if given).

Files, in the directory given with --dir (JSON lines, flushed per line):
  ports.json     {"service": PORT, "control": PORT}, written once both listen
  requests.jsonl one line per service request as it ended: arrival time,
                 end time, service, action, mode, status, error type,
                 token, encoding, bytes, the signing time's offset from
                 the local clock, items accepted; one per credentials
                 fetch, per instance-metadata request, per mode change
  datums.jsonl   one line per accepted datum: request number, namespace,
                 name, dimensions, timestamp, unit, storage resolution and
                 Value | StatisticValues | Values and Counts
  events.jsonl   one line per accepted log event: request number, arrival
                 time, log group, log stream, timestamp, message

Control (HTTP on the control port, JSON bodies):
  POST /mode     {"mode": NAME, "count": N, "seconds": S, "service":
                 "monitoring" | "logs", "offset": S, "retry_after": S,
                 "instance_id": ID}
  POST /release  end every hung request now (the mode is left as it is)
  GET  /state    the modes, the requests seen, the requests hanging now
  GET  /creds    container credentials (AccessKeyId, SecretAccessKey,
                 Token, Expiration in an hour)

The test-side class FakeCloudWatch below starts it as a process (never
under the sanitizers' preload) and drives it.
"""
import argparse
import calendar
import datetime
import email.utils
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

# X-Amz-Target prefix -> (service, Content-Type, actions)
SERVICES = {
    "GraniteServiceVersion20100801.": (
        "monitoring", "application/x-amz-json-1.0", ("PutMetricData",)),
    "Logs_20140328.": (
        "logs", "application/x-amz-json-1.1",
        ("CreateLogGroup", "CreateLogStream", "PutLogEvents")),
}
IAM_PREFIX = {"monitoring": "cloudwatch", "logs": "logs"}
MODES = ("ok", "refuse", "throttle", "throttle_after", "error500", "hang",
         "expire_token", "skew", "deny")
# Error answers as the services' JSON protocols shape them. The 500s are
# PutMetricData's InternalServiceFault and PutLogEvents'
# ServiceUnavailableException.
ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "expire_token": (400, "ExpiredTokenException",
                     "The security token included in the request is expired"),
}
ERROR500 = {
    "monitoring": (500, "InternalServiceFault",
                   "Request processing has failed due to some unknown error, "
                   "exception, or failure."),
    "logs": (500, "ServiceUnavailableException",
             "The service cannot complete the request."),
}
DENIED_TYPE = {"monitoring": "AccessDenied", "logs": "AccessDeniedException"}
ACCOUNT = "123456789012"
# SigV4: a signature's time may be this far from the service's clock.
SKEW_LIMIT_S = 300
# PutLogEvents' limits (API reference).
LOGS_MAX_EVENTS = 10000
LOGS_MAX_BYTES = 1048576
LOGS_EVENT_OVERHEAD = 26
LOGS_MAX_SPAN_MS = 24 * 3600 * 1000
LOGS_MAX_AGE_MS = 14 * 24 * 3600 * 1000
LOGS_MAX_AHEAD_MS = 2 * 3600 * 1000
DEFAULT_INSTANCE_ID = "i-0feedface0000001"


class Slot:
    """A mode as set: its name, how long it lasts, its parameters. Both
    services may share one (a count then counts both)."""

    def __init__(self, name="ok", count=None, seconds=None, params=None):
        self.name = name
        self.count = count
        self.until = time.monotonic() + seconds if seconds else None
        self.params = dict(params or {})

    def offset(self):
        return float(self.params.get("offset", 0)) if self.name == "skew" \
            else 0.0


class State:
    """Everything the service and control handlers share, under one lock."""

    def __init__(self, directory):
        self.lock = threading.Lock()
        ok = Slot()
        self.modes = {"monitoring": ok, "logs": ok}
        self.hang_gen = 0      # released hangs have a lower generation
        self.requests = 0
        self.hung = 0          # requests hanging now
        self.token_gen = 1
        self.revoked = set()
        self.service = None    # the listening server while not refusing
        self.service_port = 0
        self.conns = set()     # open service connections
        self.groups = {}       # log group -> set of its streams
        self.seq_token = 0
        self.imds_fail_until = 0.0
        self.imds_id = DEFAULT_INSTANCE_ID
        self.imds_tokens = set()
        self.req_log = open(os.path.join(directory, "requests.jsonl"), "a")
        self.datum_log = open(os.path.join(directory, "datums.jsonl"), "a")
        self.event_log = open(os.path.join(directory, "events.jsonl"), "a")

    def token(self):
        return "fake-session-token-%d" % self.token_gen

    def log_request(self, entry):
        with self.lock:
            self.req_log.write(json.dumps(entry) + "\n")
            self.req_log.flush()

    def log_lines(self, f, lines):
        with self.lock:
            f.write("".join(json.dumps(d) + "\n" for d in lines))
            f.flush()

    # -- modes (called with the lock held) --

    def take_mode(self, service):
        """The mode for an arriving request of service; counts it."""
        self.requests += 1
        slot = self.modes[service]
        if slot.count is not None:
            slot.count -= 1
            if slot.count <= 0:
                # Requests hung by this mode stay hung until released.
                self._replace(slot, Slot(), release=False)
        return slot, self.hang_gen

    def set_mode(self, slot, service=None, release=True):
        if release:
            self.hang_gen += 1
        for svc in ([service] if service else list(self.modes)):
            self.modes[svc] = slot
        self._listen()

    def _replace(self, old, new, release=True):
        if release:
            self.hang_gen += 1
        for svc, slot in self.modes.items():
            if slot is old:
                self.modes[svc] = new
        self._listen()

    def _listen(self):
        if any(s.name == "refuse" for s in self.modes.values()):
            self._close_service()
        elif self.service is None:
            self._open_service()

    def expire(self):
        now = time.monotonic()
        for slot in set(self.modes.values()):
            if slot.until is not None and now >= slot.until:
                self._replace(slot, Slot())

    def clock(self, service="monitoring"):
        """The fake's clock for service, epoch seconds."""
        return time.time() + self.modes[service].offset()

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


def amz_date(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def parse_amz_date(text):
    try:
        return calendar.timegm(time.strptime(text or "", "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return None


class Refusal(Exception):
    def __init__(self, status, error, message, headers=None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}


class ServiceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-cloudwatch"
    service = "monitoring"  # of the request being answered, for its Date

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        # The Date header: the fake's clock, always.
        st = self.server.state
        return email.utils.formatdate(st.clock(self.service), usegmt=True)

    def setup(self):
        super().setup()
        st = self.server.state
        with st.lock:
            st.conns.add(self.connection)
            closed = st.service is not self.server
        if closed:
            # Accepted just before the port closed: refused all the same.
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish(self):
        with self.server.state.lock:
            self.server.state.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def answer(self, status, body, content_type, error=None, headers=None):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_POST(self):
        st = self.server.state
        t = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        target = self.headers.get("X-Amz-Target") or ""
        prefix = target[:target.find(".") + 1] if "." in target else ""
        service, ctype, actions = SERVICES.get(
            prefix, ("monitoring", "application/x-amz-json-1.0", ()))
        action = target[len(prefix):]
        self.service = service
        with st.lock:
            if st.service is not self.server:
                self.close_connection = True
                return
            slot, gen = st.take_mode(service)
            mode, params = slot.name, dict(slot.params)
            n = st.requests
            now = st.clock(service)
        token = self.headers.get("X-Amz-Security-Token")
        auth = self.headers.get("Authorization") or ""
        signed = parse_amz_date(self.headers.get("X-Amz-Date"))
        entry = {"kind": "put", "n": n, "t": t, "service": service,
                 "action": action, "mode": mode, "target": target,
                 "encoding": self.headers.get("Content-Encoding"),
                 "bytes": len(body), "token": token,
                 "key_id": auth.split("Credential=")[-1].split("/")[0]
                 if "Credential=" in auth else None,
                 "signed_offset": None if signed is None else signed - t,
                 "peer": self.client_address[1]}
        status, error, accepted = None, None, 0
        try:
            if mode == "hang":
                entry["closed_by"] = self.hang(gen)
                self.close_connection = True
                return
            if mode == "error500":
                raise Refusal(*ERROR500[service])
            self.check(target, action, actions, service, ctype, auth, signed,
                       now)
            if mode == "expire_token":
                raise Refusal(*ERRORS["expire_token"])
            if token is not None and token in st.revoked:
                entry["mode"] = "revoked"
                raise Refusal(*ERRORS["expire_token"])
            if mode == "deny":
                raise Refusal(400, DENIED_TYPE[service],
                              self.denied(service, action, body))
            if mode == "throttle":
                raise Refusal(*ERRORS["throttle"])
            if mode == "throttle_after":
                wait = params.get("retry_after", 2)
                raise Refusal(*ERRORS["throttle"],
                              headers={"Retry-After": str(int(wait))})
            doc = self.document(body)
            if action == "PutMetricData":
                accepted = self.put_metric_data(n, t, doc)
                result = {}
            else:
                accepted, result = self.logs(action, n, t, doc, now, entry)
            status = 200
            self.answer(200, result, ctype)
        except Refusal as r:
            status, error = r.status, r.error
            self.answer(r.status, {"__type": r.error, "message": r.message},
                        ctype, r.error, r.headers)
        finally:
            entry.update({"t_end": time.time(), "status": status,
                          "error": error, "items": accepted})
            if service == "monitoring":
                entry["datums"] = accepted
            st.log_request(entry)

    def check(self, target, action, actions, service, ctype, auth, signed,
              now):
        """What every request must pass, in the services' order:
        operation, protocol, authentication, the signature's time."""
        if action not in actions:
            raise Refusal(400, "UnknownOperationException",
                          "unknown target %r" % target)
        if (self.headers.get("Content-Type") or "").split(";")[0] != ctype:
            raise Refusal(400, "SerializationException",
                          "wrong content type")
        if "Credential=" not in auth or signed is None:
            raise Refusal(400, "MissingAuthenticationTokenException",
                          "Request is missing Authentication Token")
        scope = auth.split("Credential=")[-1].split(",")[0].split("/")
        if len(scope) != 5 or scope[3] != service:
            raise Refusal(400, "InvalidSignatureException",
                          "Credential should be scoped to correct service: "
                          "'%s'." % service)
        if signed < now - SKEW_LIMIT_S:
            raise Refusal(400, "InvalidSignatureException",
                          "Signature expired: %s is now earlier than %s "
                          "(%s - 5 min.)" % (amz_date(signed),
                                             amz_date(now - SKEW_LIMIT_S),
                                             amz_date(now)))
        if signed > now + SKEW_LIMIT_S:
            raise Refusal(400, "InvalidSignatureException",
                          "Signature not yet current: %s is still later "
                          "than %s (%s + 5 min.)"
                          % (amz_date(signed), amz_date(now + SKEW_LIMIT_S),
                             amz_date(now)))

    def denied(self, service, action, body):
        who = "arn:aws:sts::%s:assumed-role/fake-role/i-0fake" % ACCOUNT
        perm = "%s:%s" % (IAM_PREFIX[service], action)
        resource = ""
        if service == "logs":
            try:
                doc = self.document(body)
                resource = " on resource: arn:aws:logs:us-east-1:%s:" \
                    "log-group:%s" % (ACCOUNT, doc.get("logGroupName"))
                if "logStreamName" in doc:
                    resource += ":log-stream:%s" % doc["logStreamName"]
            except Refusal:
                pass
        return "User: %s is not authorized to perform: %s%s because no " \
            "identity-based policy allows the %s action" % (who, perm,
                                                            resource, perm)

    def document(self, body):
        try:
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            doc = json.loads(body)
        except (OSError, EOFError, ValueError) as e:
            raise Refusal(400, "SerializationException", str(e)[:200])
        if not isinstance(doc, dict):
            raise Refusal(400, "SerializationException", "not an object")
        return doc

    def put_metric_data(self, n, t, doc):
        """Records the datums of a PutMetricData body; their count."""
        try:
            ns = doc["Namespace"]
            lines = []
            for d in doc["MetricData"]:
                line = {"req": n, "t": t, "ns": ns, "name": d["MetricName"],
                        "dims": {x["Name"]: x["Value"]
                                 for x in d.get("Dimensions", [])},
                        "ts": d.get("Timestamp"), "unit": d.get("Unit"),
                        "res": d.get("StorageResolution")}
                for k in ("Value", "StatisticValues", "Values", "Counts"):
                    if k in d:
                        line[k] = d[k]
                lines.append(line)
        except (KeyError, TypeError) as e:
            raise Refusal(400, "SerializationException", str(e)[:200])
        st = self.server.state
        st.log_lines(st.datum_log, lines)
        return len(lines)

    def logs(self, action, n, t, doc, now, entry):
        """CreateLogGroup, CreateLogStream, PutLogEvents: (items accepted,
        the answer's body)."""
        st = self.server.state
        group = doc.get("logGroupName")
        stream = doc.get("logStreamName")
        entry.update({"group": group, "stream": stream})
        if not isinstance(group, str) or not group or \
                (action != "CreateLogGroup" and
                 (not isinstance(stream, str) or not stream)):
            raise Refusal(400, "InvalidParameterException",
                          "1 validation error detected: a name is missing")
        with st.lock:
            if action == "CreateLogGroup":
                if group in st.groups:
                    raise Refusal(400, "ResourceAlreadyExistsException",
                                  "The specified log group already exists")
                st.groups[group] = set()
                return 0, {}
            if group not in st.groups:
                raise Refusal(400, "ResourceNotFoundException",
                              "The specified log group does not exist.")
            if action == "CreateLogStream":
                if stream in st.groups[group]:
                    raise Refusal(400, "ResourceAlreadyExistsException",
                                  "The specified log stream already exists")
                st.groups[group].add(stream)
                return 0, {}
            if stream not in st.groups[group]:
                raise Refusal(400, "ResourceNotFoundException",
                              "The specified log stream does not exist.")
        events = doc.get("logEvents")
        try:
            stamps = [int(e["timestamp"]) for e in events]
            msgs = [e["message"] for e in events]
        except (KeyError, TypeError, ValueError):
            raise Refusal(400, "SerializationException",
                          "logEvents: each needs a timestamp and a message")
        if not stamps:
            raise Refusal(400, "InvalidParameterException",
                          "1 validation error detected: Value '[]' at "
                          "'logEvents' failed to satisfy constraint: Member "
                          "must have length greater than or equal to 1")
        if len(stamps) > LOGS_MAX_EVENTS:
            raise Refusal(400, "InvalidParameterException",
                          "1 validation error detected: Value at 'logEvents' "
                          "failed to satisfy constraint: Member must have "
                          "length less than or equal to %d" % LOGS_MAX_EVENTS)
        size = sum(len(m.encode()) + LOGS_EVENT_OVERHEAD for m in msgs)
        if size > LOGS_MAX_BYTES:
            raise Refusal(400, "InvalidParameterException",
                          "Upload too large: %d bytes exceeds limit of %d"
                          % (size, LOGS_MAX_BYTES))
        if any(b < a for a, b in zip(stamps, stamps[1:])):
            raise Refusal(400, "InvalidParameterException",
                          "Log events in a single PutLogEvents request must "
                          "be in chronological order.")
        if stamps[-1] - stamps[0] > LOGS_MAX_SPAN_MS:
            raise Refusal(400, "InvalidParameterException",
                          "The batch of log events in a single PutLogEvents "
                          "request cannot span more than 24 hours.")
        now_ms = int(now * 1000)
        old = [i for i, s in enumerate(stamps) if s < now_ms - LOGS_MAX_AGE_MS]
        new = [i for i, s in enumerate(stamps)
               if s > now_ms + LOGS_MAX_AHEAD_MS]
        rejected = {}
        if old:
            rejected["tooOldLogEventEndIndex"] = max(old) + 1
        if new:
            rejected["tooNewLogEventStartIndex"] = min(new)
        keep = [i for i in range(len(stamps))
                if not (old and i <= max(old)) and not (new and i >= min(new))]
        st.log_lines(st.event_log, [
            {"req": n, "t": t, "group": group, "stream": stream,
             "ts": stamps[i], "message": msgs[i]} for i in keep])
        with st.lock:
            st.seq_token += 1
            result = {"nextSequenceToken": "%056d" % st.seq_token}
        if rejected:
            result["rejectedLogEventsInfo"] = rejected
            entry["rejected"] = len(stamps) - len(keep)
        return len(keep), result

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


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, doc, text=None):
        data = text.encode() if text is not None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text is not None
                         else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- instance metadata (IMDSv2) --

    def imds(self, method):
        st = self.server.state
        with st.lock:
            failing = time.monotonic() < st.imds_fail_until
        entry = {"kind": "imds", "t": time.time(), "method": method,
                 "path": self.path, "failing": failing}
        try:
            if failing:
                entry["status"] = 500
                return self.reply(500, None, text="")
            if method == "PUT" and self.path == "/latest/api/token":
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                if ttl is None or not ttl.isdigit() or \
                        not 1 <= int(ttl) <= 21600:
                    entry["status"] = 400
                    return self.reply(400, None, text="")
                tok = "fake-imds-token-%s" % uuid.uuid4().hex
                with st.lock:
                    st.imds_tokens.add(tok)
                entry["status"] = 200
                return self.reply(200, None, text=tok)
            if method == "GET" and \
                    self.path == "/latest/meta-data/instance-id":
                with st.lock:
                    good = self.headers.get("X-aws-ec2-metadata-token") in \
                        st.imds_tokens
                    iid = st.imds_id
                entry["status"] = 200 if good else 401
                return self.reply(entry["status"], None,
                                  text=iid if good else "")
            entry["status"] = 404
            return self.reply(404, None, text="")
        finally:
            st.log_request(entry)

    def do_PUT(self):
        self.imds("PUT")

    def do_GET(self):
        st = self.server.state
        if self.path.startswith("/latest/"):
            return self.imds("GET")
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
                self.reply(200, {
                    "mode": st.modes["monitoring"].name,
                    "modes": {k: v.name for k, v in st.modes.items()},
                    "requests": st.requests, "hung": st.hung,
                    "token": st.token()})
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
        service = doc.get("service")
        if service not in (None, "monitoring", "logs") or \
                (service and mode == "refuse"):
            return self.reply(400, {"error": "bad service %r for %r"
                                    % (service, mode)})
        params = {k: doc[k] for k in ("offset", "retry_after") if k in doc}
        t_set = time.time()
        with st.lock:
            if mode == "revoke_token":
                st.revoked.add(st.token())
                st.token_gen += 1
            elif mode == "imds_fail":
                st.imds_fail_until = time.monotonic() + \
                    float(doc.get("seconds") or 0)
                st.imds_id = doc.get("instance_id") or st.imds_id
            elif mode in MODES:
                st.set_mode(Slot(mode, doc.get("count"), doc.get("seconds"),
                                 params), service)
            else:
                return self.reply(400, {"error": "unknown mode %r" % mode})
        st.log_request({"kind": "control", "t": t_set, "mode": mode,
                        "service": service, "count": doc.get("count"),
                        "seconds": doc.get("seconds"), "params": params})
        return self.reply(200, {"ok": True, "t": t_set})


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
        # AWS_EC2_METADATA_SERVICE_ENDPOINT
        self.imds_url = self.control

    def _post(self, path, doc):
        req = urllib.request.Request(self.control + path,
                                     data=json.dumps(doc).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def set(self, mode, count=None, seconds=None, service=None, **params):
        """Sets a mode; returns the fake's time of the change (before the
        port reopens, so that no request it accepts is older)."""
        doc = {"mode": mode}
        if count is not None:
            doc["count"] = count
        if seconds is not None:
            doc["seconds"] = seconds
        if service is not None:
            doc["service"] = service
        doc.update(params)
        return self._post("/mode", doc)["t"]

    def release(self):
        self._post("/release", {})
        return time.time()

    def state(self):
        with urllib.request.urlopen(self.control + "/state", timeout=10) as r:
            return json.load(r)

    def log(self):
        from harness import read_jsonl
        return read_jsonl(os.path.join(self.dir, "requests.jsonl"))

    def puts(self, service=None, action=None):
        """Service requests as they ended, of service and action when
        given (with DataLog false, every one is a PutMetricData)."""
        return [r for r in self.log() if r["kind"] == "put" and
                (service is None or r.get("service") == service) and
                (action is None or r.get("action") == action)]

    def datums(self):
        from harness import read_jsonl
        return read_jsonl(os.path.join(self.dir, "datums.jsonl"))

    def events(self):
        from harness import read_jsonl
        return read_jsonl(os.path.join(self.dir, "events.jsonl"))

    def imds_requests(self):
        return [r for r in self.log() if r["kind"] == "imds"]

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
