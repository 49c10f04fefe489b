"""Tiny valid images for image keys, one per format Kinguin documents for a key's
``type``: ``image/png``, ``image/jpeg`` and ``image/gif`` (api/order/v2/README.md, Key
Object). Each is drawn or tagged from a random `seed` so that every key is distinct."""

import struct
import zlib
from collections.abc import Callable

# A baseline JPEG of one 8x8 grey block: quantisation table of ones, a DC table and an AC
# table of one code each ("0": DC category 0, "0": end of block), so the scan is "00"
# padded with ones. The seed goes into a comment segment (COM) after SOI.
_JPEG_HEADERS = bytes.fromhex(
    "".join(
        (
            "ffe000104a46494600010100000100010000",  # APP0: JFIF 1.1
            "ffdb004300" + "01" * 64,  # DQT: table 0, all ones
            "ffc0000b080008000801011100",  # SOF0: 8 bits, 8x8, one component, tables 0
            "ffc4001400" + "01" + "00" * 15 + "00",  # DHT DC 0: one code "0", category 0
            "ffc4001410" + "01" + "00" * 15 + "00",  # DHT AC 0: one code "0", end of block
            "ffda0008010100003f00",  # SOS: one component, tables 0/0, spectral 0..63
            "3f",  # the scan: DC "0", end of block "0", padded with ones
            "ffd9",  # EOI
        )
    )
)


def tiny_png(seed: bytes) -> bytes:
    """A small grey-scale PNG whose pixels are `seed`."""
    width, height = len(seed), 4
    rows = b"".join(b"\x00" + seed for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tiny_jpeg(seed: bytes) -> bytes:
    """An 8x8 grey baseline JPEG carrying `seed` (at most 255 bytes) in a comment."""
    comment = b"\xff\xfe" + struct.pack(">H", len(seed) + 2) + seed
    return b"\xff\xd8" + comment + _JPEG_HEADERS


def tiny_gif(seed: bytes) -> bytes:
    """A 1x1 GIF89a in the colour of `seed`'s first bytes, `seed` (at most 255 bytes) in a
    comment extension."""
    colour = (seed + b"\x00\x00\x00")[:3]
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0)  # 1x1, global table of 2 colours
        + colour
        + b"\x00\x00\x00"
        + b"\x21\xfe"
        + bytes([len(seed)])
        + seed
        + b"\x00"  # comment extension
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)  # image descriptor
        + b"\x02\x02\x44\x01\x00"  # LZW minimum code size 2, one block: the pixel
        + b"\x3b"  # trailer
    )


# The order in which image keys cycle through the formats.
IMAGE_FORMATS: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
    ("image/png", tiny_png),
    ("image/jpeg", tiny_jpeg),
    ("image/gif", tiny_gif),
)
