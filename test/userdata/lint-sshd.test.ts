// sshd -t on every sshd configuration under userdata/, each in a private mount namespace where
// /run/sshd and the host keys and commands the configuration names exist, without touching
// this machine's files.
import * as fs from 'fs';
import * as path from 'path';
import { repoPath, run, temporaryDir, userDataFiles, writeFile } from './userdata-tree';

/**
 * A drop-in is read through the host's main configuration. This stands in for Amazon Linux
 * 2023's /etc/ssh/sshd_config: drop-ins first (the first value of a keyword wins), then the
 * distribution's host key and sftp subsystem, which a drop-in must not define again.
 */
function mainConfigFor(dropIn: string): string {
  return `Include ${dropIn}\nHostKey /etc/ssh/ssh_host_ed25519_key\nSubsystem sftp /usr/libexec/openssh/sftp-server\n`;
}

const configs = userDataFiles().filter((f) => path.basename(f) === 'sshd_config' || path.basename(path.dirname(f)) === 'sshd_config.d');

/** Values of a keyword (case-insensitive, `Keyword value` or `Keyword=value`), in this file and the files it includes. */
function values(configText: string, keyword: string): string[] {
  const pattern = new RegExp(`^\\s*${keyword}(?:\\s*=\\s*|\\s+)(\\S+)`, 'gim');
  return [...configText.matchAll(pattern)].map((m) => m[1]);
}

function withIncludes(configText: string): string {
  return [configText, ...values(configText, 'Include').map((file) => fs.readFileSync(file, 'utf8'))].join('\n');
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script run under `unshare -m`: a fresh /run, copy-on-write overlays on the top folders
 * of the named paths, a real ED25519 key pair at every HostKey and a program at every command.
 */
function namespaceScript(configFile: string, scratchDir: string, hostKey: string): string {
  const text = withIncludes(fs.readFileSync(configFile, 'utf8'));
  const keys = values(text, 'HostKey');
  const commands = [...values(text, 'AuthorizedKeysCommand'), ...values(text, 'AuthorizedPrincipalsCommand')];
  const topFolders = [...new Set([...keys, ...commands].map((p) => `/${p.split('/')[1]}`))].filter((d) => d !== '/run');
  const lines = ['set -eu', 'mount -t tmpfs tmpfs /run', 'mkdir -m 755 /run/sshd'];
  for (const folder of topFolders) {
    const upper = path.join(scratchDir, 'upper', folder);
    const work = path.join(scratchDir, 'work', folder);
    lines.push(`mkdir -p ${shellQuote(upper)} ${shellQuote(work)}`);
    lines.push(`mount -t overlay overlay -o ${shellQuote(`lowerdir=${folder},upperdir=${upper},workdir=${work}`)} ${shellQuote(folder)}`);
  }
  for (const key of keys) {
    lines.push(`mkdir -p -m 755 ${shellQuote(path.dirname(key))}`, `install -m 600 ${shellQuote(hostKey)} ${shellQuote(key)}`);
    lines.push(`install -m 644 ${shellQuote(`${hostKey}.pub`)} ${shellQuote(`${key}.pub`)}`);
  }
  for (const command of commands) {
    // sshd refuses a command under a world-writable folder: these folders are 0755, root's
    lines.push(`mkdir -p -m 755 ${shellQuote(path.dirname(command))}`, `printf '#!/bin/sh\\n' > ${shellQuote(command)}`);
    lines.push(`chmod 755 ${shellQuote(command)}`);
  }
  lines.push(`exec /usr/sbin/sshd -t -f ${shellQuote(configFile)}`);
  return lines.join('\n');
}

function sshdTest(configFile: string, scratchDir: string, hostKey: string) {
  return run('unshare', ['-m', 'sh', '-c', namespaceScript(configFile, scratchDir, hostKey)]);
}

describe('sshd configurations', () => {
  let scratch: { dir: string; remove: () => void };
  let hostKey: string;

  beforeAll(() => {
    scratch = temporaryDir('sshd-t');
    hostKey = path.join(scratch.dir, 'ssh_host_ed25519_key');
    const keygen = run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sshd-t', '-f', hostKey]);
    if (keygen.status !== 0) throw new Error(keygen.output);
  });
  afterAll(() => scratch.remove());

  test("include the host's drop-in and the worker's sshd_config", () => {
    const names = configs.map(repoPath);
    expect(names.some((n) => n.startsWith('userdata/host/etc/ssh/sshd_config.d/'))).toBe(true);
    expect(names.some((n) => n.startsWith('userdata/worker/'))).toBe(true);
  });

  test.each(configs.map((f) => [repoPath(f), f]))('%s passes sshd -t', (name, file) => {
    let tested = file;
    if (path.basename(path.dirname(file)) === 'sshd_config.d') {
      tested = path.join(scratch.dir, name.replace(/\//g, '_'));
      writeFile(tested, mainConfigFor(file));
    }
    const result = sshdTest(tested, fs.mkdtempSync(path.join(scratch.dir, 'ns-')), hostKey);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('the check fails on a keyword sshd does not know', () => {
    // GIVEN
    const broken = path.join(scratch.dir, 'broken_sshd_config');
    writeFile(broken, 'HostKey /etc/ssh-bastion/test_host_key\nPermitRootLogn no\n');

    // WHEN
    const result = sshdTest(broken, fs.mkdtempSync(path.join(scratch.dir, 'ns-')), hostKey);

    // THEN
    expect(result.output).toContain('Bad configuration option: PermitRootLogn');
    expect(result.status).not.toBe(0);
  });

  test('the check gives sshd the host key and command a configuration names', () => {
    // GIVEN paths that exist nowhere on this machine
    const config = path.join(scratch.dir, 'paths_sshd_config');
    writeFile(
      config,
      'HostKey /etc/ssh-bastion/test_host_key\nAuthorizedKeysCommand /usr/local/libexec/ssh-bastion-test/keys %u\nAuthorizedKeysCommandUser nobody\n',
    );

    // WHEN
    const result = sshdTest(config, fs.mkdtempSync(path.join(scratch.dir, 'ns-')), hostKey);

    // THEN
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
    expect(fs.existsSync('/etc/ssh-bastion/test_host_key')).toBe(false);
  });
});
