import { Fn, IResolvable, Op, TerraformResource, TerraformDataSource, TerraformStack, Token, ref } from 'cdktf';
import { Construct } from 'constructs';

// Values that are literals (CDKTF users pass them) or Terraform expressions (the registry module
// passes `${var.x}`): each helper decides which once, in JavaScript for a literal, in Terraform
// otherwise, so the parts of the construct receive values ready to use.

/**
 * A switch that is either known while the construct is built (CDKTF users pass literals)
 * or only when Terraform plans (the registry module passes `${var.x}` expressions).
 */
export type Switch = boolean | IResolvable;

/**
 * Whether a value is only known to Terraform: a token itself, or a list or map holding one.
 * The one place the construct asks; the helpers below and the renderers build on it.
 */
export function isExpression(value: unknown): boolean {
  if (Token.isUnresolved(value)) return true;
  if (Array.isArray(value)) return value.some(isExpression);
  if (value !== null && typeof value === 'object') return Object.values(value).some(isExpression);
  return false;
}

/** `value` when it is a literal, `standIn` when only Terraform knows it (to measure or check with the literal). */
export function literalOr<T>(value: T, standIn: T): T {
  return isExpression(value) ? standIn : value;
}

/** `table[key]`, or `fallback` without it; Terraform's lookup() when the key or the table is only known to Terraform. */
export function lookupIn<V>(table: { readonly [key: string]: V }, key: string, fallback: V): V {
  if (isExpression(key) || isExpression(table)) return Fn.lookup(table, key, fallback) as unknown as V;
  return table[key] ?? fallback;
}

/** A switch that is on when `value` equals the literal `expected`. */
export function equals(value: string | number, expected: string | number): Switch {
  return isExpression(value) ? Op.eq(expected, value) : value === expected;
}

/**
 * How an optional resource is declared: left out entirely when its switch is a literal false,
 * declared plainly when it is a literal true, declared with `count` when only Terraform knows.
 */
export interface Presence {
  readonly declare: boolean;
  readonly count?: number;
}

export function presence(enabled: Switch): Presence {
  if (typeof enabled === 'boolean') {
    return { declare: enabled };
  }
  return { declare: true, count: Fn.conditional(enabled, 1, 0) as unknown as number };
}

/** `enabled` as a Terraform-or-literal boolean for a non-empty string. */
export function nonEmpty(value: string | undefined): Switch {
  if (value === undefined) return false;
  // Literal first: cdktf's Op drops a falsy right operand ('' or 0).
  if (Token.isUnresolved(value)) return Op.neq('', value);
  return value !== '';
}

/** `enabled` as a Terraform-or-literal boolean for a non-empty list. */
export function nonEmptyList(values: string[] | undefined): Switch {
  if (values === undefined) return false;
  if (Token.isUnresolved(values)) return Op.lt(0, Fn.lengthOf(values));
  return values.length > 0;
}

/** Both switches on; in JavaScript when either is a literal. */
export function both(a: Switch, b: Switch): Switch {
  if (typeof a === 'boolean') return a ? b : false;
  if (typeof b === 'boolean') return b ? a : false;
  return Op.and(a, b);
}

/** The opposite of a switch. */
export function not(enabled: Switch): Switch {
  return typeof enabled === 'boolean' ? !enabled : Op.not(enabled);
}

/** Picks `whenTrue` or `whenFalse`, in JavaScript when the switch is a literal. */
export function choose<T>(enabled: Switch, whenTrue: T, whenFalse: T): T {
  if (typeof enabled === 'boolean') return enabled ? whenTrue : whenFalse;
  return Fn.conditional(enabled, whenTrue, whenFalse) as unknown as T;
}

/** A number as text: String() of a literal, Terraform's string of an expression. */
export function numberText(value: number): string {
  return Token.isUnresolved(value) ? Token.asString(value) : String(value);
}

/** A list joined with `separator`, with Terraform's join() when the list is only known to Terraform. */
export function joinList(values: string[], separator: string): string {
  return Token.isUnresolved(values) ? Fn.join(separator, values) : values.join(separator);
}

/** An attribute of every instance of a resource that may have a count: `[attr]`, or the splat `aws_x.y[*].attr` when counted. */
export function attributesOf(scope: Construct, resource: TerraformResource | TerraformDataSource, attribute: string): string[] {
  if (resource.count === undefined) return [resource.getStringAttribute(attribute)];
  return Token.asList(ref(`${resource.fqn}[*].${attribute}`, TerraformStack.of(scope)));
}

/** An attribute of a resource that may have a count of 0 or 1: `aws_x.y[0].attr` when counted. */
export function attributeOf(scope: Construct, resource: TerraformResource | TerraformDataSource, attribute: string): string {
  if (resource.count === undefined) return resource.getStringAttribute(attribute);
  return Token.asString(ref(`${resource.fqn}[0].${attribute}`, TerraformStack.of(scope)));
}

/**
 * Reads an attribute of an optional resource: `aws_x.y[0].attr` when it has a count,
 * the plain attribute otherwise; `fallback` when it was never declared.
 */
export function optionalAttribute(
  scope: Construct,
  resource: TerraformResource | TerraformDataSource | undefined,
  attribute: string,
  fallback: string,
): string {
  if (resource === undefined) return fallback;
  if (resource.count === undefined) return resource.getStringAttribute(attribute);
  return Fn.try([ref(`${resource.fqn}[0].${attribute}`, TerraformStack.of(scope)), fallback]);
}

/** Joins the non-empty strings, with Terraform's join() and compact() when any of them is only known to Terraform. */
export function joinNonEmpty(parts: string[], separator: string): string {
  if (parts.some((part) => Token.isUnresolved(part))) return Fn.join(separator, Fn.compact(parts));
  return parts.filter((part) => part !== '').join(separator);
}

/** Joins strings, with Terraform's join() when any of them is only known to Terraform. */
export function concat(parts: string[]): string {
  return parts.some((part) => Token.isUnresolved(part)) ? Fn.join('', parts) : parts.join('');
}

/** A switch rendered for bastion.env: "true" or "false". */
export function switchText(value: Switch): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return Token.asString(Fn.conditional(value as IResolvable, 'true', 'false'));
}

/** `tags` plus `extra`, with Terraform's merge() when the tags are only known to Terraform. */
export function withTags(tags: { [key: string]: string }, extra: { [key: string]: string }): { [key: string]: string } {
  if (Token.isUnresolved(tags)) return Fn.merge([tags, extra]) as unknown as { [key: string]: string };
  return { ...tags, ...extra };
}

/** The smaller of a value and a bound, with Terraform's min() when the value is only known to Terraform. */
export function atMost(value: number, bound: number): number {
  return Token.isUnresolved(value) ? Token.asNumber(Fn.min([value, bound])) : Math.min(value, bound);
}

/** The first element of a list, with Terraform's element() when the list is only known to Terraform. */
export function firstOf(values: string[]): string {
  return Token.isUnresolved(values) ? Fn.element(values, 0) : values[0];
}

/** The first `length` characters of a string, with Terraform's substr() when it is only known to Terraform. */
export function leading(text: string, length: number): string {
  return Token.isUnresolved(text) ? Fn.substr(text, 0, length) : text.slice(0, length);
}
