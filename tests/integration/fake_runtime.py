# SPDX-License-Identifier: MIT
"""A scripted fake of the async runtime's stats API (runtime-api.md,
version 1), for tests that need a runtime misbehaving on cue.

It runs inside the test process: FakeRuntime(path).start() listens on a
Unix stream socket in threads of its own, and the test changes what it
answers while the client reads, with set():

    fake = FakeRuntime(work.file("a.sock")).start()
    fake.set(snapshot=Fault.status(503, {"error": "runtime starting"}))
    ...
    fake.set()                      # healthy again
    fake.stop()                     # the socket goes away

A healthy fake answers GET /v1/snapshot and GET /v1/requests?after=&limit=
from a small in-memory list of records it generates deterministically (a
record is a function of its boot number and seq). Each healthy snapshot
adds `grow` records once the answer is built, so a read that follows sees
them on its pages. first_seq, next_seq and boot_id follow the document:
seqs are consecutive from 1 within a boot, first_seq is the oldest record
held (next_seq while none is held), restart() starts a new boot.

A fault replaces the answer to one path (snapshot or requests); skip=N
lets the next N requests of that path through first. The faults:

    Fault.status(code, body)  non-200 with that body (a dict is sent as
                              JSON, bytes as they are)
    Fault.malformed()         200, the JSON is broken after the first record
    Fault.wrong_type(m, v)    200, member m given the value v (for a page:
                              in its second record)
    Fault.truncated()         Content-Length of the whole body, then only
                              part of it is sent and the connection closed
    Fault.close()             the connection is closed before any answer
    Fault.hang(seconds)       the request is read and never answered; the
                              connection is closed after `seconds`
    Fault.big(nbytes)         200, a valid document padded to nbytes with a
                              member nobody knows
    Fault.protocol(n)         200, "protocol": n, given last (after the
                              records of a page)

Every request is logged (self.log, a list of Arrival) with its arrival
time (time.monotonic()), what it was answered with, when the answer was
sent, and, for a hung request, when the client gave up and closed.
Records served in healthy pages are listed in self.served.

Python 3 standard library only.
"""
import json
import os
import select
import socket
import socketserver
import threading
import time
from urllib.parse import parse_qs, urlsplit

OUTCOMES = ["success", "success", "success", "model_error", "success",
            "expired", "success", "download_failed", "success",
            "upload_failed", "timeout", "success", "internal_error"]
LIMIT_DEFAULT = 1000
LIMIT_MAX = 10000


def make_record(boot_no, seq):
    """The record seq of boot boot_no: a pure function of both."""
    k = seq * 7919 + boot_no * 104729
    outcome = OUTCOMES[(seq + boot_no) % len(OUTCOMES)]
    received = 1764187200000 + seq * 250 + boot_no * 10000000
    total_ms = 40 + k % 900
    r = {"seq": seq,
         "inference_id": "%08x-0000-4000-8000-%012d" % (boot_no, seq),
         "received_ms": received,
         "completed_ms": received + total_ms,
         "outcome": outcome,
         "backlog_us": 1000 + (k * 13) % 2000000}
    if outcome == "expired":
        r["total_ms"] = total_ms
        return r
    r["download_us"] = 500 + (k * 17) % 90000
    r["download_ok"] = outcome != "download_failed"
    if outcome != "download_failed":
        r["model_us"] = 1000 + (k * 31) % 700000
        if outcome == "model_error":
            r["status_code"] = 400 + 100 * (seq % 2) + seq % 5
        elif outcome == "success" or outcome == "upload_failed":
            r["status_code"] = 200
        if outcome not in ("timeout", "internal_error"):
            r["upload_us"] = 300 + (k * 19) % 40000
            r["upload_ok"] = outcome != "upload_failed"
    r["notification"] = ["sent", "none", "failed"][seq % 3] \
        if seq % 4 else "sent"
    r["total_ms"] = total_ms
    if outcome not in ("success",):
        r["error"] = "fake %s for seq %d" % (outcome, seq)
    return r


class Fault:
    """What to answer instead of the correct document."""

    def __init__(self, kind, skip=0, **args):
        self.kind = kind
        self.skip = skip
        self.args = args

    def __repr__(self):
        a = ",".join("%s=%r" % kv for kv in sorted(self.args.items())
                     if kv[0] != "body")
        return "%s(%s)" % (self.kind, a)

    @staticmethod
    def status(code, body=None, content_type="application/json", skip=0):
        if body is None:
            body = {"error": "fake error %d" % code}
        return Fault("status", skip, code=code, body=body,
                     content_type=content_type)

    @staticmethod
    def malformed(skip=0):
        return Fault("malformed", skip)

    @staticmethod
    def wrong_type(member, value, skip=0):
        return Fault("wrong_type", skip, member=member, value=value)

    @staticmethod
    def truncated(skip=0):
        return Fault("truncated", skip)

    @staticmethod
    def close(skip=0):
        return Fault("close", skip)

    @staticmethod
    def hang(seconds, skip=0):
        return Fault("hang", skip, seconds=seconds)

    @staticmethod
    def big(nbytes, skip=0):
        return Fault("big", skip, nbytes=nbytes)

    @staticmethod
    def protocol(n, skip=0):
        return Fault("protocol", skip, n=n)


class Arrival:
    """One request as the fake saw it."""
    __slots__ = ("t", "path", "kind", "answer", "done", "client_closed",
                 "served")

    def __init__(self, t, path, kind):
        self.t = t                  # arrival, time.monotonic()
        self.path = path
        self.kind = kind            # "snapshot", "requests" or "other"
        self.answer = None          # "ok" or the fault's repr
        self.done = None            # when the answer was sent / conn closed
        self.client_closed = None   # hang: when the client gave up
        self.served = None          # ok page: (boot_id, first, last) or None

    def __repr__(self):
        return "<%s %s at %.3f: %s>" % (self.kind, self.path, self.t,
                                        self.answer)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.fake._serve_connection(self.request)


class FakeRuntime:
    def __init__(self, path, grow=6, ring=None, endpoint="ep-fake",
                 variant="AllTraffic", instance_id="i-0fake",
                 instance_count=2, chunked=False):
        self.path = path
        self.grow = grow
        self.ring = ring            # keep at most this many records
        self.endpoint = endpoint
        self.variant = variant
        self.instance_id = instance_id
        self.instance_count = instance_count
        self.chunked = chunked      # healthy answers in chunked coding
        self.lock = threading.Lock()
        self.log = []
        self.served = []
        self.boot_no = 0
        self.boot_id = None
        self.records = []           # the current boot's, all of them
        self.first_seq = 1
        self.snapshots = 0
        self._script = {"snapshot": None, "requests": None}
        self._server = None
        self._thread = None
        self._conns = set()
        self._stopping = threading.Event()
        self.restart()

    # ------------------------------------------------------------ control

    def start(self):
        """Listens on self.path (replacing a stale socket file)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._stopping = threading.Event()
        self._server = _Server(self.path, _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops listening, removes the socket and drops every connection,
        hung ones included. The records are kept: start() again serves
        the same boot."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def set(self, snapshot=None, requests=None):
        """The script from now on: a Fault for a path, or None for the
        correct answer."""
        with self.lock:
            self._script = {"snapshot": snapshot, "requests": requests}

    def restart(self):
        """A new boot: new boot_id, no records, seqs from 1 again."""
        with self.lock:
            self.boot_no += 1
            self.boot_id = "%08x-fa4e-4000-8000-%012x" % (
                self.boot_no, id(self) & 0xffffffffffff)
            self.records = []
            self.first_seq = 1

    def add_records(self, n):
        with self.lock:
            self._add(n)

    def all_records(self):
        """The current boot's records, oldest first (a copy)."""
        with self.lock:
            return list(self.records)

    def next_seq(self):
        with self.lock:
            return len(self.records) + 1

    def arrivals(self, kind=None, since=None):
        with self.lock:
            return [a for a in self.log if (kind is None or a.kind == kind)
                    and (since is None or a.t >= since)]

    # ----------------------------------------------------------- state

    def _add(self, n):
        for _ in range(n):
            self.records.append(make_record(self.boot_no, len(self.records) + 1))
        if self.ring is not None and len(self.records) - self.first_seq + 1 > self.ring:
            self.first_seq = len(self.records) - self.ring + 1

    def _snapshot_doc(self):
        next_seq = len(self.records) + 1
        backlog = (self.snapshots * 5) % 17
        return {"protocol": 1, "boot_id": self.boot_id,
                "endpoint_name": self.endpoint, "variant_name": self.variant,
                "instance_id": self.instance_id,
                "instance_count": self.instance_count,
                "time_ms": int(time.time() * 1000),
                "backlog_size": backlog,
                "oldest_request_age_ms": backlog * 150,
                "in_flight": min(backlog, 4), "max_concurrency": 4,
                "next_seq": next_seq}

    def _page_doc(self, after, limit):
        next_seq = len(self.records) + 1
        first_seq = self.first_seq if self.records and \
            self.first_seq < next_seq else next_seq
        lo = max(after + 1, first_seq)
        hi = min(next_seq - 1, lo + limit - 1)
        recs = [dict(self.records[s - 1]) for s in range(lo, hi + 1)]
        return {"protocol": 1, "boot_id": self.boot_id,
                "first_seq": first_seq, "next_seq": next_seq,
                "requests": recs}

    # ------------------------------------------------------------- HTTP

    def _serve_connection(self, conn):
        with self.lock:
            self._conns.add(conn)
        try:
            rfile = conn.makefile("rb")
            while not self._stopping.is_set():
                line = rfile.readline(8192)
                if not line:
                    return
                headers = []
                while True:
                    h = rfile.readline(8192)
                    if not h or h in (b"\r\n", b"\n"):
                        break
                    headers.append(h)
                if not h:
                    return
                if not self._answer(conn, line.decode("latin-1").split()):
                    return
        except OSError:
            pass
        finally:
            with self.lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, words):
        """Answers one request; False when the connection is to go."""
        t = time.monotonic()
        target = words[1] if len(words) >= 2 else ""
        url = urlsplit(target)
        kind = {"/v1/snapshot": "snapshot",
                "/v1/requests": "requests"}.get(url.path, "other")
        a = Arrival(t, target, kind)
        with self.lock:
            self.log.append(a)
            fault = self._script.get(kind)
            if fault is not None and fault.skip > 0:
                fault.skip -= 1
                fault = None
            a.answer = "ok" if fault is None else repr(fault)
            status, doc = self._document(kind, url, words)
            if fault is None and status == 200:
                if kind == "snapshot":
                    self.snapshots += 1
                    self._add(self.grow)
                elif doc["requests"]:
                    a.served = (doc["boot_id"], doc["requests"][0]["seq"],
                                doc["requests"][-1]["seq"])
                    self.served.append(a.served)
        try:
            if fault is None:
                keep = self._send_json(conn, status, doc, self.chunked)
            else:
                keep = self._send_fault(conn, kind, fault, doc, a)
        finally:
            a.done = time.monotonic()
        return keep

    def _document(self, kind, url, words):
        if len(words) < 2 or words[0] != "GET":
            return 405, {"error": "only GET"}
        if kind == "snapshot":
            return 200, self._snapshot_doc()
        if kind == "requests":
            q = parse_qs(url.query)
            try:
                after = int(q.get("after", ["0"])[0])
                limit = int(q.get("limit", [str(LIMIT_DEFAULT)])[0])
            except ValueError:
                return 400, {"error": "after and limit must be integers"}
            if after < 0 or not 1 <= limit <= LIMIT_MAX:
                return 400, {"error": "after must be >= 0, limit 1..10000"}
            return 200, self._page_doc(after, limit)
        return 404, {"error": "no such path"}

    @staticmethod
    def _head(status, length=None, content_type="application/json",
              close=False):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found",
                  405: "Method Not Allowed", 500: "Internal Server Error",
                  503: "Service Unavailable"}.get(status, "Whatever")
        h = ["HTTP/1.1 %d %s" % (status, reason),
             "Content-Type: %s" % content_type]
        if length is None:
            h.append("Transfer-Encoding: chunked")
        else:
            h.append("Content-Length: %d" % length)
        h.append("Connection: %s" % ("close" if close else "keep-alive"))
        return ("\r\n".join(h) + "\r\n\r\n").encode()

    def _send_body(self, conn, status, body, content_type="application/json",
                   chunked=False, close=False):
        if chunked:
            out = [self._head(status, None, content_type, close)]
            for i in range(0, len(body), 97):
                part = body[i:i + 97]
                out.append(b"%x\r\n%s\r\n" % (len(part), part))
            out.append(b"0\r\n\r\n")
            conn.sendall(b"".join(out))
        else:
            conn.sendall(self._head(status, len(body), content_type, close)
                         + body)
        return not close

    def _send_json(self, conn, status, doc, chunked=False):
        return self._send_body(conn, status, json.dumps(doc).encode(),
                               chunked=chunked)

    @staticmethod
    def _cut_after_first_record(text, doc):
        """Where a body can be cut so that the first record (if any) is
        complete before the cut, or after the first member otherwise."""
        if doc.get("requests"):
            first = json.dumps(doc["requests"][0])
            return text.index(first) + len(first)
        return text.index(",") + 1

    def _send_fault(self, conn, kind, fault, doc, arrival):
        k = fault.kind
        if k == "status":
            body = fault.args["body"]
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            return self._send_body(conn, fault.args["code"], body,
                                   fault.args["content_type"])
        if k == "close":
            return False
        if k == "hang":
            self._hang(conn, fault.args["seconds"], arrival)
            return False
        text = json.dumps(doc)
        if k == "malformed":
            cut = self._cut_after_first_record(text, doc)
            return self._send_body(conn, 200, (text[:cut] + "}{]").encode())
        if k == "truncated":
            body = text.encode()
            cut = self._cut_after_first_record(text, doc)
            conn.sendall(self._head(200, len(body)) + body[:cut])
            time.sleep(0.02)
            return False
        if k == "wrong_type":
            m, v = fault.args["member"], fault.args["value"]
            if kind == "requests" and doc["requests"]:
                recs = doc["requests"]
                recs[1 if len(recs) > 1 else 0][m] = v
            else:
                doc[m] = v
            return self._send_json(conn, 200, doc)
        if k == "big":
            doc["padding"] = ""
            pad = fault.args["nbytes"] - len(json.dumps(doc))
            doc["padding"] = "x" * max(pad, 0)
            return self._send_json(conn, 200, doc)
        if k == "protocol":
            del doc["protocol"]
            doc["protocol"] = fault.args["n"]   # last, after the records
            return self._send_json(conn, 200, doc)
        raise ValueError("unknown fault " + k)

    def _hang(self, conn, seconds, arrival):
        """Answers nothing; notes when the client closes its end."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([conn], [], [], min(left, 0.02))
            if r:
                try:
                    data = conn.recv(4096, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    arrival.client_closed = time.monotonic()
                    return
                time.sleep(0.01)  # a pipelined request: ignored too
