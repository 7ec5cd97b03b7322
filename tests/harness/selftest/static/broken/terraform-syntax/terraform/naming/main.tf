variable "service_name" {
  type        = string
  description = "Name of the service."

variable "environment" {
  type    = string
  default = "dev"
}

output "prefix" {
  value = "${var.service_name}-${var.environment}"
}
