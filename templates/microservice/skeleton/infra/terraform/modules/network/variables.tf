variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC; it must not overlap the networks it is peered with."
  type        = string
}

variable "az_count" {
  description = "Number of availability zones, each with one public and one private subnet (at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = false
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
