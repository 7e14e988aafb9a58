import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'fflate';
import { createTar } from 'nanotar';
import { compareText, hostContentFiles, packageUserDataDir, WORKER_RECIPE_DIR } from './cloud-config';

/** File name of the host bundle, in the registry module beside its `.tf.json` files. */
export const BUNDLE_FILE_NAME = 'ssh-bastion-host.tar.gz';

/** One file of the bundle: where it lands on the host (relative to `/`) and its mode. */
export interface BundleEntry {
  readonly path: string;
  readonly mode: number;
  readonly size: number;
}

/** The host runtime as one archive: the same bytes from the same files, on every machine. */
export interface HostBundle {
  /** the gzipped tar archive */
  readonly bytes: Buffer;
  /** lower-case hex SHA-256 of `bytes` */
  readonly sha256: string;
  /** the archive's files, in archive order */
  readonly entries: BundleEntry[];
}

/** ustar names are at most 100 bytes; nanotar would cut a longer one silently. */
const MAX_NAME_BYTES = 100;

/**
 * Files under `bin/` or `libexec/` folders are programs, except shell libraries there (`*.sh`,
 * such as `lib.sh`), which scripts source and nothing runs (docs/host-contract.md).
 */
export function isExecutableLocation(relativePath: string): boolean {
  if (relativePath.endsWith('.sh')) return false;
  return relativePath
    .split('/')
    .slice(0, -1)
    .some((folder) => folder === 'bin' || folder === 'libexec');
}

/**
 * Packs `userdata/host/` (each file at its host path) and `userdata/worker/` (below
 * /opt/ssh-bastion/worker, the worker image's build context) into one tar.gz: entries sorted by
 * host path, owner root:root (0:0), modification time 0, mode 0755 for programs and 0644 for the
 * rest, gzip without a name or time stamp. Files ship exactly as they are in the repository.
 */
export function buildHostBundle(userDataDir: string = packageUserDataDir()): HostBundle {
  const hostDir = path.join(userDataDir, 'host');
  const workerDir = path.join(userDataDir, 'worker');
  const files = [
    ...hostContentFiles(hostDir).map((rel) => ({
      path: rel,
      source: path.join(hostDir, rel),
      mode: isExecutableLocation(rel) ? 0o755 : 0o644,
    })),
    ...hostContentFiles(workerDir).map((rel) => ({
      path: `${WORKER_RECIPE_DIR.slice(1)}/${rel}`,
      source: path.join(workerDir, rel),
      mode: 0o644,
    })),
  ].sort((a, b) => compareText(a.path, b.path));
  if (files.length === 0) {
    throw new Error(
      `${userDataDir} holds no host files: it must be the folder holding host/ and worker/, such as the package's userdata folder.`,
    );
  }
  const items = files.map((file) => {
    if (Buffer.byteLength(file.path) > MAX_NAME_BYTES) {
      throw new Error(
        `${file.source}: its host path ${file.path} is longer than ${MAX_NAME_BYTES} bytes, which a tar archive cannot hold; shorten it.`,
      );
    }
    const data = fs.readFileSync(file.source);
    return { name: file.path, data, attrs: { mode: file.mode.toString(8), uid: 0, gid: 0, user: 'root', group: 'root', mtime: 0 } };
  });
  const tar = withEndOfArchive(createTar(items));
  const bytes = Buffer.from(gzipSync(tar, { level: 9, mtime: 0 }));
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    entries: files.map((file, index) => ({ path: file.path, mode: file.mode, size: items[index].data.length })),
  };
}

/** A tar archive ends with two zero blocks; nanotar pads to 10 KiB records, which may leave none. */
function withEndOfArchive(tar: Uint8Array): Uint8Array {
  let zeros = 0;
  while (zeros < 1024 && zeros < tar.length && tar[tar.length - 1 - zeros] === 0) zeros++;
  if (zeros >= 1024) return tar;
  const padded = new Uint8Array(tar.length + 10240);
  padded.set(tar);
  return padded;
}

/**
 * Writes the bundle to `<dir>/ssh-bastion-host.tar.gz` (default: a folder of the system's temporary
 * directory named after its hash, so repeated synths reuse it) and returns the file's path.
 */
export function writeHostBundle(bundle: HostBundle, dir?: string): string {
  const target = dir ?? path.join(os.tmpdir(), `ssh-bastion-host-${bundle.sha256}`);
  const file = path.join(target, BUNDLE_FILE_NAME);
  if (fs.existsSync(file) && createHash('sha256').update(fs.readFileSync(file)).digest('hex') === bundle.sha256) return file;
  fs.mkdirSync(target, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, bundle.bytes);
  fs.renameSync(partial, file);
  return file;
}
