variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev; the key's alias is alias/<name>."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days a scheduled key deletion can still be cancelled (7 to 30)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
