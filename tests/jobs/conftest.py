"""Redis for the queue tests: each test gets its own database number and key prefix."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest
import redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
_dbs = itertools.cycle(range(8, 16))  # databases 8-15; the default 0 is left alone


@pytest.fixture
def redis_queue_url() -> Iterator[str]:
    db = next(_dbs)
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis unreachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    namespace = f"lxtest-{uuid.uuid4().hex[:10]}"
    try:
        yield (
            f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}?namespace={namespace}&heartbeat_timeout=2000"
        )
    finally:
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)
        client.close()


RABBITMQ_URL = os.environ.get("LIANXING_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture
def rabbitmq_queue_url() -> Iterator[str]:
    """The RabbitMQ on this machine with a queue of the test's own (deleted afterwards)."""
    import pika
    import pika.exceptions

    params = pika.URLParameters(RABBITMQ_URL)
    params.socket_timeout = params.blocked_connection_timeout = 5
    try:
        connection = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        message = f"RabbitMQ unreachable at {RABBITMQ_URL}: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    queue = f"lxtest-{uuid.uuid4().hex[:10]}"
    try:
        yield f"{RABBITMQ_URL}?queue={queue}"
    finally:
        channel = connection.channel()
        # Dramatiq declares the queue, its delay queue (.DQ) and its dead letters (.XQ).
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
        connection.close()
