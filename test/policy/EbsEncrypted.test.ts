import { EbsEncrypted } from '../../src/policy/rules/EbsEncrypted';
import { firstResource, moduleJson, stackJson } from './fixtures';

describe('EbsEncrypted', () => {
  describe('Noncompliance', () => {
    test('fails when the root volume is not encrypted', () => {
      const json = moduleJson();
      firstResource(json, 'aws_launch_template').block_device_mappings[0].ebs.encrypted = 'false';
      expect(EbsEncrypted(json)).toEqual([
        expect.objectContaining({
          rule: 'EbsEncrypted',
          address: 'aws_launch_template.launch_template',
          message: expect.stringContaining('block_device_mappings[0].ebs'),
        }),
      ]);
    });

    test('fails when the root volume is left to the AMI', () => {
      const json = stackJson();
      delete firstResource(json, 'aws_launch_template').block_device_mappings;
      expect(EbsEncrypted(json)).toEqual([expect.objectContaining({ message: expect.stringContaining('no block_device_mappings') })]);
    });

    test('fails when a standalone volume is not encrypted', () => {
      const json = moduleJson();
      json.resource.aws_ebs_volume = { scratch: { availability_zone: 'eu-west-1a', size: 8 } };
      expect(EbsEncrypted(json)).toEqual([expect.objectContaining({ address: 'aws_ebs_volume.scratch' })]);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(EbsEncrypted(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(EbsEncrypted(stackJson())).toEqual([]);
    });
  });
});
