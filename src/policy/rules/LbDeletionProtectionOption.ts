import { Finding, isModule, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

const VARIABLE = 'lb_deletion_protection';

/** Load balancer deletion protection is the caller's choice: in the module the bool variable lb_deletion_protection sets enable_deletion_protection. */
export function LbDeletionProtectionOption(module: Json): Finding[] {
  const moduleForm = isModule(module);
  const variable = module.variable?.[VARIABLE];
  const findings: Finding[] = [];
  if (moduleForm && (variable === undefined || variable.type !== 'bool')) {
    findings.push({
      rule: RULE,
      address: `variable.${VARIABLE}`,
      message: `is ${variable === undefined ? 'missing' : `of type ${variable.type}`}: declare a bool variable ${VARIABLE}`,
    });
  }
  for (const { address, body } of resourcesOf(module, 'aws_lb', 'aws_alb')) {
    const setting = body.enable_deletion_protection;
    if (setting === undefined) {
      findings.push({ rule: RULE, address, message: "does not set enable_deletion_protection: wire it to the caller's option" });
    } else if (moduleForm && setting !== `\${var.${VARIABLE}}`) {
      findings.push({
        rule: RULE,
        address,
        message: `sets enable_deletion_protection to ${JSON.stringify(setting)}: set it to var.${VARIABLE}`,
      });
    }
  }
  return findings;
}
