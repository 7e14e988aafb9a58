import { blocksOf, Finding, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

/** Hosts answer instance metadata only to IMDSv2 session tokens and one network hop, so session containers cannot reach it. */
export function LaunchTemplateImdsv2(module: Json): Finding[] {
  return resourcesOf(module, 'aws_launch_template', 'aws_instance').flatMap(({ address, body }): Finding[] => {
    const options = blocksOf(body.metadata_options)[0];
    if (options === undefined) {
      return [
        {
          rule: RULE,
          address,
          message: 'has no metadata_options, so IMDSv1 answers anyone: set http_tokens = "required" and http_put_response_hop_limit = 1',
        },
      ];
    }
    const findings: Finding[] = [];
    if (options.http_tokens !== 'required') {
      findings.push({
        rule: RULE,
        address,
        message: `metadata_options.http_tokens is ${JSON.stringify(options.http_tokens)}: set "required" (IMDSv2 only)`,
      });
    }
    if (Number(options.http_put_response_hop_limit) !== 1) {
      findings.push({
        rule: RULE,
        address,
        message: `metadata_options.http_put_response_hop_limit is ${JSON.stringify(options.http_put_response_hop_limit)}: set 1, so containers behind the docker bridge cannot reach the metadata service`,
      });
    }
    return findings;
  });
}
