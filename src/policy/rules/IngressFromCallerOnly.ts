import { blocksOf, Finding, isModule, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

const CIDR = /^[0-9a-fA-F:.]+\/[0-9]{1,3}$/;
const WORLD = new Set(['0.0.0.0/0', '::/0']);

/** The literal strings of an attribute: the value itself, or the quoted strings inside a Terraform expression. */
function literals(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(literals);
  if (typeof value !== 'string') return [];
  if (!value.includes('${')) return [value];
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]);
}

/** Where an ingress rule's CIDR blocks come from: its CIDR attributes, and the collection they iterate. */
function cidrSources(body: Json, attributes: string[]): unknown[] {
  const values = attributes.map((attribute) => body[attribute]).filter((value) => value !== undefined && value !== null);
  const iterated = values.some((value) => JSON.stringify(value).includes('each.'));
  return iterated ? [...values, body.for_each] : values;
}

/**
 * Ingress from CIDR blocks comes only from the caller: in the module every CIDR block of an
 * ingress rule is a variable's value, never a literal; in a stack a world-open literal
 * (0.0.0.0/0, ::/0) is reported, for the caller to confirm it is meant.
 */
export function IngressFromCallerOnly(module: Json): Finding[] {
  const moduleForm = isModule(module);
  const ingress: { address: string; sources: unknown[] }[] = [
    ...resourcesOf(module, 'aws_vpc_security_group_ingress_rule').map(({ address, body }) => ({
      address,
      sources: cidrSources(body, ['cidr_ipv4', 'cidr_ipv6']),
    })),
    ...resourcesOf(module, 'aws_security_group_rule')
      .filter(({ body }) => body.type === 'ingress')
      .map(({ address, body }) => ({ address, sources: cidrSources(body, ['cidr_blocks', 'ipv6_cidr_blocks']) })),
    ...resourcesOf(module, 'aws_security_group').map(({ address, body }) => ({
      address,
      sources: blocksOf(body.ingress).flatMap((rule) => cidrSources(rule, ['cidr_blocks', 'ipv6_cidr_blocks'])),
    })),
  ];
  return ingress.flatMap(({ address, sources }): Finding[] => {
    const cidrs = sources.flatMap(literals).filter((text) => CIDR.test(text));
    const world = cidrs.filter((cidr) => WORLD.has(cidr));
    if (world.length > 0) {
      return [
        {
          rule: RULE,
          address,
          message: `admits ${world.join(' and ')} from a literal: only the caller may open ingress to the internet, through allowed_cidr_blocks or host_allowed_cidr_blocks`,
        },
      ];
    }
    if (moduleForm && cidrs.length > 0) {
      return [
        {
          rule: RULE,
          address,
          message: `admits the literal CIDR blocks ${cidrs.join(', ')}: in the module, ingress CIDR blocks come only from variables`,
        },
      ];
    }
    return [];
  });
}
