variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev (at most 40 characters)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the cache runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on the Redis port (the EKS cluster's)."
  type        = list(string)
  default     = []
}

variable "allowed_cidr_blocks" {
  description = "Networks that may connect on the Redis port (peered networks)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the cache, its logs and the connection secret."
  type        = string
}

variable "secret_name" {
  description = "Name of the Secrets Manager secret that receives the connection URL with the auth token."
  type        = string
}

variable "node_type" {
  description = "Cache node type."
  type        = string
}

variable "multi_az" {
  description = "A replica in a second availability zone with automatic failover."
  type        = bool
}

variable "snapshot_retention_days" {
  description = "Days daily snapshots are kept."
  type        = number
  default     = 1
}

variable "auth_token_version" {
  description = "Increase to generate a new auth token (rotated with both tokens valid meanwhile) and store it in the secret."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Days the slow log is kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
