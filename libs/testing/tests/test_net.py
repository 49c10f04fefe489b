"""Free ports and waiting for a listener."""

import socket
import threading
from pathlib import Path

import pytest

from bitloot_testing.net import free_port, port_open, wait_for_tcp


def test_free_port_can_be_bound_and_listened_on() -> None:
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert port_open("127.0.0.1", port)


def test_free_ports_are_below_the_range_outgoing_connections_take_theirs_from() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(50)}
    assert all(port < low for port in ports)
    assert len(ports) > 1


def test_wait_for_tcp_returns_once_a_server_starts_listening() -> None:
    port = free_port()
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    # The listener starts after the wait began, as a server started in the background does.
    timer = threading.Timer(0.3, server.listen)
    timer.start()
    try:
        wait_for_tcp("127.0.0.1", port, timeout=5)
        assert port_open("127.0.0.1", port)
    finally:
        timer.join()
        server.close()


def test_wait_for_tcp_names_the_address_when_nothing_listens() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port} did not accept"):
        wait_for_tcp("127.0.0.1", port, timeout=0.3)
