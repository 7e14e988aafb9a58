import { blocksOf, Finding, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

/** The taggable resource types the module uses: each gets the caller's tags. */
export const TAGGABLE_TYPES = [
  'aws_autoscaling_group',
  'aws_cloudwatch_log_group',
  'aws_iam_instance_profile',
  'aws_iam_role',
  'aws_launch_template',
  'aws_lb',
  'aws_lb_listener',
  'aws_lb_target_group',
  'aws_s3_bucket',
  'aws_s3_object',
  'aws_security_group',
  'aws_ssm_parameter',
  'aws_vpc_security_group_egress_rule',
  'aws_vpc_security_group_ingress_rule',
];

/** Types that take no tags: policies attached to a role or a group, DNS records, and the tls and random providers' values. */
export const UNTAGGABLE_TYPES = [
  'aws_autoscaling_lifecycle_hook',
  'aws_autoscaling_policy',
  'aws_autoscaling_schedule',
  'aws_iam_role_policy',
  'aws_route53_record',
  'aws_s3_bucket_lifecycle_configuration',
  'aws_s3_bucket_ownership_controls',
  'aws_s3_bucket_policy',
  'aws_s3_bucket_public_access_block',
  'aws_s3_bucket_server_side_encryption_configuration',
  'aws_s3_bucket_versioning',
  'random_id',
  'terraform_data',
  'tls_private_key',
];

/** What the hosts' launch template must tag at launch: the instances and their volumes. */
const LAUNCH_TAGGED = ['instance', 'volume'];

/**
 * Every taggable resource gets `tags`; the autoscaling group passes them on through a (dynamic)
 * `tag` block that propagates at launch, and the launch template tags the instances and volumes.
 * A resource type in neither list is reported, so new types get classified.
 */
export function TaggedResources(module: Json): Finding[] {
  return resourcesOf(module).flatMap(({ type, address, body }): Finding[] => {
    const finding = (message: string): Finding[] => [{ rule: RULE, address, message }];
    if (type === 'aws_autoscaling_group') {
      const tag = blocksOf(body.tag)[0] ?? body.dynamic?.tag?.content;
      if (tag === undefined) return finding('has no tag block: add a dynamic tag block over the tags with propagate_at_launch = true');
      return tag.propagate_at_launch === true || tag.propagate_at_launch === 'true'
        ? []
        : finding('tags do not propagate at launch: set propagate_at_launch = true');
    }
    if (TAGGABLE_TYPES.includes(type)) {
      if (body.tags === undefined) return finding("has no tags: set tags to the caller's tags");
      if (type !== 'aws_launch_template') return [];
      const tagged = blocksOf(body.tag_specifications)
        .filter((spec) => spec.tags !== undefined)
        .map((spec) => spec.resource_type);
      const missing = LAUNCH_TAGGED.filter((resourceType) => !tagged.includes(resourceType));
      return missing.length === 0 ? [] : finding(`does not tag ${missing.join(' and ')} at launch: add tag_specifications for them`);
    }
    if (UNTAGGABLE_TYPES.includes(type)) return [];
    return finding(`is of type ${type}, which the policy does not know: add it to TAGGABLE_TYPES (and tag it) or to UNTAGGABLE_TYPES`);
  });
}
