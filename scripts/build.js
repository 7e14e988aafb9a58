#!/usr/bin/env node
// npm run build: synthesizes the app and writes the registry module, ready to publish:
//   main/variables/outputs/versions .tf.json  sorted keys, no cdktf metadata, no absolute paths
//   README.md                                  module/README.md with generated Inputs/Outputs (scripts/docs.js)
//   LICENSE                                    from module/
//   CHANGELOG.md                               from the root (the package's and the module's)
//   examples/<name>/                           the .tf and .md files of examples/<name>/ (the folders with .tf files)
//   ssh-bastion-host.tar.gz                    the host bundle (userdata/host and userdata/worker),
//                                              which the module uploads to S3 and the hosts fetch
// The same sources give the same bytes: nothing depends on the time, the machine or the output path.
//
//   node scripts/build.js [--out <dir>]   default dir: dist/terraform-aws-ssh-bastion-service
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { splitModule } = require('./module-files');
const { readmeForModule } = require('./docs');

const root = path.resolve(__dirname, '..');
const MODULE = 'terraform-aws-ssh-bastion-service';
/** Files published as they are, from module/ or, for the CHANGELOG shared with the npm package, the root. */
const MODULE_FILES = ['LICENSE', 'CHANGELOG.md'];
const MODULE_FILE_SOURCES = { LICENSE: path.join('module', 'LICENSE'), 'CHANGELOG.md': 'CHANGELOG.md' };
/** What an example folder publishes; local state, lock files and .terraform/ stay behind. */
const EXAMPLE_FILE = /^[^.].*\.(tf|md)$/;

function outputDir(argv) {
  const flag = argv.indexOf('--out');
  if (flag < 0) return path.join(root, 'dist', MODULE);
  const dir = argv[flag + 1];
  if (!dir) throw new Error('--out needs a directory');
  return path.resolve(dir);
}

function synthesize() {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-bastion-synth-'));
  try {
    execFileSync(process.execPath, [path.join(__dirname, 'run-app.js')], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
    });
    return JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', MODULE, 'cdk.tf.json'), 'utf-8'));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** examples/<name>/<file> → <target>/examples/<name>/<file>, in sorted order. */
function copyExamples(target) {
  const source = path.join(root, 'examples');
  const written = [];
  for (const name of fs.readdirSync(source).sort()) {
    const dir = path.join(source, name);
    // examples/cdktf is a CDKTF app, not a Terraform example of the module: it is not published with it.
    if (!fs.statSync(dir).isDirectory() || !fs.readdirSync(dir).some((file) => file.endsWith('.tf'))) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      if (!EXAMPLE_FILE.test(file) || !fs.statSync(path.join(dir, file)).isFile()) continue;
      fs.mkdirSync(path.join(target, 'examples', name), { recursive: true });
      fs.copyFileSync(path.join(dir, file), path.join(target, 'examples', name, file));
      written.push(`examples/${name}/${file}`);
    }
  }
  return written;
}

function main() {
  const target = outputDir(process.argv.slice(2));
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));
  const moduleFiles = splitModule(synthesize());

  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  for (const [file, content] of Object.entries(moduleFiles)) {
    fs.writeFileSync(path.join(target, file), content);
  }
  fs.writeFileSync(path.join(target, 'README.md'), readmeForModule(target, version));
  for (const file of MODULE_FILES) {
    fs.copyFileSync(path.join(root, MODULE_FILE_SOURCES[file]), path.join(target, file));
  }
  const examples = copyExamples(target);
  // Compiled by synthesize() (scripts/run-app.js); the same function the construct uses.
  const { buildHostBundle, BUNDLE_FILE_NAME } = require(path.join(root, 'lib', 'src', 'bundle.js'));
  const bundle = buildHostBundle(path.join(root, 'userdata'));
  if (!moduleFiles['main.tf.json'].includes(bundle.sha256)) {
    throw new Error(`main.tf.json does not name the bundle's sha256 ${bundle.sha256}: the module and its bundle disagree`);
  }
  fs.writeFileSync(path.join(target, BUNDLE_FILE_NAME), bundle.bytes);

  const written = [...Object.keys(moduleFiles), 'README.md', ...MODULE_FILES, ...examples, BUNDLE_FILE_NAME];
  console.log(`wrote ${path.relative(root, target) || target}/: ${written.join(', ')}`);
}

main();
