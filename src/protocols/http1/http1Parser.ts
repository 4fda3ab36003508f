/**
 * One HTTP/1.x connection: requests and responses read side by side and
 * stitched in order (keep-alive and pipelining: the n-th response answers
 * the n-th request). 1xx responses are interim (100-continue); a 101
 * ends HTTP on the connection after its exchange (WebSocket, h2c upgrade).
 *
 * Never invents: after bytes are lost on either side outside a body whose
 * length is known, requests waiting for an answer are dropped (counted)
 * and a response is paired only with a request that started before it.
 */
import type { ConnectionParser, Exchange, ParserContext, Side } from '../contract.ts';
import { newParserStats } from '../contract.ts';
import { MessageReader } from './messageReader.ts';
import { grammarsFor } from './grammar.ts';
import type { AttributeCapture } from '../attributeCapture/index.ts';
import type { BodyFraming } from './bodyFraming.ts';
import type { HeaderFields, RequestHead, ResponseHead } from './messageHead.ts';
import { exchangeOf } from './spanMapping.ts';

/**
 * Requests waiting for their response, at most. Beyond it requests are
 * only counted (overflow): their responses, which come after those of the
 * queued requests, are counted and dropped, never paired with the wrong
 * request.
 */
const MAX_PENDING_REQUESTS = 256;

export interface PendingRequest {
  readonly head: RequestHead;
  readonly startNs: bigint;
  /** Where the request starts in the request stream: the same number on both ends when `fromStart`. */
  readonly offset: number;
  readonly pairable: boolean;
  endNs: bigint;
  bodySize: number;
  complete: boolean;
}

/** A Content-Length made of digits only (the usual case), or -1. */
function plainLength(cl: string): number {
  if (cl.length === 0 || cl.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < cl.length; i++) {
    const d = cl.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function framingOf(headers: HeaderFields): BodyFraming | undefined {
  const te = headers.get('transfer-encoding');
  if (te && /(^|,)\s*chunked\s*$/i.test(te)) return { kind: 'chunked' };
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    const plain = plainLength(cl);
    if (plain >= 0) return { kind: 'length', length: plain };
    const n = Number(cl.split(',')[0]!.trim());
    if (Number.isSafeInteger(n) && n >= 0) return { kind: 'length', length: n };
  }
  return undefined;
}

export class Http1Parser implements ConnectionParser {
  readonly stats = newParserStats();
  private readonly requests: MessageReader<RequestHead>;
  private readonly responses: MessageReader<ResponseHead>;
  private pending: PendingRequest[] = [];
  /** Requests after the queue's last one that did not fit in it. */
  private overflow = 0;
  private upgraded = false;
  private readonly emit: (e: Exchange) => void;

  private readonly fromStart: boolean;
  private readonly capture: AttributeCapture | undefined;

  /** `capture`: allow-listed headers and url.query to report (none by default). */
  constructor(emit: (e: Exchange) => void, context: ParserContext = { fromStart: false }, capture?: AttributeCapture) {
    this.emit = emit;
    this.fromStart = context.fromStart;
    this.capture = capture;
    const grammars = grammarsFor(capture);
    this.requests = new MessageReader(grammars.request, {
      onHead: (head, startNs, offset) => {
        if (this.overflow > 0 || this.pending.length >= MAX_PENDING_REQUESTS) this.overflow++;
        else this.pending.push({ head, startNs, offset, pairable: this.fromStart, endNs: startNs, bodySize: 0, complete: false });
        // A request has a body only if it says so (RFC 9112 6.3).
        return framingOf(head.headers) ?? { kind: 'none' };
      },
      onComplete: (head, _start, endNs, bodySize) => {
        for (let i = this.pending.length - 1; i >= 0; i--) {
          const req = this.pending[i]!;
          if (req.head !== head) continue;
          req.endNs = endNs;
          req.bodySize = bodySize;
          req.complete = true;
          break;
        }
      },
      onLost: (head) => {
        this.stats.droppedByGap++;
        this.pending = this.pending.filter((p) => p.head !== head);
      },
      onDesync: () => this.dropPending(),
    }, this.stats);
    this.responses = new MessageReader(grammars.response, {
      onHead: (head) => this.responseFraming(head),
      onComplete: (head, startNs, endNs, bodySize) => this.onResponse(head, startNs, endNs, bodySize),
      onLost: () => {
        this.stats.droppedByGap++;
        if (this.pending.shift() === undefined && this.overflow > 0) this.overflow--;
      },
      onDesync: () => this.dropPending(),
    }, this.stats);
  }

  /** Requests waiting for answers cannot be paired reliably after a loss. */
  private dropPending(): void {
    this.stats.droppedByGap += this.pending.length + this.overflow;
    this.pending = [];
    this.overflow = 0;
  }

  private responseFraming(head: ResponseHead): BodyFraming {
    const req = this.pending[0];
    // No body: HEAD, 1xx, 204, 304 (RFC 9112 6.3), and CONNECT's 2xx.
    if (req?.head.method === 'HEAD' || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) {
      return { kind: 'none' };
    }
    if (req?.head.method === 'CONNECT' && head.status >= 200 && head.status < 300) return { kind: 'none' };
    return framingOf(head.headers) ?? { kind: 'untilClose' };
  }

  private onResponse(head: ResponseHead, startNs: bigint, endNs: bigint, bodySize: number): void {
    if (head.status >= 100 && head.status < 200 && head.status !== 101) return; // interim
    // The oldest request that started before this response is its pair;
    // requests are never answered before they are sent.
    const req = this.pending[0];
    if (!req && this.overflow > 0) {
      // The answer to a request the queue had no room for.
      this.overflow--;
      this.stats.unansweredRequests++;
      return;
    }
    if (!req || req.startNs > startNs) {
      this.stats.orphanResponses++;
      return;
    }
    this.pending.shift();
    this.emit(exchangeOf(req, head, startNs, endNs, bodySize, this.capture));
    if (head.status === 101) {
      // Upgraded (WebSocket, h2c): what follows is not HTTP/1.
      this.upgraded = true;
      this.requests.stop();
      this.responses.stop();
    }
  }

  onData(side: Side, bytes: Uint8Array, tsNs: bigint): void {
    if (this.upgraded) return;
    (side === 'request' ? this.requests : this.responses).push(bytes, tsNs);
  }

  onGap(side: Side, length: number, tsNs: bigint): void {
    if (this.upgraded) return;
    (side === 'request' ? this.requests : this.responses).gap(length, tsNs);
  }

  onClose(tsNs: bigint): void {
    this.requests.close(tsNs);
    this.responses.close(tsNs);
    this.stats.unansweredRequests += this.pending.length + this.overflow;
    this.pending = [];
    this.overflow = 0;
  }

  bufferedBytes(): number {
    return this.requests.buffered + this.responses.buffered;
  }
}
