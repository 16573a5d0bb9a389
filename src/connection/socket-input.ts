/**
 * Reading a client's socket: bytes to the frame parser in fair turns between connections, and the
 * socket stopped and started as the connection's publisher throttle decides (alarms, the store's
 * backlog, queue pacing; see src/publisher-throttle.ts).
 */
import type { Duplex } from 'node:stream';
import { FRAME_MIN_SIZE } from '../config.js';
import { FRAME_BODY, FRAME_HEADER } from '../protocol/generated/constants.js';
import { PublisherThrottle, type AlarmState, type BlockNotifier, type StoreBacklog, type ThrottledInput } from '../publisher-throttle.js';
import { FrameParser, type FrameHandler } from '../wire/frame-parser.js';

/**
 * Input a connection may have processed per event-loop turn before the others get theirs: in
 * practice one socket read (Node reads up to 64 KiB at a time) for a connection that keeps sending.
 */
const INPUT_PER_TURN = 4096;

/** What the input side needs from its connection. */
export interface InputSink extends FrameHandler {
  readonly ended: boolean;
  /** Bytes that come before frames (the protocol header): returns those that follow it. */
  beforeFrames(chunk: Buffer): Buffer;
  /** A batch of input was processed (confirms gathered meanwhile go out now). */
  inputProcessed(): void;
  /** Something thrown while processing input that nothing else caught. */
  inputFailed(e: unknown): void;
}

export class SocketInput implements ThrottledInput {
  readonly parser: FrameParser;
  readonly throttle: PublisherThrottle;
  bytesIn = 0;
  /** Input is being processed now (confirms wait for the end of the batch). */
  processing = false;
  /** A publish arrived in the current batch (back-pressure applies to publishers only). */
  private publishedNow = false;
  /** Input processed in the current event-loop turn, and whether the socket waits for the next one. */
  private turnBytes = 0;
  private yielding = false;
  private resumeScheduled = false;
  /**
   * The parser's frame handler while an alarm is in effect: after each content frame the throttle
   * may block the connection (rabbit_reader's publish_received). Otherwise frames go straight on.
   */
  private readonly watchingFrames: FrameHandler;

  constructor(
    private readonly socket: Duplex,
    private readonly sink: InputSink,
    notifier: BlockNotifier,
    alarms: AlarmState,
    backlog: StoreBacklog,
  ) {
    this.parser = new FrameParser(sink, FRAME_MIN_SIZE);
    this.throttle = new PublisherThrottle(this, notifier, alarms, backlog);
    this.watchingFrames = {
      onFrame: (type, channel, payload, start, end) => {
        sink.onFrame(type, channel, payload, start, end);
        if ((type === FRAME_HEADER || type === FRAME_BODY) && channel !== 0) this.throttle.contentReceived();
      },
      onSplitBody: (channel, pieces, size) => {
        sink.onSplitBody!(channel, pieces, size);
        if (channel !== 0) this.throttle.contentReceived();
      },
      onFatal: (explanation) => sink.onFatal(explanation),
    };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** A channel received a publish. */
  published(): void {
    this.publishedNow = true;
  }

  private onData(chunk: Buffer): void {
    if (this.sink.ended) return;
    this.bytesIn += chunk.length;
    this.process(chunk);
    this.turnBytes += chunk.length;
    if (this.turnBytes >= INPUT_PER_TURN && !this.yielding && !this.sink.ended) this.yieldTurn();
  }

  /**
   * Fairness between connections. libuv reads a busy socket again and again within one event-loop
   * turn (as long as data keeps coming), so a flooding publisher could have megabytes processed
   * before a consumer's acknowledgement is looked at once, starving every consumer that waits on
   * its prefetch window. After INPUT_PER_TURN bytes (in practice, after each read) the connection
   * pauses until the next turn: each connection gets its share per turn, and an ack waits at most
   * one turn. (RabbitMQ gets the same effect from credit flow between its reader, channel and queue
   * processes.)
   */
  private yieldTurn(): void {
    this.yielding = true;
    this.socket.pause();
    setImmediate(this.endTurn);
  }

  private readonly endTurn = (): void => {
    this.yielding = false;
    this.turnBytes = 0;
    if (this.throttle.readable && !this.sink.ended) this.socket.resume();
  };

  /** Parses a chunk from the socket, or (null) the input kept while the connection was blocked. */
  private process(chunk: Buffer | null): void {
    this.processing = true;
    try {
      if (chunk === null) {
        this.parser.resume();
      } else {
        chunk = this.sink.beforeFrames(chunk);
        if (chunk.length > 0) this.parser.feed(chunk);
      }
      this.sink.inputProcessed();
      if (this.publishedNow) {
        this.publishedNow = false;
        this.throttle.published();
      }
    } catch (e) {
      this.sink.inputFailed(e);
    } finally {
      this.processing = false;
    }
  }

  // ThrottledInput: the throttle decides, the input stops and starts.

  suspendInput(): void {
    this.socket.pause();
    // Frames after the one that blocked are kept for later, in order.
    this.parser.suspend();
  }

  pauseSocket(): void {
    this.socket.pause();
  }

  /**
   * Reads again: first what was kept while blocked (which may block again), then the socket. Deferred
   * so that an alarm change never runs a connection's input inside another connection's work.
   */
  inputMayResume(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    queueMicrotask(() => {
      this.resumeScheduled = false;
      if (this.sink.ended) return;
      if (this.parser.isSuspended && !this.throttle.isBlocked) this.process(null);
      if (this.throttle.readable && !this.sink.ended && !this.yielding) this.socket.resume();
    });
  }

  watchContent(on: boolean): void {
    this.parser.handler = on ? this.watchingFrames : this.sink;
  }

  /** No more input is wanted (the connection is ending). */
  stop(): void {
    this.parser.stop();
  }
}
