#!/usr/bin/env python3
"""A small Python client of sealgrid's coordinator (``sealgrid.market.v1.Coordinator``).

The protobuf and gRPC modules come from the repository's .proto files through
``generate.py`` (grpcio-tools, pinned in requirements.txt) into ``gen/``; run it once
before using this module. The client does not prove anything: sealed bids are made by a
prosumer's prover (the Rust ``sealgrid-coordinator`` wallet) and handed over as
serialized ``SubmitBidsRequest`` messages, which an aggregator relays with
``submit-batch``.

As a library::

    from sealgrid_client import Client, to_json
    with Client("127.0.0.1:50051") as c:
        print(to_json(c.market()))
        for event in c.events(from_sequence=0):
            ...

As a command line (every answer is JSON on stdout, one object per line for streams)::

    python sealgrid_client.py --addr 127.0.0.1:PORT market
    python sealgrid_client.py --addr 127.0.0.1:PORT round N
    python sealgrid_client.py --addr 127.0.0.1:PORT events --from 0 --until finalized
    python sealgrid_client.py --addr 127.0.0.1:PORT submit-batch bids.bin

JSON form of messages: field names as in the .proto files; ``bytes`` fields as ``0x``
followed by lowercase hex (addresses, Fields and Words read as the contract shows them);
enums by their name; 64-bit integers as JSON numbers; every field present, an unset
message field as ``null``, and of a ``oneof`` only the member that is set.

Refusals name their ``RefusalReason`` (``REFUSAL_REASON_STALE_BALANCE``, …): a batch's
per-bid results carry it, and a refused call carries it in its status details, which
``refusal_of`` reads; the message still starts with the reason's word.

Exit codes: 0 success; 1 the call failed (its gRPC status, with the refusal's reason when
it has one, on stderr); 2 bad usage; 3 ``submit-batch`` had at least one bid refused (or
not on chain when waited for).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

GEN = Path(__file__).resolve().parent / "gen"
if not (GEN / "sealgrid" / "market" / "v1" / "coordinator_pb2.py").exists():
    sys.exit(f"sealgrid_client: {GEN} holds no generated modules; run generate.py first")
sys.path.insert(0, str(GEN))

from sealgrid.market.v1 import coordinator_pb2 as pb  # noqa: E402
from sealgrid.market.v1 import coordinator_pb2_grpc as pb_grpc  # noqa: E402

EXIT_RPC = 1
EXIT_REFUSED = 3

# The event kinds ``events --until`` can stop at: the names of MarketEvent's oneof.
EVENT_KINDS = [f.name for f in pb.MarketEvent.DESCRIPTOR.oneofs_by_name["event"].fields]


# --- JSON ---------------------------------------------------------------------------


def _value(field: FieldDescriptor, v: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_dict(v)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return "0x" + v.hex()
    if field.type == FieldDescriptor.TYPE_ENUM:
        named = field.enum_type.values_by_number.get(v)
        return named.name if named is not None else v
    return v


def to_dict(msg: Message) -> dict:
    """A message as a JSON-ready dict (see the module's doc for the form)."""
    out: dict = {}
    for field in msg.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and msg.WhichOneof(oneof.name) != field.name:
            continue
        v = getattr(msg, field.name)
        if field.is_repeated:
            out[field.name] = [_value(field, x) for x in v]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not msg.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value(field, v)
    return out


def to_json(msg: Message) -> str:
    """A message as one line of JSON."""
    return json.dumps(to_dict(msg), separators=(",", ":"))


def event_kind(event: pb.MarketEvent) -> Optional[str]:
    """Which event a MarketEvent carries ("opened", "bid_accepted", …), None if unset."""
    return event.WhichOneof("event")


def reason_word(message: str) -> str:
    """The stable reason word a refusal's message starts with ("duplicate", …)."""
    return message.split(":", 1)[0].strip()


def reason_name(reason: int) -> str:
    """A RefusalReason's name ("REFUSAL_REASON_DUPLICATE", …), or the number if this
    client's stubs do not know it."""
    named = pb.RefusalReason.DESCRIPTOR.values_by_number.get(reason)
    return named.name if named is not None else str(reason)


# The status details of a refused call: a google.rpc.Status (RefusalStatus declares its
# fields) whose detail is the Refusal, under this type URL.
STATUS_DETAILS_KEY = "grpc-status-details-bin"
REFUSAL_TYPE_URL = "type.googleapis.com/sealgrid.market.v1.Refusal"


def refusal_of(error: grpc.RpcError) -> Optional[pb.Refusal]:
    """The Refusal a failed call carries in its status details, None if it has none."""
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key != STATUS_DETAILS_KEY:
            continue
        try:
            status = pb.RefusalStatus.FromString(value)
            for detail in status.details:
                if detail.type_url == REFUSAL_TYPE_URL:
                    return pb.Refusal.FromString(detail.value)
        except DecodeError:
            return None
    return None


# --- the client -----------------------------------------------------------------------


class Client:
    """A connection to one coordinator (plaintext gRPC, as the coordinator serves it).

    Each method is one RPC; a refused call raises ``grpc.RpcError`` whose ``code()`` and
    ``details()`` are the coordinator's status code and message (the message starts with
    its reason word); ``refusal_of`` reads its reason.
    """

    def __init__(self, addr: str, timeout: Optional[float] = 60.0):
        self.addr = addr
        self.timeout = timeout
        self.channel = grpc.insecure_channel(addr)
        self.stub = pb_grpc.CoordinatorStub(self.channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def market(self) -> pb.MarketInfo:
        """The market's parameters (GetMarket)."""
        return self.stub.GetMarket(pb.GetMarketRequest(), timeout=self.timeout)

    def round(self, round: int) -> pb.RoundStatus:
        """One round's status (GetRound)."""
        return self.stub.GetRound(pb.GetRoundRequest(round=round), timeout=self.timeout)

    def events(self, from_sequence: int = 0, round: int = 0,
               timeout: Optional[float] = None) -> Iterator[pb.MarketEvent]:
        """The event stream (StreamEvents) from ``from_sequence`` on, optionally of one
        round; ends when the coordinator shuts down or ``timeout`` seconds pass (then
        it raises with DEADLINE_EXCEEDED). Cancel it by closing the client."""
        req = pb.StreamEventsRequest(from_sequence=from_sequence, round=round)
        return self.stub.StreamEvents(req, timeout=timeout)

    def submit_bids(self, request: pb.SubmitBidsRequest) -> pb.SubmitBidsResponse:
        """A batch of sealed bids (SubmitBids); one result per bid, in request order."""
        return self.stub.SubmitBids(request, timeout=self.timeout)


def batch_report(response: pb.SubmitBidsResponse, wait_for_chain: bool) -> tuple[dict, bool]:
    """The per-bid results of a batch as a JSON-ready dict, and whether every bid was
    accepted (and, when the batch waited for the chain, is on chain)."""
    results = []
    all_good = True
    for position, r in enumerate(response.results):
        which = r.WhichOneof("result")
        if which == "accepted":
            a = r.accepted
            state = pb.SubmissionState.Name(a.state)
            if wait_for_chain and a.state != pb.SUBMISSION_STATE_ON_CHAIN:
                all_good = False
            results.append({"position": position, "accepted": True, "bid": "0x" + a.bid.hex(),
                            "state": state, "index": a.index, "block": a.block,
                            "gas_used": a.gas_used, "error": a.error})
        else:
            all_good = False
            f = r.refused
            code = grpc.StatusCode.UNKNOWN
            for c in grpc.StatusCode:
                if c.value[0] == f.code:
                    code = c
            results.append({"position": position, "accepted": False, "code": f.code,
                            "code_name": code.name, "reason": reason_word(f.message),
                            "reason_name": reason_name(f.reason), "message": f.message})
    accepted = sum(1 for r in results if r["accepted"])
    return {"results": results, "accepted": accepted,
            "refused": len(results) - accepted}, all_good


# --- the command line -------------------------------------------------------------------


def _parse_until(text: str) -> str | int:
    if text.isdigit():
        return int(text)
    if text in EVENT_KINDS:
        return text
    raise argparse.ArgumentTypeError(
        f"expected a count or one of {', '.join(EVENT_KINDS)}; got {text!r}")


def _cmd_market(c: Client, _args: argparse.Namespace) -> int:
    print(to_json(c.market()))
    return 0


def _cmd_round(c: Client, args: argparse.Namespace) -> int:
    print(to_json(c.round(args.round)))
    return 0


def _cmd_events(c: Client, args: argparse.Namespace) -> int:
    until = args.until
    printed = 0
    stream = c.events(args.from_sequence, args.round, timeout=args.stream_timeout)
    try:
        for event in stream:
            d = to_dict(event)
            d["kind"] = event_kind(event)
            print(json.dumps(d, separators=(",", ":")), flush=True)
            printed += 1
            if (isinstance(until, int) and printed >= until) or until == d["kind"]:
                return 0
    finally:
        stream.cancel()
    # The stream ended (the coordinator shut down) before what was waited for.
    if until is not None:
        print(f"sealgrid_client: the event stream ended after {printed} events, "
              f"before --until {until}", file=sys.stderr)
        return EXIT_RPC
    return 0


def _cmd_submit_batch(c: Client, args: argparse.Namespace) -> int:
    request = pb.SubmitBidsRequest()
    try:
        request.ParseFromString(Path(args.file).read_bytes())
    except (OSError, DecodeError) as e:
        print(f"sealgrid_client: cannot read a SubmitBidsRequest from {args.file}: {e}",
              file=sys.stderr)
        return 2
    if args.wait_for_chain:
        request.wait_for_chain = True
    report, all_good = batch_report(c.submit_bids(request), request.wait_for_chain)
    print(json.dumps(report, separators=(",", ":")))
    return 0 if all_good else EXIT_REFUSED


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sealgrid_client.py",
        description="A client of sealgrid's coordinator; prints JSON.")
    p.add_argument("--addr", required=True,
                   help="the coordinator's gRPC address, HOST:PORT (plaintext)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a unary call may take (default 60)")
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("market", help="print the market's parameters (MarketInfo)")
    m.set_defaults(run=_cmd_market)

    r = sub.add_parser("round", help="print one round's status (RoundStatus)")
    r.add_argument("round", type=int, help="the round number")
    r.set_defaults(run=_cmd_round)

    e = sub.add_parser("events", help="stream the market's events, one JSON line each")
    e.add_argument("--from", dest="from_sequence", type=int, default=0,
                   help="the first sequence number wanted (default 0)")
    e.add_argument("--round", type=int, default=0,
                   help="only this round's events (default 0: all)")
    e.add_argument("--until", type=_parse_until, default=None,
                   help="stop after N events, or after the first event of a kind: "
                        + ", ".join(EVENT_KINDS)
                        + " (default: until the coordinator ends the stream)")
    e.add_argument("--stream-timeout", dest="stream_timeout", type=float, default=None,
                   help="give up after this many seconds (exit 1)")
    e.set_defaults(run=_cmd_events)

    s = sub.add_parser("submit-batch",
                       help="submit a serialized SubmitBidsRequest; print per-bid results; "
                            "exit 3 if any bid was refused")
    s.add_argument("file", help="a file holding one binary SubmitBidsRequest")
    s.add_argument("--wait-for-chain", action="store_true",
                   help="wait until the contract took each bid, whatever the file says")
    s.set_defaults(run=_cmd_submit_batch)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    with Client(args.addr, timeout=args.timeout) as c:
        try:
            return args.run(c, args)
        except grpc.RpcError as e:
            refusal = refusal_of(e)
            reason = f" {reason_name(refusal.reason)}" if refusal is not None else ""
            print(f"sealgrid_client: {args.command}: {e.code().name}{reason}: {e.details()}",
                  file=sys.stderr)
            return EXIT_RPC


if __name__ == "__main__":
    sys.exit(main())
