export * from './props';
export * from './ssh-bastion-service';
export * from './module-stack';
export * from './validation';
export type { HostSettings } from './host-settings';
export { HOST_SETTING_VARIABLES } from './host-settings';
export * from './policy';
export type { BastionConfig } from './config';
export type { Switch } from './conditional';
