/**
 * From a captured frame to its TCP segment: the link layer (Ethernet with
 * 802.1Q/QinQ tags, Linux cooked SLL and SLL2, raw IP, BSD loopback), IPv4
 * (options, fragments) or IPv6 (extension headers), then the TCP header.
 * Fills one reused TcpSegment; returns what kind of packet it was, so the
 * caller counts everything it skips.
 */
import type { PacketRecord } from './packetRecord.ts';

/** Link-layer header types (LINKTYPE_* of the tcpdump.org registry). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_ALT: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Results of decode(). */
export const Decoded = {
  TCP: 0,
  NOT_TCP: 1,
  FRAGMENT: 2,
  /** The capture stops inside the IP or TCP header (snaplen). */
  TRUNCATED: 3,
  MALFORMED: 4,
  UNSUPPORTED_LINK: 5,
} as const;
export type DecodeResult = (typeof Decoded)[keyof typeof Decoded];

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const PROTO_TCP = 6;
const PROTO_FRAGMENT = 44;

export interface TcpSegment {
  ipVersion: 4 | 6;
  /** Source and destination addresses are data[srcAddr, +addrLen) and data[dstAddr, +addrLen). */
  srcAddr: number;
  dstAddr: number;
  addrLen: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** Captured payload: data[payload, payload + payloadCaptured). */
  payload: number;
  payloadCaptured: number;
  /** Payload length by the IP header: more than captured when the snaplen cut the packet. */
  payloadLen: number;
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, ACK: 0x10 } as const;

export function newTcpSegment(): TcpSegment {
  return { ipVersion: 4, srcAddr: 0, dstAddr: 0, addrLen: 4, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payload: 0, payloadCaptured: 0, payloadLen: 0 };
}

const IPV6_FAMILIES = new Set([24, 28, 30]);

export function decode(rec: PacketRecord, seg: TcpSegment): DecodeResult {
  const d = rec.data;
  const v = rec.view;
  const start = rec.offset;
  const end = start + rec.capLen;
  let p = start;
  let etherType: number;
  switch (rec.linkType) {
    case LinkType.ETHERNET:
      if (end - p < 14) return Decoded.TRUNCATED;
      etherType = v.getUint16(p + 12);
      p += 14;
      break;
    case LinkType.LINUX_SLL:
      if (end - p < 16) return Decoded.TRUNCATED;
      etherType = v.getUint16(p + 14);
      p += 16;
      break;
    case LinkType.LINUX_SLL2:
      if (end - p < 20) return Decoded.TRUNCATED;
      etherType = v.getUint16(p);
      p += 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - p < 4) return Decoded.TRUNCATED;
      // NULL: the family in the capturing host's byte order, which need not
      // be the file's; families are small, so the non-zero end tells. LOOP: network order.
      const family = rec.linkType === LinkType.LOOP ? d[p + 3]! : d[p] !== 0 ? d[p]! : d[p + 3]!;
      p += 4;
      if (family === 2) etherType = ETH_IPV4;
      else if (IPV6_FAMILIES.has(family)) etherType = ETH_IPV6;
      else return Decoded.NOT_TCP;
      break;
    }
    case LinkType.RAW:
    case LinkType.RAW_ALT:
    case LinkType.RAW_OPENBSD:
      if (end - p < 1) return Decoded.TRUNCATED;
      etherType = d[p]! >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
      break;
    case LinkType.IPV4:
      etherType = ETH_IPV4;
      break;
    case LinkType.IPV6:
      etherType = ETH_IPV6;
      break;
    default:
      return Decoded.UNSUPPORTED_LINK;
  }
  while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
    if (end - p < 4) return Decoded.TRUNCATED;
    etherType = v.getUint16(p + 2);
    p += 4;
  }
  if (etherType === ETH_IPV4) return ipv4(rec, p, end, seg);
  if (etherType === ETH_IPV6) return ipv6(rec, p, end, seg);
  return Decoded.NOT_TCP;
}

function ipv4(rec: PacketRecord, p: number, end: number, seg: TcpSegment): DecodeResult {
  const d = rec.data;
  const v = rec.view;
  if (end - p < 20) return Decoded.TRUNCATED;
  if (d[p]! >> 4 !== 4) return Decoded.MALFORMED;
  const ihl = (d[p]! & 0x0f) * 4;
  if (ihl < 20) return Decoded.MALFORMED;
  let total = v.getUint16(p + 2);
  // 0 is what TCP segmentation offload leaves in locally captured packets.
  if (total === 0) total = end - p + (rec.origLen - rec.capLen);
  if (total < ihl) return Decoded.MALFORMED;
  if (d[p + 9] !== PROTO_TCP) return Decoded.NOT_TCP;
  const frag = v.getUint16(p + 6);
  if ((frag & 0x3fff) !== 0) return Decoded.FRAGMENT; // more fragments, or an offset
  if (end - p < ihl) return Decoded.TRUNCATED;
  seg.ipVersion = 4;
  seg.srcAddr = p + 12;
  seg.dstAddr = p + 16;
  seg.addrLen = 4;
  return tcp(rec, p + ihl, p + total, end, seg);
}

function ipv6(rec: PacketRecord, p: number, end: number, seg: TcpSegment): DecodeResult {
  const d = rec.data;
  const v = rec.view;
  if (end - p < 40) return Decoded.TRUNCATED;
  if (d[p]! >> 4 !== 6) return Decoded.MALFORMED;
  let payloadLength = v.getUint16(p + 4);
  if (payloadLength === 0) payloadLength = end - p - 40 + (rec.origLen - rec.capLen); // jumbogram or offload
  const ipEnd = p + 40 + payloadLength;
  let next = d[p + 6]!;
  let q = p + 40;
  for (;;) {
    if (next === PROTO_TCP) break;
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      // hop-by-hop, routing, destination options, mobility, HIP, shim6: length in 8-byte units
      if (end - q < 2) return Decoded.TRUNCATED;
      next = d[q]!;
      q += (d[q + 1]! + 1) * 8;
    } else if (next === PROTO_FRAGMENT) {
      if (end - q < 8) return Decoded.TRUNCATED;
      const offsetAndMore = v.getUint16(q + 2);
      if ((offsetAndMore & 0xfff9) !== 0) return Decoded.FRAGMENT; // offset != 0 or M flag
      next = d[q]!;
      q += 8; // an atomic fragment: the whole packet is here
    } else if (next === 51) {
      // authentication header: length in 4-byte units, minus 2
      if (end - q < 2) return Decoded.TRUNCATED;
      next = d[q]!;
      q += (d[q + 1]! + 2) * 4;
    } else {
      return Decoded.NOT_TCP; // ICMPv6, UDP, ESP, no next header...
    }
    if (q > ipEnd) return Decoded.MALFORMED;
  }
  seg.ipVersion = 6;
  seg.srcAddr = p + 8;
  seg.dstAddr = p + 24;
  seg.addrLen = 16;
  return tcp(rec, q, ipEnd, end, seg);
}

/** `ipEnd`: where the IP header says the packet ends; `end`: where the capture does. */
function tcp(rec: PacketRecord, p: number, ipEnd: number, end: number, seg: TcpSegment): DecodeResult {
  const v = rec.view;
  if (ipEnd - p < 20) return Decoded.MALFORMED;
  if (end - p < 20) return Decoded.TRUNCATED;
  const dataOffset = (rec.data[p + 12]! >> 4) * 4;
  if (dataOffset < 20 || p + dataOffset > ipEnd) return Decoded.MALFORMED;
  if (p + dataOffset > end) return Decoded.TRUNCATED;
  seg.srcPort = v.getUint16(p);
  seg.dstPort = v.getUint16(p + 2);
  seg.seq = v.getUint32(p + 4);
  seg.ack = v.getUint32(p + 8);
  seg.flags = rec.data[p + 13]!;
  const payload = p + dataOffset;
  seg.payload = payload;
  seg.payloadLen = ipEnd - payload;
  // Ethernet padding lies beyond ipEnd; the snaplen may stop before it.
  seg.payloadCaptured = Math.min(ipEnd, end) - payload;
  return Decoded.TCP;
}
