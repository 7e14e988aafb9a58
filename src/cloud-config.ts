import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';

/** The set-up steps of a host, in the order the section runner runs them (docs/host-contract.md). */
export const USER_DATA_SECTIONS = ['host-keys', 'key-lookup', 'container-image', 'units'] as const;
export type UserDataSection = (typeof USER_DATA_SECTIONS)[number];

export interface CloudConfigInput {
  /** content of /etc/ssh-bastion/bastion.env */
  readonly environment: string;
  /** replacement script per section; '' or absent = the module's own */
  readonly sectionScripts?: { readonly [S in UserDataSection]?: string };
  /** script run after all sections, before the health check opens; '' = none */
  readonly extraScript?: string;
  /**
   * directory holding `host/` and `worker/`
   * @default - the package's `userdata` folder, found from this file in `src/` or compiled in `lib/src/`
   */
  readonly userDataDir?: string;
}

/** Where the files of `userdata/worker/` go on the host; the worker image is built from there. */
export const WORKER_RECIPE_DIR = '/opt/ssh-bastion/worker';
export const ENVIRONMENT_FILE = '/etc/ssh-bastion/bastion.env';
export const CUSTOM_SCRIPT_DIR = '/etc/ssh-bastion/custom';
export const SECTION_RUNNER = '/usr/local/libexec/ssh-bastion/run-sections';

/**
 * Amazon Linux 2023 package names: Docker runs the session containers, boto3 serves the key
 * lookup daemon. Installed from the AMI's locked repository version, so no `package_update`.
 */
export const HOST_PACKAGES = ['docker', 'python3-boto3'] as const;

interface WriteFile {
  readonly path: string;
  readonly owner: string;
  readonly permissions: string;
  readonly content: string;
}

/**
 * Renders the one `#cloud-config` document that configures a host.
 *
 * Every input string becomes exactly one whole YAML scalar: callers may pass placeholders
 * (`__TF_0__`) that Terraform later replaces by JSON strings, which are valid YAML scalars.
 */
export function renderCloudConfig(input: CloudConfigInput): string {
  const userDataDir = input.userDataDir ?? packageUserDataDir();
  const hostFiles = hostContentFiles(path.join(userDataDir, 'host'));
  if (!hostFiles.includes(SECTION_RUNNER.slice(1))) {
    throw new Error(
      `${path.join(userDataDir, 'host', SECTION_RUNNER)} does not exist: userDataDir must be the folder holding the host files (host/) and the worker recipe (worker/), such as the package's userdata folder.`,
    );
  }
  const files: WriteFile[] = [
    ...hostFiles.map((rel) =>
      rootFile(`/${rel}`, isExecutableLocation(rel) ? '0755' : '0644', fileContent(path.join(userDataDir, 'host'), rel)),
    ),
    ...hostContentFiles(path.join(userDataDir, 'worker')).map((rel) =>
      rootFile(`${WORKER_RECIPE_DIR}/${rel}`, '0644', fileContent(path.join(userDataDir, 'worker'), rel)),
    ),
    // The settings are no secret, and the key lookup daemon may run as an unprivileged user.
    rootFile(ENVIRONMENT_FILE, '0644', input.environment),
    ...USER_DATA_SECTIONS.map((section) => customScript(section, input.sectionScripts?.[section])),
    customScript('extra', input.extraScript),
  ];
  files.sort((a, b) => compareText(a.path, b.path));

  const document = {
    packages: [...HOST_PACKAGES],
    package_update: false,
    runcmd: [[SECTION_RUNNER]],
    write_files: files,
  };
  // YAML 1.1 is what cloud-init's PyYAML reads: strings such as `on` or `0644` get quoted.
  return `#cloud-config\n${stringify(document, { version: '1.1', lineWidth: 0, blockQuote: 'literal', indentSeq: false })}`;
}

/** `userdata/` at the package root: one level up from `src/`, two from the compiled `lib/src/`. */
function packageUserDataDir(): string {
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

/** Files under `bin/` or `libexec/` folders are programs (docs/host-contract.md). */
function isExecutableLocation(relativePath: string): boolean {
  return relativePath.split('/').slice(0, -1).some((folder) => folder === 'bin' || folder === 'libexec');
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

/** A file as it ships: shortened where `#` starts a comment, else exactly as it is. */
function fileContent(dir: string, relativePath: string): string {
  const text = fs.readFileSync(path.join(dir, relativePath), 'utf8');
  return hasHashComments(relativePath, text) ? shippedText(text) : text;
}

/** Programs with a `#!` line, systemd units, sshd configurations and Dockerfiles; not texts such as the motd. */
function hasHashComments(relativePath: string, text: string): boolean {
  return text.startsWith('#!') || /(\.(sh|py|service|socket|timer|path|target|mount|conf)|(^|\/)(sshd_config|Dockerfile))$/.test(relativePath);
}

/**
 * The form a file ships in: without full-line comments, docstrings and blank lines.
 * EC2 accepts at most 16 KiB of (gzipped) user data; the documented originals stay in userdata/.
 * Kept: the `#!` line and every line of code (shellcheck directives are for the linter, which
 * reads the originals).
 */
export function shippedText(text: string): string {
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const isPython = /^#!.*python/.test(text);
  const code = (isPython ? withoutBlockDocstrings(text.split('\n')) : text.split('\n')).filter((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '') return false;
    if (index === 0 && line.startsWith('#!')) return true;
    return !trimmed.startsWith('#');
  });
  // A one-line docstring goes only where the next line keeps its indentation (the block stays non-empty).
  const lines = code.filter((line, index) => {
    const isDocstring = /^("""|''').+("""|''')$/.test(line.trim()) && line.trim().length >= 6;
    return !isDocstring || index + 1 >= code.length || indentOf(code[index + 1]) !== indentOf(line);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Python without its multi-line docstrings: a line that opens a triple-quoted string it does not
 * close, up to the line that closes it, when the next code line keeps its indentation (so no
 * block is left empty). Values such as `x = """..."""` do not start a line and stay.
 */
function withoutBlockDocstrings(lines: string[]): string[] {
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const trimmed = lines[index].trim();
    const quote = trimmed.startsWith('"""') ? '"""' : trimmed.startsWith("'''") ? "'''" : undefined;
    if (quote === undefined || (trimmed.length >= 6 && trimmed.endsWith(quote))) {
      kept.push(lines[index]);
      continue;
    }
    let end = index + 1;
    while (end < lines.length && !lines[end].includes(quote)) end++;
    let next = end + 1;
    while (next < lines.length && (lines[next].trim() === '' || lines[next].trim().startsWith('#'))) next++;
    // A docstring statement ends with the quotes themselves, not with `""",` inside a call.
    const closesStatement = end < lines.length && lines[end].trimEnd().endsWith(quote);
    if (closesStatement && next < lines.length && indentOf(lines[next]) === indentOf(lines[index])) {
      index = end;
    } else {
      kept.push(lines[index]);
    }
  }
  return kept;
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
