/** One readable line per event, for `hydrophone capture` without --json. */
import type { ConnOpenEvent, SensorEvent } from '../source/events.ts';
import { formatEndpoint } from '../recording/jsonEvent.ts';

const PREVIEW_BYTES = 64;

function clock(tsNs: bigint): string {
  const d = new Date(Number(tsNs / 1_000_000n));
  const micros = (tsNs / 1000n) % 1_000_000n;
  return `${d.toISOString().slice(11, 19)}.${micros.toString().padStart(6, '0')}`;
}

/** Printable ASCII kept, everything else escaped, cut at PREVIEW_BYTES. */
export function preview(payload: Uint8Array): string {
  let s = '';
  for (const b of payload.subarray(0, PREVIEW_BYTES)) {
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n';
    else if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `"${s}"${payload.length > PREVIEW_BYTES ? '…' : ''}`;
}

function who(pid: number, conn: ConnOpenEvent | undefined): string {
  return `${conn?.comm ?? '?'}[${pid}]`;
}

function ends(c: ConnOpenEvent | undefined): string {
  if (!c) return '';
  return c.family === 'unix' ? ' unix' : ` ${formatEndpoint(c.local)} -> ${formatEndpoint(c.remote)}`;
}

export function formatText(ev: SensorEvent, conn: ConnOpenEvent | undefined): string {
  const t = clock(ev.tsNs);
  switch (ev.type) {
    case 'open':
      return `${t} ${ev.role === 'server' ? 'accept ' : 'connect'} ${ev.comm}[${ev.pid}] conn=${ev.conn} ${ev.role}${ev.origin === 'existing' ? ' (already open)' : ''}${ends(ev)}`;
    case 'data':
      return `${t} ${ev.direction === 'egress' ? 'send   ' : 'recv   '} ${who(ev.pid, conn)} conn=${ev.conn} pos=${ev.pos} len=${ev.len} captured=${ev.payload.length} ${ev.syscall}${ev.afterLoss ? ' AFTER-LOSS' : ''} ${ev.lengthOnly ? '(length only)' : preview(ev.payload)}`;
    case 'close':
      return `${t} close   ${who(ev.pid, conn)} conn=${ev.conn} sent=${ev.egressBytes} received=${ev.ingressBytes}${ends(conn)}`;
    case 'lost':
      return ev.reason === 'ringbuf'
        ? `${t} LOST    ${ev.records} records: the ring buffer was full (raise --ring-buffer-mb)`
        : `${t} LOST    conn=${ev.conn} ${ev.direction} ${ev.bytes} bytes missing from the stream`;
    case 'exec':
    case 'exit':
      return `${t} ${ev.type.padEnd(7)} ${ev.comm}[${ev.pid}] ppid=${ev.ppid}`;
    case 'headers':
      // Names only: values can be credentials (authorization, cookie), and --json has them for who needs them.
      return `${t} ${ev.direction === 'egress' ? 'headers>' : 'headers<'} ${who(ev.pid, conn)} conn=${ev.conn} stream=${ev.streamId}${ev.endStream ? ' END_STREAM' : ''} ${ev.source} ` +
        `${ev.fields.map((f) => f.name).join(' ')}${ev.fieldTotal > ev.fields.length ? ` (+${ev.fieldTotal - ev.fields.length} not carried)` : ''}`;
  }
}
