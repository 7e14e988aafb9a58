// The audit shipper on a full file system (userdata/host/.../audit-shipper, Spool and Inputs),
// driven directly with the system Python in a mount namespace of the test's own (unshare -m, as
// root) with its state directory on a 256 KiB tmpfs, filled up by the test. Events already taken
// off the socket are neither lost nor a crash: they are kept in memory, in order, up to a bound
// (beyond it counted and reported as audit.lost), with one journal line when the disk fills and one
// when it is written again, and they ship once there is space.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const SCRIPT = String.raw`import io, json, os, socket, subprocess, sys, tempfile, time
${loadHostProgram('audit_shipper', 'm')}
journal = io.StringIO()
sys.stderr = journal
out = {}
d = tempfile.mkdtemp()
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", d], check=True)
m.HOLD_BYTES = 64 * 1024
inbox_dir = tempfile.mkdtemp()
inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
inbox.bind(os.path.join(inbox_dir, "audit.sock"))
inbox.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
inbox.setblocking(False)
sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
spool = m.Spool(d)
inputs = m.Inputs(spool, m.Sessions(d), "i-test", inbox, None)

def send(n, start):
    for i in range(n):
        sender.sendto(json.dumps({"event": "auth", "result": "refused", "n": start + i, "pad": "p" * 250}).encode(),
                      os.path.join(inbox_dir, "audit.sock"))
        if i % 5 == 4:  # a datagram socket queues only a few (net.unix.max_dgram_qlen)
            inputs.receive()
    inputs.receive()

send(10, 0)
events, offset = spool.batch()
spool.commit(offset)
shipped = [json.loads(e["message"]) for e in events]
# the disk fills up
filler = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(filler, b"\0" * 512)
except OSError:
    pass
os.close(filler)
size_full = os.path.getsize(os.path.join(d, "events.jsonl"))
send(100, 10)
out["held"] = {"file_unchanged": os.path.getsize(os.path.join(d, "events.jsonl")) == size_full, "held_bytes": spool.held_bytes}
send(400, 110)
out["over_bound"] = {"held_bytes": spool.held_bytes, "dropped": spool.dropped}
# shipping meanwhile: a cursor that cannot be saved is no crash
spool.commit(offset)
# space again
os.unlink(os.path.join(d, "filler"))
inputs.receive(force=True)
inputs.receive(force=True)
while spool.pending():
    events, offset = spool.batch()
    shipped += [json.loads(e["message"]) for e in events]
    spool.commit(offset)
auth = [e["n"] for e in shipped if e["event"] == "auth"]
out["shipped"] = {"seq_ok": [e["seq"] for e in shipped] == list(range(1, len(shipped) + 1)), "auth": len(auth),
                  "in_order": auth == sorted(auth), "first_after_full": auth[10] if len(auth) > 10 else None,
                  "lost": [e for e in shipped if e["event"] == "audit.lost"]}
text = journal.getvalue()
out["journal"] = {"full": text.count("is full"), "again": text.count("writing again"), "lines": text.count("\n")}
sys.__stdout__.write(json.dumps(out) + "\n")
`;

describe('audit shipper on a full file system', () => {
  const out = JSON.parse(
    execFileSync('unshare', ['-m', '/usr/bin/python3', '-B', '-c', SCRIPT, SHIPPER], { encoding: 'utf8', timeout: 60_000 }),
  );

  test('the events received while the disk is full are kept in memory, the file untouched, no crash', () => {
    expect(out.held.file_unchanged).toBe(true);
    expect(out.held.held_bytes).toBeGreaterThan(100 * 250);
  });

  test('beyond the memory bound events are dropped and counted, not kept', () => {
    expect(out.over_bound.held_bytes).toBeLessThanOrEqual(64 * 1024 + 400);
    expect(out.over_bound.dropped).toBeGreaterThan(0);
  });

  test('once there is space: everything kept is written and shipped in order, the dropped ones as one audit.lost count', () => {
    expect(out.shipped.seq_ok).toBe(true);
    expect(out.shipped.in_order).toBe(true);
    expect(out.shipped.first_after_full).toBe(10);
    expect(out.shipped.lost).toEqual([
      expect.objectContaining({ event: 'audit.lost', reason: 'disk-full', count: out.over_bound.dropped }),
    ]);
    expect(out.shipped.auth + out.over_bound.dropped).toBe(510);
  });

  test('one journal line when it fills, one when it is written again (and one for the cursor)', () => {
    expect(out.journal).toEqual({ full: 1, again: 1, lines: 3 });
  });
});
