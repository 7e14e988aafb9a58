import { Finding, Json, resourcesOf, ruleName, textOf } from '../module-json';

const RULE = ruleName(__filename);

/** Policy documents: the attribute of each IAM resource type that holds one. */
const POLICY_ATTRIBUTES: { readonly [type: string]: string[] } = {
  aws_iam_role: ['assume_role_policy', 'inline_policy'],
  aws_iam_role_policy: ['policy'],
  aws_iam_policy: ['policy'],
  aws_iam_user_policy: ['policy'],
  aws_iam_group_policy: ['policy'],
};

/** A bare "*" (any action, resource or principal), or an action wildcard like "iam:*" or "ssm:Get*". */
const WILDCARD = /"(\*|[a-z0-9-]+:[A-Za-z0-9]*\*[A-Za-z0-9*]*)"/g;
/** Negations grant everything but what they name; policy document data sources spell them in snake_case. */
const NEGATION = /"(NotAction|NotResource|NotPrincipal|not_actions|not_resources|not_principals)"/g;

/**
 * The one "Resource": "*" allowed: actions that have no resource to name, only with a condition that
 * scopes them instead. cloudwatch:PutMetricData (CloudWatch accepts only "*" for it) limited to one
 * metric namespace by cloudwatch:namespace, with no wildcard in the namespace. Matched in the order
 * the module writes the statement (Action, Resource, Condition), in HCL (=) or JSON (:) spelling.
 */
const SCOPED_BY_CONDITION = new RegExp(
  [
    '"Action"\\s*[=:]\\s*\\[\\s*"cloudwatch:PutMetricData"\\s*\\]\\s*,',
    '\\s*"Resource"\\s*[=:]\\s*"\\*"\\s*,',
    '\\s*"Condition"\\s*[=:]\\s*\\{\\s*"StringEquals"\\s*[=:]\\s*\\{\\s*"cloudwatch:namespace"\\s*[=:]\\s*"[^"*?]+"\\s*\\}\\s*\\}',
  ].join(''),
  'g',
);

function problems(document: string): string[] {
  const wildcards = [...document.replace(SCOPED_BY_CONDITION, '').matchAll(WILDCARD)].map((match) => match[1]);
  const negations = [...document.matchAll(NEGATION)].map((match) => match[1]);
  return [
    ...wildcards.map((wildcard) =>
      wildcard === '*'
        ? 'grants a bare "*": name the actions and scope Resource to ARNs (the parameter, the role, user/*, the groups)'
        : `grants the action wildcard "${wildcard}": list the actions it needs`,
    ),
    ...negations.map((negation) => `uses ${negation}, which grants everything else: list what is allowed instead`),
  ];
}

/**
 * IAM policies name their actions (no "*", no "service:*") and scope their resources (no
 * "Resource": "*" but for cloudwatch:PutMetricData limited to one namespace by condition), in the module's IAM resources and in any output that hands a policy document
 * to the caller (identity_account_policy).
 */
export function IamNoWildcards(module: Json): Finding[] {
  const findings: Finding[] = [];
  for (const [type, attributes] of Object.entries(POLICY_ATTRIBUTES)) {
    for (const { address, body } of resourcesOf(module, type)) {
      for (const attribute of attributes) {
        if (body[attribute] === undefined) continue;
        for (const message of problems(textOf(body[attribute]))) findings.push({ rule: RULE, address, message: `${attribute} ${message}` });
      }
    }
  }
  for (const [name, body] of Object.entries((module.data?.aws_iam_policy_document ?? {}) as Json)) {
    for (const message of problems(textOf(body))) findings.push({ rule: RULE, address: `data.aws_iam_policy_document.${name}`, message });
  }
  for (const [name, output] of Object.entries((module.output ?? {}) as Json)) {
    const value = textOf((output as Json).value);
    if (!value.includes('"Statement"')) continue;
    for (const message of problems(value)) findings.push({ rule: RULE, address: `output.${name}`, message });
  }
  return findings;
}
