/** The protocols the sensor understands, in the order inference asks them. */
import type { Protocol } from './contract.ts';
import { http1Protocol } from './http1/index.ts';

export const PROTOCOLS: readonly Protocol[] = [http1Protocol];
