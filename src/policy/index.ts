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

/** The findings of every rule on a synthesized module or stack. */
export function checkPolicy(module: Json): Finding[] {
  return Object.values(POLICY_RULES).flatMap((rule) => rule(module));
}
