#!/usr/bin/env python3
"""Plays systemd's part for one connection accepted by `systemd-socket-activate --accept --inetd`
(fd 0/1 = the connection, closed here once ExecStart runs, as systemd does): names the instance
as systemd does for Accept=yes sockets (<n>-<local addr>:<port>-<remote addr>:<port>, or
<n>-<peer pid>-<peer uid> for a unix socket), sets REMOTE_ADDR/REMOTE_PORT for TCP, runs ExecStart with %i substituted (its pid written to
COUNTER_FILE-<n>.pgid, so that the test can stop the unit as systemd would: SIGTERM to it and all
its descendants), then ExecStopPost.

Usage: unit-instance.py COUNTER_FILE EXEC_START [EXEC_STOP_POST]
where the commands are JSON argv lists with %i placeholders."""
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys

counter_file, exec_start = sys.argv[1], json.loads(sys.argv[2])
exec_stop_post = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
with open(counter_file, "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    number = int(f.read() or "0") + 1
    f.seek(0)
    f.truncate()
    f.write(str(number))
conn = socket.socket(fileno=os.dup(0))
if conn.family == socket.AF_UNIX:
    # systemd names a unix connection's instance <n>-<peer pid>-<peer uid>
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    instance = f"{number}-{pid}-{uid}"
    env = dict(os.environ)
else:
    local, remote = conn.getsockname(), conn.getpeername()
    instance = f"{number}-{local[0]}:{local[1]}-{remote[0]}:{remote[1]}"
    env = dict(os.environ, REMOTE_ADDR=remote[0], REMOTE_PORT=str(remote[1]))
conn.close()  # closes the duplicate only
main = subprocess.Popen([a.replace("%i", instance) for a in exec_start], env=env)
# systemd keeps no copy of an accepted connection once the instance runs: neither does this.
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(null, 1)
os.close(null)
with open(f"{counter_file}-{number}.pgid", "w") as f:
    f.write(str(main.pid))
status = main.wait()
if exec_stop_post:
    subprocess.call([a.replace("%i", instance) for a in exec_stop_post], env=env, stdin=subprocess.DEVNULL, stdout=2)
sys.exit(status)
