"""Loopback servers for the side-by-side benchmark (Python 3.11 standard library only).

Run as a program, one server per process (so that neither competes for the other's GIL):

    python3 servers.py site  --port P --corpus DIR --hide-slug SLUG [--log FILE]
    python3 servers.py proxy --port P --upstream 127.0.0.1:Q --log FILE

`site` serves the blog corpus (`site/`) with the real origin rewritten to its own, so that
everything a bot follows (pages, figures) stays on loopback. Each answer carries an ETag
(a hash of its bytes) and a matching `If-None-Match` is answered 304. The feed
`/feed_rss_created.xml` has two states, switched with `POST /_bench/feed/old` and
`POST /_bench/feed/new`: "old" lacks the entry of `--hide-slug` (the saved state a bot
has seen), "new" is the real feed (one new entry). `/s/<n>/feed_rss_created.xml` is the
real feed under a distinct URL per source, for the scaling run. `GET /_bench/stats` gives
request counts (total, 304s, per path); `POST /_bench/stats/reset` zeroes them.

`proxy` is a logging reverse proxy in front of the Mastodon test server: for each
request it writes one JSON line with the proxy's monotonic clock (the system-wide
CLOCK_MONOTONIC, comparable across processes): when the request had been read
(`recv`), when it was sent upstream and its answer fully read (`up_start`, `up_end`:
the server's own time), and when the answer had been written back (`sent`).
"""

import argparse
import hashlib
import http.client
import http.server
import json
import os
import socketserver
import sys
import threading
import time

BLOG_ORIGIN = "https://graphcore-research.github.io"
FEED = "/feed_rss_created.xml"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def etag_of(data):
    return '"' + hashlib.blake2b(data, digest_size=8).hexdigest() + '"'


def read_body(handler):
    """The request body, whether sent with Content-Length or chunked."""
    length = handler.headers.get("Content-Length")
    if length is not None:
        return handler.rfile.read(int(length))
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    return b""


class JsonLog:
    """One JSON object a line, flushed per line so a reader sees whole requests."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else None

    def write(self, record):
        if self.file is not None:
            line = json.dumps(record, separators=(",", ":"))
            with self.lock:
                self.file.write(line + "\n")


# ---------------------------------------------------------------------------- site


class Site:
    def __init__(self, corpus, hide_slug, log):
        self.root = os.path.join(corpus, "site")
        self.origin = None  # set once the port is known
        self.hide_slug = hide_slug
        self.feed_state = "new"
        self.cache = {}
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "not_modified": 0, "paths": {}}
        self.log = JsonLog(log)

    def load(self, path):
        """(bytes, etag, content type) of a corpus path, rewritten and cached."""
        with self.lock:
            hit = self.cache.get(path)
        if hit is not None:
            return hit
        rel = path.lstrip("/")
        if any(part == ".." for part in rel.split("/")):
            return None
        file = os.path.join(self.root, rel)
        if os.path.isdir(file):
            file = os.path.join(file, "index.html")
        if not os.path.isfile(file):
            return None
        with open(file, "rb") as f:
            data = f.read()
        ext = os.path.splitext(file)[1].lower()
        if ext in (".html", ".xml", ".json"):
            data = data.replace(BLOG_ORIGIN.encode(), self.origin.encode())
        entry = (data, etag_of(data), CONTENT_TYPES.get(ext, "application/octet-stream"))
        with self.lock:
            self.cache[path] = entry
        return entry

    def old_feed(self):
        """The real feed without the hidden post's item."""
        key = "old-feed"
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        data, _, ctype = self.load(FEED)
        text = data.decode("utf-8")
        out, rest, removed = [], text, 0
        marker = "/" + self.hide_slug + "/</link>"
        while True:
            start = rest.find("<item>")
            if start < 0:
                break
            end = rest.find("</item>", start)
            if end < 0:
                break
            end += len("</item>")
            out.append(rest[:start])
            item = rest[start:end]
            if marker in item:
                removed += 1
            else:
                out.append(item)
            rest = rest[end:]
        out.append(rest)
        if removed != 1:
            raise SystemExit(f"site: the feed has {removed} items for {self.hide_slug}, not 1")
        old = "".join(out).encode("utf-8")
        entry = (old, etag_of(old), ctype)
        with self.lock:
            self.cache[key] = entry
        return entry


def site_handler(site):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK hold each keep-alive answer ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def answer(self, code, body=b"", headers=()):
            self.send_response(code)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def do_POST(self):
            start = time.monotonic()
            read_body(self)
            path = self.path.split("?")[0]
            if path in ("/_bench/feed/old", "/_bench/feed/new"):
                site.feed_state = path.rsplit("/", 1)[1]
                self.answer(200, b"{}", [("Content-Type", "application/json")])
            elif path == "/_bench/stats/reset":
                with site.lock:
                    site.stats = {"requests": 0, "not_modified": 0, "paths": {}}
                self.answer(200, b"{}", [("Content-Type", "application/json")])
            else:
                self.answer(405)
            site.log.write({"path": path, "method": "POST", "start": start, "end": time.monotonic()})

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            start = time.monotonic()
            path = self.path.split("?")[0].split("#")[0]
            if path == "/_bench/stats":
                with site.lock:
                    body = json.dumps(site.stats).encode()
                self.answer(200, body, [("Content-Type", "application/json")])
                return
            if path == FEED and site.feed_state == "old":
                found = site.old_feed()
            elif path.startswith("/s/") and path.endswith(FEED):
                found = site.load(FEED)
            else:
                found = site.load(path)
            if found is None:
                code = 404
                self.answer(404)
            else:
                data, etag, ctype = found
                if self.headers.get("If-None-Match") == etag:
                    code = 304
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    code = 200
                    self.answer(200, data, [("Content-Type", ctype), ("ETag", etag)])
            with site.lock:
                stats = site.stats
                stats["requests"] += 1
                if code == 304:
                    stats["not_modified"] += 1
                key = "/s/*" + FEED if path.startswith("/s/") else path
                per = stats["paths"].setdefault(key, [0, 0])
                per[0] += 1
                per[1] += code == 304
            site.log.write({"path": path, "status": code, "start": start, "end": time.monotonic()})

    return Handler


# --------------------------------------------------------------------------- proxy


def proxy_handler(upstream_host, upstream_port, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK hold each keep-alive answer ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def forward(self):
            recv = time.monotonic()
            body = read_body(self)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            # A new upstream connection per request: nothing to go stale between runs,
            # and the connect (loopback, ~0.1 ms) happens before the server's clock starts.
            upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=120)
            upstream.connect()
            up_start = time.monotonic()
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            up_end = time.monotonic()
            upstream.close()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
            sent = time.monotonic()
            log.write(
                {
                    "method": self.command,
                    "path": self.path.split("?")[0],
                    "status": response.status,
                    "recv": recv,
                    "up_start": up_start,
                    "up_end": up_end,
                    "sent": sent,
                    "request_bytes": len(body),
                    "response_bytes": len(data),
                }
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    site_args = sub.add_parser("site")
    site_args.add_argument("--port", type=int, required=True)
    site_args.add_argument("--corpus", required=True)
    site_args.add_argument("--hide-slug", required=True)
    site_args.add_argument("--log")
    proxy_args = sub.add_parser("proxy")
    proxy_args.add_argument("--port", type=int, required=True)
    proxy_args.add_argument("--upstream", required=True)
    proxy_args.add_argument("--log", required=True)
    args = parser.parse_args()

    if args.kind == "site":
        site = Site(args.corpus, args.hide_slug, args.log)
        site.origin = f"http://127.0.0.1:{args.port}"
        site.old_feed()  # fail at start, not at the first request, if the slug is wrong
        server = Server(("127.0.0.1", args.port), site_handler(site))
    else:
        host, port = args.upstream.rsplit(":", 1)
        server = Server(("127.0.0.1", args.port), proxy_handler(host, int(port), JsonLog(args.log)))
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
