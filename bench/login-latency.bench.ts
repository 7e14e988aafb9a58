/**
 * login-latency: TCP connect to command done (`ssh ... true`) through the full per-connection
 * path (socket activation, session wrapper, docker run, key lookup, sshd -i in the container),
 * beside a plain `sshd -i` of the distribution behind `systemd-socket-activate --inetd` on the
 * same test host. Same client, same key type, interleaved rounds. Plus a breakdown.
 * Target: at most 1 s added at p50.
 */
import * as fs from 'fs';
import * as path from 'path';
import { bootHost, cleanup, machine, mean, percentile, round, sshOptions, startPlainSshd, table, timeCommands } from './support/common';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 30);
const PLAIN_PORT = 2400;

const SESSION_FLAGS =
  '--rm -i --log-driver none --network ssh-bastion --init --memory 512m --memory-swap 512m --pids-limit 256 --cpus 1 ' +
  '--cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETUID --cap-add SETGID ' +
  '--cap-add SYS_CHROOT --cap-add KILL --cap-add AUDIT_WRITE ' +
  '--mount type=bind,src=/run/ssh-bastion/keys,dst=/run/ssh-bastion/keys,readonly ' +
  '--mount type=bind,src=/etc/ssh-bastion/host-keys/ssh_host_ed25519_key,dst=/etc/ssh/ssh_host_ed25519_key,readonly';

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host, users, ms: bootMs } = await bootHost({ members: 100, withKeys: 1 });
    console.log(`test host booted (image build included) in ${bootMs} ms; group of 100 IAM users`);
    const user = users[0];
    const publicKey = fs.readFileSync(`${user.keyFiles[0]}.pub`, 'utf8').trim();
    await startPlainSshd(host, PLAIN_PORT, [publicKey]);
    const ssh = (port: number, login: string) => `ssh ${sshOptions(user.keyFiles[0], port).join(' ')} ${login}@127.0.0.1 true`;

    // warm-up: the first container start and the first USERS refresh are not what a login costs
    await timeCommands(host, { bastion: ssh(22, user.name), plain: ssh(PLAIN_PORT, 'root') }, 2);
    const keysLog = path.join(host.dir, 'keys-service.log');
    const logBefore = fs.readFileSync(keysLog, 'utf8').length;

    const times = await timeCommands(host, { bastion: ssh(22, user.name), plain: ssh(PLAIN_PORT, 'root') }, LOGINS);

    // breakdown, measured apart
    const lookups = fs
      .readFileSync(keysLog, 'utf8')
      .slice(logBefore)
      .split('\n')
      .filter((l) => / keys user=/.test(l) && !/cached=1/.test(l))
      .map((l) => Number(/ ms=(\d+)/.exec(l)?.[1]))
      .filter((n) => !Number.isNaN(n));
    const parts = await timeCommands(
      host,
      {
        docker_run_true: `docker run ${SESSION_FLAGS} --entrypoint true ssh-bastion-worker:current </dev/null`,
        docker_run_users: `docker run ${SESSION_FLAGS} --entrypoint /usr/local/libexec/ssh-bastion/keys-request ssh-bastion-worker:current USERS </dev/null`,
        keys_request_host: `python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect("/run/ssh-bastion/keys/keys.sock"); s.sendall(b"KEYS ${user.name} bench-$RANDOM$RANDOM\\n"); s.recv(65536)'`,
        python_start: `python3 -c pass`,
        system_python_start: `/usr/bin/python3 -c pass`,
        bash_start: `bash -c true`,
        wrapper_settings: `bash -c '. /usr/local/libexec/ssh-bastion/lib.sh; load_settings'`,
      },
      10,
    );

    const p50 = (l: string) => percentile(times[l], 50);
    const p95 = (l: string) => percentile(times[l], 95);
    const added50 = p50('bastion') - p50('plain');
    console.log(`\nlogins: ${LOGINS} each, interleaved (ms, TCP connect to \`true\` done, measured inside the host's netns)`);
    table(
      ['path', 'p50', 'p95', 'mean', 'min', 'max'],
      ['bastion', 'plain'].map((l) => [l === 'bastion' ? 'bastion (socket → session → docker run -d → hand-off → sshd -i)' : 'plain sshd -i (socket-activate --inetd)', round(p50(l), 0), round(p95(l), 0), round(mean(times[l]), 0), round(Math.min(...times[l]), 0), round(Math.max(...times[l]), 0)]),
    );
    console.log(`added at p50: ${round(added50, 0)} ms (target ≤ 1000 ms): ${added50 <= 1000 ? 'met' : 'MISSED'}; ratio p50 ${round(p50('bastion') / p50('plain'), 2)}`);

    const m = (l: string) => percentile(parts[l], 50);
    const lookup50 = percentile(lookups, 50);
    const dockerRun = m('docker_run_true');
    const usersInContainer = Math.max(0, m('docker_run_users') - dockerRun);
    const residual = p50('bastion') - p50('plain') - dockerRun - usersInContainer - lookup50;
    console.log('\nwhere the time goes (p50 of 10 runs each, ms):');
    table(
      ['part', 'ms', 'how measured'],
      [
        ['plain sshd login (fork sshd -i, kex, auth, exec true)', round(p50('plain'), 0), 'the plain sshd run above'],
        ['container start + stop (docker run --rm, session flags)', round(dockerRun, 0), 'docker run ... --entrypoint true (the stop is not on the login path)'],
        ['USERS from inside the container (perl keys-request)', round(usersInContainer, 0), 'docker run ... keys-request USERS minus the above'],
        ['KEYS live lookup (IAM calls to moto)', round(lookup50, 0), `daemon log ms= of ${lookups.length} logins`],
        ['KEYS request as sshd makes it, from the host', round(m('keys_request_host'), 0), 'python3 client incl. its start-up'],
        ['rest (session wrapper, hand-off, entrypoint, PAM, mkhomedir)', round(residual, 0), 'bastion p50 − rows 1-4 (negative: the overlap of the rows)'],
        ['test-only: python3 start-up of unit-instance.py (plays systemd)', round(m('python_start'), 0), 'python3 -c pass with the harness PATH (pyenv shim)'],
        ['  the same with /usr/bin/python3', round(m('system_python_start'), 0), '/usr/bin/python3 -c pass'],
        ['session wrapper: bash + lib.sh + load_settings', round(m('wrapper_settings'), 0), `bash -c '. lib.sh; load_settings' (bash -c true: ${round(m('bash_start'), 0)})`],
      ],
    );
    return {
      bench: 'login-latency',
      logins: LOGINS,
      bastion_ms: { p50: round(p50('bastion'), 0), p95: round(p95('bastion'), 0) },
      plain_sshd_ms: { p50: round(p50('plain'), 0), p95: round(p95('plain'), 0) },
      added_p50_ms: round(added50, 0),
      ratio_p50: round(p50('bastion') / p50('plain'), 2),
      breakdown_ms: {
        docker_run_true: round(dockerRun, 0),
        users_in_container: round(usersInContainer, 0),
        keys_lookup_daemon: round(lookup50, 0),
        keys_request_from_host: round(m('keys_request_host'), 0),
        python_start_test_only: round(m('python_start'), 0),
        system_python_start: round(m('system_python_start'), 0),
        wrapper_settings: round(m('wrapper_settings'), 0),
        bash_start: round(m('bash_start'), 0),
        rest: round(residual, 0),
      },
      target_added_p50_ms: 1000,
      met: added50 <= 1000,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
