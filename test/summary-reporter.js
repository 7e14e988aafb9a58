// Prints the run's totals as one last line, "N passed, N failed", and appends them to
// .ci/results.jsonl, where scripts/test.js adds up its runs. A failed test is also named in a few
// lines (file, test, the start of its message) as soon as its file is done and again before the
// totals, so that a long log's failure can be found without jest's full report.
'use strict';
const fs = require('fs');
const path = require('path');

const MESSAGE_LINES = 14;

/** "path/of.test.ts › describe › test: first lines of the message", without colours or stack. */
function describeFailure(rootDir, file, title, message) {
  const lines = String(message)
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
  return [`✕ ${path.relative(rootDir, file)} › ${title}`, ...lines.slice(0, MESSAGE_LINES).map((l) => `    ${l.trim()}`)].join('\n');
}

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.failures = [];
  }

  onTestResult(_test, result) {
    const found = [];
    for (const t of result.testResults) {
      if (t.status === 'failed') found.push(describeFailure(this.rootDir, result.testFilePath, t.fullName, t.failureMessages.join('\n')));
    }
    // failed outside its tests: it did not compile or load, or a hook (afterAll) threw
    if (found.length === 0 && (result.testExecError || result.failureMessage)) {
      found.push(describeFailure(this.rootDir, result.testFilePath, '(outside its tests)', result.failureMessage || result.testExecError.message));
    }
    if (found.length === 0) return;
    this.failures.push(...found);
    process.stdout.write(`\n${found.join('\n')}\n`);
  }

  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    // A test file that could not run counts as a failure too.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const file = path.resolve(__dirname, '..', '.ci', 'results.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${JSON.stringify({ passed, failed, skipped, failures: this.failures })}\n`);
    if (this.failures.length > 0) process.stdout.write(`\nFailed:\n${this.failures.join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
