"""The bench's DR receiver checks each message's DRs: three, once each, in order."""

from __future__ import annotations

import orjson

from wanode.bench.wire import Receiver, Tally


def _dr(transid: str, code: str, tag: str = "run") -> bytes:
    info = {"code": code, "deliveryStatus": "x"}
    report = {"deliveryInfo": info, "transid": transid, "correlationid": tag}
    return orjson.dumps({"deliveryInfoNotification": report})


def _tally(*drs: tuple[str, str]) -> Tally:
    tally = Tally()
    for at, (transid, code) in enumerate(drs):
        tally.add(code, float(at), transid)
    return tally


def test_a_complete_run_has_no_problems() -> None:
    tally = _tally(("a", "7501"), ("b", "7501"), ("a", "7500"), ("b", "7500"), ("b", "7502"))
    tally.add("7502", 9.0, "a")
    assert tally.problems(2) == []
    assert tally.by_code == {"7501": 2, "7500": 2, "7502": 2}
    assert tally.last_at["7502"] == 9.0


def test_out_of_order_repeated_and_missing_drs_are_problems() -> None:
    out_of_order = _tally(("a", "7500"), ("a", "7501"), ("a", "7502"))
    assert out_of_order.problems(1) == [
        "1 messages with DRs other than ['7501', '7500', '7502'] (transid 'a': "
        "['7500', '7501', '7502'])"
    ]
    repeated = _tally(("a", "7501"), ("a", "7500"), ("a", "7500"), ("a", "7502"))
    assert len(repeated.problems(1)) == 1
    assert repeated.problems(2)[0] == "DRs for 1 messages, expected 2"
    missing = _tally(("a", "7501"), ("a", "7502"))
    assert "transid 'a'" in missing.problems(1)[0]


def test_the_receiver_tallies_by_correlationid() -> None:
    receiver = Receiver(clock=lambda: 1.0)
    receiver._count(_dr("a", "7501", "one"))
    receiver._count(_dr("b", "7501", "two"))
    receiver._count(b"not json")
    assert receiver.tally("one").codes == {"a": ["7501"]}
    assert receiver.tally("two").codes == {"b": ["7501"]}
    assert receiver.tally("").by_code == {"unparsed": 1}
    receiver.reset()
    assert receiver.tally("one").total == 0
