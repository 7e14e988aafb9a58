import { Fn, Token } from 'cdktf';
import { BastionConfig } from './config';
import { choose, equals, isExpression, nonEmpty, numberText } from './conditional';

export interface ConnectionDetails {
  readonly endpoint: string;
  readonly knownHosts: string;
  readonly sshConfig: string;
}

/** How users connect: the name to use, a known_hosts line, an ssh_config block. */
export function connectionDetails(config: BastionConfig, dnsName: string, lbDnsName: string, hostPublicKey: string): ConnectionDetails {
  const endpoint = dnsName === '' ? lbDnsName : Token.asString(choose(nonEmpty(dnsName), dnsName, lbDnsName));
  const port = config.servicePort;
  // known_hosts writes a non-default port as [name]:port.
  const hostPattern = (name: string) =>
    Token.asString(choose(equals(port, 22), name, isExpression(port) ? Fn.format('[%s]:%s', [name, port]) : `[${name}]:${port}`));
  const names =
    dnsName === ''
      ? hostPattern(lbDnsName)
      : Fn.join(',', Fn.compact([Token.asString(choose(nonEmpty(dnsName), hostPattern(dnsName), '')), hostPattern(lbDnsName)]));
  const knownHosts =
    hostPublicKey === '' ? '' : Token.asString(choose(nonEmpty(hostPublicKey), `${names} ${Fn.trimspace(hostPublicKey)}`, ''));
  const sshConfig = [
    `Host ${endpoint}`,
    `  HostName ${endpoint}`,
    `  Port ${numberText(port)}`,
    '  # your IAM user name, with + = , @ written as plus equal comma at',
    '  # User alice',
    '  ServerAliveInterval 60',
    '',
  ].join('\n');
  return { endpoint, knownHosts, sshConfig };
}
