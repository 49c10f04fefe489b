"""BitLoot pytest fixtures: PostgreSQL and RabbitMQ from the environment or testcontainers, S3
from moto's server, SMTP from aiosmtpd.
"""
