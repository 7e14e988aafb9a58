import { execFile, spawn } from 'child_process';
import { promisify } from 'util';

const execFileAsync = promisify(execFile);

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to its end (killed after timeoutMs) with stdout and stderr apart; never throws: a failure is its status. */
export async function runCommand(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await execFileAsync(args[0], args.slice(1), {
      env: options.env,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr, ms: Date.now() - started };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return {
      status: typeof err.code === 'number' ? err.code : 255,
      stdout: err.stdout ?? '',
      stderr: `${err.stderr ?? ''}${typeof err.code === 'string' ? err.code : ''}`,
      ms: Date.now() - started,
    };
  }
}

/** Runs a command to its end (killed after timeoutMs), stdout and stderr together. */
export function runCollecting(cmd: string, args: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}
