from collections import Counter
from collections.abc import Mapping

import pytest

from bitloot_contracts import topics
from bitloot_contracts.topics import (
    ADMIN,
    DELIVERY,
    FULFILLMENT,
    KINGUIN_GATEWAY,
    PAYMENTS,
    PUBLISHERS,
    SERVICES,
    SUBSCRIPTIONS,
    TOPICS,
    queue_name,
)


def test_topics_are_distinct_and_listed_once() -> None:
    assert len(set(TOPICS)) == len(TOPICS) == 20
    constants = {
        value
        for name, value in vars(topics).items()
        if name.isupper() and isinstance(value, str) and "." in value and name != "EXCHANGE"
    }
    assert constants == set(TOPICS)


def test_exchange_and_service_names() -> None:
    assert topics.EXCHANGE == "bitloot.events"
    assert SERVICES == ("payments", "kinguin-gateway", "fulfillment", "delivery", "admin")


def test_every_service_has_a_row_in_both_tables() -> None:
    assert set(SUBSCRIPTIONS) == set(PUBLISHERS) == set(SERVICES)


def test_every_topic_has_exactly_one_publisher_but_delivered_keys() -> None:
    published = Counter(topic for row in PUBLISHERS.values() for topic in row)
    # Keys come from Kinguin through the gateway, or from an admin through fulfillment.
    assert published == Counter(TOPICS) + Counter({"keys.delivered": 1})


def test_no_service_consumes_a_topic_twice_or_its_own_events_but_delivered_keys() -> None:
    for service, consumed in SUBSCRIPTIONS.items():
        assert len(set(consumed)) == len(consumed)
        # Fulfillment hears the keys it handed on for an admin like the gateway's: it
        # only records that they left, which it already knows.
        own = {"keys.delivered"} if service == FULFILLMENT else set()
        assert set(consumed) & set(PUBLISHERS[service]) == own, service


def test_subscriptions_follow_the_architecture() -> None:
    assert SUBSCRIPTIONS[KINGUIN_GATEWAY] == (
        "reservation.requested",
        "reservation.poll",
        "keys.requested",
        "catalog.product_listed",
        "keys.revoked",
    )
    assert set(SUBSCRIPTIONS[FULFILLMENT]) == {
        "payment.finished",
        "reservation.created",
        "reservation.failed",
        "kinguin.webhook",
        "keys.delivered",
        "delivery.completed",
        "delivery.failed",
        "refund.status_changed",
    }
    assert SUBSCRIPTIONS[DELIVERY] == (
        "payment.finished",
        "keys.delivered",
        "order.delayed",
        "refund.status_changed",
        "refund.claim_link_requested",
    )
    assert SUBSCRIPTIONS[PAYMENTS] == (
        "order.status_changed",
        "product.availability_changed",
        "order.failed",
        "keys.revoked",
        "delivery.completed",
    )
    assert set(SUBSCRIPTIONS[ADMIN]) == {
        # Drained unread: no service consumes them, and publishes are `mandatory`.
        "payment.status_changed",
        "order.fulfilled",
        # A refund's story, which the admin projects.
        "keys.revoked",
        "refund.status_changed",
        "refund.claim_link_requested",
    }


def test_every_topic_has_a_consumer_so_a_mandatory_publish_is_routable() -> None:
    consumed = {topic for topics in SUBSCRIPTIONS.values() for topic in topics}
    assert [topic for topic in TOPICS if topic not in consumed] == []


def test_topic_tables_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        SUBSCRIPTIONS[ADMIN] = ("payment.finished",)  # type: ignore[index]
    with pytest.raises(TypeError):
        PUBLISHERS[ADMIN] = ("payment.finished",)  # type: ignore[index]


def test_queue_name_is_service_dot_topic() -> None:
    assert queue_name(FULFILLMENT, "payment.finished") == "fulfillment.payment.finished"


def test_publishers_and_consumers_of_a_topic() -> None:
    def of(table: Mapping[str, tuple[str, ...]], topic: str) -> tuple[str, ...]:
        return tuple(service for service in SERVICES if topic in table[service])

    assert of(PUBLISHERS, "keys.delivered") == (KINGUIN_GATEWAY, FULFILLMENT)
    assert of(SUBSCRIPTIONS, "keys.delivered") == (FULFILLMENT, DELIVERY)
    assert of(SUBSCRIPTIONS, "order.fulfilled") == (ADMIN,)
