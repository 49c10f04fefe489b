import pytest

from bitloot_payments.domain.payout_address import AddressRefused, check_payout

# Real addresses: BIP-173 / BIP-350 test vectors, the EIP-55 example, the genesis-era
# P2PKH address, a Tron address.
BECH32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
TAPROOT = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
P2PKH = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
TRON = "TNDFkiSmBQorNFacb3735q8MnT29sn8BLn"


def flip_case(address: str, index: int) -> str:
    return address[:index] + address[index].swapcase() + address[index + 1 :]


@pytest.mark.parametrize(
    ("currency", "address", "extra_id"),
    [
        ("btc", BECH32, None),
        ("btc", BECH32.upper(), None),
        ("btc", TAPROOT, None),
        ("btc", P2PKH, None),
        ("BTC", f"  {P2PKH} ", ""),
        ("eth", EIP55, None),
        ("usdterc20", EIP55.lower(), None),
        ("usdcbsc", EIP55, None),
        ("trx", TRON, None),
        ("usdttrc20", TRON, None),
        ("ltc", "LM2WMpR1Rp6j3Sa59cMXMs1SPzj9eXpGc1", None),
        ("doge", "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L", None),
        ("xrp", "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", None),
        ("xrp", "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "4294967295"),
        ("xlm", "GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A", "refund 42"),
        ("eos", "bitlootshop1", "memo-1"),
        ("sol", "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", None),
    ],
)
def test_valid_addresses_are_accepted_as_stored(
    currency: str, address: str, extra_id: str | None
) -> None:
    stored, extra = check_payout(currency, address, extra_id)
    assert stored == address.strip()
    assert extra == ((extra_id or "").strip() or None)


@pytest.mark.parametrize(
    ("currency", "address", "extra_id", "code"),
    [
        # One character changed in a real bech32 address: its checksum catches it.
        ("btc", BECH32[:-1] + "5", None, "address_checksum"),
        ("btc", BECH32[:10] + "z" + BECH32[11:], None, "address_checksum"),
        ("btc", TAPROOT[:-2] + "98", None, "address_checksum"),
        # One letter's case flipped in a real EIP-55 address.
        ("eth", flip_case(EIP55, 3), None, "address_checksum"),
        ("usdterc20", flip_case(EIP55, 41), None, "address_checksum"),
        ("btc", P2PKH[:-1] + "3", None, "address_checksum"),
        ("usdttrc20", TRON[:-1] + "m", None, "address_checksum"),
        ("btc", BECH32[:8] + BECH32[8:].upper(), None, "address_invalid"),
        ("btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb", None, "address_invalid"),
        ("btc", EIP55, None, "address_invalid"),
        ("eth", P2PKH, None, "address_invalid"),
        ("eth", EIP55[:-1], None, "address_invalid"),
        ("ltc", P2PKH, None, "address_invalid"),
        ("doge", "D0H5yaieqoZN36fDVciNyRueRGvGLR3mr7", None, "address_invalid"),
        ("sol", "has space", None, "address_invalid"),
        ("sol", "<script>", None, "address_invalid"),
        ("sol", "x" * 129, None, "address_too_long"),
        ("sol", "   ", None, "address_required"),
        ("eos", "bitlootshop1", None, "extra_id_required"),
        ("bnbmainnet", "bnb1grpf0955h0ykzq3ar5nmum7y6gdfl6lxfn46h2", "  ", "extra_id_required"),
        ("xrp", "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "4294967296", "extra_id_invalid"),
        ("xrp", "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "tag", "extra_id_invalid"),
        (
            "xlm",
            "GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A",
            "m" * 29,
            "extra_id_invalid",
        ),
        ("btc", P2PKH, "123", "extra_id_not_accepted"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(
    currency: str, address: str, extra_id: str | None, code: str
) -> None:
    with pytest.raises(AddressRefused) as refused:
        check_payout(currency, address, extra_id)
    assert refused.value.code == code
