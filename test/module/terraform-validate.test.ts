import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { asTerraformData, initialised, removeDir, terraform, terraformBinary } from '../helpers/terraform';

const binary = terraformBinary();
if (!binary) {
  console.warn('\n\n*** terraform is not installed: the offline Terraform checks of the module are SKIPPED ***\n\n');
}
const withTerraform = binary ? describe : describe.skip;

function moduleJson(): any {
  const app = Testing.app();
  return JSON.parse(Testing.synth(new SshBastionModuleStack(app, 'module'), true));
}

withTerraform('registry module, checked by real terraform offline', () => {
  test('every variable, local and reference of the module resolves (terraform validate)', () => {
    // GIVEN the module with each resource and data source turned into terraform_data
    const dir = initialised(asTerraformData(moduleJson()), 'tf-validate-');
    try {
      // WHEN terraform validates it
      const result = terraform(dir, ['validate', '-no-color']);
      // THEN it is valid
      expect(result.output).toContain('The configuration is valid');
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  test('fails when the module references something undeclared', () => {
    // GIVEN the module with a reference to a variable that does not exist
    const broken = asTerraformData(moduleJson());
    const anyResource = Object.keys(broken.resource.terraform_data)[0];
    broken.resource.terraform_data[anyResource].input.broken = '${var.does_not_exist}';
    const dir = initialised(broken, 'tf-validate-broken-');
    try {
      const result = terraform(dir, ['validate', '-no-color']);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('does_not_exist');
    } finally {
      removeDir(dir);
    }
  });

  test('the built module in dist/ is the same module', () => {
    const dist = path.resolve(__dirname, '../../dist/terraform-aws-ssh-bastion-service/main.tf.json');
    if (!fs.existsSync(dist)) return; // npm run build not run yet: the build test covers it
    expect(Object.keys(JSON.parse(fs.readFileSync(dist, 'utf-8')).resource).sort()).toEqual(Object.keys(moduleJson().resource).sort());
  });
});
