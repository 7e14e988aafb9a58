// A deployable CDKTF app with the bastion: the AWS, TLS and random providers and the construct with
// its defaults. The VPC, subnets, callers and IAM groups come from the environment, comma-separated:
//   BASTION_VPC_ID, BASTION_SUBNET_IDS, BASTION_ALLOWED_CIDR_BLOCKS, BASTION_ALLOWED_IAM_GROUPS
// (and AWS_REGION). `npm install`, then `npx cdktf deploy bastion` (README.md).
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { SshBastionService } from 'ssh-bastion-service';

function list(name: string, example: string): string[] {
  return (process.env[name] ?? example).split(',').filter((item) => item !== '');
}

export class BastionStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: process.env.AWS_REGION ?? 'eu-west-1' });
    new TlsProvider(this, 'tls');
    new RandomProvider(this, 'random');
    const bastion = new SshBastionService(this, 'bastion', {
      vpcId: process.env.BASTION_VPC_ID ?? 'vpc-0123456789abcdef0',
      subnetIds: list('BASTION_SUBNET_IDS', 'subnet-0123456789abcdef0,subnet-0123456789abcdef1'),
      allowedCidrBlocks: list('BASTION_ALLOWED_CIDR_BLOCKS', '203.0.113.0/24'),
      allowedIamGroups: list('BASTION_ALLOWED_IAM_GROUPS', 'ssh-users'),
    });
    new TerraformOutput(this, 'ssh_config', { value: bastion.sshConfig });
    new TerraformOutput(this, 'known_hosts', { value: bastion.knownHosts });
  }
}

const app = new App();
new BastionStack(app, 'bastion');
app.synth();
