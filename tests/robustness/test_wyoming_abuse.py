"""The Wyoming endpoint under abuse, on loopback only and bounded in count and time (issue 34): oversized
declared payloads, malformed headers, 300 idle connections, 100 clients that never read, two audio
streams at once, a peer outside allow_peers, a second instance on the same socket. A well-behaved
client keeps being served throughout; the process's RSS grows by less than 200 MB; no traceback reaches
the log."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncClient
from wyoming.ping import Ping
from wyoming.tts import Synthesize

from assistant.audio.io import AudioError
from assistant.config import PipelineConfig, WyomingConfig
from assistant.pipeline import Assistant, Pacing
from assistant.wyoming import MAX_HEADER_BYTES, MAX_OUTBOX_BYTES, WyomingServer, loopback_peer_uid
from tests.pipeline_doubles import EchoDialogue, ScriptedListener, ToneRecognizer, ToneVoice
from tests.test_wyoming import connect_as_nobody

RSS_GROWTH_LIMIT_MB = 200
"""what the abuse may add to this process's RSS (run alone, the process stays under 200 MB: the issue's
limit for the service is 400 MB). Growth, not the total: earlier tests in the same process load models"""


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _assistant(pacing: Pacing = Pacing.REALTIME, word_s: float = 0.05) -> Assistant:
    return Assistant(PipelineConfig(), sample_rate=16000, pacing=pacing,
                     listener=ScriptedListener(), recognizer=ToneRecognizer(), dialogue=EchoDialogue(follow_up_s=0.0),
                     speaker=ToneVoice(word_s=word_s))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _answer(reader: asyncio.StreamReader, timeout: float = 5.0) -> dict | None:
    """The next event header from the server, or None once it has closed the connection."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    return json.loads(line) if line else None


async def _closed(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    try:
        while await asyncio.wait_for(reader.read(65536), timeout):
            pass
    except ConnectionError:
        pass
    return True


RECEIVED: dict[str, int] = {}


async def _ping(client: AsyncClient, n: int) -> None:
    await client.write_event(Ping(text=str(n)).event())
    while True:
        event = await asyncio.wait_for(client.read_event(), 10)
        assert event is not None, "the well-behaved client was dropped"
        RECEIVED[event.type] = RECEIVED.get(event.type, 0) + len(event.payload or b"")
        if event.type == "pong" and event.data.get("text") == str(n):
            return


def test_abuse_while_a_good_client_is_served(caplog):
    caplog.set_level(logging.DEBUG, logger="assistant.wyoming")
    port = _port()
    cfg = WyomingConfig(tcp=f"127.0.0.1:{port}", max_clients=150, handshake_timeout_s=1.0, idle_timeout_s=30)
    peak = [0.0]
    base = _rss_mb()

    async def scenario():
        a = _assistant(Pacing.STREAM, word_s=0.1)  # replies sent as fast as they are made: outboxes fill
        server = WyomingServer(cfg, a, accept_audio=True)
        await server.start()
        run = asyncio.create_task(a.run())
        good = AsyncClient.from_uri(f"tcp://127.0.0.1:{port}")
        await good.connect()
        n = 0

        async def served():
            nonlocal n
            n += 1
            await _ping(good, n)
            peak[0] = max(peak[0], _rss_mb())

        await served()

        # oversized declared lengths and malformed headers: an error event, then the connection closes
        bad = [
            json.dumps({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1},
                        "payload_length": 10**12}).encode() + b"\n",
            json.dumps({"type": "describe", "data_length": 10**9}).encode() + b"\n",
            b"not json at all\n",
            b'{"type": 5}\n',
            b"[1, 2]\n",
            b'{"type": "transcript", "data": {"text": ["x"]}}\n',
            b'{"type": "audio-start", "data": {"rate": "fast", "width": 2, "channels": 1}}\n',
            b'{"type": "ping", "payload_length": -1}\n',
            b'{"type": "ping", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
            b"x" * (MAX_HEADER_BYTES + 10),
        ]
        for raw in bad:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(raw)
            await w.drain()
            answer = await _answer(r)
            assert answer is not None and answer["type"] == "error", raw[:80]
            assert await _closed(r)
            w.close()
        # sending part of a huge declared payload buffers nothing: it is refused at the header
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(json.dumps({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1},
                            "payload_length": 10**12}).encode() + b"\n")
        with pytest.raises(ConnectionError):
            for _ in range(200):  # up to 200 MB, refused long before
                w.write(b"\0" * 2**20)
                await asyncio.wait_for(w.drain(), 5)
        w.close()
        await served()

        # 300 idle connections: over the cap refused at once, the rest dropped after the handshake time
        idle = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(300)))
        await served()
        assert len(server.handlers) <= cfg.max_clients
        await asyncio.sleep(cfg.handshake_timeout_s + 0.5)
        assert all(await asyncio.gather(*(_closed(r, 20) for r, _ in idle)))  # some wait in the backlog
        for _, w in idle:
            w.close()
        assert server.refused > 0 and len(server.handlers) == 1  # only the good client is left
        await served()

        # 100 clients that never read (a small receive window): each floods pings, and replies go to all
        lazy = []
        flood = json.dumps({"type": "ping", "data": {"text": "p" * 50_000}}).encode() + b"\n"
        for _ in range(100):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.setblocking(False)
            r, w = await asyncio.open_connection(sock=sock)
            w.write(b'{"type": "describe"}\n' + flood * 40)  # 2 MB of pongs asked for
            lazy.append((r, w))
            if len(lazy) % 10 == 0:
                await served()
        text = (" ".join(["word"] * 100) + ". ") * 8  # 8 sentences of 10 s (4,000 characters)
        await good.write_event(Synthesize(text=text).event())
        for _ in range(50):
            await served()
            if sum(not h.peer.startswith("unix") for h in server.handlers) <= 1:
                break
            await asyncio.sleep(0.2)
        assert len(server.handlers) == 1  # every one that did not read was dropped
        for _, w in lazy:
            w.close()
        await served()

        # two audio streams at once: the second client is refused with an error event
        other = AsyncClient.from_uri(f"tcp://127.0.0.1:{port}")
        await other.connect()
        await good.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await good.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * 3200).event())
        await served()
        await other.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        while True:
            event = await asyncio.wait_for(other.read_event(), 5)
            if event.type == "error":
                assert event.data["code"] == "busy"
                break
        await other.disconnect()
        await served()

        await good.disconnect()
        a.end_of_input()
        a.stop()
        await asyncio.wait_for(run, 10)
        await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 100))
    assert peak[0] - base < RSS_GROWTH_LIMIT_MB, f"RSS grew from {base:.0f} MB to {peak[0]:.0f} MB"
    dropped = [r.getMessage() for r in caplog.records if "is not reading" in r.getMessage()]
    # the endpoint's log and asyncio's (unhandled task errors) hold no traceback for any client input
    # (the pipeline's own shutdown is not under test here)
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO
                  and (r.name.startswith("assistant.wyoming") or r.name == "asyncio")]
    assert tracebacks == []
    dropped = [r.getMessage() for r in caplog.records if "is not reading" in r.getMessage()]
    assert RECEIVED.get("audio-chunk", 0) > 0 and len(dropped) == 100
    print(f"RSS {base:.0f} MB before, peak {peak[0]:.0f} MB; {len(dropped)} non-reading clients dropped "
          f"(outbox cap {MAX_OUTBOX_BYTES} bytes)")


def test_peers_outside_allow_peers_are_refused():
    port = _port()

    async def scenario():
        a = _assistant()
        server = WyomingServer(WyomingConfig(tcp=f"127.0.0.1:{port}", allow_peers=("10.0.0.0/8",)), a,
                               accept_audio=False)
        await server.start()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b'{"type": "ping"}\n')
        answer = await _answer(r)
        w.close()
        await server.stop()
        return answer, server.refused

    answer, refused = asyncio.run(scenario())
    assert answer is None and refused == 1


def test_the_loopback_peer_s_uid_is_read_from_proc():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            conn, peer = listener.accept()
            with conn:
                assert loopback_peer_uid(peer, conn.getsockname()) == os.geteuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_other_users_on_loopback_tcp_are_refused():
    port = _port()

    async def scenario():
        a = _assistant()
        server = WyomingServer(WyomingConfig(tcp=f"127.0.0.1:{port}"), a, accept_audio=False)
        await server.start()
        out = await asyncio.wait_for(asyncio.to_thread(connect_as_nobody, port), 10)
        await server.stop()
        return out

    assert asyncio.run(scenario()) == "closed-by-server"


def test_a_second_instance_leaves_the_live_socket_alone(tmp_path):
    path = tmp_path / "w.sock"

    async def scenario():
        a = _assistant()
        live = WyomingServer(WyomingConfig(socket=path), a, accept_audio=False)
        await live.start()
        inode = path.stat().st_ino
        second = WyomingServer(WyomingConfig(socket=path), _assistant(), accept_audio=False)
        with pytest.raises(AudioError, match="in use by a running instance"):
            await second.start()
        assert path.stat().st_ino == inode
        async with AsyncClient.from_uri(f"unix://{path}") as client:
            await _ping(client, 1)
        await live.stop()
        # a socket left by a crash (no one listening) is replaced
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(str(path))
        stale.close()
        third = WyomingServer(WyomingConfig(socket=path), _assistant(), accept_audio=False)
        await third.start()
        await third.stop()

    asyncio.run(scenario())


def test_idle_means_nothing_either_way():
    """A client listening to a long reply is not idle; one with nothing sent either way is dropped."""
    port = _port()

    async def scenario():
        a = _assistant(word_s=0.3)
        server = WyomingServer(WyomingConfig(tcp=f"127.0.0.1:{port}", idle_timeout_s=1.0), a, accept_audio=False)
        await server.start()
        run = asyncio.create_task(a.run())
        listener = AsyncClient.from_uri(f"tcp://127.0.0.1:{port}")
        await listener.connect()
        silent = AsyncClient.from_uri(f"tcp://127.0.0.1:{port}")
        await silent.connect()
        await silent.write_event(Ping(text="hello").event())
        # 3 s of reply, longer than the idle timeout, in sentences of 0.6 s (each sent as it plays)
        await listener.write_event(Synthesize(text="word word. " * 5).event())
        types = []
        while "audio-stop" not in types:
            event = await asyncio.wait_for(listener.read_event(), 5)
            assert event is not None, "dropped while a reply was being sent to it"
            types.append(event.type)
        dropped = await _closed(silent._reader, 5)
        await silent.disconnect()
        await listener.disconnect()
        a.stop()
        await asyncio.wait_for(run, 10)
        await server.stop()
        return dropped

    assert asyncio.run(scenario())
