"""How fast the leak scanner reads, beside the scanner it replaced, in the same run.

600 keys shaped like the providers' serials are searched for over a haystack of random
bytes and of base64 text (the worst case for base64 needles), read in the chunks
`find_in_tree` uses. The same keys are planted in it, each in one of the forms the new
scanner knows, so the run also shows what each scanner finds. The baseline is the
scanner as it is on `main` (`git show`), loaded as a module of its own.

    python -m bench.leak_scan [--keys 600] [--megabytes 50] [--baseline-ref main]
"""

import argparse
import base64
import importlib.util
import random
import string
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from bitloot_testing import leaks

SOURCE = "libs/testing/src/bitloot_testing/leaks.py"


def old_scanner(ref: str) -> ModuleType:
    """The leak scanner as it is at `ref`, imported under a name of its own."""
    show = ["git", "show", f"{ref}:{SOURCE}"]
    source = subprocess.run(show, check=True, capture_output=True).stdout  # noqa: S603
    with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("old_leaks", file.name)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {SOURCE} at {ref}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    Path(file.name).unlink()
    return module


def serial(rng: random.Random) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(rng.choices(alphabet, k=5)) for _ in range(5))


def planted(form: str, needle: bytes, key: str) -> bytes:
    """`key` as an encoder would write it in `form`: base64 forms inside a larger body,
    after as many bytes as the form's offset."""
    if not form.startswith("base64"):
        return needle
    body = bytes(int(form[-1]) if "+" in form else 0) + key.encode() + b"}"
    return base64.urlsafe_b64encode(body) if "url" in form else base64.b64encode(body)


def haystack(rng: random.Random, keys: list[str], size: int) -> bytes:
    """Half random bytes, half base64 text, with each key planted once in one of the
    new scanner's forms, in turn."""
    noise = rng.randbytes(size // 2)
    text = base64.b64encode(rng.randbytes(size * 3 // 8))
    plants = []
    for index, key in enumerate(keys):
        forms = leaks.forms_of(key)
        plants.append(planted(*forms[index % len(forms)], key))
    return noise + b"\n".join(plants) + text


def rate(scan: Callable[[bytes], set[str]], data: bytes) -> tuple[float, int]:
    """MB/s of `scan` over `data` in the tree scan's chunks, and how many keys it found."""
    started = time.perf_counter()
    found: set[str] = set()
    for at in range(0, len(data), leaks.CHUNK):
        found |= scan(data[at : at + leaks.CHUNK])
    return len(data) / 1e6 / (time.perf_counter() - started), len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=600)
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--baseline-ref", default="main")
    arguments = parser.parse_args()
    rng = random.Random(19)
    keys = {f"key {n}": serial(rng) for n in range(arguments.keys)}
    data = haystack(rng, list(keys.values()), arguments.megabytes * 10**6)
    old = old_scanner(arguments.baseline_ref).Needles(keys)
    new = leaks.Needles(keys)
    old_rate, old_found = rate(lambda chunk: {f.label for f in old.find("bench", chunk)}, data)
    new_rate, new_found = rate(lambda chunk: {f.label for f in new.find("bench", chunk)}, data)
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "haystack").write_bytes(data)
        started = time.perf_counter()
        in_tree, scanned = new.find_in_tree(Path(root), "bench")
        tree_rate = scanned / 1e6 / (time.perf_counter() - started)
    print(
        f"{len(keys)} keys ({len(leaks.forms_of(serial(rng)))} forms each) "
        f"over {len(data) / 1e6:.0f} MB, each key planted once in one form:"
    )
    print(f"  old scanner ({arguments.baseline_ref}): {old_rate:6.1f} MB/s, {old_found} keys found")
    print(f"  new scanner:        {new_rate:6.1f} MB/s, {new_found} keys found")
    tree_keys = len({f.label for f in in_tree})
    print(f"  new find_in_tree:   {tree_rate:6.1f} MB/s, {tree_keys} keys found")
    print(f"  speed new / old:      {new_rate / old_rate:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
