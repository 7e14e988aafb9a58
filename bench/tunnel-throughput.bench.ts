/**
 * tunnel-throughput: 256 MiB through `ssh -L` via a bastion session container, beside the same
 * through a plain `sshd -i` of the distribution on the same test host (same client, same cipher),
 * to a source/sink server in the harness's "VPC" network namespace (192.0.2.2), which the
 * container reaches as on a real host (docker bridge, masquerade, veth). Both directions. The
 * session container's sshd holds the TCP connection itself (handed over by the host's handoff),
 * so no process relays the bytes on the host.
 * Target: at least 0.9 of plain sshd.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { VPC_ADDRESS, waitFor } from '../test/helpers/harness';
import { bootHost, cleanup, machine, onCleanup, percentile, round, sshOptions, startPlainSshd, table } from './support/common';

const BYTES = Number(process.env.BENCH_TUNNEL_MIB ?? 256) * 1048576;
const ROUNDS = Number(process.env.BENCH_TUNNEL_ROUNDS ?? 3);
const CIPHER = process.env.BENCH_TUNNEL_CIPHER ?? 'chacha20-poly1305@openssh.com';
const PLAIN_PORT = 2400;
const SOURCE_PORT = 9000; // sink on 9001

export async function run(): Promise<Record<string, unknown>> {
  try {
    const cpus = process.env.BENCH_CONTAINER_CPUS ?? '1';
    const { host, users } = await bootHost({ members: 10, withKeys: 1, settings: { BASTION_CONTAINER_CPUS: cpus } });
    const user = users[0];
    await startPlainSshd(host, PLAIN_PORT, [fs.readFileSync(`${user.keyFiles[0]}.pub`, 'utf8').trim()]);
    const stream = path.join(__dirname, 'support', 'stream.py');
    const server = spawn('nsenter', [`--net=/run/netns/${host.vpcNetns}`, 'python3', stream, 'serve', VPC_ADDRESS, String(SOURCE_PORT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => void server.kill('SIGKILL'));
    let ready = '';
    server.stdout!.on('data', (d: Buffer) => (ready += d.toString()));
    await waitFor(() => ready.includes('ready'), 10_000, 'source/sink server');

    const tunnels: ChildProcess[] = [];
    onCleanup(() => tunnels.forEach((t) => t.kill('SIGKILL')));
    /** one ssh -L session; returns the throughput in MiB/s of one direction */
    const measure = async (via: 'bastion' | 'plain', direction: 'download' | 'upload', localPort: number): Promise<number> => {
      const port = via === 'bastion' ? 22 : PLAIN_PORT;
      const login = via === 'plain' ? 'root' : user.name;
      const target = direction === 'download' ? SOURCE_PORT : SOURCE_PORT + 1;
      const args = [
        ...host.enter,
        'ssh',
        ...sshOptions(user.keyFiles[0], port),
        '-c',
        CIPHER,
        '-o',
        'Compression=no',
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `127.0.0.1:${localPort}:${VPC_ADDRESS}:${target}`,
        `${login}@127.0.0.1`,
      ];
      const tunnel = spawn(args[0], args.slice(1), { stdio: 'ignore', env: host.env });
      tunnels.push(tunnel);
      try {
        await host.waitForPort(localPort, 30_000);
        const out = await host.must(['python3', stream, direction, '127.0.0.1', String(localPort), String(BYTES)], { timeoutMs: 300_000 });
        const [bytes, seconds] = out.trim().split(' ').map(Number);
        if (bytes !== BYTES) throw new Error(`${via} ${direction}: ${bytes} bytes of ${BYTES}`);
        return BYTES / 1048576 / seconds;
      } finally {
        tunnel.kill('SIGTERM');
      }
    };

    const results: Record<string, number[]> = {};
    let localPort = 15000;
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      for (const direction of ['download', 'upload'] as const) {
        for (const via of ['bastion', 'plain'] as const) {
          const key = `${via}/${direction}`;
          (results[key] ??= []).push(await measure(via, direction, localPort++));
        }
      }
    }
    const med = (k: string) => percentile(results[k], 50);
    console.log(`\n${BYTES / 1048576} MiB through ssh -L (cipher ${CIPHER}, container --cpus ${cpus}), median of ${ROUNDS} rounds, MiB/s`);
    table(
      ['direction', 'bastion container', 'plain sshd', 'ratio', 'all bastion runs', 'all plain runs'],
      (['download', 'upload'] as const).map((d) => [
        d === 'download' ? 'download (VPC → client)' : 'upload (client → VPC)',
        round(med(`bastion/${d}`)),
        round(med(`plain/${d}`)),
        round(med(`bastion/${d}`) / med(`plain/${d}`), 2),
        results[`bastion/${d}`].map((v) => round(v, 0)).join(' '),
        results[`plain/${d}`].map((v) => round(v, 0)).join(' '),
      ]),
    );
    const ratio = Math.min(med('bastion/download') / med('plain/download'), med('bastion/upload') / med('plain/upload'));
    console.log(`target (≥ 0.9 of plain sshd): ${ratio >= 0.9 ? 'met' : 'MISSED'} (worst direction ${round(ratio, 2)})`);
    return {
      bench: 'tunnel-throughput',
      mib: BYTES / 1048576,
      cipher: CIPHER,
      rounds: ROUNDS,
      download_mib_s: {
        bastion: round(med('bastion/download')),
        plain: round(med('plain/download')),
        ratio: round(med('bastion/download') / med('plain/download'), 2),
      },
      upload_mib_s: {
        bastion: round(med('bastion/upload')),
        plain: round(med('plain/upload')),
        ratio: round(med('bastion/upload') / med('plain/upload'), 2),
      },
      container_cpus: Number(cpus),
      met: ratio >= 0.9,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
