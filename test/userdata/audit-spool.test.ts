// The audit shipper's spool (userdata/host/.../audit-shipper), driven directly with the system
// Python: batches within PutLogEvents' limits (10,000 events; 1 MiB counting 26 bytes per event;
// 24 hours), in order with consecutive numbers, a reopened spool continuing where it was (a line
// cut by a crash dropped), the file started again once everything is shipped, and compacted by
// offset while events keep arriving (a connection flood that CloudWatch keeps up with must not fill
// the disk), also across a crash between the compaction and the cursor's save.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const SCRIPT = String.raw`import json, os, sys, tempfile, time
path = sys.argv[1]
${loadHostProgram('audit_shipper', 'm', 'path')}
out = {}
d = tempfile.mkdtemp()
s = m.Spool(d)
# small events: the count bound (10,000) comes first
s.append([{"event": "auth", "n": i} for i in range(25000)])
batches = []
while s.pending():
    events, offset = s.batch()
    batches.append((len(events), sum(len(e["message"].encode()) + 26 for e in events), events[0]["timestamp"], events[-1]["timestamp"]))
    s.commit(offset)
out["small"] = batches
# big events: the size bound (1 MiB with 26 bytes each) comes first
s.append([{"event": "auth", "pad": "x" * 900, "n": i} for i in range(3000)])
batches = []
while s.pending():
    events, offset = s.batch()
    batches.append((len(events), sum(len(e["message"].encode()) + 26 for e in events)))
    s.commit(offset)
out["big"] = batches
# order and numbering across everything
lines = open(os.path.join(d, "events.jsonl"), "rb").read().splitlines()
seqs = [int(l.split(b" ")[1]) for l in lines]
times = [int(l.split(b" ")[0]) for l in lines]
out["seq_ok"] = seqs == list(range(1, len(lines) + 1))
out["time_ok"] = all(a <= b for a, b in zip(times, times[1:]))
# a reopened spool continues: cursor, numbers; a cut last line is dropped
with open(os.path.join(d, "events.jsonl"), "ab") as f:
    f.write(b"123 99999 {\"event\":\"cut")
s2 = m.Spool(d)
out["reopened"] = [s2.pending(), s2.seq, s2.cursor == os.path.getsize(os.path.join(d, "events.jsonl"))]
# compaction once everything is shipped and the file is big
m.COMPACT_BYTES = 1000
s2.append([{"event": "auth"}])
events, offset = s2.batch()
s2.commit(offset)
out["compacted"] = [os.path.getsize(os.path.join(d, "events.jsonl")), open(os.path.join(d, "cursor")).read().strip(), s2.seq]
# 24 hours: events more than a day apart go in different batches
d3 = tempfile.mkdtemp()
s3 = m.Spool(d3)
s3.append([{"event": "auth"}])
s3.last_ms += 25 * 3600 * 1000
s3.append([{"event": "auth"}])
first, _ = s3.batch()
out["span"] = len(first)
# a continuous stream: every commit leaves events pending (more arrived while the batch shipped)
m.COMPACT_BYTES = 256 * 1024
d4 = tempfile.mkdtemp()
s4 = m.Spool(d4)
shipped, biggest, compactions, last_size = [], 0, 0, 0
s4.append([{"event": "tcp.connect", "pad": "x" * 300} for _ in range(40)])
for round in range(1500):
    events, offset = s4.batch()
    s4.append([{"event": "tcp.connect", "pad": "x" * 300} for _ in range(40)])
    s4.commit(offset)
    shipped += [json.loads(e["message"])["seq"] for e in events]
    size = os.path.getsize(os.path.join(d4, "events.jsonl"))
    compactions += size < last_size
    last_size = size
    biggest = max(biggest, size)
out["stream"] = {"appended": s4.seq, "biggest": biggest, "compactions": compactions, "pending": s4.pending(),
                 "shipped_ok": shipped == list(range(1, len(shipped) + 1))}
# what is left ships after the stream, nothing twice, nothing missing
while s4.pending():
    events, offset = s4.batch()
    shipped += [json.loads(e["message"])["seq"] for e in events]
    s4.commit(offset)
out["stream"]["all_ok"] = shipped == list(range(1, s4.seq + 1))
# a crash after the new file replaced the spool, before the cursor was saved: the old cursor stays
d5 = tempfile.mkdtemp()
s5 = m.Spool(d5)
s5.append([{"event": "auth", "pad": "y" * 2000} for _ in range(200)])
events, offset = s5.batch()
s5.append([{"event": "auth", "n": i} for i in range(5)])
s5.save_cursor = lambda *a: None  # the crash: no cursor saved from here on
s5.commit(offset)
with open(os.path.join(d5, "cursor"), "w") as f:
    f.write(f"{offset} {json.loads(events[-1]['message'])['seq']}\n")
size_after = os.path.getsize(os.path.join(d5, "events.jsonl"))
s6 = m.Spool(d5)
rest, _ = s6.batch()
out["crash"] = {"compacted": size_after < offset, "pending_seqs": [json.loads(e["message"])["seq"] for e in rest]}
print(json.dumps(out))
`;

describe('audit shipper spool', () => {
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-B', '-c', SCRIPT, SHIPPER], { encoding: 'utf8' }));

  test('small events: batches of at most 10,000, in order', () => {
    expect(out.small.map((b: number[]) => b[0])).toEqual([10000, 10000, 5000]);
    for (const [, bytes, first, last] of out.small) {
      expect(bytes).toBeLessThanOrEqual(1048576);
      expect(last).toBeGreaterThanOrEqual(first);
    }
  });

  test('large events: batches of at most 1 MiB counting 26 bytes per event, nothing left behind', () => {
    expect(out.big.reduce((n: number, b: number[]) => n + b[0], 0)).toBe(3000);
    for (const [, bytes] of out.big) expect(bytes).toBeLessThanOrEqual(1048576);
    expect(out.big[0][1]).toBeGreaterThan(1048576 - 1100);
  });

  test('one number per event, times that never go back', () => {
    expect(out.seq_ok).toBe(true);
    expect(out.time_ok).toBe(true);
  });

  test('reopened: nothing pending, the cut line dropped, numbering continues', () => {
    expect(out.reopened).toEqual([0, 28000, true]);
  });

  test('compacted once shipped: empty file, cursor 0, numbering continues', () => {
    expect(out.compacted).toEqual([0, '0 28001', 28001]);
  });

  test('events more than 24 hours apart are not in one batch', () => {
    expect(out.span).toBe(1);
  });

  test('a continuous stream whose commits never reach the end: the file stays bounded, every event shipped once in order', () => {
    // 60,000 events of about 350 bytes (20 MiB) through a spool compacted at 256 KiB
    expect(out.stream.appended).toBe(60040);
    expect(out.stream.compactions).toBeGreaterThan(50);
    expect(out.stream.biggest).toBeLessThan(256 * 1024 * 1.25 + 40 * 400);
    expect(out.stream.shipped_ok).toBe(true);
    expect(out.stream.all_ok).toBe(true);
  });

  test('a crash between the compaction and the cursor save: the event number in the cursor finds the place again', () => {
    expect(out.crash.compacted).toBe(true);
    expect(out.crash.pending_seqs).toEqual([201, 202, 203, 204, 205]);
  });
});
