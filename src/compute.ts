import { Fn, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { AMI_PARAMETER, BastionConfig } from './config';
import { attributeOf, attributesOf, choose, isExpression, lookupIn, nonEmpty, not, presence, withTags } from './conditional';
import { Identity } from './identity';
import { Network } from './network';
import { BundleLocation, renderUserData, USER_DATA_LIMIT_BYTES } from './user-data';
import { Architecture } from './props';

export interface Compute {
  readonly launchTemplate: LaunchTemplate;
  readonly autoscalingGroup: AutoscalingGroup;
}

/** The AMI: `amiId`, or the latest of the host OS and architecture from its publisher's public SSM parameter. */
function imageId(scope: Construct, config: BastionConfig): string {
  const lookup = presence(not(nonEmpty(config.amiId)));
  if (!lookup.declare) return config.amiId;
  const parameterName = lookupIn(
    lookupIn<{ readonly [A in Architecture]?: string }>(AMI_PARAMETER, config.hostOs, {}),
    config.architecture,
    '',
  );
  // Its id predates the other host OSes; kept, as ids are Terraform addresses.
  const latest = new DataAwsSsmParameter(scope, 'amazon_linux_2023', { count: lookup.count, name: parameterName });
  const latestId = attributeOf(scope, latest, 'insecure_value');
  return lookup.count === undefined ? latestId : Token.asString(choose(nonEmpty(config.amiId), config.amiId, latestId));
}

export function defineCompute(
  scope: Construct,
  config: BastionConfig,
  network: Network,
  identity: Identity,
  bundle: BundleLocation,
): Compute {
  const image = new DataAwsAmi(scope, 'image', {
    owners: ['amazon', 'self', 'aws-marketplace'],
    filter: [{ name: 'image-id', values: [imageId(scope, config)] }],
  });

  const instanceTags = withTags(config.tags, { Name: config.nameStem });
  const { userData, sizeProbe } = renderUserData(config, bundle);
  const userDataLocal = isExpression(userData) ? new TerraformLocal(scope, 'user_data', userData) : undefined;
  // Only Terraform can measure user data built from variables: stop at plan, not at apply. The
  // probe has the longest bundle location in place of a new bucket's name (known only after apply).
  const sizeProbeLocal = sizeProbe ? new TerraformLocal(scope, 'user_data_size_probe', sizeProbe) : undefined;
  const userDataLimit = Math.ceil(USER_DATA_LIMIT_BYTES / 3) * 4;
  const launchTemplate = new LaunchTemplate(scope, 'launch_template', {
    namePrefix: `${config.nameStem}-`,
    description: `Bastion hosts of ${config.nameStem}`,
    imageId: image.id,
    instanceType: Fn.element(config.instanceTypes, 0),
    keyName: choose(nonEmpty(config.keyName), config.keyName, Token.nullValue() as unknown as string),
    userData: userDataLocal ? userDataLocal.asString : userData,
    updateDefaultVersion: true,
    iamInstanceProfile: { arn: identity.instanceProfile.arn },
    // IMDSv2 only, one hop: containers behind the docker bridge cannot reach it.
    metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1, instanceMetadataTags: 'disabled' },
    networkInterfaces: [
      {
        associatePublicIpAddress: Token.asString(config.assignPublicIp),
        deleteOnTermination: 'true',
        securityGroups: Fn.concat([[network.hostSecurityGroup.id], config.additionalSecurityGroupIds]) as unknown as string[],
      },
    ],
    blockDeviceMappings: [
      {
        deviceName: image.rootDeviceName,
        ebs: { volumeSize: config.rootVolumeSize, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
      },
    ],
    monitoring: { enabled: true },
    tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({ resourceType, tags: instanceTags })),
    tags: config.tags,
    lifecycle: {
      createBeforeDestroy: true,
      precondition: sizeProbeLocal
        ? [
            {
              condition: `\${length(${sizeProbeLocal.fqn}) <= ${userDataLimit}}`,
              errorMessage: `The user data is over EC2's limit of ${USER_DATA_LIMIT_BYTES} bytes (gzipped): shorten extra_user_data_script, extra_cloud_config or the custom_*_script variables.`,
            },
          ]
        : undefined,
    },
  });

  const targetGroupArns = network.adminTargetGroup
    ? (Fn.concat([[network.serviceTargetGroup.arn], attributesOf(scope, network.adminTargetGroup, 'arn')]) as unknown as string[])
    : [network.serviceTargetGroup.arn];

  // Keyed "00", "01", ...: dynamic blocks iterate maps in key order, so the preference order holds
  // (a set would sort the types by name).
  const instanceTypes = TerraformIterator.fromMap(
    Fn.zipmap(Fn.formatlist('%02d', [Fn.range(0, Fn.lengthOf(config.instanceTypes))]), config.instanceTypes) as unknown as {
      [key: string]: string;
    },
  );
  const tags = TerraformIterator.fromMap(withTags(config.tags, { Name: config.nameStem }));
  const autoscalingGroup = new AutoscalingGroup(scope, 'autoscaling_group', {
    namePrefix: `${config.nameStem}-`,
    minSize: config.minSize,
    maxSize: config.maxSize,
    desiredCapacity: config.desiredCapacity,
    vpcZoneIdentifier: config.subnetIds,
    targetGroupArns,
    healthCheckType: 'ELB',
    healthCheckGracePeriod: config.healthCheckGracePeriod,
    capacityRebalance: choose(config.spot, true, false),
    mixedInstancesPolicy: {
      launchTemplate: {
        launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: launchTemplate.latestVersion.toString() },
        override: instanceTypes.dynamic({ instance_type: instanceTypes.value }) as never,
      },
      instancesDistribution: {
        onDemandBaseCapacity: 0,
        onDemandPercentageAboveBaseCapacity: choose(config.spot, 0, 100),
        spotAllocationStrategy: 'price-capacity-optimized',
      },
    },
    // A new launch template version replaces the hosts, launching each new host before its old one
    // leaves (up to twice the hosts for a while): capacity stays while old hosts drain.
    instanceRefresh: { strategy: 'Rolling', preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200 } },
    // Hosts older than this are replaced (drained first): they pick up the latest AMI and packages.
    maxInstanceLifetime: config.maxInstanceLifetime,
    tag: tags.dynamic({ key: tags.key, value: tags.value, propagate_at_launch: true }),
    // The sessions-per-host policy and the schedules set the desired capacity once the group exists.
    lifecycle: { ignoreChanges: ['desired_capacity'] },
  });

  return { launchTemplate, autoscalingGroup };
}
