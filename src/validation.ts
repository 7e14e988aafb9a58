import { resolveConfig } from './config';
import { isExpression } from './conditional';
import { INPUTS } from './inputs';
import { BastionSchedule, SshBastionServiceProps } from './props';
import { InputRule, Prop, RuleDefinition, v, ValidationInputs, variableName } from './rules';

export type { InputRule, ValidationInputs };
export { variableName };

/** Every input's rules, in the order of the table of inputs. */
const DEFINITIONS: RuleDefinition[] = INPUTS.flatMap((input) => input.rules ?? []);

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
    if (value === undefined || value === null || isExpression(value)) continue;
    if ((rule.uses ?? []).some((prop) => isExpression(given(prop)))) continue;
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
