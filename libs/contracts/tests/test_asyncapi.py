import json

import pytest
from pydantic import JsonValue

from bitloot_contracts.asyncapi import asyncapi_document
from bitloot_contracts.events import EVENT_TYPES
from bitloot_contracts.schemas import JsonObject, event_schema
from bitloot_contracts.topics import EXCHANGE, PUBLISHERS, SUBSCRIPTIONS, TOPICS


def _obj(value: JsonValue) -> JsonObject:
    assert isinstance(value, dict)
    return value


def _refs(node: JsonValue) -> list[str]:
    if isinstance(node, dict):
        own = [ref] if isinstance(ref := node.get("$ref"), str) else []
        return own + [found for value in node.values() for found in _refs(value)]
    if isinstance(node, list):
        return [found for value in node for found in _refs(value)]
    return []


def _pointer(document: JsonObject, ref: str) -> JsonValue:
    node: JsonValue = document
    for part in ref.removeprefix("#/").split("/"):
        node = _obj(node)[part]
    return node


def _who_does_what(operation: JsonObject) -> tuple[JsonValue, JsonValue, JsonValue]:
    tags = operation["tags"]
    assert isinstance(tags, list)
    return operation["action"], _obj(tags[0])["name"], _obj(operation["channel"])["$ref"]


@pytest.fixture(scope="module")
def document() -> JsonObject:
    return asyncapi_document()


def test_document_is_asyncapi_3_titled_bitloot_bus(document: JsonObject) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert _obj(document["info"])["title"] == "BitLoot bus"
    assert _obj(_obj(document["servers"])["rabbitmq"])["protocol"] == "amqp"


def test_asyncapi_lists_every_topic_with_its_publishers_and_consumers(
    document: JsonObject,
) -> None:
    channels, operations = _obj(document["channels"]), _obj(document["operations"])
    assert set(channels) == set(TOPICS)
    found = {_who_does_what(_obj(operation)) for operation in operations.values()}
    expected = {
        (action, service, f"#/channels/{topic}")
        for action, table in (("send", PUBLISHERS), ("receive", SUBSCRIPTIONS))
        for service, topics in table.items()
        for topic in topics
    }
    assert found == expected
    for topic in TOPICS:
        assert _obj(channels[topic])["address"] == topic


def test_receive_operations_name_the_consumer_queue(document: JsonObject) -> None:
    operations = _obj(document["operations"])
    for service, topics in SUBSCRIPTIONS.items():
        for topic in topics:
            operation = _obj(operations[f"{service}.receive.{topic}"])
            amqp = _obj(_obj(operation["bindings"])["amqp"])
            assert _obj(amqp["x-queue"])["name"] == f"{service}.{topic}"
            assert amqp["ack"] is True


def test_channels_are_routing_keys_on_the_durable_topic_exchange(document: JsonObject) -> None:
    for channel in _obj(document["channels"]).values():
        amqp = _obj(_obj(_obj(channel)["bindings"])["amqp"])
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"] == {
            "name": EXCHANGE,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }


def test_every_reference_resolves(document: JsonObject) -> None:
    refs = _refs(document)
    assert len(refs) > len(TOPICS) * 3
    for ref in refs:
        assert isinstance(_pointer(document, ref), dict), ref


def test_operations_send_or_receive_a_message_of_their_channel(document: JsonObject) -> None:
    for name, value in _obj(document["operations"]).items():
        operation = _obj(value)
        channel = _obj(operation["channel"])["$ref"]
        messages = operation["messages"]
        assert isinstance(messages, list)
        assert len(messages) == 1
        assert str(_obj(messages[0])["$ref"]).startswith(f"{channel}/messages/"), name


@pytest.mark.parametrize("topic", TOPICS)
def test_message_payload_is_the_committed_event_schema(document: JsonObject, topic: str) -> None:
    model = EVENT_TYPES[topic]
    standalone = event_schema(model)
    definitions = _obj(standalone.pop("$defs", {}))
    standalone.pop("$schema")
    components = _obj(_obj(document["components"])["schemas"])

    def hoisted(schema: JsonValue) -> JsonValue:
        text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
        loaded: JsonValue = json.loads(text)
        return loaded

    assert components[model.__name__] == hoisted(standalone)
    for name, definition in definitions.items():
        assert components[name] == hoisted(definition)
    message = _obj(_obj(_obj(document["components"])["messages"])[model.__name__])
    assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}


def test_document_can_describe_a_subset_of_topics() -> None:
    subset = {topic: EVENT_TYPES[topic] for topic in ("keys.delivered",)}
    document = asyncapi_document(subset)
    assert set(_obj(document["channels"])) == {"keys.delivered"}
    assert set(_obj(document["operations"])) == {
        "kinguin-gateway.send.keys.delivered",
        "fulfillment.send.keys.delivered",
        "fulfillment.receive.keys.delivered",
        "delivery.receive.keys.delivered",
    }
