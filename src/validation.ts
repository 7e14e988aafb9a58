import { isIPv4, isIPv6 } from 'net';
import { Token } from 'cdktf';
import { parse as parseYaml } from 'yaml';
import { HOST_PACKAGES } from './cloud-config';
import { ADMIN_PORT, BastionConfig, resolveConfig } from './config';
import { BastionSchedule, SshBastionServiceProps } from './props';

type Prop = keyof SshBastionServiceProps;

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
const ec2Id = (prefix: string) => `^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`;
const VPC_ID = ec2Id('vpc');
const SUBNET_ID = ec2Id('subnet');
const SECURITY_GROUP_ID = ec2Id('sg');
const AMI_ID = ec2Id('ami');
const HOST_OPERATING_SYSTEMS = Object.keys(HOST_PACKAGES);
const HOSTED_ZONE_ID = '^Z[A-Z0-9]{1,31}$';
const BUCKET_NAME = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';
const ROLE_ARN = '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]{1,576}$';
/**
 * IAM group names are 1-128 of `[\w+=,.@-]`; the comma is left out because bastion.env holds
 * the groups as one comma-separated list.
 */
const IAM_GROUP = '^[\\w+=.@-]{1,128}$';
/** One lower-case DNS label: what environment, service and VPC names become part of. */
const LOWER_LABEL = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
/** A name, used as the first part of load balancer and security group names: starts with a letter. */
const NAME_PART = '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$';
/** A DNS name of labels of up to 63 letters, digits and hyphens, with an optional trailing dot. */
const DNS_NAME = '^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.?$';
/** `family.size`: the family holds its generation digit (t4g, m7i-flex, u-6tb1), the size may hold hyphens (metal-24xl). */
const INSTANCE_TYPE = '^[a-z][a-z-]*[0-9][a-z0-9-]*\\.[a-z0-9][a-z0-9-]*$';
/**
 * Graviton (arm64) instance types, a heuristic: the family's generation digits are followed by
 * `g` (t4g, m7g, c7gn, r8g, x2gd, im4gn, is4gen, g5g, hpc7g), and a1 is the first Graviton.
 * Intel and AMD families have a different letter or nothing there (t3, m7i, m7a, c6in, g5, u-6tb1).
 */
const ARM64_INSTANCE_TYPE = '^(a1|[a-z-]*[0-9]+g[a-z0-9-]*)\\.';
/**
 * A docker image reference as docker's distribution/reference grammar defines it:
 * [registry[:port]/]path[:tag][@digest]. It cannot hold whitespace, quotes, `$` or backslashes.
 */
const DOCKER_REFERENCE = (() => {
  const domainComponent = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `${domainComponent}(\\.${domainComponent})*(:[0-9]+)?`;
  const pathComponent = '[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*';
  const name = `(${domain}/)?${pathComponent}(/${pathComponent})*`;
  const tag = '[\\w][\\w.-]{0,127}';
  const digest = '[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
  return `^${name}(:${tag})?(@${digest})?$`;
})();
/** EC2 key pair names: up to 255 ASCII characters. */
const KEY_PAIR_NAME = '^[ -~]{1,255}$';
/** A KMS key id (single- or multi-Region), key ARN, alias name or alias ARN. */
const KMS_KEY = (() => {
  const keyId = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
  const alias = 'alias/[a-zA-Z0-9/_-]{1,250}';
  return `^(${keyId}|${alias}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(key/${keyId}|${alias}))$`;
})();

/**
 * A cron expression as Auto Scaling's scheduled actions take it: five fields (minute, hour, day of
 * the month, month, day of the week) of digits, `*`, `/`, `,` and `-`, month and weekday also of
 * names (JAN, MON-FRI), separated by single spaces. AWS checks the values' ranges at apply.
 */
const CRON = '^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,-]+$';
/** An IANA time zone name: UTC, Etc/UTC, Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5. */
const TIME_ZONE = '^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+){1,2})$';
/** A scheduled action's name as the module accepts it. */
const SCHEDULE_NAME = '^[A-Za-z0-9._-]{1,200}$';
/** AWS's bounds of max_instance_lifetime (0: none). */
const LIFETIME_MIN = 86400;
const LIFETIME_MAX = 31536000;
/** A KMS key ARN (single- or multi-Region key), as CloudWatch Logs takes it: no alias. */
const KMS_KEY_ARN =
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
const LONGEST_REGION = 14;
const DNS_LABEL_MAX = 63;
const NAME_BUDGET = DNS_LABEL_MAX - LONGEST_REGION - 3;
/** The generated DNS name is that label, a dot and the domain, within DNS's 253 characters. */
const DNS_NAME_MAX = 253;
const DNS_DOMAIN_MAX = DNS_NAME_MAX - DNS_LABEL_MAX - 1;

// ---------------------------------------------------------------------------------------------
// Terraform expressions and their JavaScript twins.

const v = (prop: Prop) => `var.${variableName(prop)}`;
const hcl = (text: string) => JSON.stringify(text);
const matches = (pattern: string, expression: string) => `can(regex(${hcl(pattern)}, ${expression}))`;
const allMatch = (pattern: string, list: string) => `alltrue([for item in ${list} : ${matches(pattern, 'item')}])`;
const isInteger = (expression: string) => `floor(${expression}) == ${expression}`;
const integerBetween = (expression: string, min: number, max?: number) =>
  `${isInteger(expression)} && ${expression} >= ${min}${max === undefined ? '' : ` && ${expression} <= ${max}`}`;
/** `when` evaluated only for a non-null value: Terraform's || evaluates both sides. */
const nullOr = (expression: string, when: string) => `${expression} == null ? true : (${when})`;

const matching = (pattern: string) => {
  const regex = new RegExp(pattern);
  return (value: string) => typeof value === 'string' && regex.test(value);
};
/** Length in characters, as Terraform's length() counts them. */
const length = (value: string) => [...value].length;
const integerIn = (value: number, min: number, max = Infinity) => Number.isInteger(value) && value >= min && value <= max;
/** An address as a number: IPv4 in 32 bits, IPv6 in 128 ("::" expanded). */
const addressBits = (address: string): bigint => {
  if (isIPv4(address)) return address.split('.').reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(missing).fill('0'), ...groups(tail)];
  return all.reduce((bits, group) => (bits << 16n) | BigInt(parseInt(group, 16)), 0n);
};
/** A network address with its prefix length, as AWS security group rules take them: no host bits set. */
const isCidr = (value: string) => {
  const [address, prefix, ...rest] = typeof value === 'string' ? value.split('/') : [];
  if (rest.length > 0 || prefix === undefined || !/^[0-9]{1,3}$/.test(prefix)) return false;
  const width = isIPv4(address) ? 32 : isIPv6(address) && !address.includes('.') ? 128 : 0;
  if (width === 0 || Number(prefix) > width) return false;
  const hostBits = BigInt(width - Number(prefix));
  return (addressBits(address) & ((1n << hostBits) - 1n)) === 0n;
};
const cidrList = (prop: Prop): RuleDefinition => ({
  prop,
  // The network address equals the address given: no host bits set (AWS refuses them).
  condition: `alltrue([for cidr in ${v(prop)} : try(cidrhost(cidr, 0) == cidrhost(format("%s/%d", split("/", cidr)[0], strcontains(cidr, ":") ? 128 : 32), 0), false)])`,
  requirement:
    'must be a list of IPv4 or IPv6 CIDR blocks like "203.0.113.0/24" or "2001:db8::/32": a network address (no host bits set: 10.0.0.0/8, not 10.0.0.1/8), a slash and a prefix length (up to 32 for IPv4, 128 for IPv6)',
  check: (value: string[]) => value.every(isCidr),
});
const idList = (prop: Prop, pattern: string, what: string, nonEmpty: boolean): RuleDefinition => ({
  prop,
  condition: nonEmpty ? `length(${v(prop)}) > 0 && ${allMatch(pattern, v(prop))}` : allMatch(pattern, v(prop)),
  requirement: `must be a ${nonEmpty ? 'non-empty ' : ''}list of ${what}`,
  check: (value: string[]) => (!nonEmpty || value.length > 0) && value.every(matching(pattern)),
});
const emptyOr = (prop: Prop, pattern: string, what: string): RuleDefinition => ({
  prop,
  condition: `${v(prop)} == "" || ${matches(pattern, v(prop))}`,
  requirement: `must be "" or ${what}`,
  check: (value: string) => value === '' || matching(pattern)(value),
});
const dnsName = (prop: Prop, max: number, why: string): RuleDefinition => ({
  prop,
  condition: `${v(prop)} == "" || (${matches(DNS_NAME, v(prop))} && length(trimsuffix(${v(prop)}, ".")) <= ${max})`,
  requirement: `must be "" or a DNS name of at most ${max} characters${why}, made of dot-separated labels of 1 to 63 letters, digits and hyphens that neither start nor end with a hyphen`,
  check: (value: string) => value === '' || (matching(DNS_NAME)(value) && length(value.replace(/\.$/, '')) <= max),
});
const needsZone = (prop: Prop): RuleDefinition => ({
  prop,
  uses: ['route53ZoneId'],
  condition: `${v(prop)} == "" || var.route53_zone_id != ""`,
  requirement:
    'must be "" when route53_zone_id (route53ZoneId) is "": without a hosted zone no DNS record is made; set route53_zone_id or leave this out',
  check: (value: string, inputs) => value === '' || inputs.route53ZoneId !== '',
});
const integerRule = (prop: Prop, min: number, max: number | undefined, requirement: string): RuleDefinition => ({
  prop,
  condition: integerBetween(v(prop), min, max),
  requirement,
  check: (value: number) => integerIn(value, min, max),
});

type RuleDefinition = Omit<InputRule, 'allowed'>;

const DEFINITIONS: RuleDefinition[] = [
  // Where
  {
    prop: 'vpcId',
    condition: matches(VPC_ID, v('vpcId')),
    requirement: 'must be a VPC id: vpc- followed by 8 or 17 hexadecimal digits (lower case), like "vpc-0123456789abcdef0"',
    check: matching(VPC_ID),
  },
  idList(
    'subnetIds',
    SUBNET_ID,
    'subnet ids (subnet- followed by 8 or 17 lower-case hexadecimal digits), ideally one per availability zone',
    true,
  ),
  {
    prop: 'subnetIds',
    condition: `length(distinct(${v('subnetIds')})) == length(${v('subnetIds')})`,
    requirement: 'must name each subnet once',
    check: (value: string[]) => new Set(value).size === value.length,
  },
  {
    prop: 'lbSubnetIds',
    condition: nullOr(v('lbSubnetIds'), `length(${v('lbSubnetIds')}) > 0 && ${allMatch(SUBNET_ID, v('lbSubnetIds'))}`),
    requirement:
      "must be null (the hosts' subnets) or a non-empty list of subnet ids (subnet- followed by 8 or 17 lower-case hexadecimal digits)",
    check: (value: string[]) => value.length > 0 && value.every(matching(SUBNET_ID)),
  },
  idList(
    'additionalSecurityGroupIds',
    SECURITY_GROUP_ID,
    'security group ids (sg- followed by 8 or 17 lower-case hexadecimal digits)',
    false,
  ),

  // Names
  {
    prop: 'environmentName',
    condition: `${matches(NAME_PART, v('environmentName'))} && ${v('environmentName')} != "internal"`,
    requirement:
      'must start with a lower-case letter, hold only lower-case letters, digits and hyphens, not end with a hyphen, and not be "internal" (load balancer names must not start with "internal-")',
    check: (value: string) => matching(NAME_PART)(value) && value !== 'internal',
  },
  {
    prop: 'serviceName',
    condition: matches(NAME_PART, v('serviceName')),
    requirement: 'must start with a lower-case letter, hold only lower-case letters, digits and hyphens, and not end with a hyphen',
    check: matching(NAME_PART),
  },
  {
    prop: 'serviceName',
    uses: ['environmentName', 'vpcName', 'vpcId'],
    condition: `length(var.environment_name) + length(var.service_name) + (var.vpc_name == null ? length(var.vpc_id) + 1 : (var.vpc_name == "" ? 0 : length(var.vpc_name) + 1)) <= ${NAME_BUDGET + 1}`,
    requirement: `together with environment_name (environmentName) and the VPC label (vpc_name, or vpc_id when vpc_name is null) must fit the generated DNS label <environment>-<region>-<vpc label>-<service> into ${DNS_LABEL_MAX} characters with the longest region names (${LONGEST_REGION} characters): the three may have ${NAME_BUDGET} characters together (${NAME_BUDGET + 1} without a VPC label; the default label, the VPC id, has 21); shorten the names or set a short vpc_name`,
    check: (value: string, inputs) =>
      length(inputs.environmentName) + length(value) + (inputs.vpcLabel === '' ? 0 : length(inputs.vpcLabel) + 1) <= NAME_BUDGET + 1,
  },
  {
    prop: 'vpcName',
    condition: nullOr(v('vpcName'), `${v('vpcName')} == "" || ${matches(LOWER_LABEL, v('vpcName'))}`),
    requirement:
      'must be null (the VPC id), "" (no VPC label) or a DNS label: 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen',
    check: (value: string) => value === '' || matching(LOWER_LABEL)(value),
  },

  // DNS
  dnsName(
    'dnsDomain',
    DNS_DOMAIN_MAX,
    ` (the generated name adds a label of up to ${DNS_LABEL_MAX} characters and a dot, within DNS's ${DNS_NAME_MAX})`,
  ),
  needsZone('dnsDomain'),
  emptyOr(
    'route53ZoneId',
    HOSTED_ZONE_ID,
    'a Route53 hosted zone id: Z followed by 1 to 31 upper-case letters and digits, like "Z0123456789ABCDEFGHIJ"',
  ),
  dnsName('route53Fqdn', DNS_NAME_MAX, ''),
  needsZone('route53Fqdn'),

  // Who may connect, where the hosts may go
  cidrList('allowedCidrBlocks'),
  cidrList('hostAllowedCidrBlocks'),
  cidrList('egressCidrBlocks'),
  {
    prop: 'servicePort',
    condition: `${integerBetween(v('servicePort'), 1, 65535)} && ${v('servicePort')} != ${ADMIN_PORT}`,
    requirement: `must be a TCP port between 1 and 65535 other than ${ADMIN_PORT} (the hosts' own sshd)`,
    check: (value: number) => integerIn(value, 1, 65535) && value !== ADMIN_PORT,
  },
  {
    prop: 'healthCheckPort',
    uses: ['servicePort'],
    condition: `${integerBetween(v('healthCheckPort'), 1, 65535)} && ${v('healthCheckPort')} != ${ADMIN_PORT} && ${v('healthCheckPort')} != var.service_port`,
    requirement: `must be a TCP port between 1 and 65535 other than ${ADMIN_PORT} (the hosts' own sshd) and other than service_port (servicePort)`,
    check: (value: number, inputs) => integerIn(value, 1, 65535) && value !== ADMIN_PORT && value !== inputs.servicePort,
  },

  // Who may log in
  idList(
    'allowedIamGroups',
    IAM_GROUP,
    'IAM group names: 1 to 128 letters, digits and _+=.@- each (IAM also allows commas, which this list cannot hold)',
    false,
  ),
  {
    prop: 'allowedIamGroups',
    uses: ['allowAllIamUsers'],
    condition: `length(${v('allowedIamGroups')}) > 0 || var.allow_all_iam_users`,
    requirement:
      'must name at least one IAM group whose members may log in; to let every IAM user of the identity account with an SSH key log in ' +
      '(root in their own session container, users who uploaded a key for CodeCommit included), leave it empty and set allow_all_iam_users (allowAllIamUsers) to true',
    check: (value: string[], inputs) => value.length > 0 || inputs.allowAllIamUsers === true,
  },

  emptyOr(
    'assumeRoleArn',
    ROLE_ARN,
    'an IAM role ARN like "arn:aws:iam::123456789012:role/bastion-key-lookup": 12-digit account, role path and name of letters, digits and _+=,.@-/',
  ),

  // Hosts
  {
    prop: 'instanceTypes',
    condition: nullOr(
      v('instanceTypes'),
      `length(${v('instanceTypes')}) > 0 && length(${v('instanceTypes')}) <= 40 && ${allMatch(INSTANCE_TYPE, v('instanceTypes'))}`,
    ),
    requirement:
      'must be null (the defaults of the architecture) or a list of 1 to 40 EC2 instance types written family.size, like "t4g.small" or "m7i-flex.large"',
    check: (value: string[]) => value.length > 0 && value.length <= 40 && value.every(matching(INSTANCE_TYPE)),
  },
  {
    prop: 'instanceTypes',
    uses: ['architecture'],
    condition: nullOr(
      v('instanceTypes'),
      `alltrue([for item in ${v('instanceTypes')} : var.architecture == "arm64" ? ${matches(ARM64_INSTANCE_TYPE, 'item')} : (var.architecture == "x86_64" ? !${matches(ARM64_INSTANCE_TYPE, 'item')} : true)])`,
    ),
    requirement:
      'must match architecture: Graviton types (a "g" after the generation digit, like t4g, m7g, c7gn, or a1) for arm64, the others (t3, m7i, c6a, ...) for x86_64; change the types or the architecture',
    check: (value: string[], inputs) => {
      const arm = matching(ARM64_INSTANCE_TYPE);
      if (inputs.architecture === 'arm64') return value.every(arm);
      if (inputs.architecture === 'x86_64') return !value.some(arm);
      return true;
    },
  },
  {
    prop: 'architecture',
    condition: `contains(["arm64", "x86_64"], ${v('architecture')})`,
    requirement: 'must be "arm64" (Graviton) or "x86_64"',
    check: (value: string) => value === 'arm64' || value === 'x86_64',
  },
  {
    prop: 'hostOs',
    condition: `contains(${JSON.stringify(HOST_OPERATING_SYSTEMS)}, ${v('hostOs')})`,
    requirement: 'must be "amazon-linux-2023", "debian-12" or "ubuntu-24.04"',
    check: (value: string) => HOST_OPERATING_SYSTEMS.includes(value),
  },
  emptyOr('amiId', AMI_ID, 'an AMI id: ami- followed by 8 or 17 lower-case hexadecimal digits'),
  emptyOr(
    'bundleBucketName',
    BUCKET_NAME,
    'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit',
  ),
  {
    prop: 'minSize',
    uses: ['maxSize'],
    condition: `${integerBetween(v('minSize'), 0)} && ${v('minSize')} <= var.max_size`,
    requirement: 'must be a whole number from 0 up to max_size (maxSize)',
    check: (value: number, inputs) => integerIn(value, 0, inputs.maxSize),
  },
  integerRule('maxSize', 1, undefined, 'must be a whole number of at least 1'),
  {
    // Checked only when given: left out, it is min_size, whose own rule explains any problem.
    prop: 'desiredCapacity',
    uses: ['minSize', 'maxSize'],
    condition: nullOr(
      v('desiredCapacity'),
      `${isInteger(v('desiredCapacity'))} && ${v('desiredCapacity')} >= var.min_size && ${v('desiredCapacity')} <= var.max_size`,
    ),
    requirement: 'must be a whole number from min_size (minSize) up to max_size (maxSize)',
    check: (value: number, inputs) => integerIn(value, inputs.minSize, inputs.maxSize),
  },
  emptyOr('keyName', KEY_PAIR_NAME, 'an EC2 key pair name: 1 to 255 printable ASCII characters'),
  integerRule('rootVolumeSize', 8, 16384, "must be a whole number of GiB from 8 (the AMI's snapshot) to 16384 (gp3's largest volume)"),
  emptyOr(
    'hostKeyKmsKeyId',
    KMS_KEY,
    'a KMS key id ("1234abcd-12ab-34cd-56ef-1234567890ab" or "mrk-..."), key ARN, alias name ("alias/bastion") or alias ARN',
  ),
  integerRule('hostKeyGeneration', 1, undefined, 'must be a whole number of at least 1; change it to replace the host key'),
  integerRule('healthCheckGracePeriod', 0, 86400, 'must be a whole number of seconds from 0 to 86400 (a day)'),

  // Scaling and draining
  {
    prop: 'targetSessionsPerHost',
    condition: nullOr(v('targetSessionsPerHost'), integerBetween(v('targetSessionsPerHost'), 1, 10000)),
    requirement: 'must be null (half the session cap of a host of the first instance type) or a whole number of sessions from 1 to 10000',
    check: (value: number) => integerIn(value, 1, 10000),
  },
  {
    prop: 'schedules',
    condition: `alltrue([for s in ${v('schedules')} : ${matches(CRON, 's.recurrence')}])`,
    requirement:
      'must have a recurrence of five cron fields separated by single spaces (minute hour day-of-month month day-of-week) made of digits, *, /, , and - (month and weekday also of names such as JAN or MON-FRI), like "0 19 * * MON-FRI"',
    check: (value: BastionSchedule[]) => value.every((s) => matching(CRON)(s.recurrence)),
  },
  {
    prop: 'schedules',
    condition: `alltrue([for s in ${v('schedules')} : ${integerBetween('s.min_size', 0)} && ${isInteger('s.max_size')} && s.min_size <= s.max_size && (${nullOr('s.desired_capacity', `${isInteger('s.desired_capacity')} && s.desired_capacity >= s.min_size && s.desired_capacity <= s.max_size`)})])`,
    requirement:
      'must have whole numbers with 0 <= min_size <= desired_capacity <= max_size in every schedule (desired_capacity may be left out: unchanged)',
    check: (value: BastionSchedule[]) =>
      value.every(
        (s) =>
          integerIn(s.minSize, 0) &&
          integerIn(s.maxSize, s.minSize) &&
          (s.desiredCapacity === undefined || s.desiredCapacity === null || integerIn(s.desiredCapacity, s.minSize, s.maxSize)),
      ),
  },
  {
    prop: 'schedules',
    condition: `alltrue([for s in ${v('schedules')} : s.name == null ? true : (s.name == "" || ${matches(SCHEDULE_NAME, 's.name')})]) && length(distinct([for i, s in ${v('schedules')} : coalesce(s.name, format("schedule-%02d", i))])) == length(${v('schedules')})`,
    requirement:
      'must have names of 1 to 200 letters, digits and ._- that differ from each other and from schedule-NN, the name of an unnamed schedule at position NN',
    check: (value: BastionSchedule[]) => {
      const named = value.map((s, i) => (s.name ? s.name : `schedule-${String(i).padStart(2, '0')}`));
      return value.every((s) => !s.name || matching(SCHEDULE_NAME)(s.name)) && new Set(named).size === named.length;
    },
  },
  {
    prop: 'scheduleTimeZone',
    condition: matches(TIME_ZONE, v('scheduleTimeZone')),
    requirement: 'must be an IANA time zone name such as "Etc/UTC", "Europe/Berlin" or "America/New_York"',
    check: matching(TIME_ZONE),
  },
  {
    prop: 'drainTimeoutSeconds',
    condition: nullOr(v('drainTimeoutSeconds'), integerBetween(v('drainTimeoutSeconds'), 0, 172800)),
    requirement:
      'must be null (session_max_seconds, at most 172800) or a whole number of seconds from 0 to 172800 (48 hours, the longest AWS keeps a lifecycle hook waiting)',
    check: (value: number) => integerIn(value, 0, 172800),
  },
  {
    prop: 'maxInstanceLifetime',
    condition: `${v('maxInstanceLifetime')} == 0 || (${integerBetween(v('maxInstanceLifetime'), LIFETIME_MIN, LIFETIME_MAX)})`,
    requirement: `must be 0 (hosts live until something else replaces them) or a whole number of seconds from ${LIFETIME_MIN} (a day) to ${LIFETIME_MAX} (a year), AWS's bounds`,
    check: (value: number) => value === 0 || integerIn(value, LIFETIME_MIN, LIFETIME_MAX),
  },

  // Sessions
  integerRule('sessionMaxSeconds', 60, 7 * 86400, 'must be a whole number of seconds from 60 (a minute) to 604800 (a week)'),
  {
    prop: 'logRetentionDays',
    condition: `contains(${JSON.stringify(LOG_RETENTION_DAYS)}, ${v('logRetentionDays')})`,
    requirement: `must be a retention period CloudWatch Logs accepts, in days: ${LOG_RETENTION_DAYS.filter((days) => days > 0).join(', ')}, or 0 to keep the events forever`,
    check: (value: number) => LOG_RETENTION_DAYS.includes(value),
  },
  emptyOr(
    'logKmsKeyArn',
    KMS_KEY_ARN,
    'a KMS key ARN like "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" (CloudWatch Logs takes no key id or alias)',
  ),
  integerRule(
    'recordingRetentionDays',
    1,
    36500,
    'must be a whole number of days from 1 to 36500 (a hundred years): S3 deletes each session recording that many days after it was stored',
  ),
  integerRule('containerMemoryMb', 64, undefined, 'must be a whole number of MiB of at least 64 (what sshd and a shell need)'),
  {
    prop: 'sessionDiskMb',
    uses: ['containerMemoryMb'],
    condition: `${integerBetween(v('sessionDiskMb'), 16)} && ${v('sessionDiskMb')} <= var.container_memory_mb`,
    requirement:
      "must be a whole number of MiB from 16 up to container_memory_mb (containerMemoryMb): a session's files are held in memory and count against its memory limit",
    check: (value: number, inputs) => integerIn(value, 16, inputs.containerMemoryMb),
  },
  integerRule('containerPidsLimit', 16, undefined, 'must be a whole number of at least 16 (sshd, its privilege separation and a shell)'),
  {
    prop: 'containerCpus',
    condition: `${v('containerCpus')} >= 0.01`,
    requirement: "must be a number of CPUs of at least 0.01 (docker's smallest --cpus), like 0.5 or 2",
    check: (value: number) => typeof value === 'number' && value >= 0.01,
  },
  integerRule('maxConnectionsPerSource', 1, undefined, 'must be a whole number of at least 1'),
  integerRule('newConnectionsPerMinute', 1, 10000, 'must be a whole number from 1 to 10000'),
  integerRule('loginGraceSeconds', 5, 600, 'must be a whole number of seconds from 5 to 600'),
  integerRule('readySessions', 0, 64, 'must be a whole number from 0 to 64'),
  {
    prop: 'workerBaseImage',
    condition: matches(DOCKER_REFERENCE, v('workerBaseImage')),
    requirement:
      'must be a docker image reference like "public.ecr.aws/docker/library/ubuntu:24.04": [registry/]path[:tag][@digest], lower-case path, no whitespace, quotes, $ or backslashes',
    check: matching(DOCKER_REFERENCE),
  },
  emptyOr(
    'workerImage',
    DOCKER_REFERENCE,
    'a docker image reference like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bastion-worker:1.4": [registry/]path[:tag][@digest], lower-case path, no whitespace, quotes, $ or backslashes',
  ),

  {
    prop: 'extraCloudConfig',
    condition: `${v('extraCloudConfig')} == "" || can(keys(yamldecode(${v('extraCloudConfig')})))`,
    requirement:
      'must be "" or a cloud-config document: YAML whose top level is a mapping (keys such as runcmd, packages, write_files), usually starting with the line #cloud-config',
    check: (value: string) => value === '' || isYamlMapping(value),
  },

  // Everything
  {
    prop: 'tags',
    condition: `alltrue([for key, value in ${v('tags')} : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")])`,
    requirement:
      'must have keys of 1 to 128 characters that do not start with "aws:" (reserved by AWS) and values of at most 256 characters',
    check: (value: { [key: string]: string }) =>
      Object.entries(value).every(
        ([key, tag]) => length(key) >= 1 && length(key) <= 128 && length(tag) <= 256 && !key.toLowerCase().startsWith('aws:'),
      ),
  },
];

// bastion.env (KEY=VALUE, read by bash, systemd and a plain parser) must never receive
// whitespace, quotes, `$`, backslashes or newlines. Its values come from the numbers above and
// from environmentName, serviceName and vpcName (label patterns), allowedIamGroups (IAM_GROUP),
// assumeRoleArn (ROLE_ARN), logKmsKeyArn (KMS_KEY_ARN, not in bastion.env) and the two images (DOCKER_REFERENCE): none of them admits those.

/** The names of an input in both worlds, for messages. */
function names(prop: Prop): string {
  return `construct property ${prop}, module variable ${variableName(prop)}`;
}

/** One message for both paths; `valueOf` renders a property's value (a Terraform reference or a literal). */
function message(rule: RuleDefinition, valueOf: (prop: Prop) => string): string {
  const others = (rule.uses ?? []).map((prop) => `${variableName(prop)} is ${valueOf(prop)}`);
  return `${rule.requirement}; got ${valueOf(rule.prop)}${others.length > 0 ? ` (${others.join(', ')})` : ''} [${names(rule.prop)}]`;
}

export const INPUT_RULES: InputRule[] = DEFINITIONS.map((rule) => ({
  ...rule,
  allowed: message(rule, (prop) => `\${jsonencode(${v(prop)})}`),
}));

/**
 * A schedule as the module's variable holds it, and so as Terraform's messages show it: snake_case,
 * the attributes left out null, the keys sorted.
 */
export function scheduleAsVariable(schedule: BastionSchedule): { [key: string]: unknown } {
  return {
    desired_capacity: schedule.desiredCapacity ?? null,
    max_size: schedule.maxSize,
    min_size: schedule.minSize,
    name: schedule.name ?? null,
    recurrence: schedule.recurrence,
  };
}

/** A property's value as its module variable holds it (the same but for schedules), for messages. */
function asVariable(prop: Prop, value: unknown): unknown {
  return prop === 'schedules' && Array.isArray(value) ? (value as BastionSchedule[]).map(scheduleAsVariable) : value;
}

/** YAML text whose single document is a mapping, as Terraform's yamldecode reads it. */
function isYamlMapping(text: string): boolean {
  try {
    const value = parseYaml(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Tokens anywhere in a value: the value itself, a list element or a map value. */
function isUnresolved(value: unknown): boolean {
  if (Token.isUnresolved(value)) return true;
  if (Array.isArray(value)) return value.some(isUnresolved);
  if (value !== null && typeof value === 'object') return Object.values(value).some(isUnresolved);
  return false;
}

/**
 * Checks every rule on the literal properties and throws one Error listing every violation,
 * each naming the property and its module variable, the value, what is allowed and how to fix it.
 * Tokens are left to Terraform.
 */
export function validateProps(props: SshBastionServiceProps): void {
  const inputs: ValidationInputs = { ...resolveConfig(props), vpcName: props.vpcName ?? null };
  const given = (prop: Prop): unknown => (prop === 'vpcName' ? inputs.vpcName : (inputs as unknown as { [key: string]: unknown })[prop]);
  const errors: string[] = [];
  for (const rule of DEFINITIONS) {
    // Single-property rules check what was given (defaults are valid); cross-property rules check
    // the values with their defaults, as Terraform does.
    const value = rule.uses && rule.prop !== 'desiredCapacity' ? given(rule.prop) : props[rule.prop];
    if (value === undefined || value === null || isUnresolved(value)) continue;
    if ((rule.uses ?? []).some((prop) => isUnresolved(given(prop)))) continue;
    if (!rule.check(value as never, inputs)) {
      // TypeScript users leave a property out where Terraform users write null.
      const constructRule = { ...rule, requirement: rule.requirement.replace(/^must be null \(/, 'must be left out (undefined: ') };
      errors.push(`${rule.prop} ${message(constructRule, (prop) => JSON.stringify(asVariable(prop, given(prop)) ?? null))}`);
    }
  }
  if (errors.length > 0) {
    throw new Error(`invalid SshBastionService properties:\n- ${errors.join('\n- ')}`);
  }
}
