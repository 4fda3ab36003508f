/**
 * The protocols the sensor understands, in the order inference asks them.
 * HTTP/2 first: its client preface ("PRI * HTTP/2.0") is decisive, while
 * HTTP/1 needs a known method or a status line.
 */
import type { Protocol } from './contract.ts';
import { http1Protocol } from './http1/index.ts';
import { http2Protocol } from './http2/index.ts';

export const PROTOCOLS: readonly Protocol[] = [http2Protocol, http1Protocol];
