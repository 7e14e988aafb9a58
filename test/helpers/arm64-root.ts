/**
 * An arm64 (Graviton) Debian root file system, unpacked but not configured (debootstrap
 * --foreign), to run the worker's arm64 programs under qemu-user on this x86_64 machine: Perl's
 * base package is in it. Cached under .e2e/ by test/helpers/debootstrap.ts, keyed by its inputs.
 * A fresh checkout pays ~1 min once.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildOnce, debootstrap, DEBIAN_MIRROR, E2E_CACHE_DIR } from './debootstrap';

const DEBOOTSTRAP = { arch: 'arm64', suite: 'bookworm', variant: 'minbase', mirror: DEBIAN_MIRROR };
export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static';

/** The root's path, made first when missing. */
export function arm64Root(): string {
  const key = createHash('sha256').update(JSON.stringify(DEBOOTSTRAP)).digest('hex').slice(0, 16);
  return buildOnce(path.join(E2E_CACHE_DIR, `arm64-root-${key}`), (building) => {
    const { arch, ...rest } = DEBOOTSTRAP;
    debootstrap(building, { ...rest, foreignArch: arch }, 600_000);
    fs.rmSync(path.join(building, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  });
}
