"""The customer address rule: email-validator's syntax, length and domain rules, offline."""

import pytest

from bitloot_payments.domain.email_address import EmailRefused, EmailRule

RULE = EmailRule()


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("用户@例子.广告", "用户@例子.广告"),
        ("josé@example.com", "josé@example.com"),
        (" JOSÉ@Example.COM ", "josé@example.com"),
        ("jose\u0301@example.com", "josé@example.com"),  # decomposed é, stored composed (NFC)
        ("x@XN--MNCHEN-3YA.DE", "x@münchen.de"),
        ("Buyer.Name+tag@Example.com", "buyer.name+tag@example.com"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
)
def test_valid_addresses_are_accepted_in_normal_form(address: str, normalised: str) -> None:
    assert RULE.normalise(address) == normalised


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("a" * 240 + "@example.com", "too long before the @-sign"),
        ("a" * 65 + "@example.com", "too long before the @-sign"),
        ("a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 63 + ".com", "too long"),
        ("a@-.-", "hyphen"),
        ("a..b@x.com", "two periods in a row"),
        (".a@x.com", "period"),
        ("a@localhost", "period"),
        ("a@printer.local", "special-use"),
        ("a@x.test", "special-use"),
        ('"a b"@x.com', "Quoting"),
        ("a@[192.0.2.1]", "bracketed IP address"),
        ("Name <a@x.com>", "display name"),
        ("a@x", "period"),
        ("", "must have an @-sign"),
    ],
)
def test_addresses_mail_servers_refuse_are_refused_saying_why(address: str, why: str) -> None:
    with pytest.raises(EmailRefused, match=why):
        RULE.normalise(address)


def test_the_test_domain_is_accepted_only_when_allowed() -> None:
    assert EmailRule(allow_test_domains=True).normalise("A@Shop.test") == "a@shop.test"
    with pytest.raises(EmailRefused):
        EmailRule(allow_test_domains=True).normalise("a@x.localhost")


def test_no_dns_lookup_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    import dns.resolver

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a DNS lookup was made")

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", refuse)
    monkeypatch.setattr(dns.resolver, "resolve", refuse)
    nowhere = "someone@no-such-domain-bitloot.com"
    assert RULE.normalise(nowhere) == nowhere


def test_a_search_for_an_address_the_rule_refuses_is_only_trimmed_and_lower_cased() -> None:
    assert RULE.normalise_loosely(" A..B@X.com ") == "a..b@x.com"
    assert RULE.normalise_loosely("x@XN--MNCHEN-3YA.DE") == "x@münchen.de"


ASCII_RELAY = EmailRule(smtputf8=False)


@pytest.mark.parametrize("address", ["josé@example.com", "用户@例子.广告"])
def test_without_smtputf8_a_mailbox_name_that_is_not_ascii_is_refused(address: str) -> None:
    with pytest.raises(EmailRefused, match=r"(?i)internationali[sz]ed characters before the @"):
        ASCII_RELAY.normalise(address)


def test_without_smtputf8_an_internationalised_domain_is_kept_in_its_ascii_form() -> None:
    assert ASCII_RELAY.normalise("Buyer@München.de") == "buyer@xn--mnchen-3ya.de"
