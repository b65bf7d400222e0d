/**
 * What counts as a secret in text, and how it is hidden: secret names (flags, variables,
 * headers), tokens, credentials in URLs, key blocks, secrets named in words. Errs on the side
 * of hiding: a readable command with one value too many replaced is better than a leaked token.
 * Whole traces are redacted with these by redact.ts. No `vscode` or Node imports.
 */

export const REDACTED = '«redacted»';

/** Values shorter than this are never replaced as exact `extraSecrets` (they would wreck unrelated text). */
export const MIN_EXTRA_SECRET_LENGTH = 4;

// ------------------------------------------------------------------ names

/** Keywords that make a name secret wherever they appear in it (case-insensitive). */
const SECRET_SUBSTRING = /password|passwd|passphrase|secret|token|credential|api[-_.]?key|private[-_.]?key|access[-_.]?key|authorization|cookie|session[-_.]?id|signature/i;
/** Keywords that make a name secret only as a whole segment (split at - _ .). */
const SECRET_SEGMENTS = new Set(['pwd', 'pass', 'auth', 'session', 'sid', 'jwt', 'apikey', 'creds', 'bearer', 'sig']);
/** A last segment that says the value is about the secret, not the secret itself (TOKEN_FILE, --session-timeout). */
const SAFE_SUFFIXES = new Set([
  'file',
  'path',
  'dir',
  'timeout',
  'ttl',
  'expiry',
  'expires',
  'length',
  'len',
  'size',
  'count',
  'name',
  'type',
  'env',
  'var',
  'mode',
  'method',
  'enabled',
  'disabled',
  'required',
  'max',
  'min',
  'limit',
  'url',
  'uri',
  'endpoint',
  'host',
  'port',
  'provider',
  'strategy',
  'store',
  'format',
  'algorithm',
  'alg',
  'version',
]);
/** Query parameter names that carry secrets even though they are too generic to be secret names elsewhere. */
const SECRET_QUERY_NAMES = new Set(['key', 'sig', 'signature', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token']);

/** Cheap pre-check: a secret name contains one of these somewhere. */
const ANY_KEYWORD = /pass|pwd|secret|token|credential|key|auth|session|sid|jwt|cookie|bearer|sig|creds/i;

/**
 * Whether a flag, variable, header or field name names a secret: `--password`, `db-pass`,
 * `API_KEY`, `Authorization`, `client_secret`, `GITHUB_TOKEN`, `STRIPE_KEY`. Leading dashes
 * are ignored; `--no-auth`-style negations and names ending in a harmless suffix
 * (`TOKEN_FILE`, `--session-timeout`) are not secrets.
 */

export function isSecretName(name: string): boolean {
  if (!ANY_KEYWORD.test(name)) return false;
  const bare = name.replace(/^-+/, '');
  if (bare === '') return false;
  if (bare === 'PWD' || bare === 'OLDPWD') return false; // the shell's working directory, not a password
  const lower = bare.toLowerCase();
  if (lower.startsWith('no-')) return false;
  // A source file (`secrets.js:15:8` in a stack frame or a report), not a name for a secret.
  if (/\.(?:[cm]?[jt]sx?)$/.test(lower)) return false;
  const segments = lower.split(/[-_.]+/).filter(Boolean);
  if (segments.length > 1 && SAFE_SUFFIXES.has(segments[segments.length - 1])) return false;
  if (SECRET_SUBSTRING.test(bare)) return true;
  if (segments.some((s) => SECRET_SEGMENTS.has(s))) return true;
  // Environment-style UPPER_CASE names ending in KEY: STRIPE_KEY, ENCRYPTION_KEY.
  if (/^[A-Z0-9_]+$/.test(bare) && /(^|_)KEY$/.test(bare)) return true;
  return false;
}

function isSecretQueryName(name: string): boolean {
  let n = name;
  try {
    n = decodeURIComponent(name);
  } catch {
    /* keep as is */
  }
  return isSecretName(n) || SECRET_QUERY_NAMES.has(n.toLowerCase());
}

// ------------------------------------------------------------------ high-entropy tokens

/** Splits a token into word-like runs: "ShutdownTrace2024" → Shutdown, Trace, 2024. */
const RUNS = /[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+/g;

/**
 * Whether a run of token characters looks like a random secret rather than a word, path or
 * identifier: at least 32 characters, and either hex with both digits and letters, or
 * upper case, lower case and digits mixed so densely that the average word-like run is short.
 */
export function looksHighEntropy(token: string): boolean {
  const t = token.replace(/=+$/, '');
  if (t.length < 32) return false;
  if (/^[0-9a-fA-F]+$/.test(t)) return /\d/.test(t) && /[a-fA-F]/.test(t);
  if (!/[A-Z]/.test(t) || !/[a-z]/.test(t) || !/\d/.test(t)) return false;
  if (/^(\/|\.\.?\/|~)/.test(t)) return false; // a path
  const runs = t.match(RUNS) ?? [];
  const chars = runs.reduce((n, r) => n + r.length, 0);
  if (runs.length === 0) return false;
  return chars / runs.length < 3;
}

// ------------------------------------------------------------------ text rules

const PRIVATE_KEY_BLOCK = /(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----)[\s\S]*?(?:(-----END \2PRIVATE KEY( BLOCK)?-----)|$)/g;
const URL_CREDENTIALS = /\b([a-zA-Z][a-zA-Z0-9+.-]{0,30}:\/\/)([^\s:@/?#"'<>]*):([^\s@/?#"'<>]+)@/g;
const QUERY_PARAM = /([?&;])([\w.%[\]-]+)=([^&#\s"'<>]*)/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const KNOWN_TOKENS: RegExp[] = [
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, // GitHub fine-grained tokens
  /\bxox[abposr]-[A-Za-z0-9-]{8,}/g, // Slack
  /\bxapp-[A-Za-z0-9-]{8,}/g, // Slack app tokens
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b/g, // Stripe
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
  /\bnpm_[A-Za-z0-9]{36}\b/g, // npm tokens
  /\bglpat-[A-Za-z0-9_-]{20,}\b/g, // GitLab
];
/** Auth scheme words kept in front of a redacted credential. */
const SCHEME = '(?:Bearer|Basic|Digest|Token|Negotiate|Bot|ApiKey)';
/** A bare `Bearer <credential>` anywhere (the header name may be elsewhere or missing). */
const BEARER = /\b(Bearer)(\s+)(?!«)([A-Za-z0-9\-._~+/]{4,}=*)/gi;
/**
 * name[:=]value. Names may be quoted (JSON, also JSON escaped inside a log string); the value
 * may be quoted, or an auth scheme and a credential. Whether the name is a secret is decided
 * in code (isSecretName), so the pattern itself stays linear.
 */
const KEY_NAME = /(?<![\w.-])(\\?["']?)(-{0,2}[\w.-]+)\1(\s*[:=]\s*)/g;
/** The value after a secret name, matched where the name's separator ends (sticky). */
const KEY_VALUE = new RegExp(String.raw`\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^']*'|(?:${SCHEME}\s+)?${REDACTED}|(?:${SCHEME}\s+)?(?!«)[^\s&,;"'<>(){}\[\]«][^\s&,;"'<>(){}\[\]]*`, 'iy');
/** A secret-named flag followed by its value after whitespace: `--token abc`. */
const FLAG_SPACE = /(?<![\w-])(-{1,2}[A-Za-z][\w.-]*)(\s+)(?!-)("[^"]*"|'[^']*'|(?!«)[^\s"']+)/g;
const TOKEN_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,3}(?![A-Za-z0-9+/=_-])/g;
/**
 * One path segment or word that is a token, with or without a short type prefix
 * (`tok_9f8e…`, `sk-…`, `/reset/<token>`): `/` ends it, unlike TOKEN_RUN, so a token in a
 * request path is not mistaken for a path.
 */
const SEGMENT_TOKEN = /(?<![A-Za-z0-9_+-])(?:[A-Za-z][A-Za-z0-9]{0,11}[_-])?([A-Za-z0-9]{20,})(?![A-Za-z0-9_+-])/g;
/**
 * A secret named in words rather than as name=value: `aws secret is <value>`, `the password was
 * <value>`. The name is a bounded word (linear on any input) that must say secret; the value
 * must look made, not written: letters and digits mixed.
 */
const SECRET_PHRASE = /(?<![\w-])([\w-]{1,64})(\s+(?:is|was|are|were)\s+)(?!«)(\S{8,})/g;
const PHRASE_NAME = /secret|password|passwd|token|api[-_]?key|access[-_]?key|private[-_]?key|credential/i;
/** An AWS secret access key (40 base64 characters) on a line that speaks of AWS. */
const AWS_SECRET = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/g;

function looksMade(v: string): boolean {
  const core = v.replace(/[.,;:!?)\]}'"]+$/, '');
  return core.length >= 8 && /\d/.test(core) && /[A-Za-z]/.test(core) && !/^(?:\/|\.\.?\/|~)/.test(core) && !/^v?\d+(\.\d+)+$/.test(core);
}

function hexToken(t: string): boolean {
  return t.length >= 24 && /^[0-9a-fA-F]+$/.test(t) && /\d/.test(t) && /[a-fA-F]/.test(t);
}

function redactQuoted(value: string): string {
  if (value.startsWith('\\"')) return `\\"${REDACTED}\\"`;
  if (value.startsWith('"') || value.startsWith("'")) return `${value[0]}${REDACTED}${value[0]}`;
  const scheme = new RegExp(`^(${SCHEME}\\s+)`, 'i').exec(value);
  return scheme ? scheme[1] + REDACTED : REDACTED;
}

function applyKeyValue(s: string): string {
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  KEY_NAME.lastIndex = 0;
  while ((m = KEY_NAME.exec(s)) !== null) {
    const [whole, q, name] = m;
    // Not a secret name: scan on from its value, which may itself start a pair (`foo:password=x`).
    if (!isSecretName(name)) continue;
    const valueAt = m.index + whole.length;
    KEY_VALUE.lastIndex = valueAt;
    const v = KEY_VALUE.exec(s);
    if (!v) continue;
    out += s.slice(last, m.index) + q + name + q + m[3] + redactQuoted(v[0]);
    last = valueAt + v[0].length;
    KEY_NAME.lastIndex = last;
  }
  return out + s.slice(last);
}

/**
 * Redacts secrets in free text (a log line, an error message, a shell command string):
 * private key blocks, credentials in URLs, secret query parameters, `Authorization:`/`Bearer`
 * credentials, `name=value`/`name: value`/`"name":"value"` pairs and `--flag value` pairs with
 * a secret name, JWTs, AWS/GitHub/Slack/Stripe/Google/npm/GitLab tokens, and long random-looking
 * tokens. Idempotent: redacting twice gives the same text.
 */
export function redactText(s: string): string {
  if (typeof s !== 'string' || s === '') return s;
  let out = s;
  out = out.replace(PRIVATE_KEY_BLOCK, (_m, begin: string, _t: string, _b: string, end: string | undefined) => `${begin}${REDACTED}${end ?? ''}`);
  out = out.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  out = out.replace(QUERY_PARAM, (m, sep: string, name: string, value: string) => (value !== '' && value !== REDACTED && isSecretQueryName(name) ? `${sep}${name}=${REDACTED}` : m));
  out = out.replace(JWT, REDACTED);
  for (const re of KNOWN_TOKENS) out = out.replace(re, REDACTED);
  out = applyKeyValue(out);
  out = out.replace(BEARER, (_m, scheme: string, ws: string) => `${scheme}${ws}${REDACTED}`);
  out = out.replace(FLAG_SPACE, (m, flag: string, ws: string, value: string) => {
    if (!isSecretName(flag) || value === REDACTED) return m;
    return `${flag}${ws}${redactQuoted(value)}`;
  });
  out = out.replace(TOKEN_RUN, (m) => (looksHighEntropy(m) ? REDACTED : m));
  out = out.replace(SEGMENT_TOKEN, (m, tail: string) => (looksHighEntropy(tail) || hexToken(tail) ? REDACTED : m));
  out = out.replace(SECRET_PHRASE, (m, name: string, sep: string, value: string) => {
    if (!PHRASE_NAME.test(name) || value.startsWith(REDACTED) || !looksMade(value)) return m;
    const trail = /[.,;:!?)\]}'"]+$/.exec(value)?.[0] ?? '';
    return `${name}${sep}${REDACTED}${trail}`;
  });
  if (/aws/i.test(out)) out = out.replace(AWS_SECRET, (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && /\d/.test(m) && !m.startsWith('/') ? REDACTED : m));
  return out;
}

/** Whether a lone argv element is a flag (so not the value of the flag before it). */
function isFlag(a: string): boolean {
  return /^--?[A-Za-z]/.test(a);
}

/**
 * Redacts a command line element by element, keeping it readable: `--password=x`,
 * `--token x` (the next element), `FOO_SECRET=x` assignments, and everything `redactText`
 * finds inside an element (URLs with credentials, tokens, `sh -c "..."` strings).
 */
export function redactArgv(argv: string[]): string[] {
  const out: string[] = [];
  let valueOfSecretFlag = false;
  let prev = '';
  for (const raw of argv ?? []) {
    const a = String(raw);
    const afterDashC = prev === '-c';
    prev = a;
    if (valueOfSecretFlag && !isFlag(a)) {
      out.push(REDACTED);
      valueOfSecretFlag = false;
      continue;
    }
    valueOfSecretFlag = false;
    let m = /^(-{1,2})([A-Za-z][\w.-]*)=([\s\S]*)$/.exec(a);
    if (m) {
      out.push(isSecretName(m[2]) ? `${m[1]}${m[2]}=${REDACTED}` : `${m[1]}${m[2]}=${redactText(m[3])}`);
      continue;
    }
    m = /^(-{1,2})([A-Za-z][\w.-]*)$/.exec(a);
    if (m) {
      valueOfSecretFlag = isSecretName(m[2]);
      out.push(a);
      continue;
    }
    // NAME=value as its own element (`env FOO_SECRET=x node ...`): the whole value, spaces included.
    // After `sh -c` the element is a command string, left to redactText.
    m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(a);
    if (m && isSecretName(m[1]) && !afterDashC) {
      out.push(`${m[1]}=${REDACTED}`);
      continue;
    }
    out.push(redactText(a));
  }
  return out;
}

/** A request path with every query value hidden (they are client data), names kept. */
export function redactRequestPath(path: string): string {
  if (typeof path !== 'string') return path;
  const q = path.indexOf('?');
  const base = redactText(q < 0 ? path : path.slice(0, q));
  if (q < 0) return base;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((p) => {
    if (p === '') return p;
    const eq = p.indexOf('=');
    return eq < 0 ? redactText(p) : `${p.slice(0, eq)}=${p.slice(eq + 1) === '' ? '' : REDACTED}`;
  });
  return `${base}?${parts.join('&')}${hash < 0 ? '' : '#' + REDACTED}`;
}

/**
 * A URL, or a path with a query, that the tool requested (the --load target, a preStop
 * httpGet): credentials and every query value hidden, like a request path.
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([\s\S]*)$/i.exec(url);
  if (!m) return redactRequestPath(url);
  return `${redactText(m[1])}${m[2] ? redactRequestPath(m[2]) : ''}`;
}

// ------------------------------------------------------------------ whole traces
