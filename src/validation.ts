import { Token } from 'cdktf';
import { SshBastionServiceProps } from './props';

/**
 * One input rule, checked twice from the same definition: by the construct at synth time for
 * literal values (tokens are skipped), and by Terraform at plan time as the module variable's
 * `validation` block.
 */
export interface InputRule {
  /** The construct property it checks. */
  readonly prop: keyof SshBastionServiceProps;
  /** The Terraform condition, over `var.<variable>`; the variable is the snake_case of `prop`. */
  readonly condition: string;
  /** What is allowed, written for the user: "must be a port number between 1 and 65535". */
  readonly allowed: string;
  /** The same rule for a literal value; true when valid. */
  readonly check: (value: never) => boolean;
}

/** snake_case name of the module variable of a construct property. */
export function variableName(prop: string): string {
  return prop.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const isPort = (value: number) => Number.isInteger(value) && value >= 1 && value <= 65535;

export const INPUT_RULES: InputRule[] = [
  {
    prop: 'vpcId',
    condition: 'can(regex("^vpc-[0-9a-f]{8}([0-9a-f]{9})?$", var.vpc_id))',
    allowed: 'must be a VPC id: vpc- followed by 8 or 17 hexadecimal digits',
    check: (value: string) => /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/.test(value),
  },
  {
    prop: 'servicePort',
    condition: 'var.service_port >= 1 && var.service_port <= 65535 && floor(var.service_port) == var.service_port && var.service_port != 2222',
    allowed: 'must be a TCP port between 1 and 65535 other than 2222 (the hosts\' own sshd)',
    check: (value: number) => isPort(value) && value !== 2222,
  },
];

function isUnresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value);
}

/** Throws on the first literal property a rule rejects, naming the property, the value and what is allowed. */
export function validateProps(props: SshBastionServiceProps): void {
  const errors: string[] = [];
  for (const rule of INPUT_RULES) {
    const value = props[rule.prop];
    if (value === undefined || isUnresolved(value)) continue;
    if (Array.isArray(value) && value.some(isUnresolved)) continue;
    if (!rule.check(value as never)) {
      errors.push(`${rule.prop} (module variable ${variableName(rule.prop)}) ${rule.allowed}, got ${describe(value)}`);
    }
  }
  if (errors.length > 0) {
    throw new Error(`invalid SshBastionService properties:\n- ${errors.join('\n- ')}`);
  }
}
