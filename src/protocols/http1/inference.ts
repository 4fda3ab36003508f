/** Does a connection speak HTTP/1.x? A request line or a status line at the start of a direction says so. */
import type { FirstBytes, Inference } from '../contract.ts';
import { looksLikeRequestStart, looksLikeResponseStart } from './messageHead.ts';

export function inferHttp1(first: FirstBytes): Inference {
  const verdicts: Inference[] = [];
  for (const [dir, other] of [['egress', 'ingress'], ['ingress', 'egress']] as const) {
    const bytes = first[dir];
    if (bytes.length === 0) continue;
    const req = looksLikeRequestStart(bytes);
    // The HTTP/2 preface starts like a request ("PRI * HTTP/2.0"): not ours.
    if (req === 'yes') verdicts.push({ verdict: 'yes', requestsOn: dir });
    else if (looksLikeResponseStart(bytes) === 'yes') verdicts.push({ verdict: 'yes', requestsOn: other });
    else if (req === 'maybe' || looksLikeResponseStart(bytes) === 'maybe') verdicts.push({ verdict: 'maybe' });
    else verdicts.push({ verdict: 'no' });
  }
  return verdicts.find((v) => v.verdict === 'yes') ?? verdicts.find((v) => v.verdict === 'maybe') ?? { verdict: verdicts.length ? 'no' : 'maybe' };
}
