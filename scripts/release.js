#!/usr/bin/env node
// npm run release -- <version>
//
// Refuses (exit status 1, one line saying why) unless:
//   - <version> is semver (MAJOR.MINOR.PATCH, optional -prerelease and +build) and not below the
//     current package.json version;
//   - CHANGELOG.md has a non-empty "## [<version>]" entry;
//   - `npm test` passes with CI=true (so snapshots that no longer match fail instead of being rewritten).
// Then stamps the version into package.json and package-lock.json (npm version), dates the
// CHANGELOG entry ("## [<version>] - Unreleased" becomes "## [<version>] - YYYY-MM-DD", UTC), runs
// the build, whose README carries the version, and rewrites the snapshot of the published files
// (test/release/published-files.test.ts), in which only the version and the date can have changed
// since the tests passed. Committing, tagging and publishing stay manual.
'use strict';
const fs = require('fs');
const path = require('path');
const semver = require('semver');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const CHANGELOG = 'CHANGELOG.md';

// From semver.org (2.0.0), the suggested regular expression.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

class ReleaseRefused extends Error {}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Why `version` cannot be released, or undefined. */
function versionProblem(version) {
  if (typeof version !== 'string' || version === '') return 'no version given: npm run release -- <MAJOR.MINOR.PATCH>';
  if (/^v\d/.test(version) && SEMVER.test(version.slice(1)))
    return `version ${version} is not semver: write ${version.slice(1)} (the git tag gets the v)`;
  if (!SEMVER.test(version))
    return `version ${JSON.stringify(version)} is not semver: expected MAJOR.MINOR.PATCH with optional -prerelease and +build, e.g. 1.2.0 or 1.2.0-rc.1`;
  return undefined;
}

/** Semver precedence of two valid versions, build metadata ignored; prerelease identifiers compared as a whole string. */
function compareVersions(a, b) {
  // npm's own semver: precedence by semver 2.0.0 section 11 (numeric identifiers compared as numbers).
  return semver.compare(a, b);
}

/** The "## [version]" entry of a Keep a Changelog file: its heading and body, or undefined. */
function changelogEntry(changelog, version) {
  const lines = changelog.split('\n');
  const heading = new RegExp(`^## \\[${escapeRegExp(version)}\\](\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) return undefined;
  const next = lines.findIndex((line, index) => index > start && /^## /.test(line));
  return {
    heading: lines[start],
    body: lines
      .slice(start + 1, next < 0 ? lines.length : next)
      .join('\n')
      .trim(),
  };
}

/** Why the CHANGELOG does not allow releasing `version`, or undefined. */
function changelogProblem(changelog, version) {
  const entry = changelogEntry(changelog, version);
  if (!entry) {
    const hint = /^## \[Unreleased\]/m.test(changelog) ? ` (rename "## [Unreleased]" to "## [${version}] - Unreleased")` : '';
    return `${CHANGELOG} has no "## [${version}]" entry${hint}: describe the release there first`;
  }
  if (entry.body === '') return `the "## [${version}]" entry of ${CHANGELOG} is empty: say what changed`;
  return undefined;
}

/** The CHANGELOG with the entry's "Unreleased" (or missing date) replaced by `date`; a dated entry stays. */
function datedChangelog(changelog, version, date) {
  const heading = new RegExp(`^## \\[${escapeRegExp(version)}\\](?: - Unreleased)?[ \\t]*$`, 'm');
  return changelog.replace(heading, `## [${version}] - ${date}`);
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  return result.status === 0;
}

/**
 * Checks, tests, stamps and builds. Throws ReleaseRefused before changing anything when a check
 * or the tests fail. `runTests`, `runBuild`, `updateSnapshot`, `date` and `root` can be replaced (tests do).
 */
function release(version, options = {}) {
  const root = options.root ?? ROOT;
  const log = options.log ?? ((line) => console.log(`release: ${line}`));
  const runTests = options.runTests ?? (() => run('npm', ['test'], { cwd: root, env: { ...process.env, CI: 'true' } }));
  const runBuild = options.runBuild ?? (() => run('npm', ['run', 'build'], { cwd: root }));
  const updateSnapshot =
    options.updateSnapshot ??
    (() => run('npx', ['jest', '--ci=false', '--updateSnapshot', 'test/release/published-files.test.ts'], { cwd: root }));
  const date = options.date ?? new Date().toISOString().slice(0, 10);

  const problem = versionProblem(version);
  if (problem) throw new ReleaseRefused(problem);
  const packagePath = path.join(root, 'package.json');
  const current = JSON.parse(fs.readFileSync(packagePath, 'utf-8')).version;
  if (compareVersions(version, current) < 0) throw new ReleaseRefused(`version ${version} is below the current version ${current}`);
  const changelogPath = path.join(root, CHANGELOG);
  const changelog = fs.readFileSync(changelogPath, 'utf-8');
  const changelogIssue = changelogProblem(changelog, version);
  if (changelogIssue) throw new ReleaseRefused(changelogIssue);

  log('running the tests (npm test, CI=true)');
  if (!runTests()) throw new ReleaseRefused('the tests failed (npm test with CI=true); nothing was changed');

  log(`stamping ${version}`);
  if (version !== current && !run('npm', ['version', version, '--no-git-tag-version'], { cwd: root, stdio: 'ignore' })) {
    throw new Error(`npm version ${version} failed`);
  }
  fs.writeFileSync(changelogPath, datedChangelog(changelog, version, date));

  log('building');
  if (!runBuild()) throw new Error('the build failed after the version was stamped: fix it and run npm run build');
  log('updating the snapshot of the published files');
  if (!updateSnapshot())
    throw new Error('updating the snapshot of the published files failed: run npx jest -u test/release/published-files.test.ts');
  log(
    `${version} is ready: commit package.json, package-lock.json, ${CHANGELOG} and __snapshots__/release__published-files.test.ts.snap, ` +
      `tag v${version}, and publish dist/terraform-aws-ssh-bastion-service with the same tag`,
  );
}

module.exports = { release, versionProblem, changelogProblem, changelogEntry, datedChangelog, compareVersions, ReleaseRefused };

if (require.main === module) {
  try {
    release(process.argv[2]);
  } catch (error) {
    console.error(`release: ${error instanceof ReleaseRefused ? 'refused: ' : ''}${error.message}`);
    process.exit(1);
  }
}
