output "endpoint" {
  description = "The name to connect to: ssh <your IAM user name>@<endpoint>."
  value       = module.bastion.endpoint
}

output "known_hosts" {
  description = "Append to ~/.ssh/known_hosts."
  value       = module.bastion.known_hosts
}

output "ssh_config" {
  description = "Append to ~/.ssh/config and set your User."
  value       = module.bastion.ssh_config
}
