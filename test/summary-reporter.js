// Names each failed test in a few lines (file, test, the start of its message) as soon as its file
// is done, ahead of jest's own report of that file, and again at the end of the run; appends the
// run's totals and failures to .ci/results.jsonl, where scripts/test.js adds up its runs and prints
// the one last line "N passed, N failed, N skipped".
//
// It writes to stderr's file descriptor directly: jest's default reporter holds back what goes
// through process.stdout/stderr and prints it after its own report, where a long report (a
// file's console output) would push it far from the file's FAIL line.
'use strict';
const fs = require('fs');
const path = require('path');

// The first failure of a file gets this many lines of its message, each further one a few: the
// whole block stays within a screenful right above the file's FAIL line.
const FIRST_MESSAGE_LINES = 14;
const FURTHER_MESSAGE_LINES = 2;

/** "✕ path/of.test.ts › describe › test" and the first lines of the message, without colours or stack. */
function describeFailure(rootDir, file, title, message, lines) {
  const text = String(message)
    // eslint-disable-next-line no-control-regex -- ESC (\u001b) starts the colour codes of jest's messages
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
  return [`✕ ${path.relative(rootDir, file)} › ${title}`, ...text.slice(0, lines).map((l) => `    ${l.trim()}`)].join('\n');
}

function write(text) {
  fs.writeSync(2, text);
}

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.failures = [];
  }

  onTestResult(_test, result) {
    const failed = result.testResults.filter((t) => t.status === 'failed');
    const found = failed.map((t, i) =>
      describeFailure(
        this.rootDir,
        result.testFilePath,
        t.fullName,
        t.failureMessages.join('\n'),
        i === 0 ? FIRST_MESSAGE_LINES : FURTHER_MESSAGE_LINES,
      ),
    );
    // failed outside its tests: it did not compile or load, or a hook (afterAll) threw
    if (found.length === 0 && (result.testExecError || result.failureMessage)) {
      const message = result.testExecError ? result.testExecError.message : result.failureMessage;
      found.push(describeFailure(this.rootDir, result.testFilePath, '(outside its tests)', message, FIRST_MESSAGE_LINES));
    }
    if (found.length === 0) return;
    this.failures.push(...found);
    write(`\n${found.join('\n')}\n`);
  }

  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    // A test file that could not run counts as a failure too.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const file = path.resolve(__dirname, '..', '.ci', 'results.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${JSON.stringify({ passed, failed, skipped, failures: this.failures })}\n`);
    if (this.failures.length > 0) write(`\nFailed:\n${this.failures.join('\n')}\n`);
  }
}

module.exports = SummaryReporter;
