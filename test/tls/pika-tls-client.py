"""pika (Debian's python3-pika) over TLS against Warren's AMQPS listener, driven by pika-tls.test.ts.

Usage: pika-tls-client.py PORT CA_FILE CREDENTIALS [CERT_FILE KEY_FILE]
  CREDENTIALS: user:password for PLAIN, or EXTERNAL for the client certificate's login.
Connects with the server certificate checked against CA_FILE (host name localhost), with the client
certificate when given; declares a server-named exclusive queue, publishes to it, takes the message
back with basic.get, and prints one JSON object with what it saw, or the error that stopped it.
"""
import json
import ssl
import sys

import pika

port, ca_file, credentials = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cert_files = sys.argv[4:6]

context = ssl.create_default_context(cafile=ca_file)
if cert_files:
    context.load_cert_chain(cert_files[0], cert_files[1])
if credentials == "EXTERNAL":
    creds = pika.credentials.ExternalCredentials()
else:
    user, password = credentials.split(":", 1)
    creds = pika.PlainCredentials(user, password)
params = pika.ConnectionParameters(
    host="127.0.0.1",
    port=port,
    credentials=creds,
    ssl_options=pika.SSLOptions(context, "localhost"),
    connection_attempts=1,
    socket_timeout=10,
    blocked_connection_timeout=10,
)
try:
    conn = pika.BlockingConnection(params)
except Exception as e:  # the test reads which error it was
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
    sys.exit(0)
ch = conn.channel()
queue = ch.queue_declare(queue="", exclusive=True).method.queue
ch.basic_publish(exchange="", routing_key=queue, body=b"over tls")
method, _props, body = ch.basic_get(queue=queue, auto_ack=True)
print(json.dumps({
    "connected": True,
    "tls": conn._impl._transport._sock.version() if hasattr(conn._impl, "_transport") else None,
    "product": conn._impl.server_properties.get("product", b"").decode() if isinstance(conn._impl.server_properties.get("product"), bytes) else conn._impl.server_properties.get("product"),
    "body": body.decode() if body is not None else None,
    "queue_is_server_named": queue.startswith("amq.gen-"),
}))
conn.close()
