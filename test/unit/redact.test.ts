// Over 500 lines on purpose: every kind of secret the redaction knows, each with a case that must stay readable, in one suite.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, isSecretName, looksHighEntropy, redactArgv, redactRequestPath, redactText, redactTrace } from '../../src/core/redact';
import { validateTrace } from '../../src/shared/trace-file';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import type { HandleInfo } from '../../src/shared/wire';
import { loadFixture } from './traces/load';

// Planted secrets: every value is unique, so its absence from the output is meaningful.
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const B64 = 'Zk3pQ9xLm2Vb7Nc4Rt8Yw1Ha6Js5Df0GqP3eT'; // 38 chars, random-looking
const HEX = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const AWS_ID = 'AKIAZ7Q3XK2LMN4PQR5T';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRET18';
const GHP = 'ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf0123';
const GH_PAT = 'github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijk';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const STRIPE = 'sk_live_51HnLq2CkZx9RtYuIoPaSdFg';
const KEY_BODY = 'MIIEowIBAAKCAQEAzQ8hplantedKEYbodyLine1x';

function assertGone(haystack: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!haystack.includes(s), `secret ${JSON.stringify(s)} survived in:\n${haystack}`);
}

describe('isSecretName', () => {
  test('recognises secret-ish flag, variable and header names', () => {
    for (const n of [
      '--password',
      '--db-password',
      'passwd',
      '-pwd',
      'MYSQL_PWD',
      'PGPASSWORD',
      '--secret',
      'client_secret',
      '--client-secret',
      '--token',
      'GITHUB_TOKEN',
      '--auth-token',
      '--api-key',
      'api_key',
      'apikey',
      'X-Api-Key',
      '--auth',
      'credentials',
      '--private-key',
      'private_key',
      '--access-key',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ACCESS_KEY_ID',
      '--session',
      'session_id',
      'Authorization',
      'Cookie',
      'STRIPE_KEY',
      'ENCRYPTION_KEY',
      'jwt',
    ]) {
      assert.equal(isSecretName(n), true, n);
    }
  });
  test('leaves ordinary names and names about a secret alone', () => {
    for (const n of [
      '--port',
      '--host',
      'NODE_ENV',
      '--require',
      '-r',
      '-p',
      '--inspect',
      '--max-old-space-size',
      'PATH',
      'HOME',
      'PWD',
      'OLDPWD',
      'PWD_DIR',
      '--author',
      '--keyboard',
      'monkey',
      '--key',
      'key',
      '--token-file',
      'TOKEN_FILE',
      '--session-timeout',
      'SESSION_TIMEOUT',
      'PASSWORD_MIN_LENGTH',
      '--no-auth',
      'AUTH_URL',
      'token_count',
    ]) {
      assert.equal(isSecretName(n), false, n);
    }
  });
});

describe('looksHighEntropy', () => {
  test('random base64 and hex of 32+ chars are secrets', () => {
    assert.equal(looksHighEntropy(B64), true);
    assert.equal(looksHighEntropy(HEX), true);
    assert.equal(looksHighEntropy('dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSBmb3IgdGVzdHM0MjA='), true);
  });
  test('short tokens, words, paths, identifiers and UUIDs are not', () => {
    assert.equal(looksHighEntropy('Zk3pQ9xLm2Vb7Nc4'), false); // too short
    assert.equal(looksHighEntropy('/Users/JohnSmith/Projects2024/myService/src'), false);
    assert.equal(looksHighEntropy('ShutdownTraceCollectorConnection2Refused'), false);
    assert.equal(looksHighEntropy('550e8400-e29b-41d4-a716-446655440000'), false);
    assert.equal(looksHighEntropy('my-service-v2-deployment-7f9c8d6b5-x2k4p'), false);
    assert.equal(looksHighEntropy('abcdefghijklmnopqrstuvwxyzabcdefghij'), false); // one class only
  });
});

describe('redactArgv', () => {
  const ordinary = [
    'node',
    '--require',
    '/home/dev/app/node_modules/shutdown-trace/dist/preload.js',
    '--inspect=127.0.0.1:9229',
    'server.js',
    '--port',
    '3000',
    '--max-old-space-size=4096',
    'NODE_ENV=production',
    './config/dev.json',
  ];

  test('keeps an ordinary command exactly as it was', () => {
    assert.deepEqual(redactArgv(ordinary), ordinary);
  });

  test('redacts --flag=value and --flag value for secret flag names, and only the value', () => {
    const argv = [
      'node',
      'server.js',
      '--password=hunter2-PW-1',
      '--token',
      'tok-SECRET-2',
      '--api-key',
      'apikey-SECRET-3',
      '--secret=sec-SECRET-4',
      '--client-secret',
      'cs-SECRET-5',
      '--private-key=pk-SECRET-6',
      '--access-key',
      'ak-SECRET-7',
      '--auth',
      'auth-SECRET-8',
      '--credential',
      'cred-SECRET-9',
      '--session',
      'sess-SECRET-10',
      '--passwd',
      'pw-SECRET-11',
      '-pwd',
      'pw-SECRET-12',
      '--port',
      '3000',
    ];
    const out = redactArgv(argv);
    assert.deepEqual(out, [
      'node',
      'server.js',
      `--password=${REDACTED}`,
      '--token',
      REDACTED,
      '--api-key',
      REDACTED,
      `--secret=${REDACTED}`,
      '--client-secret',
      REDACTED,
      `--private-key=${REDACTED}`,
      '--access-key',
      REDACTED,
      '--auth',
      REDACTED,
      '--credential',
      REDACTED,
      '--session',
      REDACTED,
      '--passwd',
      REDACTED,
      '-pwd',
      REDACTED,
      '--port',
      '3000',
    ]);
    assert.equal(out.length, argv.length, 'one element in, one element out');
  });

  test('a secret flag followed by another flag redacts nothing after it', () => {
    assert.deepEqual(redactArgv(['app', '--token', '--verbose', 'x.js']), ['app', '--token', '--verbose', 'x.js']);
    assert.deepEqual(redactArgv(['app', '--no-auth', 'server.js']), ['app', '--no-auth', 'server.js']);
    assert.deepEqual(redactArgv(['app', '-p', '8080']), ['app', '-p', '8080'], 'short flags are never guessed at');
    assert.deepEqual(redactArgv(['app', '--token-file', '/run/secrets/token']), ['app', '--token-file', '/run/secrets/token']);
  });

  test('env-style assignments with secret names, anything redactText finds inside an element', () => {
    const out = redactArgv([
      'env',
      'FOO_SECRET=env-SECRET-17',
      `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`,
      'PORT=3000',
      'node',
      'server.js',
      '--db=postgres://app:dbpass-SECRET-14@db.internal:5432/app',
      'sh',
      '-c',
      `API_KEY=inline-SECRET-20 node worker.js --auth-token=${B64} --queue jobs`,
      `--header=Authorization: Bearer bearer-SECRET-12`,
      JWT,
      AWS_ID,
    ]);
    const joined = out.join(' ');
    assertGone(joined, ['env-SECRET-17', AWS_SECRET, 'dbpass-SECRET-14', 'inline-SECRET-20', B64, 'bearer-SECRET-12', JWT, AWS_ID]);
    assert.equal(out[1], `FOO_SECRET=${REDACTED}`);
    assert.deepEqual(redactArgv(['env', 'APP_PASSWORD=two words', 'node']), ['env', `APP_PASSWORD=${REDACTED}`, 'node'], 'a spaced value is hidden whole');
    assert.equal(out[3], 'PORT=3000');
    assert.equal(out[6], `--db=postgres://app:${REDACTED}@db.internal:5432/app`);
    assert.equal(out[9], `API_KEY=${REDACTED} node worker.js --auth-token=${REDACTED} --queue jobs`);
    assert.equal(out[10], `--header=Authorization: Bearer ${REDACTED}`);
    assert.equal(out[11], REDACTED);
  });
});

describe('redactText', () => {
  const cases: [string, string][] = [
    ['connecting to postgres://user:pass-SECRET@host/db', `connecting to postgres://user:${REDACTED}@host/db`],
    ['redis://:redis-SECRET@cache:6379/0', `redis://:${REDACTED}@cache:6379/0`],
    ['GET /cb?token=qtok-SECRET-15&key=qkey-SECRET-16&next=/home', `GET /cb?token=${REDACTED}&key=${REDACTED}&next=/home`],
    ['https://s3.example.com/o?X-Amz-Signature=abc123sig&X-Amz-Credential=cred1&x=1', `https://s3.example.com/o?X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}&x=1`],
    ['Authorization: Bearer abc.def-SECRET', `Authorization: Bearer ${REDACTED}`],
    ['authorization: Basic dXNlcjpTRUNSRVQxMw==', `authorization: Basic ${REDACTED}`],
    ['curl -H "Authorization: Bearer sk-abc123"', `curl -H "Authorization: Bearer ${REDACTED}"`],
    ['sending Bearer bearer-only-SECRET upstream', `sending Bearer ${REDACTED} upstream`],
    ['Cookie: sid=cookie-SECRET; theme=dark', `Cookie: ${REDACTED}; theme=dark`],
    ['{"user":"bob","password":"hunter 2 SECRET","port":3000}', `{"user":"bob","password":"${REDACTED}","port":3000}`],
    ['log {\\"apiKey\\":\\"escaped-SECRET\\"}', `log {\\"apiKey\\":\\"${REDACTED}\\"}`],
    ["config { secret: 'yaml-SECRET' }", `config { secret: '${REDACTED}' }`],
    ['FOO_SECRET=env-SECRET-17 NODE_ENV=production', `FOO_SECRET=${REDACTED} NODE_ENV=production`],
    [`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`, `AWS_SECRET_ACCESS_KEY=${REDACTED}`],
    ['MYSQL_PWD=x1 PGPASSWORD=y2 STRIPE_KEY=z3 SESSION_TIMEOUT=30', `MYSQL_PWD=${REDACTED} PGPASSWORD=${REDACTED} STRIPE_KEY=${REDACTED} SESSION_TIMEOUT=30`],
    ['node app.js --password hunter2 --port 3000', `node app.js --password ${REDACTED} --port 3000`],
    [`token is ${JWT}`, `token is ${REDACTED}`],
    [`aws ${AWS_ID} ok`, `aws ${REDACTED} ok`],
    [`gh ${GHP} and ${GH_PAT}`, `gh ${REDACTED} and ${REDACTED}`],
    [`slack ${SLACK}`, `slack ${REDACTED}`],
    [`stripe ${STRIPE}`, `stripe ${REDACTED}`],
    [`random ${B64} end`, `random ${REDACTED} end`],
    [`sha256 ${HEX}`, `sha256 ${REDACTED}`],
    [`-----BEGIN RSA PRIVATE KEY-----\n${KEY_BODY}\n-----END RSA PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----`],
    [`-----BEGIN PRIVATE KEY-----\n${KEY_BODY}`, `-----BEGIN PRIVATE KEY-----${REDACTED}`],
    ['foo:password=nested-SECRET', `foo:password=${REDACTED}`],
    // Secrets the hostile test found in exports: a secret said in words, a token as a path segment.
    ['aws secret is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', `aws secret is ${REDACTED}`],
    ['the db password was hunter2x9!', `the db password was ${REDACTED}!`],
    ['aws creds wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY loaded', `aws creds ${REDACTED} loaded`],
    ['GET /reset/tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0 200', `GET /reset/${REDACTED} 200`],
    ['GET /invite/9f8e7d6c5b4a39281706f5e4d3c2b1a0aa/accept', `GET /invite/${REDACTED}/accept`],
    ['child process 12: node -e x -- --api-key=PLANTED-apikey-7q3x', `child process 12: node -e x -- --api-key=${REDACTED}`],
    ['flush to https://user:Pw@logs.example/ingest?sig=abc', `flush to https://user:${REDACTED}@logs.example/ingest?sig=${REDACTED}`],
  ];
  for (const [input, expected] of cases) {
    test(`redacts: ${input.slice(0, 50)}`, () => {
      assert.equal(redactText(input), expected);
    });
  }

  test('leaves ordinary log lines, stack frames, addresses and identifiers alone', () => {
    const keep = [
      'listening on http://127.0.0.1:3000',
      '    at Server.close (/home/dev/app/src/server.ts:42:11)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      'SyntaxError: Unexpected token < in JSON at position 0',
      'request 550e8400-e29b-41d4-a716-446655440000 took 12 ms',
      'pod my-service-v2-deployment-7f9c8d6b5-x2k4p terminating',
      'commit 3f2a9c1 deployed at 2025-05-14T09:12:03.512Z',
      'TCP 127.0.0.1:8080 ← 127.0.0.1:52344',
      'file:///home/dev/app/dist/chunk-ShutdownTraceCollectorConnection.js:10:3',
      'closing session store',
      'SIGTERM received, draining 3 jobs',
      // Words after "secret is", paths and file names that only look like secrets.
      'the password is incorrect',
      'token was expired',
      'at loadSecrets (/app/src/secrets.js:15:8)',
      'test/fixtures/secrets.js:15:8',
      'GET /api/v1/users/12345/orders/67890',
      'loaded main.7f9c8d6b5e4a3b2c1d0e.js',
      'src/components/HeaderNavigationBar/index',
    ];
    for (const line of keep) assert.equal(redactText(line), line);
  });

  test('stays linear on hostile input (each 200 KB line well under a second)', () => {
    const hostile = [
      'token'.repeat(40_000),
      'pass'.repeat(50_000) + '=',
      '=a'.repeat(100_000),
      'a:'.repeat(100_000),
      'x='.repeat(100_000),
      'http://a:'.repeat(20_000),
      '--password '.repeat(20_000),
      '"password":"'.repeat(15_000),
      'aB3'.repeat(70_000) + '!',
      '-----BEGIN PRIVATE KEY-----'.repeat(7_000),
    ];
    for (const s of hostile) {
      const t0 = performance.now();
      redactText(s);
      const ms = performance.now() - t0;
      assert.ok(ms < 3000, `${ms.toFixed(0)} ms for ${JSON.stringify(s.slice(0, 20))}…`);
    }
  });

  test('is idempotent', () => {
    for (const [input] of cases) {
      const once = redactText(input);
      assert.equal(redactText(once), once, input);
    }
  });
});

describe('redactRequestPath', () => {
  test('keeps the path and parameter names, hides every query value and the fragment', () => {
    assert.equal(redactRequestPath('/reports/42?format=csv&token=abc&flag'), `/reports/42?format=${REDACTED}&token=${REDACTED}&flag`);
    assert.equal(redactRequestPath('/cb?code=xyz#access_token=frag'), `/cb?code=${REDACTED}#${REDACTED}`);
    assert.equal(redactRequestPath('/health'), '/health');
    assert.equal(redactRequestPath(`/reset/${JWT}`), `/reset/${REDACTED}`);
  });
});

// ------------------------------------------------------------------ whole traces

function handle(label: string, details: HandleInfo['details']): HandleInfo {
  return { id: 'hx', type: 'child-process', label, ref: true, createdAt: 100, details };
}

/** The leaked-interval fixture with a secret planted in every field redactTrace covers. */
function plantedTrace(): { trace: Trace; secrets: string[]; extra: string[] } {
  const trace = loadFixture('leaked-interval');
  const P = trace.meta.mainPid!;
  trace.meta.command = ['node', 'test/fixtures/leaked-interval.js', '--token', 'argv-SECRET-A', `--password=argv-SECRET-B`];
  trace.meta.complete = false;
  trace.meta.incompleteReason = 'collector lost: ws://127.0.0.1:9/?token=reason-SECRET-C';
  trace.processes[0].command = 'node test/fixtures/leaked-interval.js --token proc-SECRET-D';
  const extraEvents: TraceEvent[] = [
    { kind: 'spawn', t: 60, pid: P, childPid: 999, command: `node child.js --api-key spawn-SECRET-E` },
    { kind: 'orphan', t: 5422, pid: 999, ppid: P, command: 'node child.js --secret orphan-SECRET-F', stopped: true },
    { kind: 'listener-start', t: 401, pid: P, id: 'l2', signal: 'SIGTERM', name: 'close' },
    { kind: 'listener-end', t: 402, pid: P, id: 'l2', signal: 'SIGTERM', threw: `Error: login failed for postgres://u:threw-SECRET-G@db/x`, returnedPromise: true },
    { kind: 'listener-settled', t: 403, pid: P, id: 'l2', signal: 'SIGTERM', ok: false, error: `401 with Authorization: Bearer settled-SECRET-H` },
    { kind: 'phase-start', t: 403, pid: P, id: 'p9', name: `flush token=phase-SECRET-I` },
    { kind: 'phase-end', t: 404, pid: P, id: 'p9', error: `failed: ${GHP}` },
    {
      kind: 'error',
      t: 405,
      pid: P,
      origin: 'unhandledRejection',
      message: `bad key ${AWS_ID}`,
      stack: `Error: bad key ${AWS_ID}\n    at connect (/home/dev/shop-api/src/db.js:3:9) password=stack-SECRET-J`,
    },
    { kind: 'request-start', t: 406, pid: P, server: 's1', req: 'r9', method: 'GET', path: '/login?next=/home&session=req-SECRET-K' },
    {
      kind: 'handle-open',
      t: 407,
      pid: P,
      handle: handle(`child node worker.js --token label-SECRET-L`, { command: `node worker.js ${SLACK}`, password: 'detail-SECRET-M', env: 'DB_PASS=env-SECRET-N', pid: 999 }),
    },
    { kind: 'snapshot', t: 408, pid: P, reason: 'manual', handles: [handle(`watcher ${B64}`, { path: '/home/dev/shop-api/config' })], unidentified: [] },
    { kind: 'note', t: 409, pid: 0, text: `note with ${STRIPE}` },
    { kind: 'collector-rejected', t: 410, pid: 0, reason: `bad token header x-shutdown-trace-token: run-token-0123456789abcdef` },
    { kind: 'exit-call', t: 411, pid: P, code: `code ${JWT}` },
  ];
  trace.events.push(...extraEvents);
  trace.output.push(
    { t: 412, pid: P, stream: 'stderr', text: `DATABASE_URL=postgres://svc:out-SECRET-O@db:5432/app` },
    { t: 413, pid: P, stream: 'stdout', text: '-----BEGIN OPENSSH PRIVATE KEY-----' },
    { t: 414, pid: P, stream: 'stdout', text: 'b3BlbnNzaC1rZXktdjEplantedLINEone' },
    { t: 415, pid: P, stream: 'stdout', text: 'AAAAplantedLINEtwo' },
    { t: 416, pid: P, stream: 'stdout', text: '-----END OPENSSH PRIVATE KEY----- after' },
    { t: 417, pid: P, stream: 'stdout', text: 'the known value run-token-0123456789abcdef and s3cr3t/v@lue! in a log' },
  );
  const a = trace.analysis!;
  a.verdict = `Killed (token=verdict-SECRET-P)`;
  a.phases.push({ id: 'p9', pid: P, name: 'flush', start: 403, end: 404, depth: 0, auto: false, error: `Error: ${GHP}` });
  a.findings[0].detail = `detail with password: finding-SECRET-Q`;
  a.findings.find((f) => f.handles)!.handles!.push(handle('x', { token: 'finding-handle-SECRET-R' }));
  // An exact value the launcher knows, planted in places no pattern looks at.
  trace.events.push({ kind: 'request-start', t: 418, pid: P, server: 's1', req: 'r10', method: 'POST', path: `/hooks/${encodeURIComponent('s3cr3t/v@lue!')}` });
  trace.processes[0].node = 'v20 s3cr3t/v@lue!';
  const secrets = [
    'argv-SECRET-A',
    'argv-SECRET-B',
    'reason-SECRET-C',
    'proc-SECRET-D',
    'spawn-SECRET-E',
    'orphan-SECRET-F',
    'threw-SECRET-G',
    'settled-SECRET-H',
    'phase-SECRET-I',
    GHP,
    AWS_ID,
    'stack-SECRET-J',
    'req-SECRET-K',
    'label-SECRET-L',
    SLACK,
    'detail-SECRET-M',
    'env-SECRET-N',
    'DB_PASS',
    B64,
    STRIPE,
    'run-token-0123456789abcdef',
    JWT,
    'out-SECRET-O',
    'plantedLINEone',
    'plantedLINEtwo',
    'verdict-SECRET-P',
    'finding-SECRET-Q',
    'finding-handle-SECRET-R',
    's3cr3t/v@lue!',
    encodeURIComponent('s3cr3t/v@lue!'),
  ];
  return { trace, secrets, extra: ['run-token-0123456789abcdef', 's3cr3t/v@lue!', 'ab'] };
}

describe('redactTrace', () => {
  test('removes every planted secret from the whole trace', () => {
    const { trace, secrets, extra } = plantedTrace();
    const before = JSON.stringify(trace);
    for (const s of secrets) assert.ok(before.includes(s), `test setup: ${s} was planted`);
    const out = JSON.stringify(redactTrace(trace, extra));
    assertGone(out, secrets);
    assert.ok((out.match(/«redacted»/g) ?? []).length >= secrets.length - 5, 'secrets were replaced by the marker');
  });

  test('keeps ordinary content, structure and times', () => {
    const { trace, extra } = plantedTrace();
    const out = redactTrace(trace, extra);
    assert.deepEqual(out.meta.command, ['node', 'test/fixtures/leaked-interval.js', '--token', REDACTED, `--password=${REDACTED}`]);
    assert.equal(out.events.length, trace.events.length);
    assert.deepEqual(
      out.events.map((e) => [e.kind, e.t, e.pid]),
      trace.events.map((e) => [e.kind, e.t, e.pid]),
    );
    assert.equal(out.output.length, trace.output.length);
    // The run's own events and output (no secret in them) come back as they were.
    const stalled = (t: Trace) => t.events.find((e) => e.kind === 'snapshot' && e.reason === 'stalled') as Extract<TraceEvent, { kind: 'snapshot' }>;
    assert.equal(stalled(out).handles[0].label, 'setInterval 1000 ms');
    assert.deepEqual(stalled(out).handles, stalled(trace).handles);
    assert.equal(stalled(out).handles[0].site!.frames[0].file, `${trace.meta.cwd}/test/fixtures/leaked-interval.js`);
    assert.deepEqual(out.output[0], trace.output[0]);
    assert.equal(out.output[0].text, 'listening');
    assert.equal(out.meta.incompleteReason, `collector lost: ws://127.0.0.1:9/?token=${REDACTED}`);
    assert.equal(out.processes[0].command, `node test/fixtures/leaked-interval.js --token ${REDACTED}`);
    assert.equal(out.format, 'shutdown-trace');
    assert.doesNotThrow(() => validateTrace(JSON.parse(JSON.stringify(out))));
  });

  test('field by field', () => {
    const { trace, extra } = plantedTrace();
    const out = redactTrace(trace, extra);
    // The planted events come after the run's own of the same kind.
    const own = (kind: string) => loadFixture('leaked-interval').events.filter((e) => e.kind === kind).length;
    const ev = <K extends TraceEvent['kind']>(kind: K, i = 0) => out.events.filter((e) => e.kind === kind)[own(kind) + i] as Extract<TraceEvent, { kind: K }>;
    assert.equal(ev('spawn').command, `node child.js --api-key ${REDACTED}`);
    assert.equal(ev('orphan').command, `node child.js --secret ${REDACTED}`);
    assert.equal(ev('listener-end').threw, `Error: login failed for postgres://u:${REDACTED}@db/x`);
    assert.equal(ev('listener-settled').error, `401 with Authorization: Bearer ${REDACTED}`);
    assert.equal(ev('phase-start').name, `flush token=${REDACTED}`);
    assert.equal(ev('error').message, `bad key ${REDACTED}`);
    assert.match(ev('error').stack!, /at connect \(\/home\/dev\/shop-api\/src\/db\.js:3:9\) password=«redacted»$/);
    assert.equal(ev('request-start', 0).path, `/login?next=${REDACTED}&session=${REDACTED}`);
    assert.equal(ev('request-start', 1).path, `/hooks/${REDACTED}`);
    const h = ev('handle-open').handle; // the planted child
    assert.equal(h.label, `child node worker.js --token ${REDACTED}`);
    assert.deepEqual(h.details, { command: `node worker.js ${REDACTED}`, password: REDACTED, env: REDACTED, pid: 999 });
    assert.equal(ev('note').text, `note with ${REDACTED}`);
    assert.equal(ev('collector-rejected').reason, `bad token header x-shutdown-trace-token: ${REDACTED}`);
    assert.equal(ev('exit-call').code, `code ${REDACTED}`);
    const texts = out.output.map((o) => o.text);
    assert.deepEqual(texts.slice(-6), [
      `DATABASE_URL=postgres://svc:${REDACTED}@db:5432/app`,
      `-----BEGIN OPENSSH PRIVATE KEY-----${REDACTED}`,
      REDACTED,
      REDACTED,
      `${REDACTED}-----END OPENSSH PRIVATE KEY----- after`,
      `the known value ${REDACTED} and ${REDACTED} in a log`,
    ]);
    assert.equal(out.analysis!.verdict, `Killed (token=${REDACTED})`);
    assert.equal(out.analysis!.findings[0].detail, `detail with password: ${REDACTED}`);
    assert.equal(out.processes[0].node, `v20 ${REDACTED}`);
  });

  test('returns a deep copy and leaves the input untouched', () => {
    const { trace, extra } = plantedTrace();
    const snapshot = JSON.stringify(trace);
    const out = redactTrace(trace, extra);
    assert.equal(JSON.stringify(trace), snapshot);
    assert.notEqual(out, trace);
    assert.notEqual(out.events, trace.events);
    assert.notEqual(out.meta, trace.meta);
  });

  test('exact extra secrets shorter than 4 characters are ignored, structural fields are never rewritten', () => {
    const trace = loadFixture('graceful-two-processes');
    const out = redactTrace(trace, ['de', 'snapshot', 'SIGTERM']);
    const line = (text: string): number => {
      const i = trace.output.findIndex((l) => l.text === text);
      assert.ok(i >= 0, `the run printed "${text}"`);
      return i;
    };
    assert.equal(out.output[line('SIGTERM: shutting down')].text, `${REDACTED}: shutting down`, 'the exact value is replaced in text');
    assert.ok(
      out.events.some((e) => e.kind === 'snapshot'),
      'kind values stay as they are',
    );
    assert.equal(out.meta.cwd, '/srv/reports', 'a 2-char value does not wreck unrelated text');
    assert.equal(out.output[line('worker: draining 3 jobs')].text, 'worker: draining 3 jobs');
  });

  test('a clean trace comes back equal apart from query values', () => {
    const trace = loadFixture('graceful-two-processes');
    // The preload records request paths without their query; a path with one (an older preload's) loses its values.
    const i = trace.events.findIndex((e) => e.kind === 'request-start');
    assert.ok(i >= 0, 'the run recorded the request in flight at SIGTERM');
    (trace.events[i] as Extract<TraceEvent, { kind: 'request-start' }>).path = '/reports/42?format=csv';
    const out = redactTrace(trace);
    const req = out.events[i] as Extract<TraceEvent, { kind: 'request-start' }>;
    assert.equal(req.path, `/reports/42?format=${REDACTED}`);
    req.path = '/reports/42?format=csv';
    assert.deepEqual(out, trace);
  });
});

describe('redactTrace: leaks and platform events', () => {
  test("a leak's title, fix, handles and owner, and platform events are redacted", () => {
    const trace = loadFixture('leaked-interval');
    const P = trace.meta.mainPid!;
    const h = handle('child process 7: node w.js --api-key=leak-SECRET-1', { command: 'node w.js --token leak-SECRET-2' });
    h.owner = { id: 'o1', name: 'pg Pool postgres://u:leak-SECRET-3@db/x', via: 'reachable', path: 'conn?token=leak-SECRET-4' };
    trace.analysis!.leaks = [{ pid: P, title: 'child process 7: node w.js --api-key=leak-SECRET-1', handles: [h], count: 1, inUserCode: true, fix: 'kill it (token=leak-SECRET-5)' }];
    trace.events.push({
      kind: 'platform',
      t: 5000,
      pid: P,
      what: 'zombie',
      text: 'zombie node w.js --password=plat-SECRET-6',
      command: 'node w.js --secret plat-SECRET-7',
      message: 'READY=1 token=plat-SECRET-8',
    } as TraceEvent);
    const out = JSON.stringify(redactTrace(trace));
    assertGone(out, ['leak-SECRET-1', 'leak-SECRET-2', 'leak-SECRET-3', 'leak-SECRET-4', 'leak-SECRET-5', 'plat-SECRET-6', 'plat-SECRET-7', 'plat-SECRET-8']);
  });
});
