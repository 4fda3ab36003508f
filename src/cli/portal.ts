/**
 * `hydrophone portal`: the manifest portal as a long-running HTTPS service
 * (src/portal). Runs until SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseBrokerAddress } from '../sinks/kafka/kafkaConfig.ts';
import { parseOtlpEndpoint } from '../sinks/otlp/otlpConfig.ts';
import {
  ADMIN_TOKEN_ENV, checkCaBundle, DATA_DIR_ENV, defaultDataDir, DEFAULT_DEPLOY_BASE, loadAdminCredential, portalPaths, startPortal,
  type BackendEndpoints,
} from '../portal/index.ts';
import { intOption } from './options.ts';
import { imageOverrideFromReference } from '../deploy/imageOverride.ts';
import { UsageError } from './usageError.ts';

export const CA_PASSPHRASE_ENV = 'HYDROPHONE_PORTAL_CA_PASSPHRASE';
const MIN_PASSPHRASE_LENGTH = 12;

const HELP = `usage: hydrophone portal [options]

The manifest portal: registers sensors, issues each a client certificate
from the portal's own CA, and serves each sensor's manifest once, for
'kubectl apply -f'. Rotation, revocation and a CRL for the backends.

  --listen HOST:PORT        where to serve HTTPS (default 0.0.0.0:8443)
  --public-url URL          https://host[:port] operators reach the portal at
                            (default: this host's name and the listen port)
  --data-dir DIR            database, CA and generated admin token (default
                            $${DATA_DIR_ENV}, else ~/.local/share/hydrophone-portal)
  --db FILE                 the SQLite database (default DIR/portal.db)
  --ca-cert FILE            the CA certificate (default DIR/ca/ca.crt)
  --ca-key FILE             the CA key, encrypted (default DIR/ca/ca.key)
  --ca-passphrase-file F    the CA key's passphrase (else $${CA_PASSPHRASE_ENV});
                            required: the key is never stored in the clear
  --admin-token-file F      the admin bearer token (else $${ADMIN_TOKEN_ENV};
                            else one is made into DIR/admin-token, mode 0600)
  --tls-cert F --tls-key F  the portal's HTTPS certificate and key (default:
                            issued by the portal CA, renewed daily)
  --cert-days N             validity of sensor certificates (default 90)
  --crl-listen HOST:PORT    also serve the CRL over plain HTTP here (RFC 5280
                            style: it is signed), and name it in every sensor
                            certificate as its CRL distribution point
  --crl-url URL             the distribution point to name instead (where the
                            CRL is published; default: the --crl-listen one)
  --token-hours N           validity of one-time download tokens (default 24)
Defaults for registrations that name no backend:
  --otlp-endpoint E         OTLP/gRPC receiver, host:port (TLS)
  --kafka-brokers B         Kafka brokers, host:port[,host:port...] (TLS)
  --kafka-topic T           with --kafka-brokers (default hydrophone-spans)
  --backend-ca FILE         CA bundle that signs the backends' server certificates
Manifests:
  --sensor-image IMAGE      the sensor image the manifests name, e.g. a mirror:
                            registry.example.com/obs/hydrophone-sensor:0.1.0
                            or pinned: ...hydrophone-sensor@sha256:<digest>
                            (default: the image in deploy/base)
  --deploy-dir DIR          the kustomize base the manifests are rendered from
                            (default ${DEFAULT_DEPLOY_BASE})`;

export async function portalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      listen: { type: 'string' },
      'public-url': { type: 'string' },
      'data-dir': { type: 'string' },
      db: { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      'ca-passphrase-file': { type: 'string' },
      'admin-token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'cert-days': { type: 'string' },
      'token-hours': { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'kafka-brokers': { type: 'string' },
      'kafka-topic': { type: 'string' },
      'backend-ca': { type: 'string' },
      'deploy-dir': { type: 'string' },
      'sensor-image': { type: 'string' },
      'crl-listen': { type: 'string' },
      'crl-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`portal takes no arguments, got ${positionals.map((p) => `'${p}'`).join(' ')}`);
  // Checked first, before anything is written: without the passphrase there is nothing the portal can do.
  const caPassphrase = readPassphrase(values['ca-passphrase-file']);
  const listen = parseListen(values.listen ?? '0.0.0.0:8443');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const publicUrl = values['public-url'] === undefined ? undefined : parsePublicUrl(values['public-url']);
  const certValidityDays = intOption('cert-days', values['cert-days'], 1, 3650) ?? 90;
  const tokenTtlHours = intOption('token-hours', values['token-hours'], 1, 24 * 30) ?? 24;
  const defaults = backendDefaults(values);
  const crl = crlOptions(values['crl-listen'], values['crl-url']);
  const sensorImage = values['sensor-image'];
  if (sensorImage !== undefined) {
    try {
      imageOverrideFromReference('hydrophone-sensor', sensorImage, '--sensor-image');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }

  const paths = portalPaths(values['data-dir'] ?? defaultDataDir(), {
    ...(values.db ? { database: values.db } : {}),
    ...(values['ca-cert'] ? { caCert: values['ca-cert'] } : {}),
    ...(values['ca-key'] ? { caKey: values['ca-key'] } : {}),
  });
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const { credential, generated } = loadAdminCredential({
    ...(values['admin-token-file'] ? { file: values['admin-token-file'] } : {}),
    generatedFile: paths.generatedAdminToken,
  });

  const portal = await startPortal({
    listen,
    paths,
    caPassphrase,
    admin: credential,
    ...(values['tls-cert'] && values['tls-key'] ? { tls: { certFile: values['tls-cert'], keyFile: values['tls-key'] } } : {}),
    certValidityDays,
    tokenTtlHours,
    ...(publicUrl ? { publicUrl } : {}),
    deployBaseDir: values['deploy-dir'] ?? DEFAULT_DEPLOY_BASE,
    ...(sensorImage !== undefined ? { sensorImage } : {}),
    ...(crl ? { crl } : {}),
    defaults,
  });
  process.stderr.write([
    `hydrophone portal: serving ${portal.url} (listening on ${listen.host}:${portal.port})`,
    `  CA ${portal.ca.files.certFile}${portal.caCreated ? ' (made now)' : ''}, SHA-256 ${portal.ca.fingerprint256}`,
    `  admin token: ${generated ? `made now, in ${credential.source}` : credential.source}`,
    `  data: ${paths.database}`,
    ...(portal.crlUrl !== undefined ? [`  CRL distribution point in certificates: ${portal.crlUrl}`] : []),
    '',
  ].join('\n'));

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await portal.close();
  return 0;
}

function crlOptions(listenText: string | undefined, urlText: string | undefined): { listen?: { host: string; port: number }; url?: string } | undefined {
  if (listenText === undefined && urlText === undefined) return undefined;
  if (urlText !== undefined) {
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      throw new UsageError(`--crl-url must be an http:// or https:// URL, got '${urlText}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--crl-url must be an http:// or https:// URL, got '${urlText}'`);
  }
  return {
    ...(listenText !== undefined ? { listen: parseListen(listenText, '--crl-listen') } : {}),
    ...(urlText !== undefined ? { url: urlText } : {}),
  };
}

function readPassphrase(file: string | undefined): string {
  let passphrase: string | undefined;
  let where: string;
  if (file !== undefined) {
    where = `--ca-passphrase-file ${file}`;
    try {
      // One trailing newline is the file's, not the passphrase's.
      passphrase = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(`${where}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    where = `$${CA_PASSPHRASE_ENV}`;
    passphrase = process.env[CA_PASSPHRASE_ENV];
  }
  if (passphrase === undefined || passphrase === '') {
    throw new UsageError(`portal needs the CA key's passphrase (the key is stored encrypted): give --ca-passphrase-file FILE or set $${CA_PASSPHRASE_ENV}`);
  }
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new UsageError(`${where}: the CA passphrase has ${passphrase.length} characters; use at least ${MIN_PASSPHRASE_LENGTH} (e.g. openssl rand -base64 24)`);
  }
  return passphrase;
}

function parseListen(text: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT (an IPv6 address in brackets), got '${text}'`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] !== undefined && isIP(host) !== 6) throw new UsageError(`${flag}: '${host}' in brackets is not an IPv6 address`);
  return { host, port };
}

function parsePublicUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--public-url must be https://host[:port], got '${text}'`);
  }
  if (url.protocol !== 'https:' || url.pathname.replace(/\/+$/, '') !== '' || url.search || url.username) {
    throw new UsageError(`--public-url must be https://host[:port] without a path, got '${text}'`);
  }
  return url.origin;
}

function backendDefaults(values: Record<string, string | boolean | undefined>): BackendEndpoints {
  const otlpEndpoint = values['otlp-endpoint'] as string | undefined;
  const brokersText = values['kafka-brokers'] as string | undefined;
  const topic = values['kafka-topic'] as string | undefined;
  const caFile = values['backend-ca'] as string | undefined;
  if (topic !== undefined && brokersText === undefined) throw new UsageError('--kafka-topic needs --kafka-brokers');
  if (otlpEndpoint !== undefined) {
    try {
      parseOtlpEndpoint(otlpEndpoint, false);
    } catch (err) {
      throw new UsageError(`--otlp-endpoint: ${(err as Error).message.replace(/^otlp\.endpoint: /, '')}`);
    }
  }
  const brokers = brokersText?.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers ?? []) {
    const address = parseBrokerAddress(b);
    if (typeof address === 'string') throw new UsageError(`--kafka-brokers: ${address}`);
  }
  let backendCaPem: string | undefined;
  if (caFile !== undefined) {
    try {
      backendCaPem = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--backend-ca ${caFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const problem = checkCaBundle(backendCaPem);
    if (problem) throw new UsageError(`--backend-ca ${caFile}: ${problem}`);
  }
  return {
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
    ...(brokers?.length ? { kafka: { brokers, topic: topic ?? 'hydrophone-spans' } } : {}),
    ...(backendCaPem ? { backendCaPem } : {}),
  };
}
