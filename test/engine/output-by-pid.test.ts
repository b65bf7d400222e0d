/**
 * Output lines belong to the pid that wrote them, also when processes share one pipe (cluster
 * workers inherit the primary's stdout): each line's pid is the pid the line itself names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTraced, node } from './helpers';

test('cluster: the primary and each worker have their own lines', async () => {
  const r = await runTraced(node('cluster-output.js'), { delivery: 'group', graceMs: 2000 });
  const lines = r.trace.output.filter((o) => /^(primary|worker) \d+ up$/.test(o.text));
  assert.equal(lines.length, 3, r.trace.output.map((o) => `${o.pid} ${o.text}`).join('\n'));
  for (const l of lines) assert.equal(l.pid, Number(l.text.split(' ')[1]), `"${l.text}" filed under ${l.pid}`);
  const main = r.trace.meta.mainPid;
  assert.equal(r.trace.output.find((o) => o.text === 'listening')?.pid, main);
  assert.equal(new Set(lines.map((l) => l.pid)).size, 3);
  // Matching is by content: no line is filed twice, none is lost.
  assert.equal(r.stdout.split('\n').filter((l) => /^(primary|worker) \d+ up$/.test(l)).length, 3);
});
