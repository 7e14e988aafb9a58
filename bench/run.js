#!/usr/bin/env node
// Runs the benchmarks: `node bench/run.js` (all, one child process each) or `node bench/run.js <name>...`.
// Each bench is bench/<name>.bench.ts, compiled on the fly with @swc/core; it prints a table and,
// as its last line, one JSON object with its figures. Benchmarks are not part of the test suite.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const BENCHES = [
  'iam-calls',
  'login-latency',
  'concurrent-logins',
  'held-connections',
  'idle-connections',
  'tunnel-throughput',
  'session-density',
  'audit-shipper',
  'build',
];

function registerTypeScript() {
  const swc = require('@swc/core');
  require.extensions['.ts'] = (module, filename) => {
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    });
    module._compile(code, filename);
  };
}

async function runOne(name) {
  registerTypeScript();
  const file = path.join(__dirname, `${name}.bench.ts`);
  const bench = require(file);
  const figures = await bench.run();
  // the last line of the output: the figures as one JSON object
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

function main() {
  const names = process.argv.slice(2);
  for (const n of names) {
    if (!BENCHES.includes(n)) {
      console.error(`unknown bench ${n}; known: ${BENCHES.join(', ')}`);
      process.exit(2);
    }
  }
  if (names.length === 1) {
    runOne(names[0]).then(
      () => process.exit(0),
      (err) => {
        console.error(err && err.stack ? err.stack : err);
        process.exit(1);
      },
    );
    return;
  }
  // several (or all): one child process per bench, so each cleans up on its own
  let failed = 0;
  for (const name of names.length ? names : BENCHES) {
    console.log(`\n=== bench ${name} ===`);
    const r = spawnSync(process.execPath, [__filename, name], { stdio: 'inherit' });
    if (r.status !== 0) {
      failed++;
      console.error(`bench ${name} failed (status ${r.status ?? r.signal})`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
