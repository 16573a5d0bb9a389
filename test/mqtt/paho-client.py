"""paho-mqtt (Debian's python3-paho-mqtt 1.6) against Warren's MQTT listener, driven by paho.test.ts.

Usage: paho-client.py PORT PROTOCOL (MQTTv311 or MQTTv31). Subscribes to paho/# at QoS 1, publishes
at QoS 0, 1 and 2, waits for the three messages and for a retained one on a second connection, and
prints one JSON object with what it saw. Everything waits on paho's callbacks, with a bound.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt

port = int(sys.argv[1])
protocol = getattr(mqtt, sys.argv[2])
seen = {"connack": None, "granted": None, "messages": [], "published": [], "retained": None}
got_all = threading.Event()
subscribed = threading.Event()
connected = threading.Event()


def on_connect(client, userdata, flags, rc):
    seen["connack"] = rc
    connected.set()


def on_subscribe(client, userdata, mid, granted):
    seen["granted"] = list(granted)
    subscribed.set()


def on_message(client, userdata, msg):
    seen["messages"].append({"topic": msg.topic, "payload": msg.payload.decode(), "qos": msg.qos, "retain": bool(msg.retain)})
    if len(seen["messages"]) == 3:
        got_all.set()


def on_publish(client, userdata, mid):
    seen["published"].append(mid)


c = mqtt.Client(client_id="paho-" + sys.argv[2], clean_session=True, protocol=protocol)
c.username_pw_set("guest", "guest")
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
c.on_publish = on_publish
c.connect("127.0.0.1", port, keepalive=30)
c.loop_start()
assert connected.wait(10), "no CONNACK"
c.subscribe("paho/#", qos=1)
assert subscribed.wait(10), "no SUBACK"
for qos in (0, 1, 2):
    c.publish("paho/q%d" % qos, "m%d" % qos, qos=qos).wait_for_publish()
assert got_all.wait(10), "not every message arrived"
c.publish("paho/kept", "retained", qos=1, retain=True).wait_for_publish()

second = mqtt.Client(client_id="paho-late-" + sys.argv[2], clean_session=True, protocol=protocol)
second.username_pw_set("guest", "guest")
late = threading.Event()


def on_late(client, userdata, msg):
    seen["retained"] = {"topic": msg.topic, "payload": msg.payload.decode(), "retain": bool(msg.retain)}
    late.set()


second.on_message = on_late
second.on_connect = lambda client, userdata, flags, rc: client.subscribe("paho/kept", qos=1)
second.connect("127.0.0.1", port, keepalive=30)
second.loop_start()
assert late.wait(10), "no retained message"
second.disconnect()
second.loop_stop()
c.disconnect()
c.loop_stop()
print(json.dumps(seen))
