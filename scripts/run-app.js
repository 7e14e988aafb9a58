#!/usr/bin/env node
// Compiles the app and runs it: the command cdktf.json gives `cdktf synth` and `cdktf deploy`.
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
  cwd: root,
});
require(path.join(root, 'lib', 'main.js'));
