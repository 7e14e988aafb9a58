import { Finding, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

/** What makes a parameter the host key's: its name, or a value from a private key. */
function holdsHostKey(body: Json): boolean {
  return JSON.stringify(body.name ?? '').includes('ssh-host-ed25519-key') || JSON.stringify(body.value ?? '').includes('tls_private_key');
}

/**
 * The SSM parameter of the stable host key is SecureString, encrypted with KMS and hidden from
 * plain reads. (The module's other parameter, the group's name, is no secret.)
 */
export function HostKeySecureString(module: Json): Finding[] {
  return resourcesOf(module, 'aws_ssm_parameter')
    .filter(({ body }) => holdsHostKey(body) && body.type !== 'SecureString')
    .map(({ address, body }) => ({
      rule: RULE,
      address,
      message: `is of type ${JSON.stringify(body.type)}: set type = "SecureString", the host's private key must not be readable with a plain GetParameter`,
    }));
}
