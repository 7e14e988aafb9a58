/**
 * The npm package: only the compiled construct, the host files and the package documents, and
 * entry points that the build (tsconfig.build.json) produces.
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

  test('prepack compiles with the build configuration', () => {
    expect(manifest.scripts.prepack).toContain('tsc -p tsconfig.build.json');
  });

  test('npm pack holds only built files, host files and the package documents', () => {
    // --ignore-scripts: prepack would recompile lib/ under the feet of tests running in parallel.
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf-8', timeout: 60_000 });
    expect(pack.status).toBe(0);
    const files: string[] = JSON.parse(pack.stdout)[0].files.map((file: { path: string }) => file.path);
    const unexpected = files.filter(
      (file) => !/^lib\/src\/.+\.(js|d\.ts)$/.test(file) && !/^userdata\//.test(file) && !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file),
    );
    expect(unexpected).toEqual([]);
    expect(files.filter((file) => file.includes('__pycache__'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'CHANGELOG.md', 'userdata/host/usr/local/libexec/ssh-bastion/run-sections', 'userdata/worker/Dockerfile']));
  });
});
