import {
  Fn,
  Op,
  TerraformDataSource,
  TerraformElement,
  TerraformLocal,
  TerraformOutput,
  TerraformProvider,
  TerraformResource,
  TerraformStack,
  TerraformVariable,
  Token,
} from 'cdktf';
import { Construct, Node } from 'constructs';
import { BUNDLE_FILE_NAME } from './bundle';
import { BUNDLE_SOURCE_CONTEXT } from './bundle-storage';
import { Derivation, DerivationInputs, DERIVED, INPUTS, SCHEDULES_TYPE, VariableKind } from './inputs';
import { SshBastionServiceProps } from './props';
import { SshBastionService } from './ssh-bastion-service';
import { INPUT_RULES, variableName } from './validation';

/** Minimum versions the module is written against; callers may use anything newer. */
export const REQUIRED_PROVIDERS = {
  aws: { source: 'hashicorp/aws', version: '>= 6.0' },
  tls: { source: 'hashicorp/tls', version: '>= 4.0' },
  random: { source: 'hashicorp/random', version: '>= 3.1' },
} as const;

export const REQUIRED_TERRAFORM_VERSION = '>= 1.9';

/**
 * Declares a provider without configuring it: `required_providers` with its source and version
 * constraint, and an empty provider block. The module declares its providers so (it drops the
 * block: the caller's provider configuration is used). A stack declares tls so where no tls
 * bindings package is at hand, as under cdktn: the construct needs no tls settings.
 *
 * @example new ProviderRequirement(this, 'tls', 'hashicorp/tls', '~> 4.0');
 */
export class ProviderRequirement extends TerraformProvider {
  constructor(scope: Construct, name: string, source: string, versionConstraint: string) {
    super(scope, name, {
      terraformResourceType: name,
      terraformGeneratorMetadata: { providerName: name, providerVersionConstraint: versionConstraint },
      terraformProviderSource: source,
    });
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {};
  }
}

export { SCHEDULES_TYPE };
export type { VariableKind };

export interface ModuleVariable {
  readonly prop: keyof SshBastionServiceProps;
  readonly type: VariableKind;
  readonly description: string;
  /** undefined: required */
  readonly default?: unknown;
  /** null allowed as a value (means: use the documented behaviour) */
  readonly nullable?: boolean;
}

/** The module's variables, from the table of inputs: a derived default is null, which Terraform users may also pass. */
export const MODULE_VARIABLES: ModuleVariable[] = INPUTS.map(({ prop, type, description, default: value }) =>
  value === DERIVED ? { prop, type, default: null, nullable: true, description } : { prop, type, default: value, description },
);

/** Terraform's value of a variable, typed for the construct's property. */
function valueOf(variable: TerraformVariable, type: VariableKind): unknown {
  switch (type) {
    case 'number':
      return variable.numberValue;
    case 'bool':
      return variable.booleanValue;
    case 'list(string)':
      return variable.listValue;
    case 'map(string)':
      return Token.asStringMap(variable.value);
    case SCHEDULES_TYPE:
      return Token.asAny(variable.value);
    default:
      return variable.stringValue;
  }
}

/** A variable's value, or its derived default where it is null. */
function orDerived(value: unknown, derived: unknown, how: Derivation['inTerraform']): unknown {
  switch (how) {
    case 'coalesce':
      return Fn.coalesce([value, derived]);
    case 'coalescelist':
      return Fn.coalescelist([value as unknown[], derived as unknown[]]);
    default: {
      const chosen = Fn.conditional(Op.eq(value, Token.nullValue()), derived, value);
      return Array.isArray(value) || Array.isArray(derived) ? Token.asList(chosen) : Token.asString(chosen);
    }
  }
}

/**
 * The registry module: every construct property as a typed, described, validated variable,
 * the useful attributes as outputs, provider requirements with minimum versions, and neither a
 * provider block nor a backend. Terraform addresses are the construct ids, without hashes.
 */
/** What shares one namespace of Terraform addresses: `resource aws_lb`, `data aws_region`, `output`, `variable`, ... */
function addressKind(element: unknown): string {
  const typed = element as { terraformResourceType?: string };
  if (TerraformDataSource.isTerraformDataSource(element)) return `data ${typed.terraformResourceType}`;
  if (TerraformResource.isTerraformResource(element)) return `resource ${typed.terraformResourceType}`;
  if (element instanceof TerraformOutput) return 'output';
  if (element instanceof TerraformVariable) return 'variable';
  if (element instanceof TerraformLocal) return 'local';
  if (element instanceof TerraformProvider) return 'provider';
  return (element as object).constructor.name;
}

export class SshBastionModuleStack extends TerraformStack {
  public readonly bastion: SshBastionService;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The bundle ships beside the module's .tf.json files (scripts/build.js writes it there).
    this.node.setContext(BUNDLE_SOURCE_CONTEXT, `\${path.module}/${BUNDLE_FILE_NAME}`);
    for (const [name, requirement] of Object.entries(REQUIRED_PROVIDERS)) {
      new ProviderRequirement(this, name, requirement.source, requirement.version);
    }
    this.addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);

    const props: { [prop: string]: unknown } = {};
    for (const definition of MODULE_VARIABLES) {
      const name = variableName(definition.prop);
      const variable = new TerraformVariable(this, name, {
        type: definition.type,
        description: definition.description,
        default: definition.default === null ? undefined : definition.default,
        nullable: definition.nullable ?? false,
        validation: INPUT_RULES.filter((rule) => rule.prop === definition.prop).map((rule) => ({
          condition: `\${${rule.condition}}`,
          errorMessage: `${name} ${rule.allowed}.`,
        })),
      });
      // cdktf cannot render a null default itself.
      if (definition.default === null) variable.addOverride('default', null);
      props[definition.prop] = valueOf(variable, definition.type);
    }
    // null means "the documented behaviour": resolve it here, where Terraform knows.
    for (const { prop, derive } of INPUTS) {
      if (derive !== undefined) props[prop] = orDerived(props[prop], derive.from(props as DerivationInputs), derive.inTerraform);
    }

    this.bastion = new SshBastionService(this, 'bastion', props as unknown as SshBastionServiceProps);
    this.defineOutputs();
  }

  private defineOutputs(): void {
    const b = this.bastion;
    const outputs: [string, string, unknown][] = [
      ['dns_name', 'DNS name of the Route53 alias record; "" when no hosted zone is given.', b.dnsName],
      ['endpoint', 'The name users connect to: dns_name when there is a record, else lb_dns_name.', b.endpoint],
      ['lb_dns_name', 'DNS name of the Network Load Balancer.', b.loadBalancer.dnsName],
      ['lb_zone_id', 'Route53 zone id of the load balancer, for alias records of your own.', b.loadBalancer.zoneId],
      ['lb_arn', 'ARN of the Network Load Balancer.', b.loadBalancer.arn],
      ['lb_security_group_id', 'Security group of the load balancer.', b.loadBalancerSecurityGroup.id],
      ['target_group_arn', "ARN of the bastion service's target group.", b.targetGroup.arn],
      ['security_group_id', 'Security group of the hosts.', b.securityGroup.id],
      ['iam_role_arn', "ARN of the hosts' instance role.", b.role.arn],
      ['iam_role_name', "Name of the hosts' instance role, to attach further policies (e.g. CloudWatch agent).", b.role.name],
      ['autoscaling_group_name', "Name of the hosts' autoscaling group.", b.autoscalingGroup.name],
      ['autoscaling_group_arn', "ARN of the hosts' autoscaling group.", b.autoscalingGroup.arn],
      ['launch_template_id', "Id of the hosts' launch template.", b.launchTemplate.id],
      ['launch_template_latest_version', "Latest version of the hosts' launch template.", b.launchTemplate.latestVersion],
      ['host_public_key', 'OpenSSH public host key every host presents; "" when stable_host_keys is false.', b.hostPublicKey],
      ['host_key_parameter_name', 'SSM parameter holding the host key; "" when stable_host_keys is false.', b.hostKeyParameterName],
      ['known_hosts', 'A known_hosts line for the DNS name and the load balancer name; "" when stable_host_keys is false.', b.knownHosts],
      ['ssh_config', 'An OpenSSH client Host block for the service, to paste into ~/.ssh/config.', b.sshConfig],
      [
        'audit_log_group_name',
        "CloudWatch Logs group of the hosts' audit events (one JSON object per event; the hosts may write to no other group).",
        b.auditLogGroupName,
      ],
      ['audit_log_group_arn', "ARN of the audit log group, for subscriptions and readers' policies.", b.auditLogGroup.arn],
      [
        'recordings_location',
        'Where session recordings are stored, s3://<bucket>/recordings/ (objects <yyyy>/<mm>/<dd>/<session id>-<user>.cast); "" when session_recording is false.',
        b.recordingsLocation,
      ],
      [
        'identity_account_policy',
        'JSON with the trust and permissions policy documents the identity account must apply when assume_role_arn is set; "" otherwise.',
        b.identityAccountPolicy,
      ],
    ];
    for (const [name, description, value] of outputs) {
      new TerraformOutput(this, name, { description, value, staticId: true });
    }
  }

  /** Which construct holds each address: kind and type (`resource aws_lb`) + logical id → construct path. */
  private readonly addresses = new Map<string, string>();

  /**
   * Addresses are the construct id alone (`aws_lb.load_balancer`), not the hashed path. Two
   * constructs of the same kind and type with the same id would get the same address and Terraform
   * JSON would keep only one of them: that stops the synth instead, naming both constructs.
   */
  protected allocateLogicalId(element: TerraformElement | Node): string {
    const node = TerraformElement.isTerraformElement(element) ? element.node : element;
    const logicalId = node.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const key = `${TerraformElement.isTerraformElement(element) ? addressKind(element) : 'construct'} ${logicalId}`;
    const holder = this.addresses.get(key);
    if (holder !== undefined && holder !== node.path) {
      throw new Error(
        `The registry module has two constructs at the address ${key}: ${holder} and ${node.path}. Give one of them another id.`,
      );
    }
    this.addresses.set(key, node.path);
    return logicalId;
  }

  /** A module has no provider configuration and no backend: the caller's apply. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the type of cdktf's TerraformStack.toTerraform
  public toTerraform(): any {
    const tf = super.toTerraform();
    delete tf.provider;
    if (tf.terraform) delete tf.terraform.backend;
    return tf;
  }
}
