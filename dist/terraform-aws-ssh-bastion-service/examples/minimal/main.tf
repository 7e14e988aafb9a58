# The smallest useful bastion: one host behind an internet-facing load balancer, reachable from
# one address range, for the members of one IAM group of this account who have an SSH key.

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

variable "subnet_ids" {
  description = "Public subnets of that VPC, or private ones with a NAT gateway."
  type        = list(string)
}

variable "allowed_cidr_blocks" {
  description = "Addresses allowed to connect, e.g. your office's range."
  type        = list(string)
}

variable "iam_group" {
  description = "IAM group whose members may log in."
  type        = string
}

module "bastion" {
  source = "../../"

  vpc_id              = var.vpc_id
  subnet_ids          = var.subnet_ids
  allowed_cidr_blocks = var.allowed_cidr_blocks
  allowed_iam_groups  = [var.iam_group]
}
