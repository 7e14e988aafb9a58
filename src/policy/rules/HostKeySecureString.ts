import { Finding, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

/** SSM parameters the module writes (the stable host key) are SecureString, encrypted with KMS and hidden from plain reads. */
export function HostKeySecureString(module: Json): Finding[] {
  return resourcesOf(module, 'aws_ssm_parameter')
    .filter(({ body }) => body.type !== 'SecureString')
    .map(({ address, body }) => ({
      rule: RULE,
      address,
      message: `is of type ${JSON.stringify(body.type)}: set type = "SecureString", the host's private key must not be readable with a plain GetParameter`,
    }));
}
