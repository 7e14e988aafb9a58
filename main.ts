import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { SshBastionModuleStack, SshBastionService } from './src';

/** The stack name of the registry module; the build copies it to dist/<name>/. */
export const MODULE_STACK = 'terraform-aws-ssh-bastion-service';

/**
 * A deployable example: the AWS provider plus the construct with its defaults. Set the VPC,
 * subnets and IAM groups through the environment (`BASTION_VPC_ID`, `BASTION_SUBNET_IDS`,
 * `BASTION_ALLOWED_IAM_GROUPS`, comma-separated) and run `cdktf deploy example`.
 */
class ExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: process.env.AWS_REGION ?? 'eu-west-1' });
    new TlsProvider(this, 'tls');
    new RandomProvider(this, 'random');
    new SshBastionService(this, 'bastion', {
      vpcId: process.env.BASTION_VPC_ID ?? 'vpc-0123456789abcdef0',
      subnetIds: (process.env.BASTION_SUBNET_IDS ?? 'subnet-0123456789abcdef0,subnet-0123456789abcdef1').split(','),
      allowedCidrBlocks: (process.env.BASTION_ALLOWED_CIDR_BLOCKS ?? '203.0.113.0/24').split(','),
      allowedIamGroups: (process.env.BASTION_ALLOWED_IAM_GROUPS ?? 'ssh-users').split(','),
    });
  }
}

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
new SshBastionModuleStack(app, MODULE_STACK);
new ExampleStack(app, 'example');
app.synth();
