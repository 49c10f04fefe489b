"""The image keys' images are well-formed files of their format, distinct per seed."""

import struct
import zlib

from bitloot_sandbox_kinguin.images import IMAGE_FORMATS, tiny_gif, tiny_jpeg, tiny_png


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    return chunks


def jpeg_markers(data: bytes) -> list[int]:
    """The markers up to the scan, then the scan's end: SOI ... SOS, EOI."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [0xD8], 2
    while data[at + 1] != 0xDA:
        assert data[at] == 0xFF
        markers.append(data[at + 1])
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    assert data[-2:] == b"\xff\xd9"
    return [*markers, 0xDA, 0xD9]


def test_a_png_key_is_a_png_of_checked_chunks() -> None:
    chunks = png_chunks(tiny_png(b"\x10" * 16))

    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert len(zlib.decompress(chunks[1][1])) == height * (width + 1)


def test_a_jpeg_key_is_a_baseline_jpeg_with_its_tables() -> None:
    data = tiny_jpeg(b"seed")

    # SOI, COM (the seed), APP0, DQT, SOF0, DHT, DHT, SOS, EOI.
    assert jpeg_markers(data) == [0xD8, 0xFE, 0xE0, 0xDB, 0xC0, 0xC4, 0xC4, 0xDA, 0xD9]
    assert b"seed" in data


def test_a_gif_key_is_a_gif89a_with_one_image() -> None:
    data = tiny_gif(b"seed")

    assert data[:6] == b"GIF89a"
    assert struct.unpack("<HH", data[6:10]) == (1, 1)
    assert data.count(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00") == 1
    assert data[-1:] == b"\x3b"


def test_every_format_makes_a_distinct_image_per_seed() -> None:
    for _, make in IMAGE_FORMATS:
        assert make(b"a" * 16) != make(b"b" * 16)
