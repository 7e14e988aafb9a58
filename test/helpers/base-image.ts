/**
 * The local base image the e2e tests build the worker image on: Debian bookworm minbase with
 * openssh-server and sudo, made with debootstrap (no registry is reachable) and cached as a tar
 * under .e2e/ (git-ignored), keyed by a hash of the inputs. A fresh checkout pays ~40 s once.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const E2E_CACHE_DIR = path.resolve(__dirname, '..', '..', '.e2e');

const DEBOOTSTRAP = {
  suite: 'bookworm',
  variant: 'minbase',
  include: ['openssh-server', 'sudo'],
  mirror: 'http://deb.debian.org/debian',
};

/** Path of the cached root file system tar, made first when missing. */
export function baseImageTar(): { tar: string; key: string } {
  const key = createHash('sha256').update(JSON.stringify(DEBOOTSTRAP)).digest('hex').slice(0, 16);
  const tar = path.join(E2E_CACHE_DIR, `base-${key}.tar`);
  if (fs.existsSync(tar)) return { tar, key };
  fs.mkdirSync(E2E_CACHE_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(E2E_CACHE_DIR, 'debootstrap-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    execFileSync(
      'debootstrap',
      [`--variant=${DEBOOTSTRAP.variant}`, `--include=${DEBOOTSTRAP.include.join(',')}`, DEBOOTSTRAP.suite, rootfs, DEBOOTSTRAP.mirror],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 },
    );
    execFileSync('tar', ['-C', rootfs, '-cf', path.join(work, 'base.tar'), '.'], { timeout: 120_000 });
    fs.renameSync(path.join(work, 'base.tar'), tar);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { tar, key };
}
