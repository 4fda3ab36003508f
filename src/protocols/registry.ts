/**
 * The protocols the sensor understands, in the order inference asks them.
 * HTTP/2 first: its client preface ("PRI * HTTP/2.0") is decisive, while
 * HTTP/1 needs a known method or a status line.
 */
import type { Protocol } from './contract.ts';
import type { AttributeCapture } from './attributeCapture/index.ts';
import { http1Protocol, http1ProtocolWith } from './http1/index.ts';
import { http2Protocol, http2ProtocolWith } from './http2/index.ts';

export const PROTOCOLS: readonly Protocol[] = [http2Protocol, http1Protocol];

/** The same protocols, reporting what `capture` allow-lists; PROTOCOLS itself when it is undefined. */
export function protocolsWith(capture: AttributeCapture | undefined): readonly Protocol[] {
  return capture === undefined ? PROTOCOLS : [http2ProtocolWith(capture), http1ProtocolWith(capture)];
}
