import json

import pytest

from bitloot_delivery.domain.keys import DeliveredKey, MalformedKeys, parse_keys


def test_keys_are_parsed_in_order_and_images_are_recognised() -> None:
    document = {
        "keys": [
            {"type": "text/plain", "value": "AAAA-BBBB", "product_id": "p1"},
            {"type": "image/png", "value": "aGVsbG8=", "product_id": "p2"},
        ]
    }
    keys = parse_keys(json.dumps(document).encode())
    assert keys == [
        DeliveredKey("text/plain", "AAAA-BBBB", "p1"),
        DeliveredKey("image/png", "aGVsbG8=", "p2"),
    ]
    assert [key.is_image for key in keys] == [False, True]


@pytest.mark.parametrize(
    ("declared", "shown_as", "is_image"),
    [
        ("image/JPG", "image/jpeg", True),
        ("Image/PNG", "image/png", True),
        ("image/svg+xml", "image/svg+xml", False),
    ],
)
def test_image_types_are_normalised_and_svg_is_never_an_image(
    declared: str, shown_as: str, is_image: bool
) -> None:
    document = {"keys": [{"type": declared, "value": "aGVsbG8=", "product_id": "p"}]}
    [key] = parse_keys(json.dumps(document).encode())
    assert (key.type, key.is_image) == (shown_as, is_image)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff", "not a JSON document"),
        (b"[]", 'no "keys" list'),
        (b'{"keys": ["SECRET-KEY"]}', "Key 0 is not an object"),
        (b'{"keys": [{"type": "text/plain", "value": "SECRET-KEY"}]}', "product_id"),
        (
            b'{"keys": [{"type": "image/png", "value": "SECRET KEY!", "product_id": "p"}]}',
            "not base64",
        ),
    ],
)
def test_a_malformed_document_is_refused_without_quoting_it(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedKeys, match=message) as refused:
        parse_keys(payload)
    assert "SECRET" not in str(refused.value)
