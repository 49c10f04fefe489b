"""The one rule for every customer address payments takes (checkout, the admin's order
search): email-validator's syntax, length and domain rules, so that an address mail
servers refuse is refused before a key is bought for it.

- Syntax and lengths as RFC 5321/5322 set them (strict: at most 64 octets before the @,
  254 in all); no quoted local parts, no IP-literal domains, no display names.
- Internationalised addresses (RFC 6531) are accepted: `josé@example.com`,
  `用户@例子.广告`; domains are checked as IDNA.
- No DNS or network lookup, ever (``check_deliverability=False``): checkout does not wait
  on a resolver, and a mail server that is down for a minute refuses nobody.
- Special-use domains (`.localhost`, `.local`, `.invalid`, `.onion`, `.arpa`) are refused;
  `.test` only with `allow_test_domains` (the demo's and the test suites' customers).

The address kept is email-validator's normalised form (Unicode NFC, the domain as
Unicode, lower-cased), the form the bus carries (`bitloot_contracts` lower-cases too).
Mailing such an address needs a relay that offers SMTPUTF8 (RFC 6531); for a relay that
does not, `smtputf8=False` refuses addresses whose mailbox name is not ASCII and keeps an
internationalised domain in its ASCII (IDNA) form, so that every address checkout takes
can be mailed.
"""

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email


class EmailRefused(ValueError):
    """The address breaks the rule; the message says how (email-validator's words)."""

    code = "invalid_email"


@dataclass(frozen=True)
class EmailRule:
    """Checks and normalises customer addresses."""

    allow_test_domains: bool = False
    smtputf8: bool = True

    def normalise(self, raw: str) -> str:
        """`raw` in its normalised form; `EmailRefused` if it breaks the rule."""
        try:
            valid = validate_email(
                raw.strip(),
                check_deliverability=False,
                strict=True,
                test_environment=self.allow_test_domains,
                allow_smtputf8=self.smtputf8,
            )
        except EmailNotValidError as exc:
            raise EmailRefused(str(exc)) from None
        if not self.smtputf8 and valid.ascii_email is not None:
            return valid.ascii_email.lower()
        return valid.normalized.lower()

    def normalise_loosely(self, raw: str) -> str:
        """`raw` normalised if it follows the rule, else only trimmed and lower-cased: what
        a search for an address stored before the rule existed compares with."""
        try:
            return self.normalise(raw)
        except EmailRefused:
            return raw.strip().lower()
