/**
 * build: wall time and peak memory of `npm run build` (into a temp dir, so dist/ is left alone),
 * `tsc --noEmit` and the unit test suite (`jest --testPathIgnorePatterns test/e2e`, i.e.
 * `npm run test:unit`), each under `/usr/bin/time -v` (Debian package `time`).
 * "max RSS" is /usr/bin/time's: the largest single process of the tree (getrusage children);
 * "tree peak" sums the RSS of the whole process tree, sampled every 250 ms.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_DIR } from '../test/helpers/harness';
import { cleanup, machine, onCleanup, round, table } from './support/common';

interface Step {
  readonly name: string;
  readonly argv: string[];
}

/** Sum of RSS (KiB) of `root` and all its descendants. */
function treeRssKib(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      rss.set(Number(entry), Number(fields[21]) * 4);
    } catch {
      // gone
    }
  }
  let total = 0;
  for (const [pid, kib] of rss) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += kib;
        break;
      }
    }
  }
  return total;
}

async function measure(
  step: Step,
): Promise<{ wallS: number; maxRssMib: number; treePeakMib: number; status: number; userS: number; sysS: number }> {
  const report = path.join(os.tmpdir(), `bench-build-${process.pid}-${step.name.replace(/\W/g, '_')}.time`);
  onCleanup(() => fs.rmSync(report, { force: true }));
  const started = Date.now();
  const child = spawn('/usr/bin/time', ['-v', '-o', report, ...step.argv], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let treePeak = 0;
  const timer = setInterval(() => (treePeak = Math.max(treePeak, treeRssKib(child.pid!))), 250);
  const status = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 255)));
  clearInterval(timer);
  const wallS = (Date.now() - started) / 1000;
  const text = fs.readFileSync(report, 'utf8');
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  if (status !== 0) console.log(`${step.name} exited with ${status}:\n${output}`);
  return {
    wallS,
    maxRssMib: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
    treePeakMib: treePeak / 1024,
    status,
    userS: num(/User time \(seconds\): ([\d.]+)/),
    sysS: num(/System time \(seconds\): ([\d.]+)/),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-build-out-'));
    onCleanup(() => fs.rmSync(out, { recursive: true, force: true }));
    const steps: Step[] = [
      { name: 'npm run build', argv: ['npm', 'run', 'build', '--', '--out', out] },
      { name: 'tsc --noEmit', argv: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
      { name: 'unit tests (jest, no e2e)', argv: ['npx', 'jest', '--testPathIgnorePatterns', 'test/e2e'] },
    ];
    const results: Record<string, unknown>[] = [];
    for (const step of steps) {
      const r = await measure(step);
      console.log(
        `${step.name}: ${round(r.wallS, 1)} s wall, max RSS ${round(r.maxRssMib, 0)} MiB, tree peak ${round(r.treePeakMib, 0)} MiB, exit ${r.status}`,
      );
      results.push({
        step: step.name,
        wall_s: round(r.wallS, 1),
        user_s: round(r.userS, 1),
        sys_s: round(r.sysS, 1),
        max_rss_mib: round(r.maxRssMib, 0),
        tree_peak_mib: round(r.treePeakMib, 0),
        status: r.status,
      });
    }
    console.log('\nwall time and memory (max RSS = largest single process, /usr/bin/time -v; tree peak = whole process tree, sampled)');
    table(
      ['step', 'wall s', 'user s', 'sys s', 'max RSS MiB', 'tree peak MiB', 'exit'],
      results.map((r) => [
        r.step as string,
        r.wall_s as number,
        r.user_s as number,
        r.sys_s as number,
        r.max_rss_mib as number,
        r.tree_peak_mib as number,
        r.status as number,
      ]),
    );
    return { bench: 'build', steps: results, machine: machine() };
  } finally {
    await cleanup();
  }
}
