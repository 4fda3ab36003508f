/** Textual IPv4 and IPv6 addresses (RFC 5952 for IPv6), as the live source writes them. */

export function formatAddress(d: Uint8Array, at: number, len: number): string {
  if (len === 4) return `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
  let zeros = true;
  for (let i = 0; i < 10; i++) if (d[at + i] !== 0) zeros = false;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is how dual-stack servers see IPv4 peers.
  if (zeros && d[at + 10] === 0xff && d[at + 11] === 0xff) return `::ffff:${d[at + 12]}.${d[at + 13]}.${d[at + 14]}.${d[at + 15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((d[at + i]! << 8) | d[at + i + 1]!).toString(16));
  // Compress the longest run (two or more) of zero groups, the first if tied.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
