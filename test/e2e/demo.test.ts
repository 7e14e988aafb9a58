// npm run demo, as a new user runs it: the printed ssh command logs in, Ctrl-C leaves nothing.
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_DIR } from '../helpers/harness';
import { log } from './log';

jest.setTimeout(600_000);

const PORT = 20222;

test('the demo prints an ssh command that logs in, and Ctrl-C removes everything it made', async () => {
  // GIVEN the demo, started as the README says
  const demo = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(REPO_DIR, 'scripts', 'demo.ts')], {
    cwd: REPO_DIR,
    env: { ...process.env, SSHB_DEMO_PORT: String(PORT) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout.on('data', (chunk) => (output += chunk));
  demo.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!/^ready\./m.test(output)) {
    if (demo.exitCode !== null) throw new Error(`the demo ended before it was ready:\n${output}`);
    if (Date.now() - started > 480_000) throw new Error(`the demo was not ready within 480 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`demo ready after ${Date.now() - started} ms`);

  // WHEN the printed command runs, as printed (plus batch mode and a command)
  const command = /^ {2}(ssh -i \S+ -o UserKnownHostsFile=(\S+) -p \d+ demo@127\.0\.0\.1)$/m.exec(output);
  expect(command).not.toBeNull();
  const args = command![1].split(' ').slice(1);
  const login = execFileSync('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', ...args, 'id -un; echo logged-in'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const dir = path.dirname(command![2]);

  // AND Ctrl-C
  demo.kill('SIGINT');
  const code = await exited;

  // THEN the user was demo, and nothing of the demo is left: its folder, its namespaces, its relay
  expect(login).toBe('demo\nlogged-in\n');
  expect(code).toBe(0);
  expect(output).toContain('done: nothing is left behind');
  expect(fs.existsSync(dir)).toBe(false);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  expect(namespaces).not.toContain(path.basename(dir).replace(/-[^-]+$/, '-'));
  const listening = execFileSync('ss', ['-Hltn', `sport = :${PORT}`], { encoding: 'utf8' });
  expect(listening.trim()).toBe('');
});
