variable "service_name" {
  type        = string
  description = "Name of the service."
}

variable "environment" {
  type    = string
  default = "dev"
}

locals {
  prefix = "${var.service_name}-${var.environment}"
}

output "prefix" {
  value = local.prefix
}
