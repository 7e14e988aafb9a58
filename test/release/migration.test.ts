/**
 * docs/migration.md stays complete: every variable and output of the prior module has a row, and
 * every variable and output of ours is named (mapped or listed as new).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';

const GUIDE = fs.readFileSync(path.resolve(__dirname, '../../docs/migration.md'), 'utf-8');

/** joshuamkite/ssh-bastion-service 8.1.0: variables.tf and outputs.tf. */
const PRIOR_VARIABLES = [
  'vpc',
  'subnets_lb',
  'subnets_asg',
  'aws_region',
  'aws_profile',
  'environment_name',
  'service_name',
  'bastion_instance_types',
  'bastion_service_host_key_name',
  'public_ip',
  'delete_network_interface_on_termination',
  'cidr_blocks_whitelist_service',
  'cidr_blocks_whitelist_host',
  'security_groups_additional',
  'custom_outbound_security_group',
  'bastion_service_port',
  'lb_healthcheck_port',
  'lb_healthy_threshold',
  'lb_unhealthy_threshold',
  'lb_interval',
  'lb_is_internal',
  'asg_max',
  'asg_min',
  'asg_desired',
  'on_demand_base_capacity',
  'autoscaling_group_enabled_metrics',
  'bastion_ebs_size',
  'bastion_ebs_device_name',
  'custom_ami_id',
  'dns_domain',
  'route53_zone_id',
  'route53_fqdn',
  'bastion_host_name',
  'bastion_vpc_name',
  'bastion_allowed_iam_group',
  'assume_role_arn',
  'container_ubuntu_version',
  'custom_ssh_populate',
  'custom_authorized_keys_command',
  'custom_docker_setup',
  'custom_systemd',
  'extra_user_data_content',
  'extra_user_data_content_type',
  'extra_user_data_merge_type',
  'tags',
];
const PRIOR_OUTPUTS = [
  'service_dns_entry',
  'policy_example_for_parent_account_empty_if_not_used',
  'bastion_sg_id',
  'lb_dns_name',
  'lb_zone_id',
  'lb_arn',
  'target_group_arn',
  'bastion_service_assume_role_name',
  'bastion_service_role_name',
];

function moduleJson(): any {
  return JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module'), true));
}

describe('migration guide', () => {
  test("has a row for each of the prior module's 45 variables and 9 outputs", () => {
    expect(PRIOR_VARIABLES).toHaveLength(45);
    expect(PRIOR_OUTPUTS).toHaveLength(9);
    const missing = [...PRIOR_VARIABLES, ...PRIOR_OUTPUTS].filter((name) => !GUIDE.includes(`\n| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  test('maps only to variables and outputs the module has', () => {
    const module = moduleJson();
    // Rows of the two tables: | `prior name` | `ours` or `ours` or — | notes |
    const targets = (names: string[]) =>
      GUIDE.split('\n')
        .filter((line) => names.some((name) => line.startsWith(`| \`${name}\` |`)))
        .flatMap((line) => [...line.split('|')[2].matchAll(/`([a-z0-9_]+)`/g)].map((match) => match[1]));
    expect(targets(PRIOR_VARIABLES).filter((name) => !(name in module.variable))).toEqual([]);
    expect(targets(PRIOR_OUTPUTS).filter((name) => !(name in module.output))).toEqual([]);
  });

  test('names every variable and output of the module', () => {
    const module = moduleJson();
    const missing = [...Object.keys(module.variable), ...Object.keys(module.output)].filter((name) => !GUIDE.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
