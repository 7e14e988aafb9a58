#!/usr/bin/env python3
"""Connection holder for the front's benchmarks.

  holder.py PORT SPEC MODE SECONDS READY_FILE STOP_FILE once|reopen

Opens TCP connections to 127.0.0.1:PORT, SPEC "127.0.1.1-100x5,127.0.2.7x3": 5 from each of
127.0.1.1 ... 127.0.1.100 and 3 from 127.0.2.7 (the source address bound). MODE silent: never sends
a byte; banner: sends an SSH identification line at once, then nothing. Writes READY_FILE once all
are open, then holds them until STOP_FILE exists or SECONDS have passed (once: or the server has
closed them all); with reopen, a connection the server closed is opened again (same address). Prints one JSON line: how many were
opened, failed, closed by the server (and after how long), got bytes from the server, reopened."""
import json
import os
import resource
import selectors
import socket
import sys
import time

port, spec, mode, seconds, ready_file, stop_file, policy = sys.argv[1:8]
port, seconds = int(port), float(seconds)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

sources = []
for item in spec.split(","):
    addresses, count = item.split("x")
    prefix, _, last = addresses.rpartition(".")
    first, _, end = last.partition("-")
    for n in range(int(first), int(end or first) + 1):
        sources += [f"{prefix}.{n}"] * int(count)

selector = selectors.DefaultSelector()
stats = dict(opened=0, errors=0, first_error=None, closed=0, closed_after_s=[], spoke=0, reopened=0)
spoke = set()


def open_one(source):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        if mode == "banner":
            s.sendall(b"SSH-2.0-holder_1.0\r\n")
    except OSError as e:
        s.close()
        stats["errors"] += 1
        stats["first_error"] = stats["first_error"] or f"{source}: {e}"
        return
    s.setblocking(False)
    stats["opened"] += 1
    selector.register(s, selectors.EVENT_READ, (source, time.monotonic()))


started = time.monotonic()
for source in sources:
    open_one(source)
stats["open_s"] = round(time.monotonic() - started, 2)
with open(ready_file, "w") as f:
    f.write("ready")
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and not os.path.exists(stop_file):
    if policy == "once" and not selector.get_map():
        break  # every connection closed by the server
    for key, _ in selector.select(0.1):
        s, (source, opened) = key.fileobj, key.data
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if data:
            if s not in spoke:
                spoke.add(s)
                stats["spoke"] += 1
            continue
        selector.unregister(s)
        spoke.discard(s)
        s.close()
        stats["closed"] += 1
        stats["closed_after_s"].append(round(time.monotonic() - opened, 1))
        if policy == "reopen":
            stats["reopened"] += 1
            open_one(source)
stats["open_at_end"] = len(selector.get_map())
for key in list(selector.get_map().values()):
    key.fileobj.close()
print(json.dumps(stats))
