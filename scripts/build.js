#!/usr/bin/env node
// npm run build: synthesizes the app and writes the registry module to dist/<module>/ as
// main/variables/outputs/versions .tf.json: sorted keys, no cdktf metadata, no absolute paths.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { splitModule } = require('./module-files');

const root = path.resolve(__dirname, '..');
const MODULE = 'terraform-aws-ssh-bastion-service';

function main() {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-bastion-synth-'));
  try {
    execFileSync(process.execPath, [path.join(__dirname, 'run-app.js')], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
    });
    const synthesized = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', MODULE, 'cdk.tf.json'), 'utf-8'));
    const target = path.join(root, 'dist', MODULE);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target, { recursive: true });
    for (const [file, content] of Object.entries(splitModule(synthesized))) {
      fs.writeFileSync(path.join(target, file), content);
    }
    console.log(`wrote ${path.relative(root, target)}/: ${Object.keys(splitModule(synthesized)).join(', ')}`);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

main();
