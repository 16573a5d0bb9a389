/**
 * MQTT over WebSocket, as RabbitMQ's web_mqtt plugin serves it: an HTTP listener of its own
 * (web_mqtt.tcp.port, 15675), the upgrade on path /ws only, the subprotocol `mqtt` answered when
 * offered (mqttSubprotocol: 3.10 refuses no subprotocol), and then binary
 * frames carrying MQTT packets, a packet possibly split over frames or several in one, into the
 * same MqttConnection as TCP (MQTT 3.1.1 section 6, MQTT 5 section 6).
 *
 * The WebSocket protocol is the `ws` package's: the most used and best kept Node implementation
 * (RFC 6455 and 7692 complete, fuzzed by the Autobahn suite, no native dependency), already in the
 * tree as mqtt.js's transport; writing frame parsing and the handshake by hand would be new
 * untrusted-input code for no gain.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { PROTOCOL_ERROR_EVENT } from './connection.js';
import type { MqttService } from './service.js';

/** web_mqtt.ws_path's default. */
const WS_PATH = '/ws';
/** A fixed header's most bytes: a WebSocket message holds one packet of the allowed size at most. */
const FIXED_HEADER_MAX = 5;

/** A WebSocket as the byte stream MqttConnection reads and writes: binary messages in, binary frames out. */
class WebSocketStream extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    log: Logger,
  ) {
    super();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        // Packets come in binary frames. RabbitMQ 3.10's handler logs a text frame and reads past it
        // (recorded in compat: a CONNECT in one is not answered); MQTT-6.0.0-1 would close.
        log.info('MQTT over WebSocket: a text frame ignored (MQTT packets are sent in binary frames)');
        return;
      }
      if (!this.push(data)) ws.pause();
    });
    ws.on('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', (err) => this.destroy(err));
    // A protocol violation ends the WebSocket with 1002, as web_mqtt does; anything else with 1000.
    this.once(PROTOCOL_ERROR_EVENT, () => (this.closeCode = 1002));
  }

  private closeCode = 1000;

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(chunk, { binary: true }, (err) => callback(err ?? null));
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    // A corked turn's packets leave in one frame.
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _final(callback: () => void): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(this.closeCode);
    callback();
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    if (this.ws.readyState === this.ws.CONNECTING || this.ws.readyState === this.ws.OPEN) this.ws.terminate();
    callback(err);
  }
}

/**
 * The subprotocol answered: the first offered that is MQTT's ("mqtt"; old clients offer "mqttv3.1"),
 * else the first offered, and none when none is offered. RabbitMQ 3.10's web_mqtt refuses no
 * upgrade on /ws for its subprotocol (recorded in compat: none and "stomp" are accepted too).
 */
function mqttSubprotocol(offered: Set<string>): string | false {
  for (const p of offered) if (p.toLowerCase().startsWith('mqtt')) return p;
  for (const p of offered) return p;
  return false;
}

export function createMqttWebSocketServer(service: MqttService, log: Logger): Server {
  const http = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: MQTT over WebSocket is at /ws\n');
  });
  const wss = new WebSocketServer({
    noServer: true,
    // ws gathers a message's frames before handing it over: mqtt.max_packet_size_authenticated bounds
    // what it gathers (the connection's 64 KiB limit before CONNECT applies to what it is handed).
    maxPayload: service.settings.maxPacketSize + FIXED_HEADER_MAX,
    handleProtocols: mqttSubprotocol,
    clientTracking: false,
    perMessageDeflate: false,
  });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      log.info({ peer: `${socket.remoteAddress}:${socket.remotePort}`, path }, 'MQTT over WebSocket refused: not /ws');
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = req.socket;
      s.setNoDelay(true);
      service.acceptStream(new WebSocketStream(ws, log), { remoteAddress: s.remoteAddress, remotePort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort });
    });
  });
  http.on('clientError', (_err, socket) => socket.destroy());
  return http;
}
