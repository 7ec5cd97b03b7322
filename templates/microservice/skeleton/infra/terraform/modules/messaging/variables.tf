variable "name" {
  description = "Name of the service and environment, e.g. user-service-dev; the queue, its dead-letter queue and the topic are named after it."
  type        = string
}

variable "create_topic" {
  description = "Create an SNS topic and subscribe the queue to it (publish/subscribe); without it, a plain SQS work queue."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the queues, the topic and the connection secret."
  type        = string
}

variable "secret_name" {
  description = "Name of the Secrets Manager secret that receives the queue URL and topic ARN."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays invisible to other consumers."
  type        = number
  default     = 60
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
