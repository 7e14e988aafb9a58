output "endpoint" {
  description = "The name to connect to: ssh <your IAM user name>@<endpoint>."
  value       = module.bastion.endpoint
}

output "dns_name" {
  description = "The bastion's DNS record."
  value       = module.bastion.dns_name
}

output "known_hosts" {
  description = "Append to ~/.ssh/known_hosts."
  value       = module.bastion.known_hosts
}

output "ssh_config" {
  description = "Append to ~/.ssh/config and set your User."
  value       = module.bastion.ssh_config
}

output "identity_account_policy" {
  description = "Trust and permissions policies to apply to the role in the identity account."
  value       = module.bastion.identity_account_policy
}

output "iam_role_name" {
  description = "The hosts' role, to attach further policies to."
  value       = module.bastion.iam_role_name
}
