// What the lint tests iterate over: the files of userdata/ that go onto hosts, found afresh on
// every run so that new files are checked without touching the tests.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hostContentFiles } from '../../src/cloud-config';

export const USERDATA_DIR = path.resolve(__dirname, '..', '..', 'userdata');
export const HOST_DIR = path.join(USERDATA_DIR, 'host');
export const WORKER_DIR = path.join(USERDATA_DIR, 'worker');
export const BOOT_DIR = path.join(USERDATA_DIR, 'boot');

/** Absolute paths of every file that reaches a host: the bootstrap, the bundle's host and worker files. */
export function userDataFiles(): string[] {
  return [BOOT_DIR, HOST_DIR, WORKER_DIR].flatMap((dir) => hostContentFiles(dir).map((rel) => path.join(dir, rel)));
}

/** Path relative to the repository, for test names and messages. */
export function repoPath(file: string): string {
  return path.relative(path.dirname(USERDATA_DIR), file);
}

/** The interpreter named by a file's `#!` line (`/usr/bin/env bash` → `bash`), or undefined. */
export function interpreter(file: string): string | undefined {
  const firstLine = fs.readFileSync(file, 'utf8').split('\n', 1)[0];
  const match = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(firstLine);
  if (!match) return undefined;
  const program = path.basename(match[1]);
  return program === 'env' && match[2] ? path.basename(match[2]) : program;
}

export interface CommandResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs a command; stdout and stderr together, as a person at a terminal would see them. */
export function run(command: string, args: readonly string[], options: { cwd?: string; input?: string } = {}): CommandResult {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd, input: options.input, timeout: 15_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A fresh temporary folder, removed by the returned function. */
export function temporaryDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `content` to `file`, creating its folders. */
export function writeFile(file: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}
