#!/usr/bin/python3
"""Run one compat scenario with python pika (Debian's python3-pika) and print its transcript as JSON.

Usage: /usr/bin/python3 compat/pika/driver.py SCENARIO URL ARGS_JSON
Prints one JSON object: {"events": [...]} (and exits 0), or {"error": "..."} (exit 1).
Values are rendered so that both brokers' transcripts compare: bytes as hex, Decimal as a string,
datetimes as ISO text.
"""
import datetime
import decimal
import json
import sys
import time

import pika
import pika.exceptions

EVENTS = []


def render(v):
    if isinstance(v, bytes):
        return {"x": v.hex()}
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, datetime.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dict):
        return {str(k): render(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [render(x) for x in v]
    return v


def props(p):
    out = {}
    for k in ("content_type", "content_encoding", "headers", "delivery_mode", "priority", "correlation_id",
              "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id", "cluster_id"):
        v = getattr(p, k, None)
        if v is not None:
            out[k] = render(v)
    return out


def record(**kw):
    EVENTS.append(render(kw))


def connect(url):
    return pika.BlockingConnection(pika.URLParameters(url))


def closed_error(e):
    if isinstance(e, pika.exceptions.ChannelClosedByBroker):
        return {"channel_closed": {"code": e.reply_code, "text": e.reply_text}}
    if isinstance(e, pika.exceptions.ConnectionClosedByBroker):
        return {"connection_closed": {"code": e.reply_code, "text": e.reply_text}}
    return {"error": type(e).__name__}


def get_all(ch, q):
    out = []
    while True:
        method, p, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        out.append({"rk": method.routing_key, "redelivered": method.redelivered, "props": props(p), "body": body.decode("utf-8", "replace")})
    return out


ALL_HEADERS = {
    "str": "text ünicode",
    "int": 42,
    "neg": -7,
    "big": 5000000000,
    "bool": True,
    "none": None,
    "bytes": b"\x00\x01",
    "decimal": decimal.Decimal("3.14"),
    "ts": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "list": [1, "two", False, [3]],
    "table": {"a": 1, "b": {"c": "d"}},
}

FULL_PROPS = dict(content_type="application/json", content_encoding="utf-8", delivery_mode=2, priority=5,
                  correlation_id="corr-1", reply_to="reply-q", expiration="60000", message_id="mid-1",
                  timestamp=1700000000, type="kind", user_id="guest", app_id="pika-app")


def sc_declare_publish_get(url, a):
    c = connect(url)
    ch = c.channel()
    ok = ch.queue_declare(a["q"], exclusive=True)
    record(op="queue_declare", queue=ok.method.queue, messages=ok.method.message_count, consumers=ok.method.consumer_count)
    ch.basic_publish("", a["q"], b"hello", pika.BasicProperties(**FULL_PROPS, headers=ALL_HEADERS))
    record(got=get_all(ch, a["q"]))
    c.close()


def sc_passive_missing(url, a):
    c = connect(url)
    ch = c.channel()
    try:
        ch.queue_declare(a["q"], passive=True)
        record(op="queue_declare", ok=True)
    except Exception as e:  # noqa: BLE001
        record(op="queue_declare", **closed_error(e))
    record(channel_open=ch.is_open, connection_open=c.is_open)
    c.close()


def sc_consume_ack_nack(url, a):
    c = connect(url)
    ch = c.channel()
    ch.queue_declare(a["q"], exclusive=True)
    for i in range(3):
        ch.basic_publish("", a["q"], ("m%d" % i).encode())
    ch.basic_qos(prefetch_count=1)
    seen = []
    for method, p, body in ch.consume(a["q"], inactivity_timeout=2):
        if method is None:
            break
        seen.append({"tag": method.delivery_tag, "redelivered": method.redelivered, "body": body.decode()})
        if body == b"m0" and not method.redelivered:
            ch.basic_nack(method.delivery_tag, requeue=True)
        else:
            ch.basic_ack(method.delivery_tag)
        if len(seen) == 4:
            break
    ch.cancel()
    record(deliveries=seen)
    c.close()


def sc_tx(url, a):
    c = connect(url)
    ch = c.channel()
    ch.queue_declare(a["q"], exclusive=True)
    ch.tx_select()
    ch.basic_publish("", a["q"], b"rolled-back")
    ch.tx_rollback()
    ch.basic_publish("", a["q"], b"committed")
    ch.tx_commit()
    record(got=get_all(ch, a["q"]))
    try:
        ch2 = c.channel()
        ch2.tx_commit()
    except Exception as e:  # noqa: BLE001
        record(op="tx_commit_without_select", **closed_error(e))
    c.close()


def sc_confirms_mandatory(url, a):
    c = connect(url)
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare(a["q"], exclusive=True)
    ch.basic_publish("", a["q"], b"routed", mandatory=True)
    record(op="publish routed", ok=True)
    try:
        ch.basic_publish("", a["q"] + "-missing", b"unroutable", mandatory=True)
        record(op="publish unroutable", ok=True)
    except pika.exceptions.UnroutableError as e:
        record(op="publish unroutable", unroutable=[m.method.reply_text for m in e.messages])
    c.close()


def sc_exchange_errors(url, a):
    c = connect(url)
    ch = c.channel()
    ch.exchange_declare(a["x"], "direct", durable=False)
    try:
        ch.exchange_declare(a["x"], "fanout", durable=False)
    except Exception as e:  # noqa: BLE001
        record(op="redeclare fanout", **closed_error(e))
    ch = c.channel()
    ch.exchange_delete(a["x"])
    try:
        ch.exchange_declare(a["x"], "nonsense")
    except Exception as e:  # noqa: BLE001
        record(op="declare unknown type", **closed_error(e))
    record(connection_open=c.is_open)


def sc_publish_for_amqplib(url, a):
    """Cross-client: pika publishes headers and properties for amqplib to consume."""
    c = connect(url)
    ch = c.channel()
    ch.basic_publish("", a["q"], "pika → amqplib".encode(), pika.BasicProperties(**FULL_PROPS, headers=ALL_HEADERS))
    ch.basic_publish("", a["q"], b"", pika.BasicProperties())
    c.close()
    record(published=2)


def sc_consume_from_amqplib(url, a):
    """Cross-client: pika reads what amqplib published."""
    c = connect(url)
    ch = c.channel()
    record(got=get_all(ch, a["q"]))
    c.close()


def sc_reject_one(url, a):
    """Cross-client: pika rejects (without requeue) the message amqplib published."""
    c = connect(url)
    ch = c.channel()
    method, p, body = ch.basic_get(a["q"])
    record(got={"redelivered": method.redelivered, "props": props(p), "body": body.decode()})
    ch.basic_reject(method.delivery_tag, requeue=False)
    c.close()


def sc_server_cancel(url, a):
    c = connect(url)
    ch = c.channel()
    ch.queue_declare(a["q"], exclusive=True)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(True))
    ch.basic_consume(a["q"], lambda *args: None)
    ch2 = c.channel()
    ch2.queue_delete(a["q"])
    deadline = time.time() + 2
    while not cancelled and time.time() < deadline:
        c.process_data_events(time_limit=0.05)
    record(cancelled=bool(cancelled))
    c.close()


def sc_headers_exchange(url, a):
    c = connect(url)
    ch = c.channel()
    ch.exchange_declare(a["x"], "headers", durable=False)
    ch.queue_declare(a["q"], exclusive=True)
    ch.queue_bind(a["q"], a["x"], arguments={"x-match": "any", "k": decimal.Decimal("1.5"), "n": 2})
    for name, h in [("dec", {"k": decimal.Decimal("1.5")}), ("int", {"n": 2}), ("long", {"n": 5000000000}), ("none", {})]:
        ch.basic_publish(a["x"], "", name.encode(), pika.BasicProperties(headers=h))
    record(got=[m["body"] for m in get_all(ch, a["q"])])
    ch.exchange_delete(a["x"])
    c.close()


def sc_dead_letter_x_death(url, a):
    c = connect(url)
    ch = c.channel()
    ch.queue_declare(a["dead"], exclusive=True)
    ch.queue_declare(a["q"], exclusive=True, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": a["dead"]})
    ch.basic_publish("", a["q"], b"m")
    method, _, _ = ch.basic_get(a["q"])
    ch.basic_reject(method.delivery_tag, requeue=False)
    time.sleep(0.05)
    got = get_all(ch, a["dead"])
    for m in got:
        for d in m["props"].get("headers", {}).get("x-death", []):
            d["time"] = "<time>"
    record(got=got)
    c.close()


SCENARIOS = {name[3:].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("sc_")}


def main():
    name, url, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3] if len(sys.argv) > 3 else "{}")
    if name == "--list":
        print(json.dumps(sorted(SCENARIOS)))
        return 0
    try:
        SCENARIOS[name](url, args)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"events": EVENTS, "error": "%s: %s" % (type(e).__name__, e)}))
        return 1
    print(json.dumps({"events": EVENTS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
