// The package's public API: the construct and its props, the registry module stack, ProviderRequirement
// (names a provider without its bindings package: the tls provider under cdktn), and the policy check a
// platform team can run over any synthesized stack. Everything else is internal and may change.
export type { Architecture, BastionSchedule, HostOs, SshBastionServiceProps } from './props';
export { SshBastionService } from './ssh-bastion-service';
export { ProviderRequirement, SshBastionModuleStack } from './module-stack';
export { checkPolicy, POLICY_RULES } from './policy';
export type { Finding, Json, PolicyRule } from './policy';
