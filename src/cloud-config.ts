import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { HostOs } from './props';

/** The set-up steps of a host, in the order the section runner runs them (docs/host-contract.md). */
export const USER_DATA_SECTIONS = ['host-keys', 'key-lookup', 'container-image', 'units'] as const;
export type UserDataSection = (typeof USER_DATA_SECTIONS)[number];

/**
 * The packages cloud-init installs, per host OS: Docker runs the session containers, boto3 serves
 * the boot's bundle download, the host key read and the key lookup daemon. Installed from the
 * AMI's own repositories (Amazon Linux 2023 is locked to its release's version), so no
 * `package_update`; on Debian and Ubuntu cloud-init refreshes the package lists before installing.
 */
export const HOST_PACKAGES: { readonly [O in HostOs]: readonly string[] } = {
  'amazon-linux-2023': ['docker', 'python3-boto3'],
  'debian-12': ['docker.io', 'python3-boto3'],
  'ubuntu-24.04': ['docker.io', 'python3-boto3'],
};

export interface CloudConfigInput {
  /** content of /etc/ssh-bastion/bastion.env */
  readonly environment: string;
  /** replacement script per section; '' or absent = the module's own */
  readonly sectionScripts?: { readonly [S in UserDataSection]?: string };
  /** script run after all sections, before the health check opens; '' = none */
  readonly extraScript?: string;
  /**
   * the packages to install, or one placeholder that Terraform replaces by a JSON list
   * @default - Amazon Linux 2023's
   */
  readonly packages?: readonly string[] | string;
  /**
   * directory holding `boot/` (the files the user data itself writes: the bootstrap)
   * @default - the package's `userdata` folder, found from this file in `src/` or compiled in `lib/src/` (`lib/cdktn/` for cdktn)
   */
  readonly userDataDir?: string;
}

/** Where the files of `userdata/worker/` go on the host; the worker image is built from there. */
export const WORKER_RECIPE_DIR = '/opt/ssh-bastion/worker';
export const ENVIRONMENT_FILE = '/etc/ssh-bastion/bastion.env';
export const CUSTOM_SCRIPT_DIR = '/etc/ssh-bastion/custom';
/** The user data's only command: fetches, checks and unpacks the host bundle, then runs the sections. */
export const BOOTSTRAP = '/usr/local/libexec/ssh-bastion/bootstrap';

interface WriteFile {
  readonly path: string;
  readonly owner: string;
  readonly permissions: string;
  readonly content: string;
}

/**
 * Renders the one `#cloud-config` document that configures a host: the settings, the user's
 * scripts, the packages and the bootstrap (`userdata/boot/`), which brings every other host file
 * from the bundle.
 *
 * Every input string becomes exactly one whole YAML scalar: callers may pass placeholders
 * (`__TF_0__`) that Terraform later replaces by JSON strings, which are valid YAML scalars.
 */
export function renderCloudConfig(input: CloudConfigInput): string {
  const userDataDir = input.userDataDir ?? packageUserDataDir();
  const bootDir = path.join(userDataDir, 'boot');
  const bootFiles = hostContentFiles(bootDir);
  if (!bootFiles.includes(BOOTSTRAP.slice(1))) {
    throw new Error(
      `${path.join(bootDir, BOOTSTRAP)} does not exist: userDataDir must be the folder holding the bootstrap (boot/), the host files (host/) and the worker recipe (worker/), such as the package's userdata folder.`,
    );
  }
  const files: WriteFile[] = [
    ...bootFiles.map((rel) => rootFile(`/${rel}`, '0755', fs.readFileSync(path.join(bootDir, rel), 'utf8'))),
    // The settings are no secret, and the key lookup daemon may run as an unprivileged user.
    rootFile(ENVIRONMENT_FILE, '0644', input.environment),
    ...USER_DATA_SECTIONS.map((section) => customScript(section, input.sectionScripts?.[section])),
    customScript('extra', input.extraScript),
  ];
  files.sort((a, b) => compareText(a.path, b.path));

  const document = {
    packages: typeof input.packages === 'string' ? input.packages : [...(input.packages ?? HOST_PACKAGES['amazon-linux-2023'])],
    package_update: false,
    runcmd: [[BOOTSTRAP]],
    write_files: files,
  };
  // YAML 1.1 is what cloud-init's PyYAML reads: strings such as `on` or `0644` get quoted.
  return `#cloud-config\n${stringify(document, { version: '1.1', lineWidth: 0, blockQuote: 'literal', indentSeq: false })}`;
}

/** `userdata/` at the package root: one level up from `src/`, two from the compiled `lib/src/` and `lib/cdktn/`. */
export function packageUserDataDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'userdata'), path.resolve(__dirname, '..', '..', 'userdata')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'host'))) ?? candidates[0];
}

/** A user's replacement script; written even when empty, so the runner can tell "none" by its size. */
function customScript(name: string, content: string | undefined): WriteFile {
  return rootFile(`${CUSTOM_SCRIPT_DIR}/${name}.sh`, '0700', content ?? '');
}

function rootFile(filePath: string, permissions: string, content: string): WriteFile {
  return { path: filePath, owner: 'root:root', permissions, content };
}

/**
 * The files below `dir` that go onto the host, as `/`-separated relative paths, sorted.
 * Markdown files document the tree and Python byte-code caches are build litter: neither is
 * host content (userdata/README.md).
 */
export function hostContentFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, relativeDir), { withFileTypes: true })) {
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== '__pycache__') walk(relative);
      } else if (entry.isFile()) {
        if (!entry.name.endsWith('.md')) found.push(relative);
      } else {
        throw new Error(
          `${path.join(dir, relative)} is neither a file nor a folder: only regular files can be written by cloud-init; replace it by a copy of its target.`,
        );
      }
    }
  };
  walk('');
  return found.sort(compareText);
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
