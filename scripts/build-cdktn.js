#!/usr/bin/env node
// The construct for CDK Terrain (cdktn), the `ssh-bastion-service/cdktn` entry point: lib/cdktn/ is
// the compiled construct of lib/src/ (tsc -p tsconfig.build.json), code and declarations, with the
// module names mapped:
//   cdktf                      → cdktn
//   @cdktf/provider-aws/...    → @cdktn/provider-aws/...
//   @cdktf/provider-random/... → @cdktn/provider-random/...
// Any other cdktf module name stops the build: it would have no cdktn counterpart (there is no
// @cdktn/provider-tls; the construct declares tls_private_key itself, src/tls-private-key.ts).
//
//   node scripts/build-cdktn.js [--from <dir>] [--out <dir>]   default: lib/src → lib/cdktn
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

/** cdktf module → its cdktn counterpart; a deep import keeps its path (`/lib/s3-bucket`). */
const CDKTN_MODULES = {
  cdktf: 'cdktn',
  '@cdktf/provider-aws': '@cdktn/provider-aws',
  '@cdktf/provider-random': '@cdktn/provider-random',
};

/** A quoted module name of cdktf or one of its packages: "cdktf", '@cdktf/provider-aws/lib/lb', ... */
const CDKTF_MODULE = /(["'])((?:cdktf|@cdktf\/[a-z0-9-]+)(?:\/[^"'\s]*)?)\1/g;

/** `source` (a compiled .js or .d.ts) with every cdktf module name mapped; throws on one without a counterpart. */
function mapModules(source, file = 'source') {
  return source.replace(CDKTF_MODULE, (_quoted, quote, name) => {
    const base = Object.keys(CDKTN_MODULES).find((module) => name === module || name.startsWith(`${module}/`));
    if (base === undefined)
      throw new Error(`${file} imports ${name}, which has no cdktn counterpart (known: ${Object.keys(CDKTN_MODULES).join(', ')})`);
    return `${quote}${CDKTN_MODULES[base]}${name.slice(base.length)}${quote}`;
  });
}

/** Writes `to` from the .js and .d.ts files of `from` (recursively); returns the files written, relative to `to`. */
function writeCdktnLib(from, to) {
  if (!fs.existsSync(path.join(from, 'index.js'))) throw new Error(`${from} has no index.js: compile first (tsc -p tsconfig.build.json)`);
  fs.rmSync(to, { recursive: true, force: true });
  const written = [];
  const walk = (relative) => {
    for (const entry of fs.readdirSync(path.join(from, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (/\.(js|d\.ts)$/.test(entry.name)) {
        const source = fs.readFileSync(path.join(from, child), 'utf-8');
        fs.mkdirSync(path.dirname(path.join(to, child)), { recursive: true });
        fs.writeFileSync(path.join(to, child), mapModules(source, child));
        written.push(child);
      }
    }
  };
  walk('');
  return written;
}

module.exports = { CDKTN_MODULES, mapModules, writeCdktnLib };

if (require.main === module) {
  const option = (flag, fallback) => {
    const at = process.argv.indexOf(flag);
    if (at < 0) return fallback;
    if (!process.argv[at + 1]) throw new Error(`${flag} needs a directory`);
    return path.resolve(process.argv[at + 1]);
  };
  const from = option('--from', path.join(root, 'lib', 'src'));
  const to = option('--out', path.join(root, 'lib', 'cdktn'));
  const written = writeCdktnLib(from, to);
  console.log(`wrote ${path.relative(root, to) || to}/: ${written.length} files, cdktf module names mapped to cdktn`);
}
