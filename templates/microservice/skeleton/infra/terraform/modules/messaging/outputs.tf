output "queue_arn" {
  description = "ARN of the queue the service consumes."
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "URL of the queue the service consumes."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "topic_arn" {
  description = "ARN of the topic the service publishes to (null without create_topic)."
  value       = one(aws_sns_topic.this[*].arn)
}

output "secret_arn" {
  description = "ARN of the secret holding the queue URL and topic ARN."
  value       = aws_secretsmanager_secret.this.arn
}
