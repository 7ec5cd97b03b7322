output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "instance_arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "secret_arn" {
  description = "ARN of the secret holding the application user's connection (the value is never an output)."
  value       = aws_secretsmanager_secret.this.arn
}

output "admin_secret_arn" {
  description = "ARN of the secret holding the master user's connection, for migrations (the value is never an output)."
  value       = aws_secretsmanager_secret.admin.arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}
