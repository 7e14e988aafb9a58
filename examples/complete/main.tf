# Most of what the module can do: a DNS name, IAM users from a separate identity account,
# only members of some IAM groups, allow-lists for users and administrators, two Graviton hosts
# on Spot capacity scaled on sessions and switched off at night, tighter session limits and tags.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      ManagedBy = "terraform"
    }
  }
}

variable "region" {
  description = "AWS region of the VPC."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "Id of an existing VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer, one per availability zone."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets (with a NAT gateway) for the hosts, in the same availability zones."
  type        = list(string)
}

variable "route53_zone_id" {
  description = "Public hosted zone of the bastion's DNS record."
  type        = string
}

variable "identity_account_role_arn" {
  description = "Role in the identity account, the account that holds the IAM users; see the identity_account_policy output."
  type        = string
}

module "bastion" {
  source = "../../"

  vpc_id        = var.vpc_id
  subnet_ids    = var.private_subnet_ids
  lb_subnet_ids = var.public_subnet_ids

  environment_name = "prod"
  service_name     = "bastion"
  vpc_name         = "main"

  # DNS: this name in the zone, instead of the generated prod-<region>-main-bastion.<zone name>
  route53_zone_id = var.route53_zone_id
  route53_fqdn    = "bastion.example.com"

  # Who may connect, from where
  allowed_cidr_blocks      = ["203.0.113.0/24", "2001:db8:1234::/48"]
  host_allowed_cidr_blocks = ["198.51.100.10/32"]
  key_name                 = "bastion-admin"

  # Whose keys count: members of these groups of the identity account
  assume_role_arn    = var.identity_account_role_arn
  allowed_iam_groups = ["bastion-users", "oncall"]

  # Hosts: Graviton, Spot, two of them
  architecture     = "arm64"
  instance_types   = ["t4g.small", "t4g.medium", "m7g.medium"]
  spot             = true
  min_size         = 2
  max_size         = 3
  desired_capacity = 2

  # Sessions
  session_max_seconds        = 28800
  container_memory_mb        = 1024
  container_pids_limit       = 512
  max_connections_per_source = 20
  lb_deletion_protection     = true

  # Scaling: about 30 sessions per host, no hosts from 20:00 to 07:00 on weekdays and at weekends;
  # a leaving host waits up to 2 hours for its sessions (users are told), hosts live 3 days at most
  target_sessions_per_host = 30
  schedule_time_zone       = "Europe/Berlin"
  schedules = [
    { name = "evening", recurrence = "0 20 * * MON-FRI", min_size = 0, max_size = 0 },
    { name = "morning", recurrence = "0 7 * * MON-FRI", min_size = 2, max_size = 3, desired_capacity = 2 },
  ]
  drain_timeout_seconds = 7200
  max_instance_lifetime = 259200

  tags = {
    Service     = "bastion"
    Environment = "prod"
  }
}
