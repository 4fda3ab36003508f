/**
 * The `attributes` settings (allow-listed headers, gRPC metadata, url.query)
 * as `run` and `replay` both take them: the same flags, checked by the same
 * schema, so a developer can try an allow-list on a capture before a node
 * runs it.
 */
import { ConfigError, SETTINGS, loadConfig } from '../config/loadConfig.ts';
import { SENSITIVE_HEADERS, attributeCaptureOf, type AttributeCapture } from '../protocols/attributeCapture/index.ts';
import { UsageError } from './usageError.ts';

/** The built-in sensitive headers, wrapped to the help's column. */
const builtIn = (() => {
  const lines: string[] = [];
  let line = '(';
  for (const [i, name] of SENSITIVE_HEADERS.entries()) {
    const word = `${name}${i === SENSITIVE_HEADERS.length - 1 ? ')' : ','}`;
    if (line.length + word.length > 52) {
      lines.push(line.trimEnd());
      line = '';
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.map((l) => `                          ${l}`).join('\n');
})();

export const ATTRIBUTE_HELP = `  --request-header NAME   export this request header as http.request.header.<name>
                          (repeat, or NAME1,NAME2; any case); none by default
  --response-header NAME  the same for responses (http.response.header.<name>)
  --grpc-request-metadata KEY   gRPC request metadata as rpc.grpc.request.metadata.<key>
  --grpc-response-metadata KEY  gRPC response metadata and trailers (rpc.grpc.response.metadata.<key>)
  --sensitive-header NAME added to the headers never exported even when allow-listed
${builtIn}
  --url-query MODE        off (default) or redacted: url.query with every value
                          REDACTED except those of --query-param names
  --query-param NAME      a query parameter whose value url.query keeps`;

const ATTRIBUTE_SETTINGS = SETTINGS.filter((s) => s.path.startsWith('attributes.'));

/** parseArgs options for the attributes flags. */
export function attributeFlags(): Record<string, { type: 'string'; multiple?: boolean }> {
  return Object.fromEntries(ATTRIBUTE_SETTINGS.map((s) => [s.flag, s.type === 'list' ? { type: 'string', multiple: true } : { type: 'string' }]));
}

/**
 * The capture the attributes flags ask for (flags only: replay reads no
 * file and no environment), or undefined for none; a bad name is a
 * usage error naming the field and the flag.
 */
export function attributeCaptureFromFlags(values: Readonly<Record<string, unknown>>): AttributeCapture | undefined {
  const flags: Record<string, string | string[]> = {};
  for (const s of ATTRIBUTE_SETTINGS) {
    const v = values[s.flag];
    if (typeof v === 'string' || Array.isArray(v)) flags[s.flag] = v as string | string[];
  }
  try {
    return attributeCaptureOf(loadConfig(flags, {}).config.attributes);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}
