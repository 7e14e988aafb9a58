#!/usr/bin/env node
// npm test (after the type check): the unit suites in parallel, then the end-to-end suites one
// at a time, in path order (each runs a dockerd, moto and many containers: in parallel on 2 cores
// they starve each other), then the whole host in a VM (test/vm, npm run test:vm), then one line
// with the totals of all runs: "N passed, N failed, N skipped".
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const results = path.join(root, '.ci', 'results.jsonl');
const jest = require.resolve('jest/bin/jest');

fs.rmSync(results, { force: true });
const runs = [
  ['--testPathIgnorePatterns', 'test/e2e', 'test/vm'],
  ['--runInBand', '--testSequencer', path.join(root, 'test', 'path-order-sequencer.js'), 'test/e2e'],
  ['--runInBand', 'test/vm'],
];
let status = 0;
for (const args of runs) {
  const run = spawnSync(process.execPath, [jest, ...args, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) status = 1;
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const lines = fs.existsSync(results) ? fs.readFileSync(results, 'utf-8').trim().split('\n').filter(Boolean) : [];
for (const line of lines) {
  const run = JSON.parse(line);
  for (const key of Object.keys(totals)) totals[key] += run[key];
  failures.push(...(run.failures ?? []));
}
if (lines.length < runs.length) {
  totals.failed += runs.length - lines.length;
  status = 1;
}
fs.writeFileSync(path.join(root, '.ci', 'results.json'), JSON.stringify(totals));
if (failures.length > 0) console.log(`\nFailed tests of all runs:\n${failures.join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
