/**
 * The local base image the e2e tests build the worker image on: Debian bookworm minbase with
 * openssh-server and sudo, made with debootstrap (no registry is reachable) and cached as a tar
 * under .e2e/ (test/helpers/debootstrap.ts), keyed by a hash of the inputs. A fresh checkout pays
 * ~40 s once.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildOnce, debootstrap, DEBIAN_MIRROR, E2E_CACHE_DIR } from './debootstrap';

const DEBOOTSTRAP = {
  suite: 'bookworm',
  variant: 'minbase',
  include: ['openssh-server', 'sudo'],
  mirror: DEBIAN_MIRROR,
};

/** Path of the cached root file system tar, made first when missing. */
export function baseImageTar(): { tar: string; key: string } {
  const key = createHash('sha256').update(JSON.stringify(DEBOOTSTRAP)).digest('hex').slice(0, 16);
  const tar = buildOnce(path.join(E2E_CACHE_DIR, `base-${key}.tar`), (building) => {
    const rootfs = `${building}.rootfs`;
    try {
      debootstrap(rootfs, DEBOOTSTRAP, 300_000);
      execFileSync('tar', ['-C', rootfs, '-cf', building, '.'], { timeout: 120_000 });
    } finally {
      fs.rmSync(rootfs, { recursive: true, force: true });
    }
  });
  return { tar, key };
}
