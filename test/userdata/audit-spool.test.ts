// The audit shipper's spool (userdata/host/.../audit-shipper), driven directly with the system
// Python: batches within PutLogEvents' limits (10,000 events; 1 MiB counting 26 bytes per event;
// 24 hours), in order with consecutive numbers, a reopened spool continuing where it was (a line
// cut by a crash dropped), and the file started again once everything is shipped.
import { execFileSync } from 'child_process';
import * as path from 'path';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const SCRIPT = String.raw`import importlib.machinery, importlib.util, json, os, sys, tempfile, time
path = sys.argv[1]
loader = importlib.machinery.SourceFileLoader("audit_shipper", path)
spec = importlib.util.spec_from_loader("audit_shipper", loader)
m = importlib.util.module_from_spec(spec)
loader.exec_module(m)
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
    expect(out.compacted).toEqual([0, '0', 28001]);
  });

  test('events more than 24 hours apart are not in one batch', () => {
    expect(out.span).toBe(1);
  });
});
