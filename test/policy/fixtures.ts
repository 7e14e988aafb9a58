import { Testing } from 'cdktf';
import { SshBastionModuleStack, SshBastionServiceProps } from '../../src';
import { Json } from '../../src/policy';
import { synthBastion } from '../helpers/synth';

/** A stack configured as a careful CDKTF user would: literal values, nothing open to the world. */
export const LITERAL_PROPS: Partial<SshBastionServiceProps> = {
  allowedCidrBlocks: ['203.0.113.0/24', '2001:db8::/32'],
  hostAllowedCidrBlocks: ['198.51.100.7/32'],
  allowedIamGroups: ['ssh-users'],
  route53ZoneId: 'Z0123456789ABCDEFGHIJ',
  lbDeletionProtection: true,
  tags: { Team: 'platform' },
};

let cachedModule: Json | undefined;
let cachedStack: Json | undefined;

/** The registry module as synthesized; a fresh copy each time, safe to break. */
export function moduleJson(): Json {
  cachedModule ??= JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module'), true));
  return structuredClone(cachedModule!);
}

/** A CDKTF stack with LITERAL_PROPS; a fresh copy each time, safe to break. */
export function stackJson(): Json {
  cachedStack ??= synthBastion(LITERAL_PROPS);
  return structuredClone(cachedStack!);
}

/** The body of the first resource of `type`, to break in a copy. */
export function firstResource(json: Json, type: string): Json {
  const found = Object.values(json.resource?.[type] ?? {})[0];
  if (found === undefined) throw new Error(`no ${type} in the JSON`);
  return found as Json;
}
