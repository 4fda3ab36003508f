/**
 * A HeadersEvent (a header block a uprobe read from a program) in the
 * parsers' terms (HeaderBlockCopy): fields whose name or value was cut
 * short or could not be read carry no value and are counted unknown, as
 * are fields the event could not carry; nothing is completed by guess. A
 * value withheld on purpose (HPACK never-indexed: a credential) is left
 * out without counting against the block.
 */
import type { HeaderBlockCopy } from '../protocols/contract.ts';
import type { HeadersEvent } from '../source/events.ts';

export function headerBlockOf(ev: HeadersEvent): HeaderBlockCopy {
  const fields: Array<{ name: string; value: string | undefined }> = [];
  let unknown = Math.max(0, ev.fieldTotal - ev.fields.length) + (ev.listTruncated ? 1 : 0);
  for (const f of ev.fields) {
    if (f.nameTruncated) {
      unknown++;
      continue;
    }
    if (f.valueTruncated) unknown++;
    fields.push({ name: f.name, value: f.valueTruncated ? undefined : f.value });
  }
  // Egress blocks are read before they are encoded, ingress ones after they were decoded.
  return { streamId: ev.streamId, endStream: ev.endStream, fields, unknown, follows: ev.direction === 'ingress' };
}
