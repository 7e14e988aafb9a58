import { Finding, Json, PolicyRule } from './module-json';
import { EbsEncrypted } from './rules/EbsEncrypted';
import { HostKeySecureString } from './rules/HostKeySecureString';
import { IamNoWildcards } from './rules/IamNoWildcards';
import { IngressFromCallerOnly } from './rules/IngressFromCallerOnly';
import { LaunchTemplateImdsv2 } from './rules/LaunchTemplateImdsv2';
import { LbDeletionProtectionOption } from './rules/LbDeletionProtectionOption';
import { NoSecretOutputs } from './rules/NoSecretOutputs';
import { TaggedResources } from './rules/TaggedResources';

export type { Finding, Json, PolicyRule } from './module-json';

/** Every policy rule, by name (its file's name). */
export const POLICY_RULES: { readonly [name: string]: PolicyRule } = {
  EbsEncrypted,
  HostKeySecureString,
  IamNoWildcards,
  IngressFromCallerOnly,
  LaunchTemplateImdsv2,
  LbDeletionProtectionOption,
  NoSecretOutputs,
  TaggedResources,
};

/**
 * The findings of every rule of POLICY_RULES on a synthesized stack or the registry module
 * (`JSON.parse(Testing.synth(stack))`, or the module's merged .tf.json files); none means the stack
 * keeps to the bastion's security rules. Run it in your tests to check what your stack adds around
 * the construct (escape hatches, overrides, aspects).
 */
export function checkPolicy(module: Json): Finding[] {
  return Object.values(POLICY_RULES).flatMap((rule) => rule(module));
}
