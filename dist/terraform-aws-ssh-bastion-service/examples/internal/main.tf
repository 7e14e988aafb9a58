# A bastion for users who already reach the VPC (VPN, Direct Connect, peering): an internal load
# balancer and hosts in private subnets, no public address anywhere.

provider "aws" {
  region = var.region
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

variable "private_subnet_ids" {
  description = "Private subnets for the load balancer and the hosts, with a NAT gateway or VPC endpoints (ECR, SSM, IAM, STS)."
  type        = list(string)
}

variable "client_cidr_blocks" {
  description = "Address ranges of the clients, e.g. the VPN's."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "iam_groups" {
  description = "IAM groups whose members may log in."
  type        = list(string)
}

variable "route53_zone_id" {
  description = "Private hosted zone for the bastion's DNS record; \"\" for none."
  type        = string
  default     = ""
}

module "bastion" {
  source = "../../"

  vpc_id              = var.vpc_id
  subnet_ids          = var.private_subnet_ids
  lb_internal         = true
  assign_public_ip    = false
  allowed_cidr_blocks = var.client_cidr_blocks
  allowed_iam_groups  = var.iam_groups
  route53_zone_id     = var.route53_zone_id

  environment_name = "intranet"
}
