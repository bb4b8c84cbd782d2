// The gate component in another host: Node via jco. It must give the same verdict,
// findings and next clear start as the plangate CLI on the same input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const plangate = process.env.PLANGATE_BIN ?? join(root, 'target', 'release', 'plangate');
const sample = join(root, 'tests', 'fixtures', 'seed-sample-response.json');
const mixed = join(root, 'tests', 'fixtures', 'region-mixed-response.json');

function cli(args) {
  try {
    return { code: 0, out: execFileSync(plangate, args, { encoding: 'utf8' }) };
  } catch (e) {
    return { code: e.status, out: e.stdout };
  }
}

// Transpile once: `plangate component path` tells where the component is.
const componentPath = cli(['component', 'path']).out.trim();
const outDir = mkdtempSync(join(tmpdir(), 'plangate-jco-'));
execFileSync(join(here, 'node_modules', '.bin', 'jco'),
  ['transpile', componentPath, '-o', outDir, '--name', 'gate', '--quiet'], { stdio: 'inherit' });
const gate = await import(pathToFileURL(join(outDir, 'gate.js')).href);

function parseRfc3339(s) {
  const ms = Date.parse(s);
  const m = /([+-])(\d\d):(\d\d)$/.exec(s);
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  return { epochSeconds: BigInt(Math.floor(ms / 1000)), nanos: 0, offsetMinutes: offset };
}

function format(ts) {
  const off = ts.offsetMinutes;
  const local = new Date((Number(ts.epochSeconds) + off * 60) * 1000).toISOString().slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function evaluate(bodyPath, at, minutes, clusterId) {
  const plans = gate.plans.parseResponse(readFileSync(bodyPath, 'utf8'));
  for (const p of plans) p.region = 'cn-hangzhou';
  const start = parseRfc3339(at);
  const end = { ...start, epochSeconds: start.epochSeconds + BigInt(minutes * 60) };
  const engine = gate.policy.Engine.compile(gate.policy.defaultPolicy());
  return engine.evaluate(plans, {
    deploy: { start, end },
    clusterId,
    horizonSeconds: 14n * 86400n,
  });
}

function sameAsCli(decision, cliJson) {
  assert.equal(decision.verdict, cliJson.verdict);
  assert.equal(decision.plansConsidered, cliJson.plans_considered);
  assert.equal(decision.nextClearStart ? format(decision.nextClearStart) : null, cliJson.next_clear_start);
  assert.deepEqual(
    decision.findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      plan_id: f.planId ?? null,
      conflict: f.conflict ? { start: format(f.conflict.start), end: format(f.conflict.end) } : null,
      message: f.message,
    })),
    cliJson.findings.map((f) => ({
      rule: f.rule, severity: f.severity, plan_id: f.plan_id, conflict: f.conflict, message: f.message,
    })),
  );
}

test('the component has the documented exports and a body size limit', () => {
  assert.equal(gate.plans.maxBodyBytes(), 8n * 1024n * 1024n);
  assert.match(gate.policy.defaultPolicy(), /name = "master-upgrade"/);
});

test('the bundled sample: same deny, findings and next clear start as the CLI', () => {
  const at = '2023-11-22T15:00:00+08:00';
  const decision = evaluate(sample, at, 60, undefined);
  assert.equal(decision.verdict, 'deny');
  assert.equal(decision.findings[0].planId, 'P-655c9c127e0e6603ef00****');
  assert.equal(format(decision.nextClearStart), '2023-11-22T18:30:00+08:00');
  const r = cli(['check', '--region', 'cn-hangzhou', '--response', sample, '--at', at, '--format', 'json']);
  assert.equal(r.code, 1);
  sameAsCli(decision, JSON.parse(r.out));
});

test('the mixed region, one cluster: same warn as the CLI', () => {
  const at = '2026-12-03T18:30:00+08:00';
  const cluster = 'c1234567890abcdef1234567890abcdef';
  const decision = evaluate(mixed, at, 60, cluster);
  assert.equal(decision.verdict, 'warn');
  const r = cli(['check', '--region', 'cn-hangzhou', '--response', mixed, '--cluster', cluster, '--at', at, '--format', 'json']);
  assert.equal(r.code, 0);
  sameAsCli(decision, JSON.parse(r.out));
});

test('parse errors surface as errors with a message', () => {
  assert.throws(() => gate.plans.parseResponse('{"plans": [1]}'), (e) => {
    const payload = e.payload ?? e;
    return /plans\[0\] must be an object/.test(payload.message);
  });
  assert.throws(() => gate.policy.Engine.compile('version = 1\n[[rule]]\nkind = "nope"\n'), (e) =>
    /unknown kind/.test((e.payload ?? e).message));
});
