import * as path from 'path';

/** Synthesized Terraform JSON: a registry module or a CDKTF stack. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Terraform JSON: the rules check its shape themselves
export type Json = { [key: string]: any };

/** One violation: which rule, which block, what is wrong and how to fix it. */
export interface Finding {
  readonly rule: string;
  /** `aws_lb.load_balancer`, `output.host_key` */
  readonly address: string;
  readonly message: string;
}

/** A policy rule reads the synthesized JSON and returns its findings; none means compliant. */
export type PolicyRule = (module: Json) => Finding[];

/** A resource (or data source) block with its Terraform address. */
export interface Block {
  readonly type: string;
  readonly address: string;
  readonly body: Json;
}

/** A rule's name is its file's name, as in cdk-nag. */
export function ruleName(file: string): string {
  return path.parse(file).name;
}

/** The resources of the given types (all resources when none is given), in the JSON's order. */
export function resourcesOf(module: Json, ...types: string[]): Block[] {
  const blocks: Block[] = [];
  for (const [type, byName] of Object.entries((module.resource ?? {}) as Json)) {
    if (types.length > 0 && !types.includes(type)) continue;
    for (const [name, body] of Object.entries(byName as Json)) blocks.push({ type, address: `${type}.${name}`, body: body as Json });
  }
  return blocks;
}

/** A nested block as cdktf writes it: one object, a list of objects, or absent. */
export function blocksOf(value: unknown): Json[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as Json[];
}

/** The text of an attribute to scan for references and literals: a string as it is, anything else as JSON. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/** A registry module declares variables; a CDKTF stack with literal properties need not. */
export function isModule(module: Json): boolean {
  return Object.keys(module.variable ?? {}).length > 0;
}

/** true, as Terraform reads a literal boolean attribute (cdktf writes some as "true"). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}
