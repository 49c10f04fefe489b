"""The service images: their Dockerfiles, and a check that each image's pins are enough.

    python tools/images.py render   # write services/<svc>/Dockerfile from the template
    python tools/images.py check    # fail if a Dockerfile is stale, or if a service does not
                                    # start from its image's pins alone

There is no Docker engine in CI, so `check` does what the image's build stage does,
without Docker: it installs `requirements/images/<svc>.txt` with `--no-deps` into a fresh
virtualenv, runs `uv pip check` (every dependency of every installed package present),
and runs the service's console script with an empty environment, which must get as far
as refusing its missing settings by name (so every module it imports at start-up is
there). A service that imports a package its image lacks fails here, not in production.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "docker" / "Dockerfile.in"
UV = Path(sys.executable).parent / "uv"


@dataclass(frozen=True)
class Image:
    service: str
    env_prefix: str

    @property
    def script(self) -> str:
        return f"bitloot-{self.service}"

    @property
    def dockerfile(self) -> Path:
        return ROOT / "services" / self.service / "Dockerfile"

    @property
    def requirements(self) -> Path:
        return ROOT / "requirements" / "images" / f"{self.service}.txt"

    def render(self) -> str:
        return TEMPLATE.read_text().format(
            service=self.service, prefix=self.env_prefix, script=self.script
        )


IMAGES = (
    Image("payments", "PAYMENTS_"),
    Image("kinguin-gateway", "KINGUIN_GATEWAY_"),
    Image("fulfillment", "FULFILLMENT_"),
    Image("delivery", "DELIVERY_"),
    Image("admin", "ADMIN_"),
)


def render() -> None:
    for image in IMAGES:
        image.dockerfile.write_text(image.render())


def _run(
    *command: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tools, arguments from this file
        [str(part) for part in command], cwd=ROOT, env=env, capture_output=True, text=True
    )


def check_starts(image: Image, venv: Path) -> list[str]:
    """Install the image's pins into `venv` and start its script; the problems found."""
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    refresh = [
        option
        for package in ("bitloot-contracts", "bitloot-runtime", image.script)
        for option in ("--refresh-package", package)
    ]
    steps: list[tuple[str | Path, ...]] = [
        (UV, "venv", "--quiet", "--python", sys.executable, venv),
        # uv caches builds of local directories by their metadata, not their code:
        # refresh ours, or a stale build of an older commit would be checked.
        (UV, "pip", "install", "--quiet", "--no-deps", "-r", image.requirements, *refresh),
        (UV, "pip", "check"),
    ]
    for step in steps:
        result = _run(*step, env=env)
        if result.returncode != 0:
            return [f"{image.service}: {' '.join(map(str, step[1:3]))}: {result.stderr.strip()}"]
    # Only PATH: none of the developer's settings may leak in and mask a missing one.
    started = _run(venv / "bin" / image.script, env={"PATH": str(venv / "bin")})
    output = started.stdout + started.stderr
    if started.returncode == 0 or f"{image.env_prefix}DATABASE_URL" not in output:
        return [f"{image.service}: did not stop at its missing settings:\n{output[-2000:]}"]
    return []


def check() -> int:
    problems = [
        f"{image.dockerfile.relative_to(ROOT)} is stale: run python tools/images.py render"
        for image in IMAGES
        if not image.dockerfile.exists() or image.dockerfile.read_text() != image.render()
    ]
    with tempfile.TemporaryDirectory(prefix="bitloot-images-") as scratch:
        for image in IMAGES:
            found = check_starts(image, Path(scratch) / image.service)
            print(f"image {image.service}: {'ok' if not found else 'FAILED'}", flush=True)
            problems += found
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("render", "check"))
    args = parser.parse_args(argv)
    if args.command == "render":
        render()
        return 0
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
