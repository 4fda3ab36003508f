/**
 * The manifest portal (`hydrophone portal`): registers sensors, issues
 * their client certificates from its own CA, hands out each sensor's
 * manifest once, rotates and revokes, and publishes the CRL.
 */
export { startPortal, type PortalConfig, type RunningPortal } from './portalServer.ts';
export { portalPaths, defaultDataDir, DEFAULT_DEPLOY_BASE, DATA_DIR_ENV, type PortalPaths } from './portalPaths.ts';
export { loadAdminCredential, credential, AdminTokenError, ADMIN_TOKEN_ENV, type AdminCredential } from './adminToken.ts';
export { PortalCaError } from './portalCa.ts';
export { checkCaBundle } from './registrationRequest.ts';
export type { BackendEndpoints } from './sensorRegistry.ts';
export type { ManifestAccess, RotationResult, RevocationResult, SensorView } from './portalService.ts';
