"""The delivery service's email sender alone in a process of its own, for the crash
tests: ``python sender_process.py DATABASE_URL SMTP_PORT LEASE_SECONDS`` sends due emails
through the SMTP server on 127.0.0.1:SMTP_PORT until it is killed."""

import asyncio
import logging
import sys
from datetime import timedelta

from delivery_support import CLAIM_LINKS, LINKS, PUBLIC_URL

from bitloot_delivery.adapters.mailer import SmtpMailer
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.handlers.send_email import EmailSender
from bitloot_runtime.db import create_engine

# Polls often: the tests wait for stale attempts to be taken back.
POLL_SECONDS = 0.2


async def main(database_url: str, smtp_port: int, lease_seconds: float) -> None:
    engine = create_engine(database_url)
    sender = EmailSender(
        unit_of_work=lambda: DeliveryUnitOfWork(engine),
        mailer=SmtpMailer("127.0.0.1", smtp_port, timeout=60),
        links=LINKS,
        claim_links=CLAIM_LINKS,
        public_url=PUBLIC_URL,
        mail_from="keys@bitloot.test",
        support_email="support@bitloot.test",
        lease=timedelta(seconds=lease_seconds),
    )
    await sender.run(poll_seconds=POLL_SECONDS)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
