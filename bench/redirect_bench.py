#!/usr/bin/env python3
"""The affiliate redirect benchmark, driven by bench/run-redirect (see there and
docs/benchmarks.md). Needs PACTUMD_BIN and PACTUM_ADMIN_URL (a PostgreSQL superuser URL)."""

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import socket
import struct
import tempfile
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--duration", default="10s")
parser.add_argument("--connections", type=int, default=50)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--links", type=int, default=1000)
parser.add_argument("--creators", type=int, default=10)
args = parser.parse_args()

pactumd = os.environ["PACTUMD_BIN"]
admin_url = os.environ["PACTUM_ADMIN_URL"]
work = tempfile.mkdtemp(prefix="pactum-redirect-")
db_name = "pactum_bench_redirect"
parts = urllib.parse.urlsplit(admin_url)
db_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + db_name, parts.query, ""))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-XAtq", "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


psql(admin_url, f"drop database if exists {db_name} with (force)")
psql(admin_url, f"create database {db_name}")

key_file = os.path.join(work, "master.key")
with open(key_file, "wb") as f:
    f.write(secrets.token_bytes(32))
os.chmod(key_file, 0o600)
port_file = os.path.join(work, "port")
common = ["--database-url", db_url, "--master-key-file", key_file, "--log-level", "warn"]
extra = os.environ.get("PACTUMD_FLAGS", "").split()
server = subprocess.Popen(["taskset", "-c", "0", pactumd, *common, "--listen", "127.0.0.1:0",
                           "--port-file", port_file, "--pwhash-opslimit", "1", "--pwhash-memlimit-kib", "8192",
                           *extra], stderr=open(os.path.join(work, "pactumd.log"), "w"))
for _ in range(300):
    if os.path.exists(port_file):
        break
    time.sleep(0.1)
port = int(open(port_file).read().strip())
print(f"pactumd:    pid {server.pid} on 127.0.0.1:{port}, pinned to core 0; wrk pinned to core 1")

conn = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None, token=None, content_type="application/json"):
    """One request on the kept-alive connection (reopened when the server closed it while idle)."""
    global conn
    try:
        return call_once(method, path, body, token, content_type)
    except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port)
        return call_once(method, path, body, token, content_type)


def call_once(method, path, body=None, token=None, content_type="application/json"):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, str) else json.dumps(body)
        headers["Content-Type"] = content_type
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    text = r.read().decode()
    return r.status, (json.loads(text) if text and text[0] in "{[" else text)


def account(role, name):
    email = f"{name.lower()}-{secrets.token_hex(4)}@bench.example"
    s, b = call("POST", "/api/v1/users/register", {"email": email, "password": "a long bench passphrase",
                                                    "display_name": name, "role": role})
    assert s == 201, (s, b)
    s, b = call("POST", "/api/v1/users/login", {"email": email, "password": "a long bench passphrase"})
    assert s == 200, (s, b)
    return {"id": b["user"]["id"], "token": b["token"], "email": email}


class LiveAnalytics(threading.Thread):
    """A brand's WebSocket session subscribed to the campaign's live figures (`analytics.subscribe`,
    docs/protocol.md), as the dashboard is while a campaign runs: it counts the `analytics.updated`
    pushes and keeps the last totals. A small RFC 6455 client on the standard library (text frames;
    client frames masked, as the protocol requires); the bench needs nothing from pip."""

    def __init__(self, port, token, campaign):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the WebSocket upgrade"
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        hello = self.read()
        assert hello["type"] == "hello", hello
        self.send({"type": "analytics.subscribe", "id": 1, "campaign": campaign})
        reply = self.read()
        while reply.get("re") != 1:  # pushed notices (e.g. notifications.missed) may come first
            reply = self.read()
        assert reply.get("type") == "ok", reply
        self.totals = reply["analytics"]["totals"]
        self.times = []
        self.lock = threading.Lock()
        self.start()

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = secrets.token_bytes(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        """Returns the next text message as JSON (pings are answered, other control frames skipped)."""
        while True:
            b0, b1 = self.need(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.need(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.need(8))[0]
            payload = self.need(n)
            op = b0 & 0x0F
            if op == 0x9:  # ping: answer with a masked pong
                mask = secrets.token_bytes(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask
                                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if op == 0x8:
                raise ConnectionError("closed by the server")
            if op == 0x1:
                return json.loads(payload)

    def run(self):
        try:
            while True:
                msg = self.read()
                for item in msg["items"] if msg.get("type") == "batch" else [msg]:
                    ev = item.get("event") or {}
                    if item.get("type") == "event" and ev.get("type") == "analytics.updated":
                        with self.lock:
                            self.times.append(time.time())
                            self.totals = ev["totals"]
        except (ConnectionError, OSError):
            pass

    def pushes_between(self, t0, t1):
        with self.lock:
            return sum(1 for t in self.times if t0 <= t < t1)


try:
    t0 = time.time()
    brand = account("brand", "Brand")
    admin = account("brand", "Admin")
    subprocess.run([pactumd, *common, "--set-role", admin["email"] + "=admin"], check=True)
    s, b = call("POST", "/api/v1/users/login", {"email": admin["email"], "password": "a long bench passphrase"})
    admin["token"] = b["token"]
    details = {"key": "bench", "title": "Bench rides", "budget": 1_000_000, "currency": "EUR",
               "deliverables": [{"type": "tiktok_duet", "count": 1}], "pricing": {"model": "cpc", "rate": 5}}
    s, b = call("POST", "/api/v1/brands/campaigns", details, brand["token"])
    assert s == 201, (s, b)
    campaign = b["campaign"]["id"]
    s, b = call("POST", f"/api/v1/brands/campaigns/{campaign}/status", {"to": "publish", "key": "p"}, brand["token"])
    assert s == 200, (s, b)
    creators = []
    for i in range(args.creators):
        c = account("creator", f"Creator{i}")
        s, b = call("POST", f"/api/v1/influencers/campaigns/{campaign}/apply", {"key": "a"}, c["token"])
        assert s == 201, (s, b)
        s, b = call("PUT", f"/api/v1/brands/campaigns/{campaign}/applications/{b['application']}",
                    {"key": f"d{i}", "outcome": "approved"}, brand["token"])
        assert s == 200, (s, b)
        creators.append(c)
    per_creator = (args.links + len(creators) - 1) // len(creators)
    rows = ["sku,name,category,url,price,currency"]
    for i in range(per_creator):
        rows.append(f"SKU-{i},Product {i},bench,https://shop.example/p/{i}?color=red&size=M#details,{1000 + i},EUR")
    s, b = call("POST", "/api/v1/brands/products/import", "\r\n".join(rows) + "\r\n", brand["token"], "text/csv")
    assert s == 200, (s, b)
    s, b = call("GET", "/api/v1/brands/products?limit=1000", None, brand["token"])
    products = [p["id"] for p in b["products"]]
    codes = []
    for c in creators:
        for p in products:
            if len(codes) >= args.links:
                break
            s, b = call("POST", f"/api/v1/campaigns/{campaign}/links", {"product_id": p}, c["token"])
            assert s == 200, (s, b)
            codes.append(b["link"]["code"])
    print(f"seeded:     1 campaign, {len(creators)} creators, {len(products)} products, {len(codes)} links "
          f"in {time.time() - t0:.1f} s")

    lua = os.path.join(work, "codes.lua")
    with open(lua, "w") as f:
        f.write("codes = {" + ",".join(f'"{c}"' for c in codes) + "}\n")
        f.write("counter = 0\n")
        f.write("request = function()\n"
                "  counter = counter + 1\n"
                "  local c = codes[math.random(#codes)]\n"
                "  return wrk.format(\"GET\", \"/r/\" .. c, {[\"User-Agent\"] = \"wrk-bench/1.0\", "
                "[\"Referer\"] = \"https://blog.example/post\"})\n"
                "end\n")

    def unit_ms(v):
        m = re.match(r"([\d.]+)(us|ms|s)", v)
        n = float(m.group(1))
        return n / 1000 if m.group(2) == "us" else n * 1000 if m.group(2) == "s" else n

    def run_wrk(path, script=None):
        cmd = ["taskset", "-c", "1", "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}",
               "--latency"]
        if script:
            cmd += ["-s", script]
        cmd.append(f"http://127.0.0.1:{port}{path}")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = unit_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
        p99 = unit_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
        total = int(re.search(r"(\d+) requests in", out).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"rps": rps, "p50": p50, "p99": p99, "total": total, "errors": int(errors.group(1)) if errors else 0,
                "cmd": " ".join(cmd)}

    def stats():
        s, b = call("GET", "/api/v1/admin/tracking-stats", None, admin["token"])
        assert s == 200, (s, b)
        return b

    # Warm the link cache (every code once), then measure.
    for c in codes:
        conn.request("GET", "/r/" + c)
        r = conn.getresponse()
        r.read()
        assert r.status == 302, r.status
    live = LiveAnalytics(port, brand["token"], campaign)
    results = {"healthz": [], "redirect": []}
    for rep in range(args.repeats):
        load = open("/proc/loadavg").read().split()[:3]
        cc = subprocess.run(["pgrep", "-c", "-x", "cc1plus"], capture_output=True, text=True).stdout.strip() or "0"
        h = run_wrk("/healthz")
        r_start = time.time()
        r = run_wrk("/r/x", lua)
        r["pushes"] = live.pushes_between(r_start, time.time())
        r["seconds"] = time.time() - r_start
        results["healthz"].append(h)
        results["redirect"].append(r)
        print(f"repeat {rep + 1}:   load {' '.join(load)}, {cc} compilers | /healthz {h['rps']:.0f}/s "
              f"p50 {h['p50']:.2f} ms p99 {h['p99']:.2f} ms | /r/{{code}} {r['rps']:.0f}/s p50 {r['p50']:.2f} ms "
              f"p99 {r['p99']:.2f} ms ({r['total']} requests, {r['errors']} errors; {r['pushes']} analytics.updated "
              f"pushes to the subscribed brand in {r['seconds']:.1f} s)")
    print(f"wrk:        {results['redirect'][0]['cmd']}")

    # Every click that was not dropped must reach link_clicks.
    deadline = time.time() + 60
    st = stats()
    while st["queue_depth"] > 0 and time.time() < deadline:
        time.sleep(0.2)
        st = stats()
    time.sleep(0.5)
    st = stats()
    rows = int(psql(db_url, "select count(*) from link_clicks"))
    med = lambda k, f: statistics.median(x[f] for x in results[k])
    print()
    print(f"median /healthz:    {med('healthz', 'rps'):.0f} req/s, p50 {med('healthz', 'p50'):.2f} ms, "
          f"p99 {med('healthz', 'p99'):.2f} ms")
    print(f"median /r/{{code}}:   {med('redirect', 'rps'):.0f} redirects/s, p50 {med('redirect', 'p50'):.2f} ms, "
          f"p99 {med('redirect', 'p99'):.2f} ms")
    print(f"ratio:              {med('redirect', 'rps') / med('healthz', 'rps'):.2f} x the /healthz baseline")
    print(f"clicks:             {st['redirects']} redirects served, {st['clicks_dropped']} dropped, "
          f"{st['clicks_failed']} failed, {st['clicks_written']} written; link_clicks holds {rows} rows")
    ok = rows == st["redirects"] - st["clicks_dropped"] - st["clicks_failed"] and st["clicks_failed"] == 0
    print(f"every non-dropped click stored: {'yes' if ok else 'NO'}")
    # The live figures must catch up with every classified click: the last push's clicks + invalid
    # clicks equal the rows the pipeline has classified (all of them, once it is idle).
    catch_up_start = time.time()
    deadline = catch_up_start + 900
    classified = -1
    while time.time() < deadline:
        classified = int(psql(db_url, "select count(*) from link_clicks where verdict <> 'pending'"))
        with live.lock:
            seen = live.totals["clicks"] + live.totals["invalid_clicks"]
        if classified == rows and seen == rows:
            break
        time.sleep(0.5)
    with live.lock:
        pushes = len(live.times)
        seen = live.totals["clicks"] + live.totals["invalid_clicks"]
        span = (live.times[-1] - live.times[0]) if len(live.times) > 1 else 0
    live_ok = classified == rows and seen == rows and pushes > 0 and pushes <= span + 2
    print(f"live analytics:     {pushes} analytics.updated pushes over {span:.0f} s; last push counts {seen} clicks "
          f"({live.totals['clicks']} valid, {live.totals['invalid_clicks']} invalid) of {rows} stored, "
          f"{classified} classified: {'caught up' if live_ok else 'NOT caught up'} "
          f"{time.time() - catch_up_start:.1f} s after the last redirect's click was stored")
    ok = ok and live_ok
    sys.exit(0 if ok else 1)
finally:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print("pactumd did not stop within 20 s of SIGTERM; killed")
        server.kill()
        server.wait()
    psql(admin_url, f"drop database if exists {db_name} with (force)")
