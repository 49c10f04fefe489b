"""Is this a payout address (and memo) we can send a refund in this currency to? (Pure.)

Every address is bounded (1 to 128 characters, letters, digits and ``-_:.``), so nothing
odd reaches the database, a page or NOWPayments. Where a kept library can check more, the
format and checksum are checked too, so that a typo is caught before money leaves:

- base58check (`base58`): bitcoin legacy and P2SH, litecoin, dogecoin, tron and its tokens;
- bech32 / bech32m (BIP-173 / BIP-350, the `bech32` reference implementation's polymod):
  bitcoin and litecoin segwit addresses (bech32m for witness version 1 and above);
- EIP-55 (keccak-256 from `pycryptodome`): ether and the ERC-20 / BEP-20 / Polygon tokens.
  An address written all in one case carries no checksum and is accepted as it is.

Some currencies route a payment to an account by an extra id (XRP's destination tag, a
Stellar or BNB memo…): `EXTRA_IDS` says which, and whether it is required.
"""

import re
from dataclasses import dataclass
from typing import Final

import base58
import bech32
from Crypto.Hash import keccak

from bitloot_payments.domain import Coded

MAX_LENGTH: Final = 128
_BOUNDED: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_PRINTABLE: Final = re.compile(r"[\x20-\x7e]{1,128}")
_BECH32M_CONST: Final = 0x2BC830A3


class AddressRefused(Coded, ValueError):
    """The address or extra id cannot be used; `code` is machine-readable."""


@dataclass(frozen=True)
class ExtraId:
    """What a currency calls its extra id, whether a payout needs it, and its form."""

    name: str
    required: bool
    pattern: str = r"[\x20-\x7e]{1,128}"


_TAG: Final = r"[0-9]{1,10}"
EXTRA_IDS: Final[dict[str, ExtraId]] = {
    # A wallet of one's own needs no tag; an exchange account does. It is a 32-bit number.
    "xrp": ExtraId("destination tag", required=False, pattern=_TAG),
    "xlm": ExtraId("memo", required=False, pattern=r"[\x20-\x7e]{1,28}"),
    # EOS and BNB Beacon Chain refunds go to exchange accounts, told apart by the memo.
    "eos": ExtraId("memo", required=True),
    "bnbmainnet": ExtraId("memo", required=True),
    "ton": ExtraId("comment", required=False, pattern=r"[\x20-\x7e]{1,120}"),
}

_EVM_NATIVE: Final = frozenset({"eth", "bnbbsc", "matic", "maticmainnet", "arb", "op", "avaxc"})
_EVM_SUFFIXES: Final = ("erc20", "bsc", "matic", "arb", "op", "base")
# Base58check version bytes of each currency's addresses.
_BASE58_VERSIONS: Final[dict[str, frozenset[int]]] = {
    "btc": frozenset({0x00, 0x05}),
    "ltc": frozenset({0x30, 0x32, 0x05}),
    "doge": frozenset({0x1E, 0x16}),
    "trx": frozenset({0x41}),
}
_SEGWIT_HRPS: Final[dict[str, str]] = {"btc": "bc", "ltc": "ltc"}


def _family(currency: str) -> str:
    """Which checks apply: ``evm``, a base58/segwit currency, or ``other``."""
    if currency in _EVM_NATIVE or currency.endswith(_EVM_SUFFIXES):
        return "evm"
    if currency.endswith("trc20"):
        return "trx"
    return currency if currency in _BASE58_VERSIONS else "other"


def check_payout(currency: str, address: str, extra_id: str | None) -> tuple[str, str | None]:
    """The address and extra id as they will be stored (trimmed; None: no extra id), or
    `AddressRefused` naming what is wrong."""
    currency = currency.strip().lower()
    address = address.strip()
    if not address:
        raise AddressRefused("address_required", "Enter the address to send the refund to.")
    if len(address) > MAX_LENGTH:
        raise AddressRefused("address_too_long", f"An address has at most {MAX_LENGTH} characters.")
    if not _BOUNDED.fullmatch(address):
        raise AddressRefused(
            "address_invalid", "An address has only letters, digits and the characters - _ : ."
        )
    family = _family(currency)
    if family == "evm":
        _check_evm(address)
    elif family in _BASE58_VERSIONS:
        _check_base58_or_segwit(family, address)
    return address, _check_extra_id(currency, extra_id)


def _check_extra_id(currency: str, extra_id: str | None) -> str | None:
    wanted = EXTRA_IDS.get(currency)
    given = (extra_id or "").strip() or None
    if wanted is None:
        if given is not None:
            raise AddressRefused(
                "extra_id_not_accepted", f"{currency.upper()} payouts take no memo or tag."
            )
        return None
    if given is None:
        if wanted.required:
            raise AddressRefused(
                "extra_id_required", f"{currency.upper()} payouts need a {wanted.name}."
            )
        return None
    if not re.fullmatch(wanted.pattern, given) or (
        wanted.pattern == _TAG and int(given) > 2**32 - 1
    ):
        raise AddressRefused(
            "extra_id_invalid", f"This is not a valid {currency.upper()} {wanted.name}."
        )
    return given


def _check_evm(address: str) -> None:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        raise AddressRefused("address_invalid", "This address is 0x and 40 hexadecimal digits.")
    digits = address[2:]
    if digits in (digits.lower(), digits.upper()):
        return  # written in one case: no checksum to verify
    hashed = keccak.new(digest_bits=256, data=digits.lower().encode()).hexdigest()
    expected = "".join(
        c.upper() if c.isalpha() and int(h, 16) >= 8 else c.lower()
        for c, h in zip(digits, hashed, strict=False)
    )
    if digits != expected:
        raise AddressRefused(
            "address_checksum", "This address has a typo: its capital letters do not match."
        )


def _check_base58_or_segwit(currency: str, address: str) -> None:
    hrp = _SEGWIT_HRPS.get(currency)
    if hrp is not None and address.lower().startswith(hrp + "1"):
        _check_segwit(hrp, address)
        return
    try:
        raw = base58.b58decode(address)
    except ValueError:
        raise AddressRefused(
            "address_invalid", "This is not an address of this currency."
        ) from None
    if len(raw) != 25 or raw[0] not in _BASE58_VERSIONS[currency]:
        raise AddressRefused("address_invalid", "This is not an address of this currency.")
    try:
        base58.b58decode_check(address)
    except ValueError:
        raise AddressRefused("address_checksum", "This address has a typo.") from None


def _check_segwit(hrp: str, address: str) -> None:
    """BIP-173 / BIP-350: one case, the bech32 charset, a valid checksum whose constant
    matches the witness version, and a witness program of a valid length."""
    if address not in (address.lower(), address.upper()):
        raise AddressRefused("address_invalid", "An address of this kind is written in one case.")
    text = address.lower()
    data_part = text[len(hrp) + 1 :]
    if len(data_part) < 7 or any(c not in bech32.CHARSET for c in data_part):
        raise AddressRefused("address_invalid", "This is not an address of this currency.")
    data = [bech32.CHARSET.find(c) for c in data_part]
    checksum = bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data)
    version = data[0]
    if checksum != (1 if version == 0 else _BECH32M_CONST):
        raise AddressRefused("address_checksum", "This address has a typo.")
    program = bech32.convertbits(data[1:-6], 5, 8, False)
    if (
        version > 16
        or program is None
        or not 2 <= len(program) <= 40
        or (version == 0 and len(program) not in (20, 32))
    ):
        raise AddressRefused("address_invalid", "This is not an address of this currency.")
