/**
 * audit-shipper: what the host's audit shipper costs per 1,000 events. A booted test host (its
 * shipper started as its unit would be, shipping to moto's CloudWatch Logs) receives ROUNDS bursts
 * of EVENTS events, sessions of four (start, key lookup, accepted key, end; 280-400 bytes
 * each as shipped), sent as the session program and the key lookup service send them (one datagram each, to /run/ssh-bastion/audit.sock); each burst is
 * over when the shipper's cursor reaches the end of its spool (every event accepted by
 * CloudWatch). Measured: the shipper's CPU seconds (utime + stime of its process), its resident
 * memory idle and at its peak (VmHWM), and the wall time per burst.
 * Target: at most 0.1 CPU s and no growth of the resident memory per 1,000 events.
 */
import * as fs from 'fs';
import * as path from 'path';
import { waitFor } from '../test/helpers/harness';
import { bootHost, cleanup, machine, round, table } from './support/common';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 3);
const TICKS = 100;

const SENDER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(event):
    s.sendto(json.dumps(event).encode(), "/run/ssh-bastion/audit.sock")
# sessions of four events each, as the session program and the key lookup service send them
for i in range(int(sys.argv[1]) // 4):
    session, container, client = "%024x" % i, "ssh-bastion-%024x" % i, "203.0.113.7:%d" % (40000 + i % 20000)
    send({"event": "session.start", "session": session, "container": container, "container_address": "172.17.0.%d" % (i % 250 + 2), "client": client, "unit": "%d-1234-0" % i})
    send({"event": "keys.lookup", "decision": "answered", "user": "alice", "iam_user": "alice@example.com", "keys": 1, "reason": "-", "cached": False, "container": container})
    send({"event": "auth", "session": session, "container": container, "client": client, "result": "accepted", "method": "publickey", "user": "alice", "valid_user": True, "key_type": "ED25519", "key_fingerprint": "SHA256:rsjttipN7jdXEMgkAueqgvNiGvhfKMICLGbxyLBqo0I"})
    send({"event": "session.end", "session": session, "container": container, "client": client, "user": "alice", "duration_s": 310, "status": 0, "end_reason": "ended"})
`;

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host } = await bootHost({ members: 1, withKeys: 0 });
    const loop = fs.readFileSync(path.join(host.dir, 'systemctl', 'pid-ssh-bastion-audit.socket'), 'utf8').trim();
    let pid = '';
    await waitFor(
      async () => (pid = (await host.run(['pgrep', '-P', loop, '-f', 'audit-shipper'])).stdout.trim()) !== '',
      20_000,
      'the audit shipper',
    );
    const stat = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const cpuSeconds = () => (Number(stat()[11]) + Number(stat()[12])) / TICKS;
    const status = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    const spool = path.join(host.dir, 'audit-state');
    /** Every one of `events` lines of the spool shipped: in it, and the cursor at its end. */
    const shipped = (events: number) => () => {
      const text = fs.readFileSync(path.join(spool, 'events.jsonl'));
      const cursor = fs.existsSync(path.join(spool, 'cursor')) ? Number(fs.readFileSync(path.join(spool, 'cursor'), 'utf8')) : 0;
      let lines = 0;
      for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++;
      return lines === events && cursor === text.length;
    };
    await waitFor(shipped(0), 60_000, 'an empty spool');
    const idleRss = status('VmRSS');
    const rows: (string | number)[][] = [];
    const perThousand: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const cpu0 = cpuSeconds();
      const started = Date.now();
      await host.must(['python3', '-c', SENDER, String(EVENTS)], { timeoutMs: 300_000 });
      await waitFor(shipped(EVENTS * (r + 1)), 300_000, 'the burst shipped');
      const wall = (Date.now() - started) / 1000;
      const cpu = cpuSeconds() - cpu0;
      perThousand.push((cpu / EVENTS) * 1000);
      rows.push([
        r + 1,
        EVENTS,
        round(wall, 2),
        round(cpu, 2),
        round((cpu / EVENTS) * 1000, 3),
        round(status('VmRSS'), 1),
        round(status('VmHWM'), 1),
      ]);
    }
    const total = (await host.must(['wc', '-l', path.join(spool, 'events.jsonl')])).trim().split(' ')[0];
    console.log(`audit-shipper: ${ROUNDS} bursts of ${EVENTS} events; idle RSS ${round(idleRss, 1)} MiB; ${total} events in the spool`);
    table(['burst', 'events', 'wall s', 'CPU s', 'CPU s / 1,000', 'RSS MiB', 'peak RSS MiB'], rows);
    return {
      bench: 'audit-shipper',
      machine: machine(),
      events: EVENTS,
      rounds: ROUNDS,
      cpuSecondsPer1000: perThousand.map((x) => round(x, 3)),
      idleRssMib: round(idleRss, 1),
      peakRssMib: round(status('VmHWM'), 1),
      rssMib: round(status('VmRSS'), 1),
    };
  } finally {
    await cleanup();
  }
}
