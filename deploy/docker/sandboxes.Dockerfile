# syntax=docker/dockerfile:1
# Both provider sandboxes (NOWPayments, Kinguin) in one image, for compose and tests:
#   docker build -f deploy/docker/sandboxes.Dockerfile -t bitloot/sandboxes .
#   docker run bitloot/sandboxes python -m bitloot_sandbox_kinguin
# Never deploy it where real money moves: it signs what it is told to.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install uv==0.13.9 && python -m venv /opt/bitloot
WORKDIR /src
COPY requirements/images/sandboxes.txt requirements/images/sandboxes.txt
COPY sandboxes sandboxes
RUN VIRTUAL_ENV=/opt/bitloot uv pip install --no-cache --no-deps \
        -r requirements/images/sandboxes.txt \
    && VIRTUAL_ENV=/opt/bitloot uv pip check

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 bitloot \
    && useradd --system --uid 10001 --gid bitloot --no-create-home --shell /usr/sbin/nologin bitloot
COPY --from=build /opt/bitloot /opt/bitloot
ENV PATH=/opt/bitloot/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "bitloot_sandbox_nowpayments"]
