from datetime import timedelta
from email.message import EmailMessage

from bitloot_delivery.domain.emails import compose, retry_delay


def test_the_email_carries_the_link_as_text_and_html() -> None:
    link = "https://keys.bitloot.io/keys/a.b.c?x=1&y=2"
    message = compose(sender="keys@bitloot.io", to="a@example.com", link=link, ttl_minutes=15)
    text = message.get_body(preferencelist=("plain",))
    markup = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(markup, EmailMessage)
    assert link in text.get_content()
    assert "15 minutes" in text.get_content()
    assert 'href="https://keys.bitloot.io/keys/a.b.c?x=1&amp;y=2"' in markup.get_content()
    assert message["To"] == "a@example.com"


def test_retries_back_off_to_a_ceiling() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 12)]
    assert delays[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(minutes=30)
