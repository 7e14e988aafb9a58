// The audit shipper's inputs (userdata/host/.../audit-shipper: Inputs, Recent, NetfilterLog), driven
// directly with the system Python: a real datagram socket, and the real netfilter log in a network
// namespace of the test's own (unshare -n, as root) where an iptables rule logs the SYNs of
// connections to a closed port on loopback, as setup-container-image's rule logs a session's.
// What a flood costs the shipper is bounded (the dedup table has a fixed size) and what it cannot
// log is said in the audit log itself (audit.lost with a count), never only in the journal.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const LOAD = String.raw`import json, os, socket, subprocess, sys, tempfile, time
${loadHostProgram('audit_shipper', 'm')}
out = {}

def spooled(d):
    with open(os.path.join(d, "events.jsonl")) as f:
        return [json.loads(line.split(" ", 2)[2]) for line in f]
`;

const DATAGRAMS = String.raw`
import tracemalloc
# the dedup table: fixed size, keyed by session and 4-tuple
r = m.Recent()
tracemalloc.start()
for i in range(200000):
    r.first(("ssh-bastion-" + "a" * 24, "172.18.0.5", 1024 + i % 60000, "10.0.%d.%d" % (i // 250 % 250, i % 250), 80 + i // 60000), float(i))
out["recent"] = {"size": len(r.seen), "mib": tracemalloc.get_traced_memory()[0] / 1048576}
tracemalloc.stop()
r2 = m.Recent(100)
key = ("172.18.0.5", 40000, "10.0.0.1", 22)
out["repeat"] = [r2.first(("ssh-bastion-a",) + key, 0.0), r2.first(("ssh-bastion-a",) + key, 5.0),
                 r2.first(("ssh-bastion-b",) + key, 6.0), r2.first(("ssh-bastion-a",) + key, 200.0)]
# datagrams: one of 70 KiB arrives whole, one over the receive size is counted as lost
d = tempfile.mkdtemp()
inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
inbox.bind(os.path.join(d, "audit.sock"))
inbox.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
inbox.setblocking(False)
sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
spool = m.Spool(d)
inputs = m.Inputs(spool, m.Sessions(d), "i-test", inbox, None)
sender.sendto(json.dumps({"event": "keys.lookup", "decision": "answered", "note": "x" * 70000}).encode(), os.path.join(d, "audit.sock"))
sender.sendto(json.dumps({"event": "keys.lookup", "decision": "answered", "note": "y" * 300000}).encode(), os.path.join(d, "audit.sock"))
sender.sendto(json.dumps({"event": "auth", "result": "refused"}).encode(), os.path.join(d, "audit.sock"))
inputs.receive(force=True)
events = spooled(d)
out["datagrams"] = [{k: (len(v) if k == "note" else v) for k, v in e.items() if k not in ("time", "seq", "host")} for e in events]
print(json.dumps(out))
`;

const FLOOD = String.raw`
# a network namespace of our own: loopback up, every new TCP connection's SYN to the log group
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["iptables", "-A", "OUTPUT", "-o", "lo", "-p", "tcp", "--syn", "-m", "conntrack", "--ctstate", "NEW",
                "-j", "NFLOG", "--nflog-group", "14", "--nflog-prefix", "ssh-bastion-tcp", "--nflog-size", "64"], check=True)
d = tempfile.mkdtemp()
inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
inbox.bind(os.path.join(d, "audit.sock"))
inbox.setblocking(False)
# a small netlink buffer, read only after the burst: the kernel must drop log messages (ENOBUFS)
nflog = m.NetfilterLog(14, buffer_bytes=32768)
spool = m.Spool(d)
inputs = m.Inputs(spool, m.Sessions(d), "i-test", inbox, nflog)
opened = 0

def connect():
    global opened
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", 9))
    except (BlockingIOError, ConnectionRefusedError):
        pass
    s.close()
    opened += 1

for _ in range(3000):
    connect()
time.sleep(0.5)
for _ in range(5):
    inputs.receive()
# the numbers of the log messages show the gap when the next one arrives
connect()
time.sleep(0.2)
inputs.receive(force=True)
events = spooled(d)
connects = [e for e in events if e["event"] == "tcp.connect"]
lost = [e for e in events if e["event"] == "audit.lost"]
out["flood"] = {"opened": opened, "connects": len(connects), "lost": lost,
                "distinct": len({e["source"] for e in connects})}
print(json.dumps(out))
`;

describe('audit shipper inputs', () => {
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-B', '-c', LOAD + DATAGRAMS, SHIPPER], { encoding: 'utf8' }));

  test('the dedup table of connections keeps at most 65,536 entries (a flood of distinct connections)', () => {
    expect(out.recent.size).toBe(65536);
    expect(out.recent.mib).toBeLessThan(40);
  });

  test('a SYN sent again is one connection; the same 4-tuple from another session is a new one; after 130 s too', () => {
    expect(out.repeat).toEqual([true, false, true, true]);
  });

  test('a 70 KiB event arrives whole; one over 256 KiB is an audit.lost event with its count and kind', () => {
    expect(out.datagrams).toEqual([
      { event: 'keys.lookup', decision: 'answered', note: 70000 },
      { event: 'auth', result: 'refused' },
      expect.objectContaining({ event: 'audit.lost', reason: 'datagram-too-large', count: 1, kinds: { 'keys.lookup': 1 } }),
    ]);
    const lost = out.datagrams[2];
    expect(lost.from).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lost.to).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('audit shipper inputs: the netfilter log overflowing', () => {
  const out = JSON.parse(
    execFileSync('unshare', ['-n', '/usr/bin/python3', '-B', '-c', LOAD + FLOOD, SHIPPER], { encoding: 'utf8', timeout: 60_000 }),
  );

  test('3,000 connections with a full netlink buffer, then one more: every one is a tcp.connect or counted in an audit.lost event', () => {
    const { opened, connects, lost, distinct } = out.flood;
    expect(opened).toBe(3001);
    expect(distinct).toBe(connects);
    // the overflow is reported at once; the count of messages lost once the kernel's numbering shows the gap
    expect(lost.length).toBeGreaterThanOrEqual(1);
    for (const e of lost) expect(e).toMatchObject({ reason: 'netlink-overflow' });
    const count = lost.reduce((n: number, e: { count: number }) => n + e.count, 0);
    const overflows = lost.reduce((n: number, e: { overflows: number }) => n + e.overflows, 0);
    expect(count).toBeGreaterThan(0);
    expect(overflows).toBeGreaterThanOrEqual(1);
    expect(connects + count).toBe(3001);
    console.log(`netlink flood: ${connects} tcp.connect, ${count} counted lost in ${overflows} overflows`);
  });
});
