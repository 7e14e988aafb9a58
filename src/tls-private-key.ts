import { TerraformMetaArguments, TerraformResource, stringToHclTerraform, stringToTerraform } from 'cdktf';
import { Construct } from 'constructs';

export interface TlsPrivateKeyConfig extends Pick<TerraformMetaArguments, 'count' | 'lifecycle'> {
  /** RSA, ECDSA or ED25519 */
  readonly algorithm: string;
}

/**
 * `tls_private_key` of the hashicorp/tls provider: the one tls resource the construct declares,
 * written here so that the construct needs no tls bindings package (there is none for cdktn).
 * It synthesizes what `PrivateKey` of @cdktf/provider-tls 11 does for the same arguments, and
 * asks for a tls provider in the stack as that does (the stack's `TlsProvider`, or
 * `ProviderRequirement` for `tls`).
 */
export class TlsPrivateKey extends TerraformResource {
  private readonly algorithm: string;

  constructor(scope: Construct, id: string, config: TlsPrivateKeyConfig) {
    super(scope, id, {
      terraformResourceType: 'tls_private_key',
      terraformGeneratorMetadata: { providerName: 'tls', providerVersionConstraint: '~> 4.0' },
      count: config.count,
      lifecycle: config.lifecycle,
    });
    this.algorithm = config.algorithm;
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { algorithm: stringToTerraform(this.algorithm) };
  }

  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    return { algorithm: { value: stringToHclTerraform(this.algorithm), isBlock: false, type: 'simple', storageClassType: 'string' } };
  }
}
