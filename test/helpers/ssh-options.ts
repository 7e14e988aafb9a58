/**
 * The ssh client's options of a login in the tests: one key and no other identity, no prompt,
 * errors only; the host key checked against `knownHosts`, or not checked when it is left out.
 */
export function sshOptions(options: { key: string; port: number | string; knownHosts?: string; connectTimeoutS?: number }): string[] {
  return [
    '-i',
    options.key,
    '-p',
    String(options.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `ConnectTimeout=${options.connectTimeoutS ?? 20}`,
    '-o',
    'LogLevel=ERROR',
    ...(options.knownHosts
      ? ['-o', `UserKnownHostsFile=${options.knownHosts}`, '-o', 'StrictHostKeyChecking=yes']
      : ['-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no']),
  ];
}

/** A word for a POSIX shell command line: single-quoted, with its own single quotes escaped. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `ssh` as one shell command line: `options` first, then the shared ones, `user@127.0.0.1` and `command` if any. */
export function sshCommandLine(login: { key: string; port: number; user: string }, options: string[], command?: string): string {
  return [
    'ssh',
    ...options,
    ...sshOptions({ key: login.key, port: login.port }),
    `${login.user}@127.0.0.1`,
    ...(command !== undefined ? [command] : []),
  ]
    .map(shellQuote)
    .join(' ');
}
