resource "aws_security_group" "ssh" {
  name        = "orders-ssh"
  description = "SSH from anywhere: what the policy scan must refuse."

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
