import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { HOST_PACKAGES } from '../../src/cloud-config';
import { appliedUserData, asTerraformData, initialised, removeDir, terraform, terraformBinary, varArgument } from '../helpers/terraform';
import { synthBastion } from '../helpers/synth';

const binary = terraformBinary();
if (!binary) console.warn('\n\n*** terraform is not installed: the module user data checks are SKIPPED ***\n\n');
const withTerraform = binary ? describe : describe.skip;

const REQUIRED = [
  varArgument('vpc_id', 'vpc-0123456789abcdef0'),
  varArgument('subnet_ids', ['subnet-0123456789abcdef0']),
  varArgument('allow_all_iam_users', true),
];

withTerraform('registry module user data, evaluated by real terraform', () => {
  let dir: string;
  let moduleJson: any;
  beforeAll(() => {
    moduleJson = JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module')));
    dir = initialised(asTerraformData(moduleJson), 'tf-user-data-');
  });
  afterAll(() => removeDir(dir));

  test('with the same inputs, the module renders the same cloud-config as the construct', () => {
    // GIVEN the same inputs on both paths
    const module = appliedUserData(moduleJson, [
      ...REQUIRED,
      varArgument('allowed_iam_groups', ['ssh-users', 'admins']),
      varArgument('session_max_seconds', 3600),
    ]);
    const literal = appliedUserData(
      synthBastion({
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        allowedIamGroups: ['ssh-users', 'admins'],
        sessionMaxSeconds: 3600,
      }),
    );
    // THEN both documents say the same
    expect(module.startsWith('#cloud-config\n')).toBe(true);
    expect(parse(module)).toEqual(parse(literal));
    expect(module).toContain('BASTION_ALLOWED_IAM_GROUPS=ssh-users,admins');
  });

  test('extra cloud-config turns the module user data into a MIME multipart, like the construct', () => {
    const extra = '#cloud-config\nruncmd:\n  - [echo, extra]\n';
    const module = appliedUserData(moduleJson, [...REQUIRED, varArgument('extra_cloud_config', extra)]);
    const literal = appliedUserData(synthBastion({ subnetIds: ['subnet-0123456789abcdef0'], extraCloudConfig: extra }));
    const parts = (text: string) => text.split(/^--SSH-BASTION-SERVICE-PART.*$/m).map((part) => part.split('\n\n').slice(1).join('\n\n'));
    expect(module.split('\n').slice(0, 2)).toEqual(literal.split('\n').slice(0, 2));
    const [moduleParts, literalParts] = [parts(module), parts(literal)];
    expect(moduleParts).toHaveLength(4);
    expect(parse(moduleParts[1])).toEqual(parse(literalParts[1]));
    expect(moduleParts[2]).toBe(literalParts[2]);
    expect(moduleParts[2]).toContain('[echo, extra]');
  });

  test("fails at plan when extra scripts push the user data over EC2's 16 KiB", () => {
    // GIVEN an extra script of 40,000 hex digits of a hash chain (gzip halves them at best)
    const noise = Array.from({ length: 625 }, (_, i) => createHash('sha256').update(String(i)).digest('hex')).join('');
    const script = path.join(dir, 'extra.sh');
    fs.writeFileSync(script, `#!/bin/sh\necho ${noise}\n`);
    // WHEN terraform plans
    const result = terraform(dir, [
      'plan',
      '-input=false',
      '-no-color',
      ...REQUIRED,
      `-var=extra_user_data_script=${fs.readFileSync(script, 'utf-8')}`,
    ]);
    // THEN the precondition stops it with its message
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("over EC2's limit of 16384 bytes");
  });

  test.each(Object.keys(HOST_PACKAGES) as (keyof typeof HOST_PACKAGES)[])(
    'host_os %s installs the packages of the one host OS table, on both paths',
    (hostOs) => {
      // HOST_PACKAGES is the one place where the host OSes differ in what they install (cloud-init's
      // package module picks dnf or apt); the module carries it as a lookup map, the construct as a list.
      const module = appliedUserData(moduleJson, [...REQUIRED, varArgument('host_os', hostOs)]);
      const literal = appliedUserData(synthBastion({ subnetIds: ['subnet-0123456789abcdef0'], hostOs }));
      expect(parse(module).packages).toEqual([...HOST_PACKAGES[hostOs]]);
      expect(parse(literal).packages).toEqual([...HOST_PACKAGES[hostOs]]);
    },
  );

  test("the Debian 12 host's packages are in Debian 12's archive", () => {
    // This machine is Debian 12 (bookworm) with the archive's package lists (scripts/setup.sh runs
    // apt-get update); the VM test (test/vm) installs them on a booted guest.
    expect(fs.readFileSync('/etc/os-release', 'utf-8')).toMatch(/^VERSION_CODENAME=bookworm$/m);
    for (const name of HOST_PACKAGES['debian-12']) {
      const shown = execFileSync('apt-cache', ['show', '--no-all-versions', name], { encoding: 'utf-8' });
      expect(shown).toMatch(new RegExp(`^Package: ${name}$`, 'm'));
    }
  });

  test('plans with the defaults', () => {
    const result = terraform(dir, ['plan', '-input=false', '-no-color', ...REQUIRED]);
    expect(result.output).toContain('Plan:');
    expect(result.status).toBe(0);
  });
});
