"""The sink rides out a node that is briefly away: a TCP proxy in front of the shared node drops
connections for a few seconds, then forwards. (The shared node itself is never stopped.)"""

import asyncio
import threading
import time
from dataclasses import replace

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.sinks import elasticsearch as es_sink
from tests.helpers.fault_proxy import FaultProxy, items_answered, on
from tests.integration.test_elasticsearch_index import hit_doc, ids

pytestmark = pytest.mark.integration


class FlakyProxy:
    """127.0.0.1:<port> -> the node; closes every connection until `down_until`, forwards after."""

    def __init__(self, target_host: str, target_port: int, down_for: float):
        self.target = (target_host, target_port)
        self.down_until = time.monotonic() + down_for
        self.dropped = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _handle(self, reader, writer):
        if time.monotonic() < self.down_until:
            self.dropped += 1
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def node_address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    return host, int(port)


def test_indexing_survives_a_node_that_is_briefly_unavailable(es_config):
    config = replace(es_config, prefix=f"{es_config.prefix}-flaky", retries=6, backoff=0.5)
    es_sink.setup(config)
    docs = [hit_doc(str(i), f"message {i}") for i in range(50)]
    with FlakyProxy(*node_address(es_config.url), down_for=3) as proxy:
        flaky = replace(config, url=proxy.url)
        started = time.monotonic()
        with TestPipeline() as p:
            dead = p | beam.Create(docs) | es_sink.WriteToElasticsearch(flaky, "hits", lambda d: d["hit"]["id"])
            assert_that(dead, equal_to([]))
        assert proxy.dropped >= 2 and time.monotonic() - started >= 3
    assert ids(config.client(), config.alias("hits")) == sorted(f"h-{i}" for i in range(50))


def test_a_node_that_never_comes_back_turns_the_batch_into_dead_letters(es_config):
    config = replace(es_config, prefix=f"{es_config.prefix}-gone", retries=2, backoff=0.1)
    es_sink.setup(config)
    docs = [hit_doc(str(i), f"message {i}") for i in range(5)]
    with FlakyProxy(*node_address(es_config.url), down_for=3600) as proxy:
        gone = replace(config, url=proxy.url)
        dead = es_sink.bulk_index(gone, gone.client(), config.alias("hits"), [(d["hit"]["id"], d) for d in docs])
    assert sorted(d["source"]["pointer"] for d in dead) == sorted(d["hit"]["id"] for d in docs)
    assert all("cannot reach" in d["reason"] and "gave up after 2 retries" in d["reason"] and d["stage"] == "index"
               for d in dead)


def test_documents_answered_429_one_by_one_are_sent_again_and_only_they(es_config):
    """The node can take a bulk request and turn down some of its documents (429 per item): those are sent
    again, within the same retries, and nothing is lost or left as a dead letter."""
    config = replace(es_config, prefix=f"{es_config.prefix}-items", retries=3, backoff=0.1)
    es_sink.setup(config)
    docs = [hit_doc(str(i), f"message {i}") for i in range(20)]
    busy_once = on("_bulk", items_answered(429, "rejected execution of bulk item"), until=1)
    with FaultProxy(es_config.url, busy_once) as proxy:
        via = replace(config, url=proxy.url)
        dead = es_sink.bulk_index(via, via.client(), config.alias("hits"), [(d["hit"]["id"], d) for d in docs])
    assert dead == [] and proxy.count("_bulk") == 2
    assert ids(config.client(), config.alias("hits")) == sorted(f"h-{i}" for i in range(20))
