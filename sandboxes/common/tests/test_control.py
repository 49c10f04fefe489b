import httpx
from starlette.applications import Starlette

from bitloot_sandbox_common.control import faults_route
from bitloot_sandbox_common.faults import Faults


def client(faults: Faults) -> httpx.AsyncClient:
    app = Starlette(routes=[faults_route(lambda _request: faults)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_faults_are_read_changed_and_reset_over_http() -> None:
    faults = Faults()
    async with client(faults) as http:
        changed = await http.post("/sandbox/faults", json={"fail_next": 2})
        assert changed.json()["fail_next"] == 2
        assert faults.fail_next == 2
        reset = await http.delete("/sandbox/faults")
        assert reset.json() == Faults().as_json()


async def test_a_bad_change_is_refused_with_a_reason_and_changes_nothing() -> None:
    faults = Faults()
    async with client(faults) as http:
        not_object = await http.post("/sandbox/faults", json=[1])
        wrong_type = await http.post("/sandbox/faults", json={"fail_next": "two"})
    for answer in (not_object, wrong_type):
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_request"
    assert faults == Faults()
