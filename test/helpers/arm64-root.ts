/**
 * An arm64 (Graviton) Debian root file system, unpacked but not configured (debootstrap
 * --foreign), to run the worker's arm64 programs under qemu-user on this x86_64 machine: Perl's
 * base package is in it. Cached under .e2e/ (git-ignored), keyed by its inputs; built beside and
 * renamed into place, so a failed build leaves nothing half made. A fresh checkout pays ~1 min once.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { E2E_CACHE_DIR } from './base-image';

const DEBOOTSTRAP = { arch: 'arm64', suite: 'bookworm', variant: 'minbase', mirror: 'http://deb.debian.org/debian' };
export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static';

/** The root's path, made first when missing. */
export function arm64Root(): string {
  const key = createHash('sha256').update(JSON.stringify(DEBOOTSTRAP)).digest('hex').slice(0, 16);
  const root = path.join(E2E_CACHE_DIR, `arm64-root-${key}`);
  if (fs.existsSync(root)) return root;
  fs.mkdirSync(E2E_CACHE_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(E2E_CACHE_DIR, 'arm64-debootstrap-'));
  try {
    const { arch, suite, variant, mirror } = DEBOOTSTRAP;
    execFileSync('debootstrap', [`--arch=${arch}`, '--foreign', `--variant=${variant}`, suite, path.join(work, 'root'), mirror], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 600_000,
    });
    fs.rmSync(path.join(work, 'root', 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    fs.renameSync(path.join(work, 'root'), root);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return root;
}
