#!/usr/bin/env python3
"""Serves HTTP on the given address:port pairs, answering every GET with one fixed text: a fake
instance metadata service (fake credentials) and a fake VPC service, inside test netns only.
`dns=ADDR` answers every DNS query on ADDR:53 at once with NXDOMAIN, like a VPC resolver asked
for a name it does not know (without it, lookups inside containers wait for time-outs).
Usage: fake-network.py ADDR:PORT=TEXT ... [dns=ADDR]"""
import http.server
import socket
import sys
import threading


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
        def do_GET(self):
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_PUT = do_GET

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()


for spec in sys.argv[1:]:
    if spec.startswith("dns="):
        threading.Thread(target=serve_dns, args=(spec[4:],), daemon=True).start()
        continue
    endpoint, text = spec.split("=", 1)
    address, port = endpoint.rsplit(":", 1)
    threading.Thread(target=serve, args=(address, int(port), text), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
