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
