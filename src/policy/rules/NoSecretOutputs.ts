import { Finding, Json, ruleName, textOf } from '../module-json';

const RULE = ruleName(__filename);

/** References that read secret material: private keys, SSM parameter values, generated passwords. */
const SECRETS: [RegExp, string][] = [
  [/\btls_private_key\.[\w-]+(\[[^\]]*\])?\.private_key_\w+/, 'a private key'],
  [/\baws_ssm_parameter\.[\w-]+(\[[^\]]*\])?\.value\b/, "an SSM parameter's value"],
  [/\brandom_password\.[\w-]+(\[[^\]]*\])?\.(result|bcrypt_hash)\b/, 'a generated password'],
];

/** No output that is not marked sensitive references a private key, an SSM parameter's value or a generated password. */
export function NoSecretOutputs(module: Json): Finding[] {
  return Object.entries((module.output ?? {}) as Json).flatMap(([name, output]): Finding[] => {
    if ((output as Json).sensitive === true) return [];
    const value = textOf((output as Json).value);
    return SECRETS.filter(([reference]) => reference.test(value)).map(([, what]) => ({
      rule: RULE,
      address: `output.${name}`,
      message: `exposes ${what} in a non-sensitive output: output the public part only, or mark the output sensitive`,
    }));
  });
}
