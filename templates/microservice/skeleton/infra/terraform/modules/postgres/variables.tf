variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev; used as the DB instance identifier."
  type        = string
}

variable "vpc_id" {
  description = "VPC the database runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the database, in at least two availability zones."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on the PostgreSQL port (the EKS cluster's)."
  type        = list(string)
  default     = []
}

variable "allowed_cidr_blocks" {
  description = "Networks that may connect on the PostgreSQL port (peered networks)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the storage, Performance Insights and the credentials secret."
  type        = string
}

variable "secret_name" {
  description = "Name of the Secrets Manager secret that receives the connection details and password."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Upper bound of storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "database_name" {
  description = "Name of the database the service uses."
  type        = string
}

variable "master_username" {
  description = "Name of the database's master user."
  type        = string
  default     = "service"
}

variable "password_version" {
  description = "Increase to generate a new password; it is written to the database and the secret, never to the state."
  type        = number
  default     = 1
}

variable "multi_az" {
  description = "Standby in a second availability zone."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse to delete the database."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days automated backups are kept (1 to 35)."
  type        = number
}

variable "log_retention_days" {
  description = "Days the database's CloudWatch logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
