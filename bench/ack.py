"""Time to HTTP 200 for signed Slack requests into `mentorbot run`, beside a bare Bolt app and Socket Mode.

Usage: python bench/ack.py [--levels 10,50,200] [--requests 600] [--pairs 200] [--latency 0.1]
Prints p50/p95/p99 (ms) and throughput per concurrency level, for mentorbot and for a bare
Bolt app with one empty handler served by the same WSGI server in the same run, and for a second
`mentorbot run` in Socket Mode (a copy of the same database) connected to a WebSocket server of ours, where the
time is from an envelope's send to its acknowledgement's arrival. Each mentorbot level
waits for all its replies (response_url posts) before the next run starts, so work left over from
one run never runs during another's; "replies s" is from the level's first request to its last reply.
The fake Slack answers each response_url post after `--latency` seconds, a real round trip.
The clients are keep-alive connections driven by one asyncio loop in a process of their own, apart from
the fake Slack: client threads sharing a GIL with each other, or with the fake Slack's answers to
mentorbot's replies, added their own waits to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MENTORBOT, bot_env, free_port, percentile, rss_mb, stop, wait_healthy  # noqa: E402
from bot.blocks.ids import SNOOZE_ACTION  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, command_body, signed_headers  # noqa: E402


def serve_bare(port: int, api_url: str) -> None:
    """A bare Bolt app with one empty handler per request kind, on the same server as mentorbot."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress import serve

    # Its Web API calls (Bolt's auth.test) go to the same fake Slack as mentorbot's, never to slack.com.
    app = App(signing_secret=SIGNING_SECRET, client=WebClient(token="xoxb-bare", base_url=api_url),
              token_verification_enabled=False, ignoring_self_events_enabled=False)
    app.command("/mentoring")(lambda ack: ack())
    app.action(SNOOZE_ACTION)(lambda ack: ack())
    # 16 threads, not mentorbot's 4: a bare Bolt app acks from Bolt's listener pool while the request
    # thread polls every 10 ms, so 4 threads would cap it near 350 requests/s and flatter mentorbot.
    # Bolt's own WSGI adapter: the bare app has none of mentorbot's checks before Bolt (size, replay).
    serve(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=16, ident="bare")


def make_requests(fake: FakeSlack, pair_ids: list[int], members: list[tuple[str, str]], count: int
                  ) -> list[tuple[str, dict[str, str]]]:
    """Alternate `/mentoring pairs` commands and snooze presses, each freshly signed."""
    built = []
    for index in range(count):
        mentor, _mentee = members[index % len(members)]
        if index % 2 == 0:
            body = command_body("pairs", user_id=mentor if index % 4 else "UCOORD1",
                                response_url=f"{fake.response_url}b{index}")
        else:
            payload = {
                "type": "block_actions", "user": {"id": mentor, "team_id": "T0001"}, "team": {"id": "T0001"},
                "api_app_id": "A0001", "token": "x", "trigger_id": f"t{index}",
                "actions": [{"type": "button", "action_id": SNOOZE_ACTION, "block_id": "b",
                             "value": str(pair_ids[index % len(pair_ids)]), "action_ts": "1"}],
                "response_url": f"{fake.response_url}b{index}",
            }
            body = urlencode({"payload": json.dumps(payload)})
        headers = {k: v[0] for k, v in signed_headers(body).items()}
        built.append((body, headers))
    return built


ANSWER_TIMEOUT = 30  # seconds; a request not answered by then counts as an error, and the run goes on


def fire(port: int, requests: list[tuple[str, dict[str, str]]], concurrency: int) -> tuple[list[float], float, int]:
    """Send every request with `concurrency` keep-alive clients; return latencies (ms), seconds, errors.

    The clients are coroutines on one thread, not threads: fifty client threads contend for their own GIL
    and add tails of 200 ms or more to every app's figures, the bare one's too.
    """
    return asyncio.run(_fire(port, requests, concurrency))


async def _fire(port: int, requests: list[tuple[str, dict[str, str]]], concurrency: int
                ) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0

    async def client(chunk: list[tuple[str, dict[str, str]]]) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for body, headers in chunk:
            payload = body.encode()
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            message = (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(payload)}\r\n"
                       f"{head}\r\n").encode() + payload
            started = time.perf_counter()
            try:
                writer.write(message)
                status = await asyncio.wait_for(_read_response(reader), ANSWER_TIMEOUT)
                ok = status == 200
            except (OSError, asyncio.IncompleteReadError, ValueError):  # a timeout is an OSError too
                ok = False
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += 0 if ok else 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(requests[i::concurrency]) for i in range(concurrency)))
    return latencies, time.perf_counter() - started, errors


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked body); return its status."""
    status = int((await reader.readline()).split()[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status
    while size := int((await reader.readline()).strip(), 16):
        await reader.readexactly(size + 2)
    await reader.readline()
    return status


def fire_apart(port: int, requests: list[tuple[str, dict[str, str]]], concurrency: int, workdir: Path
               ) -> tuple[list[float], float, int, float]:
    """`fire` from a process of its own; also return when it began (the system-wide monotonic clock).

    The clients' clocks must not share a GIL with the fake Slack: its threads answering mentorbot's replies
    would otherwise delay the clients' reads of mentorbot's answers (and not the bare app's, which sends no
    replies), and count as mentorbot's time.
    """
    batch = workdir / "requests.json"
    batch.write_text(json.dumps(requests))
    out = subprocess.run([sys.executable, __file__, "--fire", str(port), "--concurrency", str(concurrency),
                          "--requests-file", str(batch)], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["latencies"], result["seconds"], result["errors"], result["started"]


def socket_envelopes(requests: list[tuple[str, dict[str, str]]], tag: str) -> list[dict]:
    """The same requests as Socket Mode envelopes: a command's form fields, or an interaction's payload."""
    envelopes = []
    for index, (body, _headers) in enumerate(requests):
        fields = dict(parse_qsl(body))
        if "payload" in fields:
            envelope = {"type": "interactive", "payload": json.loads(fields["payload"])}
        else:
            envelope = {"type": "slash_commands", "payload": fields}
        envelopes.append({"envelope_id": f"{tag}-{index}", "accepts_response_payload": True, **envelope})
    return envelopes


class SocketSide:
    """Slack's side of a Socket Mode connection, in a process of its own (for the reason `fire_apart` gives).

    The child prints its port, then "connected" once mentorbot is; each batch (a file of envelopes and a
    concurrency, one line on its stdin) is answered with one line of figures, like `fire_and_print`'s.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-socket"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def wait_connected(self) -> None:
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "connected":
            raise SystemExit("mentorbot never connected in Socket Mode")

    def fire(self, envelopes: list[dict], concurrency: int, workdir: Path) -> tuple[list[float], float, int, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        batch = workdir / "envelopes.json"
        batch.write_text(json.dumps(envelopes))
        self.process.stdin.write(json.dumps({"file": str(batch), "concurrency": concurrency}) + "\n")
        result = json.loads(self.process.stdout.readline())
        return result["latencies"], result["seconds"], result["errors"], result["started"]


def serve_socket() -> None:
    """The child of `SocketSide`: a WebSocket server standing in for Slack's Socket Mode endpoint."""
    asyncio.run(_serve_socket())


async def _serve_socket() -> None:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    connected: asyncio.Future = asyncio.get_running_loop().create_future()
    acks: dict[str, asyncio.Future] = {}

    async def session(connection) -> None:  # type: ignore[no-untyped-def]
        await connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        if not connected.done():
            connected.set_result(connection)
        with contextlib.suppress(ConnectionClosed):  # mentorbot stopped at the end of the run
            async for message in connection:
                waiter = acks.pop(json.loads(message).get("envelope_id"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(time.perf_counter())

    async with serve(session, "127.0.0.1", 0) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        connection = await connected
        print("connected", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            order = json.loads(line)
            envelopes = json.loads(Path(order["file"]).read_text())
            latencies: list[float] = []
            errors = [0]

            async def client(chunk: list[dict], latencies: list[float] = latencies, errors: list[int] = errors
                             ) -> None:
                for envelope in chunk:
                    waiter = loop.create_future()
                    acks[envelope["envelope_id"]] = waiter
                    started = time.perf_counter()
                    await connection.send(json.dumps(envelope))
                    try:
                        answered = await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
                    except TimeoutError:
                        errors[0] += 1
                        answered = time.perf_counter()
                    latencies.append((answered - started) * 1000)

            began, started = time.monotonic(), time.perf_counter()
            concurrency = order["concurrency"]
            await asyncio.gather(*(client(envelopes[i::concurrency]) for i in range(concurrency)))
            print(json.dumps({"latencies": latencies, "seconds": time.perf_counter() - started, "errors": errors[0],
                              "started": began}), flush=True)


def fire_and_print(port: int, concurrency: int, requests_file: str) -> None:
    """The child of `fire_apart`: fire the requests in the file, print the figures as JSON."""
    requests = [(body, headers) for body, headers in json.loads(Path(requests_file).read_text())]
    started = time.monotonic()
    latencies, seconds, errors = fire(port, requests, concurrency)
    print(json.dumps({"latencies": latencies, "seconds": seconds, "errors": errors, "started": started}))


def wait_for_replies(fake: FakeSlack, expected: int, timeout: float = 120) -> float | None:
    """Wait until the fake Slack holds `expected` response_url posts; return when the last one came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(fake.responses) >= expected:
            return fake.responses[expected - 1].at
        time.sleep(0.05)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="10,50,200")
    parser.add_argument("--requests", type=int, default=600, help="requests per level and app")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds the fake Slack takes to answer a response_url post (a real round trip)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--fire", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests-file", help=argparse.SUPPRESS)
    parser.add_argument("--serve-socket", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_socket:
        serve_socket()
        return 0
    if args.serve_bare:
        serve_bare(args.serve_bare, args.api_url)
        return 0
    if args.fire:
        fire_and_print(args.fire, args.concurrency, args.requests_file)
        return 0
    levels = [int(x) for x in args.levels.split(",")]

    fake = FakeSlack().start()
    # Replies wait on Slack, as they do for real: with an instant fake, the reply threads would be all CPU
    # and the figures would favour too few of them.
    fake.delays["response_url"] = args.latency
    fake.add_user("UCOORD1", "Coordinator")
    members = [(f"UMENTOR{i:04d}", f"UMENTEE{i:04d}") for i in range(args.pairs)]
    for mentor, mentee in members:
        fake.add_user(mentor, tz="Europe/Berlin")
        fake.add_user(mentee, tz="America/New_York")
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-ack-"))
    db_path = workdir / "bench.db"
    port, bare_port = free_port(), free_port()
    bot = subprocess.Popen([MENTORBOT, "run"], env=bot_env(fake, f"sqlite:///{db_path}", PORT=str(port)),
                           cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port), "--api-url", fake.url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket_bot: subprocess.Popen | None = None
    side: SocketSide | None = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}", bot)
        wait_healthy(f"http://127.0.0.1:{bare_port}", bare, path="/")
        # Register the pairs the way a coordinator would, through signed commands.
        setup = []
        for mentor, mentee in members:
            body = command_body(f"pair <@{mentor}> <@{mentee}>", user_id="UCOORD1",
                                response_url=f"{fake.response_url}setup")
            setup.append((body, {k: v[0] for k, v in signed_headers(body).items()}))
        fire(port, setup, 8)
        wait_for_replies(fake, len(setup))  # their replies, too, before anything is measured
        deadline = time.monotonic() + 60
        pair_ids: list[int] = []
        while time.monotonic() < deadline:
            with sqlite3.connect(db_path) as connection:
                pair_ids = [row[0] for row in connection.execute("SELECT id FROM pair")]
            if len(pair_ids) >= len(members):
                break
            time.sleep(0.2)
        if not pair_ids:
            raise SystemExit("no pairs were registered; is `/mentoring pair` working?")

        # The Socket Mode bot gets a copy of the registered program, so both bots answer from the same data.
        with sqlite3.connect(db_path) as source, sqlite3.connect(workdir / "socket.db") as copy:
            source.backup(copy)
        side = SocketSide()
        fake.socket_mode_url = f"ws://127.0.0.1:{side.port}/link"
        socket_env = bot_env(fake, f"sqlite:///{workdir / 'socket.db'}", SLACK_APP_TOKEN="xapp-bench")
        socket_bot = subprocess.Popen([MENTORBOT, "run"], cwd=workdir, env=socket_env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        side.wait_connected()
        # Its first requests, like the HTTP bot's setup commands, warm it up before anything is measured.
        warm_up = make_requests(fake, pair_ids, members, min(len(setup), 50))
        replied_before = len(fake.responses)
        side.fire(socket_envelopes(warm_up, "warm"), 4, workdir)
        wait_for_replies(fake, replied_before + len(warm_up))

        print(f"pairs registered: {len(pair_ids)}; requests per level and app: {args.requests}; "
              f"load average at start: {os.getloadavg()[0]:.2f}")
        print(f"{'app':<10} {'conc':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>8} "
              f"{'errors':>6} {'>3s':>4} {'replies s':>9}")
        for level in levels:
            for name in ("mentorbot", "bare-bolt", "socket"):
                requests = make_requests(fake, pair_ids, members, args.requests)
                replied_before = len(fake.responses)
                if name == "socket":
                    latencies, seconds, errors, started = side.fire(socket_envelopes(requests, f"l{level}"), level,
                                                                    workdir)
                else:
                    target = port if name == "mentorbot" else bare_port
                    latencies, seconds, errors, started = fire_apart(target, requests, level, workdir)
                done = "-"
                if name != "bare-bolt":  # one reply per request; the bare app sends none
                    last = wait_for_replies(fake, replied_before + len(requests))
                    done = "timeout" if last is None else f"{last - started:.2f}"
                over = sum(1 for v in latencies if v > 3000)
                print(f"{name:<10} {level:>5} {percentile(latencies, 50):>8.1f} {percentile(latencies, 95):>8.1f} "
                      f"{percentile(latencies, 99):>8.1f} {max(latencies):>8.1f} {len(latencies) / seconds:>8.1f} "
                      f"{errors:>6} {over:>4} {done:>9}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        print(f"mentorbot resident memory after the run: {rss_mb(bot.pid):.0f} MB")
    finally:
        for process in (bot, bare, socket_bot, side and side.process):
            if process is not None:
                stop(process)
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
