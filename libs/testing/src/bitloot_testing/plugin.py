"""The pytest plugin (entry point ``bitloot``): every fixture the BitLoot tests share.

Session-scoped: `postgres_server`, `rabbitmq_server`, `run_id`, `database_factory`,
`s3_server`, `smtp_server`. Per test: `database_url`, `bus_prefix`, `s3_bucket`,
`smtp_inbox`. Each is defined, and documented, in the module it is imported from.
"""

from bitloot_testing.postgres import database_factory, database_url, postgres_server
from bitloot_testing.rabbitmq import bus_prefix, rabbitmq_server
from bitloot_testing.run import run_id
from bitloot_testing.s3 import s3_bucket, s3_server
from bitloot_testing.smtp import smtp_inbox, smtp_server

__all__ = [
    "bus_prefix",
    "database_factory",
    "database_url",
    "postgres_server",
    "rabbitmq_server",
    "run_id",
    "s3_bucket",
    "s3_server",
    "smtp_inbox",
    "smtp_server",
]
