/**
 * The portal's one door to @peculiar/x509. The library resolves its
 * services through tsyringe, which needs the Reflect metadata API before the
 * library loads; importing it here, first, makes that order hold for every
 * module that uses certificates.
 */
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';

/** ECDSA P-256 with SHA-256: every key and signature the portal makes. */
export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
