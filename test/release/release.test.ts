/**
 * scripts/release.js: the checks as functions, the refusals through the real command line (they
 * happen before the test step, so the test suite never runs from here) and one whole release in a
 * scratch copy with the test and build steps replaced.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeDir, tempDir } from '../helpers/terraform';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ is CommonJS without type declarations
const releaseScript = require('../../scripts/release.js');
const { release, versionProblem, changelogProblem, datedChangelog, compareVersions, ReleaseRefused } = releaseScript;

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'release.js');

const CHANGELOG = [
  '# Changelog',
  '',
  '## [1.2.0] - Unreleased',
  '',
  '### Added',
  '- Something.',
  '',
  '## [1.1.0] - 2026-01-05',
  '',
  '### Fixed',
  '- Something else.',
  '',
].join('\n');

function runCli(...args: string[]) {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf-8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

/** A scratch project: package.json at `version` and CHANGELOG.md. */
function scratchProject(version: string, changelog: string): string {
  const dir = tempDir('release-test-');
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'scratch', version, private: true }, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), changelog);
  return dir;
}

const quiet = () => undefined;

describe('release: version check', () => {
  test.each(['0.1.0', '1.2.0', '10.20.30', '1.0.0-rc.1', '1.2.0+build.5', '1.0.0-alpha.beta+exp.sha.5114f85'])('accepts %s', (version) => {
    expect(versionProblem(version)).toBeUndefined();
  });

  test.each(['1.2', '1', '1.2.0.0', '01.2.0', '1.02.0', 'latest', '1.2.0-', ' 1.2.0'])('fails when the version is %p', (version) => {
    expect(versionProblem(version)).toMatch(/is not semver/);
  });

  test('fails when the version has a v, and says to drop it', () => {
    expect(versionProblem('v1.2.0')).toBe('version v1.2.0 is not semver: write 1.2.0 (the git tag gets the v)');
  });

  test('fails when no version is given', () => {
    expect(versionProblem(undefined)).toMatch(/no version given/);
  });

  test('orders versions by semver precedence', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    // semver 2.0.0 section 11: numeric identifiers compare as numbers, numbers before words,
    // more identifiers after fewer.
    expect(compareVersions('0.2.0-rc.10', '0.2.0-rc.9')).toBe(1);
    expect(compareVersions('1.0.0-alpha.1', '1.0.0-alpha.beta')).toBe(-1);
    expect(compareVersions('1.0.0-alpha', '1.0.0-alpha.1')).toBe(-1);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(compareVersions('1.0.0+build.1', '1.0.0')).toBe(0);
  });
});

describe('release: CHANGELOG check', () => {
  test('accepts a version with a non-empty entry', () => {
    expect(changelogProblem(CHANGELOG, '1.2.0')).toBeUndefined();
    expect(changelogProblem(CHANGELOG, '1.1.0')).toBeUndefined();
  });

  test('fails when the CHANGELOG has no entry for the version', () => {
    expect(changelogProblem(CHANGELOG, '1.3.0')).toBe('CHANGELOG.md has no "## [1.3.0]" entry: describe the release there first');
  });

  test('fails when only a longer version matches the prefix', () => {
    expect(changelogProblem('## [1.2.0-rc.1] - Unreleased\n\n- x\n', '1.2.0')).toMatch(/has no "## \[1.2.0\]" entry/);
  });

  test('fails when the entry is empty', () => {
    expect(changelogProblem('## [1.3.0] - Unreleased\n\n## [1.2.0]\n\n- x\n', '1.3.0')).toMatch(/entry of CHANGELOG.md is empty/);
  });

  test('fails when the changes are still under [Unreleased], and says to rename it', () => {
    expect(changelogProblem('## [Unreleased]\n\n- x\n', '1.3.0')).toMatch(/rename "## \[Unreleased\]" to "## \[1.3.0\] - Unreleased"/);
  });

  test('dates the released entry only', () => {
    const dated = datedChangelog(CHANGELOG, '1.2.0', '2026-11-23');
    expect(dated).toContain('## [1.2.0] - 2026-11-23\n');
    expect(dated).toContain('## [1.1.0] - 2026-01-05\n');
    expect(datedChangelog(dated, '1.2.0', '2027-01-01')).toBe(dated);
  });

  test('the module CHANGELOG has an entry for the package version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));
    expect(changelogProblem(fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf-8'), version)).toBeUndefined();
  });
});

describe('release: npm run release refuses from the command line', () => {
  test('fails when the version is not semver', () => {
    const result = runCli('1.2');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('release: refused: version "1.2" is not semver');
  });

  test('fails when no version is given', () => {
    const result = runCli();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('release: refused: no version given');
  });

  test('fails when the CHANGELOG has no entry for the version', () => {
    const result = runCli('99.99.99');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('release: refused: CHANGELOG.md has no "## [99.99.99]" entry');
  });
});

describe('release: the steps', () => {
  test('fails when the tests fail, and changes nothing', () => {
    // GIVEN a project whose tests fail
    const dir = scratchProject('1.1.0', CHANGELOG);
    const build = jest.fn(() => true);
    const snapshot = jest.fn(() => true);
    try {
      // WHEN releasing 1.2.0
      // THEN it is refused, nothing is built and nothing is stamped
      expect(() => release('1.2.0', { root: dir, runTests: () => false, runBuild: build, updateSnapshot: snapshot, log: quiet })).toThrow(
        ReleaseRefused,
      );
      expect(() => release('1.2.0', { root: dir, runTests: () => false, runBuild: build, updateSnapshot: snapshot, log: quiet })).toThrow(
        /the tests failed/,
      );
      expect(build).not.toHaveBeenCalled();
      expect(snapshot).not.toHaveBeenCalled();
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf-8')).version).toBe('1.1.0');
      expect(fs.readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf-8')).toBe(CHANGELOG);
    } finally {
      removeDir(dir);
    }
  });

  test('fails when the version is below the current one, before running the tests', () => {
    const dir = scratchProject('1.3.0', CHANGELOG);
    const tests = jest.fn(() => true);
    try {
      expect(() => release('1.2.0', { root: dir, runTests: tests, runBuild: () => true, log: quiet })).toThrow(
        'version 1.2.0 is below the current version 1.3.0',
      );
      expect(tests).not.toHaveBeenCalled();
    } finally {
      removeDir(dir);
    }
  });

  test('stamps the version, dates the CHANGELOG entry, builds and updates the published-files snapshot, after the tests pass', () => {
    // GIVEN a project at 1.1.0 with a 1.2.0 entry
    const dir = scratchProject('1.1.0', CHANGELOG);
    const steps: string[] = [];
    try {
      // WHEN releasing 1.2.0
      release('1.2.0', {
        root: dir,
        date: '2026-11-23',
        runTests: () => steps.push('test') > 0,
        runBuild: () => steps.push(`build ${JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf-8')).version}`) > 0,
        updateSnapshot: () => steps.push('snapshot') > 0,
        log: quiet,
      });
      // THEN the tests ran first, the build saw the new version, and both files carry it
      expect(steps).toEqual(['test', 'build 1.2.0', 'snapshot']);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf-8')).version).toBe('1.2.0');
      expect(fs.readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf-8')).toContain('## [1.2.0] - 2026-11-23\n');
    } finally {
      removeDir(dir);
    }
  }, 30_000);
});
