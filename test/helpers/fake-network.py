#!/usr/bin/env python3
"""Serves HTTP on the given address:port pairs, answering every GET with one fixed text: a fake
instance metadata service (fake credentials) and a fake VPC service, inside test netns only.
`dns=ADDR` answers every DNS query on ADDR:53 at once with NXDOMAIN, like a VPC resolver asked
for a name it does not know (without it, lookups inside containers wait for time-outs).
`files=DIR` makes the servers answer as IMDSv2 does for what a test puts in DIR: PUT
/latest/api/token gives a token, a GET of a path that is a file under DIR answers its content (401
without a token from that PUT), and a GET under /latest/meta-data/autoscaling/ or
/latest/meta-data/spot/ that is no file there answers 404 (no notice); other paths keep the text.
Usage: fake-network.py ADDR:PORT=TEXT ... [dns=ADDR] [files=DIR]"""
import http.server
import os
import secrets
import socket
import sys
import threading

FILES = None
TOKENS = set()
NOT_FOUND_UNLESS_FILE = ("/latest/meta-data/autoscaling/", "/latest/meta-data/spot/")


def serve_dns(address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        query, client = sock.recvfrom(4096)
        end = 12
        while end < len(query) and query[end] != 0:
            end += query[end] + 1
        question = query[12:end + 5]
        header = query[:2] + bytes([0x81, 0x83]) + query[4:6] + bytes(6)
        sock.sendto(header + question, client)


def serve(address, port, text):
    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if FILES is not None:
                path = os.path.normpath(self.path.split("?")[0]).lstrip("/")
                file = os.path.join(FILES, path)
                if os.path.isfile(file):
                    if self.headers.get("X-aws-ec2-metadata-token") not in TOKENS:
                        return self.answer(401, b"")
                    with open(file, "rb") as f:
                        return self.answer(200, f.read())
                if self.path.startswith(NOT_FOUND_UNLESS_FILE):
                    return self.answer(404, b"")
            self.answer(200, text.encode())

        def do_PUT(self):
            if FILES is not None and self.path == "/latest/api/token":
                token = secrets.token_hex(16)
                TOKENS.add(token)
                return self.answer(200, token.encode())
            self.do_GET()

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()


for spec in sys.argv[1:]:
    if spec.startswith("files="):
        FILES = spec[6:]
        continue
    if spec.startswith("dns="):
        threading.Thread(target=serve_dns, args=(spec[4:],), daemon=True).start()
        continue
    endpoint, text = spec.split("=", 1)
    address, port = endpoint.rsplit(":", 1)
    threading.Thread(target=serve, args=(address, int(port), text), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
