import { isIPv4, isIPv6 } from 'net';
import { parse as parseYaml } from 'yaml';
import { HOST_PACKAGES } from './cloud-config';
import type { BastionConfig } from './config';
import type { Derivation, DerivationInputs } from './inputs';
import { SshBastionServiceProps } from './props';

// The building blocks of the input rules: patterns, and Terraform expressions with their
// JavaScript twins. The rules themselves are in the table of inputs (inputs.ts), each with its input.

export type Prop = keyof SshBastionServiceProps;

/**
 * What a rule sees of the other properties: every property with its default applied (the
 * construct's resolved configuration), plus `vpcName` as given (null when left out).
 */
export type ValidationInputs = BastionConfig & { readonly vpcName: string | null };

/**
 * One input rule, checked twice from the same definition: by the construct at synth time for
 * literal values (tokens are skipped), and by Terraform at plan time as the module variable's
 * `validation` block.
 */
export interface InputRule {
  /** The construct property it checks. */
  readonly prop: Prop;
  /** The Terraform condition, over `var.<variable>`; the variable is the snake_case of `prop`. */
  readonly condition: string;
  /** What is allowed and how to fix it, written for the user: "must be a TCP port between 1 and 65535". */
  readonly requirement: string;
  /**
   * The error message after the variable's name, as a Terraform template (Terraform >= 1.9 may
   * reference variables there): the requirement, the value given, the values of `uses`, and the
   * input's names in both worlds. The construct renders the same message from literal values.
   */
  readonly allowed: string;
  /** The same rule for a literal value; true when valid. */
  readonly check: (value: never, inputs: ValidationInputs) => boolean;
  /**
   * Other properties the rule compares with. A cross-property rule is checked on the values with
   * their defaults applied (as Terraform checks the variables with theirs), and skipped while any
   * of them is a token.
   */
  readonly uses?: Prop[];
}

/** snake_case name of the module variable of a construct property; digits stay with their word (route53ZoneId: route53_zone_id). */
export function variableName(prop: string): string {
  return prop.replace(/[A-Z]+/g, (match) => `_${match.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------------
// Patterns: each is written once and used twice, as a JavaScript RegExp and as the RE2 pattern
// of Terraform's regex(), so they keep to the syntax both share (no lookaround, no backreferences).

/** EC2 ids: a prefix and 8 (older resources) or 17 hexadecimal digits. */
export const ec2Id = (prefix: string) => `^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`;
export const VPC_ID = ec2Id('vpc');
export const SUBNET_ID = ec2Id('subnet');
export const SECURITY_GROUP_ID = ec2Id('sg');
export const AMI_ID = ec2Id('ami');
export const HOST_OPERATING_SYSTEMS = Object.keys(HOST_PACKAGES);
export const HOSTED_ZONE_ID = '^Z[A-Z0-9]{1,31}$';
export const BUCKET_NAME = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';
export const ROLE_ARN = '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]{1,576}$';
/**
 * IAM group names are 1-128 of `[\w+=,.@-]`; the comma is left out because bastion.env holds
 * the groups as one comma-separated list.
 */
export const IAM_GROUP = '^[\\w+=.@-]{1,128}$';
/** One lower-case DNS label: what environment, service and VPC names become part of. */
export const LOWER_LABEL = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
/** A name, used as the first part of load balancer and security group names: starts with a letter. */
export const NAME_PART = '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$';
/** A DNS name of labels of up to 63 letters, digits and hyphens, with an optional trailing dot. */
export const DNS_NAME = '^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.?$';
/** `family.size`: the family holds its generation digit (t4g, m7i-flex, u-6tb1), the size may hold hyphens (metal-24xl). */
export const INSTANCE_TYPE = '^[a-z][a-z-]*[0-9][a-z0-9-]*\\.[a-z0-9][a-z0-9-]*$';
/**
 * Graviton (arm64) instance types, a heuristic: the family's generation digits are followed by
 * `g` (t4g, m7g, c7gn, r8g, x2gd, im4gn, is4gen, g5g, hpc7g), and a1 is the first Graviton.
 * Intel and AMD families have a different letter or nothing there (t3, m7i, m7a, c6in, g5, u-6tb1).
 */
export const ARM64_INSTANCE_TYPE = '^(a1|[a-z-]*[0-9]+g[a-z0-9-]*)\\.';
/**
 * A docker image reference as docker's distribution/reference grammar defines it:
 * [registry[:port]/]path[:tag][@digest]. It cannot hold whitespace, quotes, `$` or backslashes.
 */
export const DOCKER_REFERENCE = (() => {
  const domainComponent = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `${domainComponent}(\\.${domainComponent})*(:[0-9]+)?`;
  const pathComponent = '[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*';
  const name = `(${domain}/)?${pathComponent}(/${pathComponent})*`;
  const tag = '[\\w][\\w.-]{0,127}';
  const digest = '[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
  return `^${name}(:${tag})?(@${digest})?$`;
})();
/** EC2 key pair names: up to 255 ASCII characters. */
export const KEY_PAIR_NAME = '^[ -~]{1,255}$';
/** A KMS key id (single- or multi-Region), key ARN, alias name or alias ARN. */
export const KMS_KEY = (() => {
  const keyId = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
  const alias = 'alias/[a-zA-Z0-9/_-]{1,250}';
  return `^(${keyId}|${alias}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(key/${keyId}|${alias}))$`;
})();

/**
 * A cron expression as Auto Scaling's scheduled actions take it: five fields (minute, hour, day of
 * the month, month, day of the week) of digits, `*`, `/`, `,` and `-`, month and weekday also of
 * names (JAN, MON-FRI), separated by single spaces. AWS checks the values' ranges at apply.
 */
export const CRON = '^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,-]+$';
/** An IANA time zone name: UTC, Etc/UTC, Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5. */
export const TIME_ZONE = '^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+){1,2})$';
/** A scheduled action's name as the module accepts it. */
export const SCHEDULE_NAME = '^[A-Za-z0-9._-]{1,200}$';
/** AWS's bounds of max_instance_lifetime (0: none). */
export const LIFETIME_MIN = 86400;
export const LIFETIME_MAX = 31536000;
/** A KMS key ARN (single- or multi-Region key), as CloudWatch Logs takes it: no alias. */
export const KMS_KEY_ARN =
  '^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$';
/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy), and 0: never expire. */
export const LOG_RETENTION_DAYS = [
  0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * Derived names and their limits. The binding one is the generated DNS label
 * `<environment>-<region>-<vpc label>-<service>` (63 characters): with the longest region
 * names (ap-southeast-2, ap-northeast-3: 14 characters) and its three hyphens, environment,
 * VPC label and service share 63 - 14 - 3 = 46 characters (47 without a VPC label, one hyphen
 * fewer). The default VPC label is the VPC id (21 characters), which leaves 25 for
 * environment and service. The other derived names are safe by construction: the load
 * balancer and target group names cut `<environment>-<service>` to 25 and 23 characters, the
 * IAM name prefix to 38, host names cut their prefix to 50, and the SSM parameter
 * `/<environment>/<vpc label>/<service>/ssh-host-ed25519-key` stays far below 2048.
 */
export const LONGEST_REGION = 14;
export const DNS_LABEL_MAX = 63;
export const NAME_BUDGET = DNS_LABEL_MAX - LONGEST_REGION - 3;
/** The generated DNS name is that label, a dot and the domain, within DNS's 253 characters. */
export const DNS_NAME_MAX = 253;
export const DNS_DOMAIN_MAX = DNS_NAME_MAX - DNS_LABEL_MAX - 1;

// ---------------------------------------------------------------------------------------------
// Terraform expressions and their JavaScript twins.

export const v = (prop: Prop) => `var.${variableName(prop)}`;

/** A variable as the module uses it: where it is null, its default by the input's derivation in the table of inputs. */
export function withDefault(prop: Prop, derive: Derivation): string {
  const variables = new Proxy({}, { get: (_, name) => v(name as Prop) }) as DerivationInputs;
  const derived = String(derive.from(variables));
  switch (derive.inTerraform) {
    case 'coalesce':
      return `coalesce(${v(prop)}, ${derived})`;
    case 'coalescelist':
      return `coalescelist(${v(prop)}, ${derived})`;
    case 'null-check':
      return `(${v(prop)} == null ? ${derived} : ${v(prop)})`;
  }
}
export const hcl = (text: string) => JSON.stringify(text);
export const matches = (pattern: string, expression: string) => `can(regex(${hcl(pattern)}, ${expression}))`;
export const allMatch = (pattern: string, list: string) => `alltrue([for item in ${list} : ${matches(pattern, 'item')}])`;
export const isInteger = (expression: string) => `floor(${expression}) == ${expression}`;
export const integerBetween = (expression: string, min: number, max?: number) =>
  `${isInteger(expression)} && ${expression} >= ${min}${max === undefined ? '' : ` && ${expression} <= ${max}`}`;
/** `when` evaluated only for a non-null value: Terraform's || evaluates both sides. */
export const nullOr = (expression: string, when: string) => `${expression} == null ? true : (${when})`;

export const matching = (pattern: string) => {
  const regex = new RegExp(pattern);
  return (value: string) => typeof value === 'string' && regex.test(value);
};
/** Length in characters, as Terraform's length() counts them. */
export const length = (value: string) => [...value].length;
export const integerIn = (value: number, min: number, max = Infinity) => Number.isInteger(value) && value >= min && value <= max;
/** An address as a number: IPv4 in 32 bits, IPv6 in 128 ("::" expanded). */
export const addressBits = (address: string): bigint => {
  if (isIPv4(address)) return address.split('.').reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(missing).fill('0'), ...groups(tail)];
  return all.reduce((bits, group) => (bits << 16n) | BigInt(parseInt(group, 16)), 0n);
};
/** A network address with its prefix length, as AWS security group rules take them: no host bits set. */
export const isCidr = (value: string) => {
  const [address, prefix, ...rest] = typeof value === 'string' ? value.split('/') : [];
  if (rest.length > 0 || prefix === undefined || !/^[0-9]{1,3}$/.test(prefix)) return false;
  const width = isIPv4(address) ? 32 : isIPv6(address) && !address.includes('.') ? 128 : 0;
  if (width === 0 || Number(prefix) > width) return false;
  const hostBits = BigInt(width - Number(prefix));
  return (addressBits(address) & ((1n << hostBits) - 1n)) === 0n;
};
export const cidrList = (prop: Prop): RuleDefinition => ({
  prop,
  // The network address equals the address given: no host bits set (AWS refuses them).
  condition: `alltrue([for cidr in ${v(prop)} : try(cidrhost(cidr, 0) == cidrhost(format("%s/%d", split("/", cidr)[0], strcontains(cidr, ":") ? 128 : 32), 0), false)])`,
  requirement:
    'must be a list of IPv4 or IPv6 CIDR blocks like "203.0.113.0/24" or "2001:db8::/32": a network address (no host bits set: 10.0.0.0/8, not 10.0.0.1/8), a slash and a prefix length (up to 32 for IPv4, 128 for IPv6)',
  check: (value: string[]) => value.every(isCidr),
});
export const idList = (prop: Prop, pattern: string, what: string, nonEmpty: boolean): RuleDefinition => ({
  prop,
  condition: nonEmpty ? `length(${v(prop)}) > 0 && ${allMatch(pattern, v(prop))}` : allMatch(pattern, v(prop)),
  requirement: `must be a ${nonEmpty ? 'non-empty ' : ''}list of ${what}`,
  check: (value: string[]) => (!nonEmpty || value.length > 0) && value.every(matching(pattern)),
});
export const emptyOr = (prop: Prop, pattern: string, what: string): RuleDefinition => ({
  prop,
  condition: `${v(prop)} == "" || ${matches(pattern, v(prop))}`,
  requirement: `must be "" or ${what}`,
  check: (value: string) => value === '' || matching(pattern)(value),
});
export const dnsName = (prop: Prop, max: number, why: string): RuleDefinition => ({
  prop,
  condition: `${v(prop)} == "" || (${matches(DNS_NAME, v(prop))} && length(trimsuffix(${v(prop)}, ".")) <= ${max})`,
  requirement: `must be "" or a DNS name of at most ${max} characters${why}, made of dot-separated labels of 1 to 63 letters, digits and hyphens that neither start nor end with a hyphen`,
  check: (value: string) => value === '' || (matching(DNS_NAME)(value) && length(value.replace(/\.$/, '')) <= max),
});
export const needsZone = (prop: Prop): RuleDefinition => ({
  prop,
  uses: ['route53ZoneId'],
  condition: `${v(prop)} == "" || var.route53_zone_id != ""`,
  requirement:
    'must be "" when route53_zone_id (route53ZoneId) is "": without a hosted zone no DNS record is made; set route53_zone_id or leave this out',
  check: (value: string, inputs) => value === '' || inputs.route53ZoneId !== '',
});
export const integerRule = (prop: Prop, min: number, max: number | undefined, requirement: string): RuleDefinition => ({
  prop,
  condition: integerBetween(v(prop), min, max),
  requirement,
  check: (value: number) => integerIn(value, min, max),
});

/** A rule as the table of inputs holds it; validation.ts adds the message Terraform shows. */
export type RuleDefinition = Omit<InputRule, 'allowed'>;

/** YAML text whose single document is a mapping, as Terraform's yamldecode reads it. */
export function isYamlMapping(text: string): boolean {
  try {
    const value = parseYaml(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

// bastion.env (KEY=VALUE, read by bash, systemd and a plain parser) must never receive
// whitespace, quotes, `$`, backslashes or newlines. Its values come from the numbers above and
// from environmentName, serviceName and vpcName (label patterns), allowedIamGroups (IAM_GROUP),
// assumeRoleArn (ROLE_ARN), logKmsKeyArn (KMS_KEY_ARN, not in bastion.env) and the two images (DOCKER_REFERENCE): none of them admits those.
