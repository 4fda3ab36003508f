import { describe, expect, it } from 'vitest';
import { headerBlockOf } from './headerBlockCopy.ts';
import type { HeaderFieldCopy, HeadersEvent } from '../source/events.ts';

const field = (name: string, value: string | undefined, o: Partial<HeaderFieldCopy> = {}): HeaderFieldCopy =>
  ({ name, value, nameTruncated: false, valueTruncated: false, ...o });

function event(fields: HeaderFieldCopy[], o: Partial<HeadersEvent> = {}): HeadersEvent {
  return {
    type: 'headers', tsNs: 1n, pid: 1, tid: 1, conn: '1-3-9', direction: 'egress', streamId: 7, endStream: false,
    fields, fieldTotal: fields.length, listTruncated: false, source: 'grpc_write', ...o,
  };
}

describe('headerBlockOf', () => {
  it.each<[string, HeadersEvent, { fields: Array<{ name: string; value: string | undefined }>; unknown: number; follows: boolean }]>([
    ['a whole egress block: before its frame', event([field(':path', '/a.B/C'), field('content-type', 'application/grpc')]),
      { fields: [{ name: ':path', value: '/a.B/C' }, { name: 'content-type', value: 'application/grpc' }], unknown: 0, follows: false }],
    ['an ingress block: after its frame', event([field(':status', '200')], { direction: 'ingress' }),
      { fields: [{ name: ':status', value: '200' }], unknown: 0, follows: true }],
    ['a value cut short: no value, counted', event([field(':path', '/long', { valueTruncated: true })]),
      { fields: [{ name: ':path', value: undefined }], unknown: 1, follows: false }],
    ['a name cut short or unreadable: left out, counted', event([field('x-', 'v', { nameTruncated: true }), field('a', 'b')]),
      { fields: [{ name: 'a', value: 'b' }], unknown: 1, follows: false }],
    ['a withheld (sensitive) value: no value, not counted', event([field('authorization', undefined)]),
      { fields: [{ name: 'authorization', value: undefined }], unknown: 0, follows: false }],
    ['fields not carried, and a list the stack cut', event([field('a', 'b')], { fieldTotal: 20, listTruncated: true }),
      { fields: [{ name: 'a', value: 'b' }], unknown: 20, follows: false }],
  ])('%s', (_what, ev, expected) => {
    expect(headerBlockOf(ev)).toEqual({ streamId: 7, endStream: false, ...expected });
  });
});
