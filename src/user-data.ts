import { gzipSync } from 'zlib';
import { Fn, Token } from 'cdktf';
import { nonEmpty } from './conditional';
import { renderCloudConfig, UserDataSection } from './cloud-config';
import { BastionConfig, ADMIN_PORT, concat, switchText, joinNonEmpty } from './config';
import { HostSettings, hostEnvironmentParts } from './host-settings';

/** EC2 refuses user data above 16 KiB (after base64 decoding); ours is gzipped to fit. */
export const USER_DATA_LIMIT_BYTES = 16384;

const MIME_BOUNDARY = 'SSH-BASTION-SERVICE-PART';
const MERGE_TYPE = 'list(append)+dict(no_replace,recurse_list)+str()';

/** The settings written to /etc/ssh-bastion/bastion.env. */
export function hostSettings(config: BastionConfig): HostSettings {
  const text = (value: number | string) => (Token.isUnresolved(value) ? Token.asString(value) : String(value));
  return {
    servicePort: text(config.servicePort),
    adminPort: String(ADMIN_PORT),
    healthPort: text(config.healthCheckPort),
    sessionMaxSeconds: text(config.sessionMaxSeconds),
    allowedIamGroups: Token.isUnresolved(config.allowedIamGroups)
      ? Fn.join(',', config.allowedIamGroups)
      : config.allowedIamGroups.join(','),
    assumeRoleArn: config.assumeRoleArn,
    hostKeyParameter: stableHostKeyParameter(config),
    workerBaseImage: config.workerBaseImage,
    workerImage: config.workerImage,
    containerMemoryMb: text(config.containerMemoryMb),
    containerPidsLimit: text(config.containerPidsLimit),
    containerCpus: text(config.containerCpus),
    maxConnectionsPerSource: text(config.maxConnectionsPerSource),
    tunnelOnly: switchText(config.tunnelOnly),
    hostnamePrefix: joinNonEmpty([config.environmentName, config.vpcLabel, config.serviceName], '-'),
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
  return text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r/g, '\\r')
    .replace(/\$\{/g, '\\u0024{')
    .replace(/%\{/g, '\\u0025{');
}

/** Values only Terraform knows become placeholders in the YAML, then JSON strings (valid YAML scalars). */
class Placeholders {
  private readonly expressions: string[] = [];

  /** A value that becomes one whole YAML scalar: a JSON string once Terraform renders it. */
  public hold(value: string): string {
    if (!Token.isUnresolved(value)) return value;
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
function cloudConfigWithPlaceholders(config: BastionConfig, placeholders: Placeholders): string {
  const sectionScripts: { [S in UserDataSection]: string } = {
    'host-keys': placeholders.hold(config.customHostKeysScript),
    'key-lookup': placeholders.hold(config.customKeyLookupScript),
    'container-image': placeholders.hold(config.customContainerImageScript),
    units: placeholders.hold(config.customUnitsScript),
  };
  return renderCloudConfig({
    environment: placeholders.hold(concat(hostEnvironmentParts(hostSettings(config)))),
    sectionScripts,
    extraScript: placeholders.hold(config.extraUserDataScript),
  });
}

/**
 * The launch template's `user_data`: gzipped, base64-encoded cloud-config. When every input is a
 * literal it is computed here (so the synthesized template holds the exact bytes); otherwise it is
 * a Terraform `base64gzip(...)` expression over the same text.
 */
export function renderUserData(config: BastionConfig): string {
  const placeholders = new Placeholders();
  const cloudConfig = cloudConfigWithPlaceholders(config, placeholders);
  const extra = config.extraCloudConfig;

  if (placeholders.empty && !Token.isUnresolved(extra)) {
    const text = extra === '' ? cloudConfig : multipart(cloudConfig, extra);
    const gzipped = gzipSync(Buffer.from(text, 'utf-8'), { level: 9 });
    if (gzipped.length > USER_DATA_LIMIT_BYTES) {
      throw new Error(
        `user data is ${gzipped.length} bytes gzipped, above EC2's limit of ${USER_DATA_LIMIT_BYTES}: shorten extraUserDataScript, extraCloudConfig or the custom section scripts`,
      );
    }
    return gzipped.toString('base64');
  }

  let text: string;
  if (Token.isUnresolved(extra)) {
    const hasExtra = nonEmpty(extra);
    const head = placeholders.raw(Fn.conditional(hasExtra, `${MIME_HEADER}${mimePart('')}`, ''));
    const tail = placeholders.raw(
      Fn.conditional(hasExtra, Fn.join('', [`\n${mimePart('')}`, extra, `\n--${MIME_BOUNDARY}--\n`]), ''),
    );
    text = head + cloudConfig + tail;
  } else {
    text = extra === '' ? cloudConfig : multipart(cloudConfig, extra);
  }
  return Fn.base64gzip(Fn.join('', placeholders.parts(text)));
}
