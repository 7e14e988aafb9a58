/**
 * login-latency: TCP connect to command done (`ssh ... true`) through the full session path —
 * the front (holds the connection until the client's identification line, takes a ready
 * container) → ssh-bastion@.service (the session program: key lookup socket, hand-off, host key)
 * → the container's entrypoint (accounts from USERS) → sshd -i with the live key lookup — beside
 * a plain `sshd -i` of the distribution behind `systemd-socket-activate --inetd` on the same test
 * host. Same client, same key type, interleaved rounds; before each login the host is settled
 * (the front's pool of ready containers full, no session left), and the bench tells how many
 * logins took a container that was ready before they came.
 *
 * Two more paths are timed in the same rounds: a second front on another port with
 * BASTION_READY_SESSIONS=0, so that each login starts its own container (what a login costs when
 * a burst has emptied the pool); and a third front whose sessions are recorded
 * (session_recording: BASTION_RECORDING_BUCKET, a bucket in moto's S3, the spool on a tmpfs of its
 * own), where the login's command runs under the recorder and each session's recording is stored
 * before the host counts as settled again (the bench checks that every one was stored).
 *
 * Breakdown, measured: a second pass of logins with `ssh -v` whose lines are timestamped as they
 * come (server banner, key exchange done, authenticated, exit status), beside the host's journal
 * timestamped as it is written (the session program's start line, the entrypoint's accounts line),
 * so each stretch of a login is a difference of two timestamps of the same login; plus the parts
 * that can only be measured apart (process start-ups, the key lookup's IAM calls).
 * Target: at most 150 ms added at p50.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  bootHost,
  cleanup,
  freshStarts,
  machine,
  mean,
  onCleanup,
  percentile,
  round,
  sessionStarts,
  settlePool,
  sleep,
  sshOptions,
  startPlainSshd,
  table,
  timeCommands,
} from './support/common';
import { serveRecordedSessions, storedObjects } from '../test/e2e/recorded-host';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 30);
const BREAKDOWN_LOGINS = Number(process.env.BENCH_BREAKDOWN_LOGINS ?? 10);
const PLAIN_PORT = 2400;
const FRESH_PORT = 2405;
const FRESH_SOCKET = '/run/ssh-bastion/session-fresh.sock';
const RECORDED_PORT = 2406;
const RECORDED_SOCKET = '/run/ssh-bastion/session-recorded.sock';
const RECORDING_BUCKET = 'bench-recordings';
const READY = 2; // the module's default BASTION_READY_SESSIONS
const TARGET_MS = 150;

/** Prefixes each line of stdin with the wall clock (seconds, µs) as it arrives. */
const STAMP = `perl -MTime::HiRes=time -ne 'BEGIN { $| = 1 } printf "%.6f %s", time, $_'`;

/** OPEN then CLOSE of a session's key lookup socket, 10 times; prints the ms of each request. */
const OPEN_CLOSE = `
import socket, time
out = []
for i in range(10):
    for verb in ("OPEN", "CLOSE"):
        t = time.perf_counter()
        s = socket.socket(socket.AF_UNIX)
        s.connect("/run/ssh-bastion/keys/keys.sock")
        s.sendall(f"{verb} ssh-bastion-{i:024x}\\n".encode())
        while s.recv(65536):
            pass
        s.close()
        out.append(f"{(time.perf_counter() - t) * 1000:.2f}")
print(" ".join(out))
`;

interface Timeline {
  established: number;
  banner: number;
  newkeys: number;
  authenticated: number;
  exit: number;
}

/** One `ssh -v` run's stretches from its timestamped lines (seconds). */
function timelines(text: string): Timeline[] {
  const runs: Timeline[] = [];
  let cur: Partial<Timeline> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\d+\.\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [t, msg] = [Number(m[1]), m[2]];
    if (/^debug1: Connection established/.test(msg)) cur = { established: t };
    else if (/^debug1: Remote protocol version/.test(msg)) cur.banner = t;
    else if (/^debug1: SSH2_MSG_NEWKEYS received/.test(msg)) cur.newkeys = t;
    else if (/^Authenticated to /.test(msg)) cur.authenticated = t;
    else if (/^debug1: Exit status 0/.test(msg)) {
      cur.exit = t;
      if (cur.established && cur.banner && cur.newkeys && cur.authenticated) runs.push(cur as Timeline);
      cur = {};
    }
  }
  return runs;
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host, users, ms: bootMs } = await bootHost({ members: 100, withKeys: 1 });
    console.log(`test host booted (image build included) in ${bootMs} ms; group of 100 IAM users`);
    const user = users[0];
    const publicKey = fs.readFileSync(`${user.keyFiles[0]}.pub`, 'utf8').trim();
    await startPlainSshd(host, PLAIN_PORT, [publicKey]);
    await host.serveSessions(FRESH_PORT, { ...host.settings, BASTION_READY_SESSIONS: '0' }, 'fresh');
    execFileSync('aws', ['s3api', 'create-bucket', '--bucket', RECORDING_BUCKET], { env: { ...process.env, ...host.moto!.awsEnv() } });
    await serveRecordedSessions(host, RECORDED_PORT, 'recorded', RECORDING_BUCKET, 1024, host.settings);
    const recordingsStored = async () => (await storedObjects(host, RECORDING_BUCKET)).length;
    const ssh = (port: number, login: string) => `ssh ${sshOptions(user.keyFiles[0], port).join(' ')} ${login}@127.0.0.1 true`;
    const readyLog = path.join(host.dir, 'ready-before-logins.log');
    const settled = settlePool(READY);
    const settledNoPool = settlePool(0, undefined, FRESH_SOCKET);
    const settledRecorded = settlePool(READY, undefined, RECORDED_SOCKET);

    // warm-up: the first container starts, the first USERS refresh and the front's own start
    // (socket activation) are not what a login costs
    await timeCommands(
      host,
      {
        bastion: ssh(22, user.name),
        fresh: ssh(FRESH_PORT, user.name),
        recorded: ssh(RECORDED_PORT, user.name),
        plain: ssh(PLAIN_PORT, 'root'),
      },
      2,
      { bastion: settled, fresh: settledNoPool, recorded: settledRecorded, plain: settled },
    );
    const storedBefore = await recordingsStored();
    const keysLog = path.join(host.dir, 'keys-service.log');
    const keysBefore = fs.readFileSync(keysLog, 'utf8').length;
    const journalBefore = host.journal().length;

    const times = await timeCommands(
      host,
      {
        bastion: ssh(22, user.name),
        plain: ssh(PLAIN_PORT, 'root'),
        fresh: ssh(FRESH_PORT, user.name),
        recorded: ssh(RECORDED_PORT, user.name),
      },
      LOGINS,
      {
        bastion: `${settled}\n${settlePool(READY, readyLog)}`,
        plain: settled,
        fresh: `${settled}\n${settledNoPool}`,
        recorded: `${settled}\n${settledRecorded}`,
      },
    );
    // the last recording is stored before the session's unit ends: settle once more
    await host.must(['bash', '-c', settledRecorded]);
    const recorded = (await recordingsStored()) - storedBefore;
    if (recorded !== LOGINS) throw new Error(`${recorded} recordings stored for ${LOGINS} recorded logins`);
    // did each bastion login take a container that was ready before it came? (the pool's names
    // before each login, against the container of that login's session start line)
    await sleep(11_000); // the front's summary line of the last 10 s
    const journal = host.journal().slice(journalBefore);
    const starts = sessionStarts(journal);
    const readyBefore = fs
      .readFileSync(readyLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1).filter(Boolean));
    // the bastion's sessions only (the fresh front's containers never appear in the ready lists)
    // one session start line per bastion, fresh and recorded login, in the order of the rounds
    if (starts.length !== 3 * LOGINS || readyBefore.length !== LOGINS)
      throw new Error(`${starts.length} session start lines and ${readyBefore.length} ready lists for ${LOGINS} rounds`);
    const bastionStarts = starts.filter((_, i) => i % 3 === 0);
    const tookReady = bastionStarts.filter((s, i) => readyBefore[i].includes(s.container)).length;
    const ownStartsLogged = freshStarts(journal, READY);

    // breakdown: timestamped `ssh -v` lines and journal lines of the same logins
    const stamped = path.join(host.dir, 'journal-stamped.log');
    const tail: ChildProcess = spawn('bash', ['-c', `tail -n 0 -F ${host.dir}/journal.log | ${STAMP} >${stamped}`], {
      stdio: 'ignore',
      detached: true,
    });
    onCleanup(() => {
      try {
        process.kill(-tail.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await sleep(500);
    const verbose = (port: number, login: string, file: string) =>
      // the stamper runs before ssh's first line (its own start is not part of any stretch)
      `{ sleep 0.2; exec ssh ${sshOptions(user.keyFiles[0], port)
        .map((o) => (o === 'LogLevel=ERROR' ? 'LogLevel=DEBUG1' : o))
        .join(' ')} ${login}@127.0.0.1 true; } 2>&1 >/dev/null | ${STAMP} >>${file}`;
    const bastionLines = path.join(host.dir, 'timeline-bastion.log');
    const plainLines = path.join(host.dir, 'timeline-plain.log');
    await timeCommands(
      host,
      { bastion: verbose(22, user.name, bastionLines), plain: verbose(PLAIN_PORT, 'root', plainLines) },
      BREAKDOWN_LOGINS,
      { bastion: settled, plain: settled },
    );
    await sleep(500);
    process.kill(-tail.pid!, 'SIGKILL');
    const server = fs
      .readFileSync(stamped, 'utf8')
      .split(/\r?\n/)
      .map((l) => /^(\d+\.\d+) (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ t: Number(m[1]), text: m[2] }));
    const bastionRuns = timelines(fs.readFileSync(bastionLines, 'utf8'));
    const plainRuns = timelines(fs.readFileSync(plainLines, 'utf8'));
    for (const [file, runs] of [
      [bastionLines, bastionRuns],
      [plainLines, plainRuns],
    ] as const) {
      if (runs.length < BREAKDOWN_LOGINS)
        throw new Error(
          `${runs.length} of ${BREAKDOWN_LOGINS} ssh -v runs read from ${file}:\n${fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(0, 3000) : '(no file)'}\n${fs.readFileSync(path.join(host.dir, 'bench-commands.err'), 'utf8').slice(-2000)}`,
        );
    }
    const ms = (a: number, b: number) => (b - a) * 1000;
    const stretches: Record<string, number[]> = {};
    const add = (k: string, v: number) => (stretches[k] ??= []).push(v);
    for (const r of bastionRuns) {
      const inRun = (re: RegExp) => server.find((l) => l.t >= r.established - 0.001 && l.t <= r.exit + 0.001 && re.test(l.text))?.t;
      const sessionStart = inRun(/session: session start client=127\.0\.0\.1:/);
      const accounts = inRun(/accounts created in/);
      if (sessionStart === undefined || accounts === undefined) continue;
      add('b_front_unit', ms(r.established, sessionStart));
      add('b_handoff_entrypoint', ms(sessionStart, accounts));
      add('b_sshd_start', ms(accounts, r.banner));
      add('b_connect_banner', ms(r.established, r.banner));
      add('b_kex', ms(r.banner, r.newkeys));
      add('b_auth', ms(r.newkeys, r.authenticated));
      add('b_session', ms(r.authenticated, r.exit));
      add('b_total', ms(r.established, r.exit));
    }
    for (const r of plainRuns) {
      add('p_connect_banner', ms(r.established, r.banner));
      add('p_kex', ms(r.banner, r.newkeys));
      add('p_auth', ms(r.newkeys, r.authenticated));
      add('p_session', ms(r.authenticated, r.exit));
      add('p_total', ms(r.established, r.exit));
    }
    const s50 = (k: string) => percentile(stretches[k] ?? [], 50);

    // measured apart
    const lookups = fs
      .readFileSync(keysLog, 'utf8')
      .slice(keysBefore)
      .split('\n')
      .filter((l) => / keys user=/.test(l) && !/cached=1/.test(l))
      .map((l) => Number(/ ms=(\d+)/.exec(l)?.[1]))
      .filter((n) => !Number.isNaN(n));
    const apart = await timeCommands(
      host,
      {
        unit_instance_python: `/usr/bin/python3 -S -c 'import fcntl, json, os, socket, struct, subprocess, sys'`,
        session_start: `/usr/local/libexec/ssh-bastion/with-settings /usr/bin/python3 -c 'import errno, json, os, re, select, shutil, signal, socket, subprocess, sys, time'`,
      },
      10,
    );
    const m = (l: string) => percentile(apart[l], 50);
    // the session program's OPEN and CLOSE of the session's key lookup socket, timed in one process
    const openClose = (await host.must(['/usr/bin/python3', '-c', OPEN_CLOSE])).trim().split(' ').map(Number);

    const p50 = (l: string) => percentile(times[l], 50);
    const p95 = (l: string) => percentile(times[l], 95);
    const added50 = p50('bastion') - p50('plain');
    const met = added50 <= TARGET_MS;
    console.log(
      `\nlogins: ${LOGINS} each, interleaved, each on a settled host (ms, TCP connect to \`true\` done, measured inside the host's netns)`,
    );
    const label: Record<string, string> = {
      bastion: 'bastion (front → ready container → session → hand-off → sshd -i)',
      fresh: 'bastion, no ready container (BASTION_READY_SESSIONS=0)',
      recorded: 'bastion, session_recording (recorder, stream to the host, stored in S3 after)',
      plain: 'plain sshd -i (socket-activate --inetd)',
    };
    table(
      ['path', 'p50', 'p95', 'mean', 'min', 'max'],
      ['bastion', 'fresh', 'recorded', 'plain'].map((l) => [
        label[l],
        round(p50(l), 0),
        round(p95(l), 0),
        round(mean(times[l]), 0),
        round(Math.min(...times[l]), 0),
        round(Math.max(...times[l]), 0),
      ]),
    );
    console.log(
      `logins that took a container ready before they came: ${tookReady} of ${LOGINS}; the front logged ${ownStartsLogged} sessions that started a container of their own`,
    );
    console.log(
      `added at p50: ${round(added50, 0)} ms (target ≤ ${TARGET_MS} ms): ${met ? 'met' : 'MISSED'}; ratio p50 ${round(p50('bastion') / p50('plain'), 2)}; without a ready container ${round(p50('fresh') - p50('plain'), 0)} ms added; recorded ${round(p50('recorded') - p50('plain'), 0)} ms added (${recorded} recordings stored)`,
    );

    const d = (b: string, p: string) => round(s50(b) - s50(p), 0);
    console.log(
      `\nwhere the time goes: p50 of ${bastionRuns.length} bastion and ${plainRuns.length} plain logins with ssh -v, each stretch between two timestamps of the same login (ms):`,
    );
    table(
      ['stretch', 'bastion', 'plain', 'added', 'what happens'],
      [
        [
          'connect → session program running',
          round(s50('b_front_unit'), 0),
          '',
          '',
          'front: identification line, ready container taken; session socket; unit start (harness: unit-instance.py); with-settings; python3 session; fds received',
        ],
        [
          '  → entrypoint has made the accounts',
          round(s50('b_handoff_entrypoint'), 0),
          '',
          '',
          'key lookup socket opened, host key FIFO, hand-off; receive-connection execs the entrypoint; USERS; accounts',
        ],
        ['  → server banner', round(s50('b_sshd_start'), 0), '', '', 'setpriv ×2, undumpable, sshd -i start, host key read from the FIFO'],
        [
          'connect → server banner',
          round(s50('b_connect_banner'), 0),
          round(s50('p_connect_banner'), 0),
          d('b_connect_banner', 'p_connect_banner'),
          'plain: fork + exec sshd -i',
        ],
        [
          'banner → key exchange done',
          round(s50('b_kex'), 0),
          round(s50('p_kex'), 0),
          d('b_kex', 'p_kex'),
          'same algorithms on both (sntrup761x25519)',
        ],
        [
          'key exchange → authenticated',
          round(s50('b_auth'), 0),
          round(s50('p_auth'), 0),
          d('b_auth', 'p_auth'),
          'bastion: AuthorizedKeysCommand, live KEYS lookup; plain: authorized_keys file',
        ],
        [
          'authenticated → exit status',
          round(s50('b_session'), 0),
          round(s50('p_session'), 0),
          d('b_session', 'p_session'),
          "bastion: PAM, pam_mkhomedir, session-command; plain: root's shell, which reads ~/.bashrc under sshd",
        ],
        ['total (ssh -v runs)', round(s50('b_total'), 0), round(s50('p_total'), 0), d('b_total', 'p_total'), ''],
      ],
    );
    console.log('\nmeasured apart (p50 of 10 runs each, ms):');
    table(
      ['part', 'ms', 'how measured'],
      [
        [
          'test-only: python3 start of unit-instance.py (plays systemd)',
          round(m('unit_instance_python'), 0),
          '/usr/bin/python3 -S with its imports, as the harness starts it; a real host has systemd start the unit',
        ],
        [
          'session program start: with-settings + /usr/bin/python3 + imports',
          round(m('session_start'), 0),
          'with-settings /usr/bin/python3 -c "import ..."',
        ],
        [
          'key lookup socket: OPEN (on the login path)',
          round(
            percentile(
              openClose.filter((_, i) => i % 2 === 0),
              50,
            ),
            1,
          ),
          '10 OPEN requests as the session program makes them, timed in one process',
        ],
        [
          '  CLOSE (after the login)',
          round(
            percentile(
              openClose.filter((_, i) => i % 2 === 1),
              50,
            ),
            1,
          ),
          'the same, CLOSE',
        ],
        [
          'KEYS live lookup (IAM calls to moto)',
          round(percentile(lookups, 50), 0),
          `the key lookup service's ms= of ${lookups.length} lookups`,
        ],
        [
          'container start (not on the path when a ready one is taken)',
          round(p50('fresh') - p50('bastion'), 0),
          'fresh-front p50 − bastion p50 above',
        ],
      ],
    );
    const breakdown = Object.fromEntries(Object.keys(stretches).map((k) => [k, round(s50(k), 0)]));
    return {
      bench: 'login-latency',
      logins: LOGINS,
      bastion_ms: { p50: round(p50('bastion'), 0), p95: round(p95('bastion'), 0) },
      no_ready_container_ms: { p50: round(p50('fresh'), 0), p95: round(p95('fresh'), 0) },
      recorded_ms: { p50: round(p50('recorded'), 0), p95: round(p95('recorded'), 0), stored: recorded },
      plain_sshd_ms: { p50: round(p50('plain'), 0), p95: round(p95('plain'), 0) },
      added_p50_ms: round(added50, 0),
      ratio_p50: round(p50('bastion') / p50('plain'), 2),
      took_ready_container: tookReady,
      own_container_starts_logged: ownStartsLogged,
      breakdown_p50_ms: breakdown,
      apart_p50_ms: {
        unit_instance_python_test_only: round(m('unit_instance_python'), 0),
        session_program_start: round(m('session_start'), 0),
        keys_open: round(
          percentile(
            openClose.filter((_, i) => i % 2 === 0),
            50,
          ),
          1,
        ),
        keys_lookup_daemon: round(percentile(lookups, 50), 0),
      },
      target_added_p50_ms: TARGET_MS,
      met,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
