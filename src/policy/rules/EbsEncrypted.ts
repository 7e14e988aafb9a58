import { blocksOf, Finding, isTrue, Json, resourcesOf, ruleName } from '../module-json';

const RULE = ruleName(__filename);

/** Every EBS volume the hosts get is encrypted: launch template block devices, instance volumes and standalone volumes. */
export function EbsEncrypted(module: Json): Finding[] {
  const findings: Finding[] = [];
  const unencrypted = (address: string, where: string, encrypted: unknown) =>
    findings.push({ rule: RULE, address, message: `${where} has encrypted = ${JSON.stringify(encrypted)}: set encrypted = true` });

  for (const { address, body } of resourcesOf(module, 'aws_launch_template')) {
    const mappings = blocksOf(body.block_device_mappings);
    if (mappings.length === 0) {
      findings.push({
        rule: RULE,
        address,
        message:
          "has no block_device_mappings, so the root volume is only as encrypted as the AMI's snapshot: map the root device with ebs.encrypted = true",
      });
    }
    mappings.forEach((mapping, index) => {
      for (const ebs of blocksOf(mapping.ebs))
        if (!isTrue(ebs.encrypted)) unencrypted(address, `block_device_mappings[${index}].ebs`, ebs.encrypted);
    });
  }
  for (const { address, body } of resourcesOf(module, 'aws_instance')) {
    for (const [name, device] of [
      ...blocksOf(body.root_block_device).map((d) => ['root_block_device', d] as const),
      ...blocksOf(body.ebs_block_device).map((d) => ['ebs_block_device', d] as const),
    ]) {
      if (!isTrue(device.encrypted)) unencrypted(address, name, device.encrypted);
    }
  }
  for (const { address, body } of resourcesOf(module, 'aws_ebs_volume')) {
    if (!isTrue(body.encrypted)) unencrypted(address, 'the volume', body.encrypted);
  }
  return findings;
}
