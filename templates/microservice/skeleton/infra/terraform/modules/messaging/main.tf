# An SQS queue with a dead-letter queue, both encrypted with the service's key; with create_topic, an
# SNS topic whose messages the queue receives through a subscription.

resource "aws_sqs_queue" "dead_letter" {
  name                              = "${var.name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = 345600
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

resource "aws_sns_topic" "this" {
  count = var.create_topic ? 1 : 0

  name              = var.name
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "queue" {
  count = var.create_topic ? 1 : 0

  topic_arn            = aws_sns_topic.this[0].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this.arn
  raw_message_delivery = true
}

data "aws_iam_policy_document" "queue" {
  count = var.create_topic ? 1 : 0

  statement {
    sid       = "TopicDeliversToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.this[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  count = var.create_topic ? 1 : 0

  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue[0].json
}

# Not secret, but only known after apply: delivered to the pods the same way as the credentials.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Holds a queue URL and a topic ARN, no credential; there is nothing to rotate.
  name                    = var.secret_name
  description             = "Queue URL and topic ARN of ${var.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  secret_id = aws_secretsmanager_secret.this.id
  secret_string = jsonencode({
    queue_url = aws_sqs_queue.this.url
    topic_arn = var.create_topic ? aws_sns_topic.this[0].arn : ""
  })
}
