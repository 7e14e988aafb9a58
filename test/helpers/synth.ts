import { Testing, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { SshBastionService, SshBastionServiceProps } from '../../src';

export type Json = { [key: string]: any };

/** The smallest valid properties: who may log in is required (here every IAM user, which keeps the synthesized output of the other tests as it was). */
export const REQUIRED_PROPS: SshBastionServiceProps = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  allowAllIamUsers: true,
};

/** A stack with the three providers and one bastion; synthesized with validations on. */
export function synthBastion(props: Partial<SshBastionServiceProps> = {}): Json {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  new TlsProvider(stack, 'tls');
  new RandomProvider(stack, 'random');
  new SshBastionService(stack, 'bastion', { ...REQUIRED_PROPS, ...props });
  return JSON.parse(Testing.synth(stack, true));
}

/** All blocks of one resource type, by name. */
export function resources(json: Json, type: string): Json[] {
  return Object.values(json.resource?.[type] ?? {});
}

export function dataSources(json: Json, type: string): Json[] {
  return Object.values(json.data?.[type] ?? {});
}

export function onlyResource(json: Json, type: string): Json {
  const found = resources(json, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}
