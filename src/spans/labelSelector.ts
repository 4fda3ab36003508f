/**
 * Kubernetes label-selector requirements, the equality-based kind that
 * `kubectl -l` takes: `key=value` (or `key==value`), `key!=value`, `key`
 * (the label exists) and `!key` (it does not), with Kubernetes' own rules
 * for keys and values, so a typo is refused at start instead of silently
 * matching nothing. Set-based requirements (`in`, `notin`) are refused
 * with a way around them: the config's lists are split on commas, which a
 * value set in parentheses would need.
 */

export type LabelOperator = 'equals' | 'notEquals' | 'exists' | 'notExists';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** The value for equals / notEquals ('' is a valid value); '' otherwise. */
  readonly value: string;
}

export type ParsedRequirement = { readonly ok: true; readonly requirement: LabelRequirement } | { readonly ok: false; readonly error: string };

export type Labels = Readonly<Record<string, string>>;

/** A label name, and a non-empty label value: 63 characters at most, alphanumeric at both ends, - _ . inside. */
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A key's optional prefix: a DNS subdomain (RFC 1123), 253 characters at most. */
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const FORMS = 'use key=value, key!=value, key (the label exists) or !key (it does not)';

/** Why `key` is not a valid label key, or undefined when it is. */
function keyProblem(key: string): string | undefined {
  if (key === '') return 'the label key is empty';
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !PREFIX.test(prefix))) {
    return `label key '${key}': the prefix before '/' must be a lower-case DNS subdomain (e.g. app.kubernetes.io)`;
  }
  if (!NAME.test(name)) return `label key '${key}': the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

function valueProblem(key: string, value: string): string | undefined {
  if (value === '' || NAME.test(value)) return undefined;
  return `label value '${value}' of '${key}': at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** One requirement, e.g. "app=checkout", "tier!=debug", "team", "!canary". */
export function parseLabelRequirement(text: string): ParsedRequirement {
  const fail = (error: string): ParsedRequirement => ({ ok: false, error });
  const t = text.trim();
  if (t === '') return fail(`an empty requirement: ${FORMS}`);
  if (/[()]/.test(t)) {
    return fail(`'${t}': set-based requirements (in, notin) are not supported: ${FORMS}; for notin, one key!=value per value`);
  }
  let key: string;
  let operator: LabelOperator;
  let value = '';
  const eq = t.indexOf('=');
  if (t.startsWith('!') && eq < 0) {
    key = t.slice(1).trim();
    operator = 'notExists';
  } else if (eq < 0) {
    key = t;
    operator = 'exists';
  } else if (t[eq - 1] === '!') {
    key = t.slice(0, eq - 1).trim();
    operator = 'notEquals';
    value = t.slice(eq + 1).trim();
  } else {
    key = t.slice(0, eq).trim();
    operator = 'equals';
    value = t.slice(t[eq + 1] === '=' ? eq + 2 : eq + 1).trim();
  }
  if (/[\s!=<>,]/.test(key) || /[\s!=<>,]/.test(value)) return fail(`'${t}' is not a label requirement: ${FORMS}`);
  const problem = keyProblem(key) ?? valueProblem(key, value);
  if (problem) return fail(`'${t}': ${problem}`);
  return { ok: true, requirement: { key, operator, value } };
}

/** Parses every requirement; throws on the first invalid one (the config schema has refused those already). */
export function parseLabelRequirements(texts: readonly string[]): LabelRequirement[] {
  return texts.map((text) => {
    const parsed = parseLabelRequirement(text);
    if (!parsed.ok) throw new Error(`invalid pod label requirement: ${parsed.error}`);
    return parsed.requirement;
  });
}

/** Whether `labels` meet `r`, by Kubernetes' rules: a label that is absent meets key!=value and !key. */
export function meets(r: LabelRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case 'exists': return has;
    case 'notExists': return !has;
    case 'equals': return has && labels[r.key] === r.value;
    case 'notEquals': return !has || labels[r.key] !== r.value;
  }
}

/** The label keys the valid requirements among `texts` name: the only labels a pod needs to keep for them. */
export function labelKeysOf(texts: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const text of texts) {
    const parsed = parseLabelRequirement(text);
    if (parsed.ok) keys.add(parsed.requirement.key);
  }
  return [...keys];
}
