/**
 * Debian root file systems for the tests, made with debootstrap (no image registry is reachable)
 * and cached under .e2e/ (git-ignored). A cached result is built beside its place and renamed into
 * it once whole: an interrupted or failed build never leaves half a result to be taken for one.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const E2E_CACHE_DIR = path.resolve(__dirname, '..', '..', '.e2e');
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/**
 * Returns `target`, made first by `build` (which writes the path it is given) unless
 * `isWhole(target)` holds already.
 */
export function buildOnce(target: string, build: (building: string) => void, isWhole: (target: string) => boolean = fs.existsSync): string {
  if (isWhole(target)) return target;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const building = `${target}.building-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  try {
    build(building);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(building, target);
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
  return target;
}

export interface DebootstrapOptions {
  readonly suite: string;
  readonly variant: string;
  readonly mirror: string;
  readonly include?: readonly string[];
  /** another architecture than this machine's, unpacked only (`--foreign`): nothing of it runs */
  readonly foreignArch?: string;
}

/** Runs debootstrap into `dir`; throws with the end of its output when it fails. */
export function debootstrap(dir: string, options: DebootstrapOptions, timeoutMs: number): void {
  const args = [
    ...(options.foreignArch ? [`--arch=${options.foreignArch}`, '--foreign'] : []),
    `--variant=${options.variant}`,
    ...(options.include?.length ? [`--include=${options.include.join(',')}`] : []),
    options.suite,
    dir,
    options.mirror,
  ];
  const result = spawnSync('debootstrap', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `status ${result.status}`;
    throw new Error(`debootstrap ${args.join(' ')} failed (${why}):\n${`${result.stdout ?? ''}${result.stderr ?? ''}`.slice(-2000)}`);
  }
}
