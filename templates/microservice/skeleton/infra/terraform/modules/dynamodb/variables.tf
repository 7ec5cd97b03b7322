variable "name" {
  description = "Name of the table, e.g. user-service-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the table."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the table."
  type        = bool
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
