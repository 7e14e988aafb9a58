/**
 * The npm package: only the compiled construct (for cdktf and for cdktn), the host files and the
 * package documents, and entry points that the build (tsconfig.build.json, then
 * scripts/build-cdktn.js) produces.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));

/** Where tsc -p tsconfig.build.json writes the output of a source file. */
function compiled(source: string, extension: '.js' | '.d.ts'): string {
  return `lib/${source.replace(/\.ts$/, extension)}`;
}

describe('npm package', () => {
  test('main, types and exports point at the compiled src/index.ts', () => {
    expect(fs.existsSync(path.join(ROOT, 'src', 'index.ts'))).toBe(true);
    expect(manifest.main).toBe(compiled('src/index.ts', '.js'));
    expect(manifest.types).toBe(compiled('src/index.ts', '.d.ts'));
    expect(manifest.exports['.']).toEqual({ types: `./${manifest.types}`, default: `./${manifest.main}` });
  });

  test('the cdktn entry point is the cdktn build of the same sources, for node and for TypeScript', () => {
    expect(manifest.exports['./cdktn']).toEqual({ types: './lib/cdktn/index.d.ts', default: './lib/cdktn/index.js' });
    // TypeScript's node10 resolution (the cdktf and cdktn init templates) does not read exports.
    expect(manifest.typesVersions).toEqual({ '*': { cdktn: ['lib/cdktn/index.d.ts'] } });
    expect(manifest.files).toEqual(expect.arrayContaining(['lib/src', 'lib/cdktn']));
  });

  test('each framework and its bindings is an optional peer: a project installs one of them', () => {
    const frameworks = Object.keys(manifest.peerDependencies).filter((name) => name !== 'constructs');
    expect(frameworks.sort()).toEqual([
      '@cdktf/provider-aws',
      '@cdktf/provider-random',
      '@cdktn/provider-aws',
      '@cdktn/provider-random',
      'cdktf',
      'cdktn',
    ]);
    for (const name of frameworks) expect([name, manifest.peerDependenciesMeta[name]]).toEqual([name, { optional: true }]);
  });

  test('prepack compiles with the build configuration, then maps the compiled construct to cdktn', () => {
    expect(manifest.scripts.prepack).toMatch(/tsc -p tsconfig\.build\.json && node scripts\/build-cdktn\.js$/);
  });

  test('npm pack holds only built files, host files and the package documents', () => {
    // --ignore-scripts: prepack would recompile lib/ under the feet of tests running in parallel.
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf-8', timeout: 60_000 });
    expect(pack.status).toBe(0);
    const files: string[] = JSON.parse(pack.stdout)[0].files.map((file: { path: string }) => file.path);
    const unexpected = files.filter(
      (file) =>
        !/^lib\/(src|cdktn)\/.+\.(js|d\.ts)$/.test(file) &&
        !/^userdata\//.test(file) &&
        !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file),
    );
    expect(unexpected).toEqual([]);
    expect(files.filter((file) => file.includes('__pycache__'))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'CHANGELOG.md',
        'userdata/host/usr/local/libexec/ssh-bastion/run-sections',
        'userdata/worker/Dockerfile',
      ]),
    );
  });
});
