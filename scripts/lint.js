#!/usr/bin/env node
// npm run lint: every linter of the repository, each on all of its files, at once; prints what
// they find and exits 1 when any finds something. test/lint/lint.test.ts runs the same linters in
// npm test.
//   ESLint      TypeScript and JavaScript (eslint.config.mjs)
//   Prettier    layout of TypeScript, JavaScript and JSON, checked, not written (.prettierrc.json)
//   ShellCheck  every shell script (.shellcheckrc), found by its #! line or .sh
//   flake8      every Python program (.flake8), found by its #! line or .py: host programs have no suffix
//
//   node scripts/lint.js [eslint|prettier|shellcheck|flake8 ...]   only the linters named
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const root = path.resolve(__dirname, '..');

/** Where programs are looked for: what ships to hosts, the build and CI scripts, test and benchmark helpers. */
const PROGRAM_DIRS = ['userdata', 'scripts', 'test', 'bench', '.ci'];
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__', '__snapshots__']);
const SHELLS = new Set(['sh', 'bash', 'dash']);

/** Repository-relative paths of the files below `dir`, sorted. */
function filesBelow(dir) {
  if (!fs.existsSync(path.join(root, dir))) return [];
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((entry) => !SKIPPED_DIRS.has(entry.name))
    .flatMap((entry) => {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) return filesBelow(rel);
      return entry.isFile() ? [rel] : [];
    })
    .sort();
}

/** The program named by a file's #! line (`/usr/bin/env bash` and `/bin/bash` give `bash`), or undefined. */
function interpreter(file) {
  const head = Buffer.alloc(128);
  const descriptor = fs.openSync(path.join(root, file), 'r');
  const length = fs.readSync(descriptor, head, 0, head.length, 0);
  fs.closeSync(descriptor);
  const match = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(head.toString('utf8', 0, length));
  if (!match) return undefined;
  const program = path.basename(match[1]);
  return program === 'env' && match[2] ? path.basename(match[2]) : program;
}

/** The shell scripts and Python programs of the repository. */
function programs() {
  const files = PROGRAM_DIRS.flatMap(filesBelow);
  return {
    shell: files.filter((file) => file.endsWith('.sh') || SHELLS.has(interpreter(file) ?? '')),
    python: files.filter((file) => file.endsWith('.py') || /^python3(\.\d+)?$/.test(interpreter(file) ?? '')),
  };
}

/** The script of an npm package's command, run with this Node. */
function packageBin(name) {
  const manifest = require.resolve(`${name}/package.json`);
  const { bin } = require(manifest);
  return path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin[name]);
}

/** Each linter: how it is run, and where its tool comes from when it is missing. */
const LINTERS = {
  eslint: () => ({ command: process.execPath, args: [packageBin('eslint'), '--max-warnings=0', '.'], from: 'npm ci' }),
  // Markdown stays out: Prettier pads every table row to the widest cell, which rewrites a whole
  // table for a one-cell change and turns the docs' tables into lines of hundreds of characters.
  prettier: () => ({
    command: process.execPath,
    args: [packageBin('prettier'), '--check', '--log-level=warn', '**/*.{ts,js,mjs,json}'],
    from: 'npm ci',
  }),
  shellcheck: () => ({ command: 'shellcheck', args: ['--format=gcc', ...programs().shell], from: 'the Debian package shellcheck' }),
  flake8: () => ({ command: 'flake8', args: programs().python, from: 'the Debian package flake8' }),
};

/** Runs one linter: its status and everything it printed. */
function lint(name) {
  const { command, args, from } = LINTERS[name]();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) =>
      resolve({ name, status: null, output: `${name} could not run (${error.message}): install ${from} (scripts/setup.sh does)\n` }),
    );
    child.on('close', (status) => resolve({ name, status, output }));
  });
}

module.exports = { LINTERS, lint, programs };

if (require.main === module) {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in LINTERS));
  if (unknown.length > 0) {
    console.error(`unknown linter ${unknown.join(', ')}; known: ${Object.keys(LINTERS).join(', ')}`);
    process.exit(2);
  }
  const started = Date.now();
  Promise.all((names.length > 0 ? names : Object.keys(LINTERS)).map(lint)).then((results) => {
    for (const { name, status, output } of results) {
      if (output !== '') process.stdout.write(`${name}:\n${output}${output.endsWith('\n') ? '' : '\n'}`);
      console.log(`${name}: ${status === 0 && output === '' ? 'ok' : 'FAILED'}`);
    }
    console.log(`lint: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(results.every(({ status, output }) => status === 0 && output === '') ? 0 : 1);
  });
}
