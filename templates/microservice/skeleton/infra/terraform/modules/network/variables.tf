variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC, /16 to /24; it must not overlap the networks it is peered with."
  type        = string

  validation {
    condition     = can(regex("^[0-9.]+/(1[6-9]|2[0-4])$", var.cidr_block)) && can(cidrsubnet(var.cidr_block, 3, 7))
    error_message = "cidr_block must be an IPv4 CIDR block from /16 to /24, e.g. 10.160.0.0/22."
  }
}

variable "az_count" {
  description = "Number of availability zones, each with one private subnet (at least 2: RDS and ElastiCache subnet groups span two)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
