import { gzipSync } from 'zlib';
import { Fn, Token } from 'cdktf';
import { concat, isExpression, joinList, joinNonEmpty, literalOr, lookupIn, nonEmpty, numberText, Switch, switchText } from './conditional';
import { INPUTS, VariableKind } from './inputs';
import { HOST_PACKAGES, renderCloudConfig, UserDataSection } from './cloud-config';
import { BastionConfig, ADMIN_PORT } from './config';
import { HostSettings, hostEnvironmentParts } from './host-settings';

/** EC2 refuses user data above 16 KiB (after base64 decoding); ours is gzipped to fit. */
export const USER_DATA_LIMIT_BYTES = 16384;

const MIME_BOUNDARY = 'SSH-BASTION-SERVICE-PART';
const MERGE_TYPE = 'list(append)+dict(no_replace,recurse_list)+str()';

/** Where the hosts fetch their bundle from, and the hash it must have. */
export interface BundleLocation {
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly sha256: string;
  /** The bucket the hosts store session recordings in; '' or absent without session recording */
  readonly recordingBucket?: string;
}

/** An input's value as bastion.env holds it: a number as text, a switch as "true" or "false", a list joined with commas. */
function settingText(value: unknown, type: VariableKind): string {
  switch (type) {
    case 'bool':
      return switchText(value as Switch);
    case 'list(string)':
      return joinList(value as string[], ',');
    case 'number':
      return numberText(value as number);
    case 'string':
      return value as string;
    default:
      throw new Error(`an input of type ${type} cannot be a host setting`);
  }
}

/** The settings written to /etc/ssh-bastion/bastion.env: the inputs the table of inputs gives a host setting, and the derived ones. */
export function hostSettings(config: BastionConfig, bundle: BundleLocation): HostSettings {
  const values = config as unknown as { [prop: string]: unknown };
  const fromInputs = Object.fromEntries(
    INPUTS.filter((input) => input.hostSetting !== undefined).map(({ prop, type }) => [prop, settingText(values[prop], type)]),
  );
  return {
    ...(fromInputs as Omit<
      HostSettings,
      | 'adminPort'
      | 'hostKeyParameter'
      | 'hostnamePrefix'
      | 'auditLogGroup'
      | 'region'
      | 'bundleBucket'
      | 'bundleKey'
      | 'bundleSha256'
      | 'groupNameParameter'
    >),
    adminPort: String(ADMIN_PORT),
    hostKeyParameter: stableHostKeyParameter(config),
    hostnamePrefix: joinNonEmpty([config.environmentName, config.vpcLabel, config.serviceName], '-'),
    auditLogGroup: config.auditLogGroupName,
    region: bundle.region,
    bundleBucket: bundle.bucket,
    bundleKey: bundle.key,
    bundleSha256: bundle.sha256,
    groupNameParameter: config.groupNameParameterName,
    recordingBucket: bundle.recordingBucket ?? '',
  };
}

function stableHostKeyParameter(config: BastionConfig): string {
  if (typeof config.stableHostKeys === 'boolean') return config.stableHostKeys ? config.hostKeyParameterName : '';
  return Token.asString(Fn.conditional(config.stableHostKeys, config.hostKeyParameterName, ''));
}

/**
 * A literal chunk of a Terraform string: `${` and `%{` are written with HCL's \\u escapes so neither
 * cdktf nor Terraform reads them as interpolation; cdktf escapes the newlines.
 */
function hclLiteral(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\$\{/g, '\\u0024{').replace(/%\{/g, '\\u0025{');
}

/** Values only Terraform knows become placeholders in the YAML, then JSON strings (valid YAML scalars). */
class Placeholders {
  private readonly expressions: string[] = [];

  /** A value that becomes one whole YAML scalar: a JSON string once Terraform renders it. */
  public hold(value: string): string {
    if (!isExpression(value)) return value;
    return this.raw(Fn.jsonencode(value));
  }

  /** A value that Terraform inserts as it is. */
  public raw(value: string): string {
    this.expressions.push(value);
    return `__TF_${this.expressions.length - 1}__`;
  }

  public get empty(): boolean {
    return this.expressions.length === 0;
  }

  /**
   * The text as the parts of a Terraform `join("", [...])`: literal chunks pre-escaped for HCL
   * (cdktf itself escapes only newlines), placeholders replaced by their expressions.
   */
  public parts(text: string): string[] {
    return text
      .split(/(__TF_\d+__)/)
      .filter((part) => part !== '')
      .map((part) => {
        const match = /^__TF_(\d+)__$/.exec(part);
        return match ? this.expressions[Number(match[1])] : hclLiteral(part);
      });
  }
}

function mimePart(body: string): string {
  return [
    `--${MIME_BOUNDARY}`,
    'Content-Type: text/cloud-config; charset=utf-8',
    'MIME-Version: 1.0',
    `Merge-Type: ${MERGE_TYPE}`,
    '',
    body,
  ].join('\n');
}

const MIME_HEADER = `Content-Type: multipart/mixed; boundary=${MIME_BOUNDARY}\nMIME-Version: 1.0\n\n`;

/** The module's cloud-config followed by the user's, merged by cloud-init with lists appended. */
export function multipart(cloudConfig: string, extraCloudConfig: string): string {
  return `${MIME_HEADER}${mimePart(cloudConfig)}\n${mimePart(extraCloudConfig)}\n--${MIME_BOUNDARY}--\n`;
}

/** The cloud-config document of the hosts, with placeholders where Terraform supplies values. */
function cloudConfigWithPlaceholders(config: BastionConfig, bundle: BundleLocation, placeholders: Placeholders): string {
  const sectionScripts: { [S in UserDataSection]: string } = {
    'host-keys': placeholders.hold(config.customHostKeysScript),
    'key-lookup': placeholders.hold(config.customKeyLookupScript),
    'container-image': placeholders.hold(config.customContainerImageScript),
    units: placeholders.hold(config.customUnitsScript),
  };
  const packages = lookupIn(HOST_PACKAGES, config.hostOs, HOST_PACKAGES['amazon-linux-2023']);
  return renderCloudConfig({
    environment: placeholders.hold(concat(hostEnvironmentParts(hostSettings(config, bundle)))),
    sectionScripts,
    extraScript: placeholders.hold(config.extraUserDataScript),
    packages: isExpression(packages) ? placeholders.raw(Fn.jsonencode(packages)) : packages,
  });
}

/**
 * Literal stand-ins of the longest values Terraform gives the bundle's location: the user data is
 * measured with them at synth time, so literal inputs that cannot fit stop `cdktf synth`.
 */
const LONGEST_LOCATION = { region: 'x'.repeat(16), bucket: 'x'.repeat(63), key: 'x'.repeat(140), sha256: '0'.repeat(64) };

/** The user data as text, its size gzipped, or undefined when a value only Terraform knows is in it. */
function literalUserData(config: BastionConfig, bundle: BundleLocation): { text: string; gzipped: Buffer } | undefined {
  const placeholders = new Placeholders();
  const cloudConfig = cloudConfigWithPlaceholders(config, bundle, placeholders);
  const extra = config.extraCloudConfig;
  if (!placeholders.empty || isExpression(extra)) return undefined;
  const text = extra === '' ? cloudConfig : multipart(cloudConfig, extra);
  return { text, gzipped: gzipSync(Buffer.from(text, 'utf-8'), { level: 9 }) };
}

/** The launch template's user data, and what measures it at plan time. */
export interface RenderedUserData {
  /** base64 of the gzipped text: a literal, or a Terraform `base64gzip(...)` expression */
  readonly userData: string;
  /**
   * The same user data with the longest stand-ins where the bundle's location is only known
   * after apply (a new bucket's name): a Terraform expression of variables only, so its length
   * is known at plan. Undefined when the size was checked at synth time.
   */
  readonly sizeProbe?: string;
}

/**
 * The launch template's `user_data`: gzipped, base64-encoded cloud-config. When every input is a
 * literal it is computed here (so the synthesized template holds the exact bytes); otherwise it is
 * a Terraform `base64gzip(...)` expression over the same text. Literal inputs are measured here
 * (with the longest bundle location when Terraform supplies it); values only Terraform knows by
 * the launch template's precondition at plan time, on `sizeProbe`.
 */
export function renderUserData(config: BastionConfig, bundle: BundleLocation): RenderedUserData {
  const longest: BundleLocation = {
    region: literalOr(bundle.region, LONGEST_LOCATION.region),
    bucket: literalOr(bundle.bucket, LONGEST_LOCATION.bucket),
    key: literalOr(bundle.key, LONGEST_LOCATION.key),
    sha256: literalOr(bundle.sha256, LONGEST_LOCATION.sha256),
    recordingBucket: literalOr(bundle.recordingBucket, LONGEST_LOCATION.bucket),
  };
  const measured = literalUserData(config, longest);
  if (measured && measured.gzipped.length > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `user data is ${measured.gzipped.length} bytes gzipped, above EC2's limit of ${USER_DATA_LIMIT_BYTES}: shorten extraUserDataScript, extraCloudConfig or the custom section scripts`,
    );
  }
  const literal = literalUserData(config, bundle);
  if (literal) return { userData: literal.gzipped.toString('base64') };
  return { userData: userDataExpression(config, bundle), sizeProbe: measured ? undefined : userDataExpression(config, longest) };
}

function userDataExpression(config: BastionConfig, bundle: BundleLocation): string {
  const placeholders = new Placeholders();
  const cloudConfig = cloudConfigWithPlaceholders(config, bundle, placeholders);
  const extra = config.extraCloudConfig;
  let text: string;
  if (isExpression(extra)) {
    const hasExtra = nonEmpty(extra);
    const head = placeholders.raw(Fn.conditional(hasExtra, `${MIME_HEADER}${mimePart('')}`, ''));
    const tail = placeholders.raw(Fn.conditional(hasExtra, Fn.join('', [`\n${mimePart('')}`, extra, `\n--${MIME_BOUNDARY}--\n`]), ''));
    text = head + cloudConfig + tail;
  } else {
    text = extra === '' ? cloudConfig : multipart(cloudConfig, extra);
  }
  return Fn.base64gzip(Fn.join('', placeholders.parts(text)));
}
