import httpx

from bitloot_sandbox_common.receiver import receiving


async def test_the_receiver_records_every_callback_and_refuses_the_first_few() -> None:
    async with receiving("/hook") as receiver, httpx.AsyncClient() as http:
        receiver.fail_first = 1
        first = await http.post(receiver.url, content=b'{"n":1}', headers={"X-Sig": "a"})
        second = await http.post(receiver.url, content=b'{"n":2}')
        await receiver.wait_for(2)
    assert (first.status_code, second.status_code) == (503, 200)
    assert [body for _, body in receiver.received] == [b'{"n":1}', b'{"n":2}']
    assert receiver.received[0][0]["x-sig"] == "a"
