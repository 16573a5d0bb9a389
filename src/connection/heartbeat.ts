/**
 * Heartbeats both ways (RabbitMQ's heartbeats page, rabbit_heartbeat): a heartbeat frame goes out
 * when nothing else went out for half an interval (and always at the first check), and a client
 * silent for two whole intervals is timed out. A blocked connection is not read, so its silence
 * does not count (RabbitMQ pauses the monitor while blocked).
 */
import { FRAME_HEARTBEAT } from '../protocol/generated/constants.js';
import type { Outbound } from '../wire/outbound.js';

export interface HeartbeatPeer {
  readonly out: Outbound;
  /** Bytes received so far. */
  readonly bytesIn: number;
  /** The connection is not being read (blocked by an alarm or the store). */
  readonly inputBlocked: boolean;
  /** Two intervals without a byte from the client. */
  heartbeatTimeout(seconds: number): void;
}

export class Heartbeats {
  private readonly timers: NodeJS.Timeout[] = [];

  start(peer: HeartbeatPeer, seconds: number): void {
    if (seconds === 0) return;
    const ms = seconds * 1000;
    const out = peer.out;
    let lastOut = -1;
    let first = true;
    const sender = setInterval(() => {
      if (first || out.bytesOut === lastOut) {
        first = false;
        out.frameEnd(out.frameStart(FRAME_HEARTBEAT, 0));
        out.flush();
      }
      lastOut = out.bytesOut;
    }, ms / 2);
    let lastIn = peer.bytesIn;
    let silentChecks = 0;
    const receiver = setInterval(() => {
      if (peer.bytesIn !== lastIn || peer.inputBlocked) {
        lastIn = peer.bytesIn;
        silentChecks = 0;
        return;
      }
      if (++silentChecks >= 2) peer.heartbeatTimeout(seconds);
    }, ms);
    sender.unref?.();
    receiver.unref?.();
    this.timers.push(sender, receiver);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
