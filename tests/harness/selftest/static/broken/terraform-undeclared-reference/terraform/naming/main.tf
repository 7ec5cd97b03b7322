variable "service_name" {
  type        = string
  description = "Name of the service."
}

locals {
  prefix = "${var.service_name}-${var.environment}"
}

output "prefix" {
  value = local.prefix
}
