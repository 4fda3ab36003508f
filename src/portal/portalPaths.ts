/**
 * Where the portal keeps its state, by default all under one data
 * directory (each path can be given on its own):
 *   <data>/portal.db     sensors, certificates, hashed tokens, audit log (0600)
 *   <data>/ca/ca.crt     the CA certificate (public)
 *   <data>/ca/ca.key     the CA key, encrypted PKCS#8 (0600)
 *   <data>/admin-token   the admin token, only when the portal made one (0600)
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PortalPaths {
  readonly dataDir: string;
  readonly database: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly generatedAdminToken: string;
}

export const DATA_DIR_ENV = 'HYDROPHONE_PORTAL_DATA_DIR';

/** $HYDROPHONE_PORTAL_DATA_DIR, else $XDG_DATA_HOME/hydrophone-portal, else ~/.local/share/hydrophone-portal. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[DATA_DIR_ENV]) return path.resolve(env[DATA_DIR_ENV]);
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(homedir(), '.local', 'share');
  return path.join(xdg, 'hydrophone-portal');
}

export function portalPaths(dataDir: string, overrides: Partial<Omit<PortalPaths, 'dataDir'>> = {}): PortalPaths {
  const dir = path.resolve(dataDir);
  return {
    dataDir: dir,
    database: overrides.database ?? path.join(dir, 'portal.db'),
    caCert: overrides.caCert ?? path.join(dir, 'ca', 'ca.crt'),
    caKey: overrides.caKey ?? path.join(dir, 'ca', 'ca.key'),
    generatedAdminToken: overrides.generatedAdminToken ?? path.join(dir, 'admin-token'),
  };
}

/** deploy/base of this checkout or install: what the manifests are rendered from. */
export const DEFAULT_DEPLOY_BASE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/base');
