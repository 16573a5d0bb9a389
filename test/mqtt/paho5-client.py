"""paho-mqtt's MQTTv5 client (Debian's python3-paho-mqtt 1.6) against Warren, driven by paho.test.ts.

Usage: paho5-client.py PORT. Connects with MQTT 5 (Session Expiry Interval 0), subscribes to
paho5/resp with subscription options (QoS 1, no-local), publishes a request on paho5/req with a
Response Topic, Correlation Data, Content Type and a User Property (an amqplib service of the test
answers it by reply_to and correlation_id), publishes a QoS 1 message to a topic nobody has (PUBACK
0x10), and prints one JSON object with what it saw. Everything waits on paho's callbacks, bounded.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

port = int(sys.argv[1])
seen = {"connack": None, "granted": None, "reply": None}
connected = threading.Event()
subscribed = threading.Event()
replied = threading.Event()


def on_connect(client, userdata, flags, reason_code, properties):
    seen["connack"] = {"reason": reason_code.value, "maximumQoS": getattr(properties, "MaximumQoS", None), "topicAliasMaximum": getattr(properties, "TopicAliasMaximum", None)}
    connected.set()


def on_subscribe(client, userdata, mid, reason_codes, properties):
    seen["granted"] = [rc.value for rc in reason_codes]
    subscribed.set()


def on_message(client, userdata, msg):
    p = msg.properties
    seen["reply"] = {
        "topic": msg.topic,
        "payload": msg.payload.decode(),
        "correlation": getattr(p, "CorrelationData", b"").decode(),
        "contentType": getattr(p, "ContentType", None),
        "user": [list(kv) for kv in getattr(p, "UserProperty", [])],
    }
    replied.set()


c = mqtt.Client(client_id="paho5", protocol=mqtt.MQTTv5)
c.username_pw_set("guest", "guest")
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
connect_props = Properties(PacketTypes.CONNECT)
connect_props.SessionExpiryInterval = 0
c.connect("127.0.0.1", port, keepalive=30, clean_start=True, properties=connect_props)
c.loop_start()
assert connected.wait(10), "no CONNACK"
c.subscribe("paho5/resp", options=SubscribeOptions(qos=1, noLocal=True))
assert subscribed.wait(10), "no SUBACK"
props = Properties(PacketTypes.PUBLISH)
props.ResponseTopic = "paho5/resp"
props.CorrelationData = b"corr-42"
props.ContentType = "text/plain"
props.UserProperty = ("from", "paho")
c.publish("paho5/req", "question", qos=1, properties=props).wait_for_publish()
assert replied.wait(10), "no reply"
c.disconnect()
c.loop_stop()
print(json.dumps(seen))
