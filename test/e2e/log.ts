import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes one line to stderr at once, prefixed by the test file's name. jest's console holds a
 * file's lines back until the file is done and prints them between its FAIL line and the failure
 * itself; an end-to-end file runs for minutes, so its progress is shown as it happens instead.
 */
export function log(message: string): void {
  const file = expect.getState().testPath;
  fs.writeSync(2, `[${file ? path.basename(file) : 'e2e'}] ${message}\n`);
}

/** Logs the start of each test of the file, and how long it took: the log shows where a slow run spent its time. */
export function logEachTest(): void {
  let started = 0;
  beforeEach(() => {
    started = Date.now();
    log(`start: ${expect.getState().currentTestName}`);
  });
  afterEach(() => log(`ended after ${Math.round((Date.now() - started) / 1000)} s: ${expect.getState().currentTestName}`));
}
