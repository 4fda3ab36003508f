/**
 * Reads the HTTP/1.x messages of one side of a connection: head, then body
 * by its framing, message after message. Gaps and garbage are handled here
 * once for requests and responses alike: a gap inside a length-known body
 * is skipped; anywhere else the message in progress is dropped (counted)
 * and the reader resynchronises at the next plausible message start.
 */
import type { ParseStep, ParserStats } from '../contract.ts';
import { ByteQueue } from '../byteQueue.ts';
import { BodyReader, type BodyFraming } from './bodyFraming.ts';
import { MAX_HEAD_BYTES, type Head } from './messageHead.ts';

export interface MessageEvents<H extends Head> {
  /**
   * A head was parsed; the answer says how its body is framed. `offset`:
   * where the message starts in this side's stream (bytes and gaps since
   * the reader began).
   */
  onHead(head: H, startNs: bigint, offset: number): BodyFraming;
  /** The message ended (body included); `bodySize` counts body bytes, gaps included. */
  onComplete(head: H, startNs: bigint, endNs: bigint, bodySize: number): void;
  /** The message whose head was reported is lost (gap or garbage in its body). */
  onLost(head: H): void;
  /** Bytes of this side were lost between messages or inside a head: pairing must resynchronise. */
  onDesync(tsNs: bigint): void;
}

export interface SideGrammar<H extends Head> {
  parseHead(bytes: Uint8Array): ParseStep<H>;
  /**
   * Bytes parseHead needs to reject a head that starts wrong: past them, a
   * head it said needMore for stays so until a blank line ends it or it
   * reaches MAX_HEAD_BYTES (MessageReader relies on this to wait cheaply).
   */
  readonly startCheckBytes: number;
  /** Offset of the next plausible message start after index 0, or -1. */
  nextStart(bytes: Uint8Array): number;
  /**
   * Whether a message can start at index 0 after lost bytes: the anchor
   * nextStart looks for (a known method, "HTTP/1."), or a prefix of one.
   * A head that merely parses is not enough there: the tail of a body
   * before a request parses too, as an extension method.
   */
  anchoredAtStart(bytes: Uint8Array): boolean;
}

type State = 'head' | 'body' | 'resync' | 'stopped';

export class MessageReader<H extends Head> {
  private readonly queue = new ByteQueue();
  private state: State = 'head';
  private head: H | undefined;
  private startNs = 0n;
  private lastNs = 0n;
  private body: BodyReader | undefined;
  private readonly grammar: SideGrammar<H>;
  private readonly events: MessageEvents<H>;
  private readonly stats: ParserStats;
  /** Bytes and gap lengths this side was given so far: the stream position after the queue's last byte. */
  private received = 0;
  /**
   * The queue is a head parseHead judged incomplete, its start checked
   * (startCheckBytes held): push() queues bytes that cannot end it without
   * parsing it again. lastTwo: its last two bytes (the older in bits 8-15),
   * as a blank line may end across pushes.
   */
  private headWaiting = false;
  private lastTwo = 0;

  constructor(grammar: SideGrammar<H>, events: MessageEvents<H>, stats: ParserStats) {
    this.grammar = grammar;
    this.events = events;
    this.stats = stats;
  }

  get buffered(): number {
    return this.queue.length;
  }

  /** Stops reading for good (after an upgrade: the bytes are another protocol). */
  stop(): void {
    this.state = 'stopped';
    this.queue.clear();
  }

  push(bytes: Uint8Array, tsNs: bigint): void {
    if (this.state === 'stopped') return;
    this.received += bytes.length;
    this.queue.push(bytes, tsNs);
    if (this.headWaiting) {
      // Parsing the head again would copy and walk every byte held: a head
      // sent a byte per write would cost O(n^2) (64 KiB: minutes of CPU).
      if (this.headStaysIncomplete(bytes)) return;
      this.headWaiting = false;
    }
    this.run();
  }

  /**
   * Whether the waiting head, with `bytes` just queued, is still
   * incomplete, so parseHead would answer needMore again: `bytes` hold no
   * blank line's end (an LF after an LF, or after CR LF, counting the bytes
   * before them) and the head is under MAX_HEAD_BYTES.
   */
  private headStaysIncomplete(bytes: Uint8Array): boolean {
    if (this.queue.length >= MAX_HEAD_BYTES) return false;
    let prev2 = this.lastTwo >> 8;
    let prev1 = this.lastTwo & 0xff;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0x0a && (prev1 === 0x0a || (prev1 === 0x0d && prev2 === 0x0a))) return false;
      prev2 = prev1;
      prev1 = b;
    }
    this.lastTwo = (prev2 << 8) | prev1;
    return true;
  }

  gap(length: number, tsNs: bigint): void {
    if (this.state === 'stopped') return;
    this.received += length;
    this.headWaiting = false;
    if (this.state === 'body' && this.queue.length === 0 && this.body!.skipGap(length)) {
      this.lastNs = tsNs;
      this.run();
      return;
    }
    if (this.state === 'body') this.loseMessage();
    else if (this.queue.length > 0) this.stats.droppedByGap++; // a head cut by the gap
    this.stats.invalidBytes += this.queue.length;
    this.queue.clear();
    this.state = 'resync';
    this.events.onDesync(tsNs);
  }

  close(tsNs: bigint): void {
    if (this.state === 'body' && this.body!.endsAtClose) {
      this.finish(this.lastNs > 0n ? this.lastNs : tsNs);
    } else if (this.state === 'body') {
      this.loseMessage();
    }
    this.state = 'stopped';
    this.queue.clear();
  }

  private loseMessage(): void {
    this.events.onLost(this.head!);
    this.head = undefined;
    this.body = undefined;
  }

  private finish(endNs: bigint): void {
    const head = this.head!;
    const size = this.body!.size;
    this.head = undefined;
    this.body = undefined;
    this.state = 'head';
    // Chunks can be timestamped out of order (clocks of different CPUs): a
    // message, and so its exchange, never ends before it starts.
    this.events.onComplete(head, this.startNs, endNs < this.startNs ? this.startNs : endNs, size);
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case 'stopped':
          return;
        case 'resync': {
          const view = this.queue.peek(MAX_HEAD_BYTES);
          const at = this.grammar.anchoredAtStart(view) && this.grammar.parseHead(view).kind !== 'invalid' ? 0 : this.grammar.nextStart(view);
          if (at < 0) {
            // Keep a tail that may hold the start of the next message.
            const drop = Math.max(0, this.queue.length - 16);
            this.stats.invalidBytes += drop;
            this.queue.consume(drop);
            return;
          }
          this.stats.invalidBytes += at;
          this.queue.consume(at);
          this.state = 'head';
          break;
        }
        case 'head': {
          const front = this.queue.front();
          if (!front) return;
          // Most heads sit whole in the first chunk: try it before copying more.
          let parsed = front.bytes.length > MAX_HEAD_BYTES ? front.bytes.subarray(0, MAX_HEAD_BYTES) : front.bytes;
          let step = this.grammar.parseHead(parsed);
          if (step.kind === 'needMore' && this.queue.length > front.bytes.length) step = this.grammar.parseHead(parsed = this.queue.peek(MAX_HEAD_BYTES));
          if (step.kind === 'needMore') {
            // `parsed` is the whole queue (a head of MAX_HEAD_BYTES is invalid, not incomplete).
            if (parsed.length >= this.grammar.startCheckBytes) {
              this.headWaiting = true;
              this.lastTwo = (parsed[parsed.length - 2]! << 8) | parsed[parsed.length - 1]!;
            }
            return;
          }
          if (step.kind === 'invalid' || step.kind === 'ignored') {
            this.state = 'resync';
            this.events.onDesync(this.queue.tsAt(0));
            break;
          }
          this.head = step.frame;
          this.startNs = this.queue.tsAt(0);
          this.lastNs = this.queue.tsAt(step.consumed - 1);
          const offset = this.received - this.queue.length;
          this.queue.consume(step.consumed);
          this.body = new BodyReader(this.events.onHead(step.frame, this.startNs, offset));
          this.state = 'body';
          break;
        }
        case 'body': {
          const body = this.body!;
          if (body.complete) {
            this.finish(this.lastNs);
            break;
          }
          const front = this.queue.front();
          if (!front) return;
          const n = body.feed(front.bytes);
          if (n < 0) {
            this.loseMessage();
            this.state = 'resync';
            this.events.onDesync(front.tsNs);
            break;
          }
          if (n === 0) {
            // Chunk framing split across chunks: join them, or wait for more.
            if (this.queue.length === front.bytes.length) return;
            const joined = this.queue.peek(Math.min(this.queue.length, front.bytes.length + 2048));
            const m = body.feed(joined);
            if (m <= 0) {
              if (m < 0) {
                this.loseMessage();
                this.state = 'resync';
              }
              return;
            }
            this.lastNs = this.queue.tsAt(m - 1);
            this.queue.consume(m);
            break;
          }
          this.lastNs = front.tsNs;
          this.queue.consume(n);
          break;
        }
      }
    }
  }
}
