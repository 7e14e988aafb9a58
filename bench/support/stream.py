#!/usr/bin/env python3
"""Byte streams for the tunnel benchmark.

  stream.py serve HOST PORT            source on PORT (sends N bytes asked for in the first line),
                                        sink on PORT+1 (reads to EOF, answers the count)
  stream.py download HOST PORT BYTES   connects (retrying up to 20 s), asks for BYTES, reads them
  stream.py upload HOST PORT BYTES     connects, sends BYTES, half-closes, reads the count
The clients print "<bytes> <seconds>", timed from the first byte asked to the last byte done."""
import socket
import sys
import threading
import time

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)


def serve_source(conn):
    with conn:
        line = b""
        while not line.endswith(b"\n"):
            data = conn.recv(64)
            if not data:
                return
            line += data
        left = int(line)
        view = memoryview(ZEROS)
        while left > 0:
            n = min(left, CHUNK)
            conn.sendall(view[:n])
            left -= n


def serve_sink(conn):
    with conn:
        total = 0
        buf = bytearray(CHUNK)
        while True:
            n = conn.recv_into(buf)
            if n == 0:
                break
            total += n
        conn.sendall(f"{total}\n".encode())


def listen(host, port, handler):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def connect(host, port):
    deadline = time.time() + 20
    while True:
        try:
            return socket.create_connection((host, port), timeout=120)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        threading.Thread(target=listen, args=(host, port + 1, serve_sink), daemon=True).start()
        print("ready", flush=True)
        listen(host, port, serve_source)
        return
    size = int(sys.argv[4])
    conn = connect(host, port)
    if mode == "download":
        # the tunnel is up once a byte arrives; the clock starts at the request
        started = time.perf_counter()
        conn.sendall(f"{size}\n".encode())
        total = 0
        buf = bytearray(CHUNK)
        while total < size:
            n = conn.recv_into(buf)
            if n == 0:
                break
            total += n
    else:
        started = time.perf_counter()
        view = memoryview(ZEROS)
        left = size
        while left > 0:
            n = min(left, CHUNK)
            conn.sendall(view[:n])
            left -= n
        conn.shutdown(socket.SHUT_WR)
        total = int(conn.makefile().readline() or 0)
    print(f"{total} {time.perf_counter() - started:.4f}")


main()
