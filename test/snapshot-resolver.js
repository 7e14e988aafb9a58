// Snapshots live in the top-level __snapshots__/ folder, named after the test file's path below test/.
const path = require('path');

const root = path.resolve(__dirname, '..');
const snapshotDir = path.join(root, '__snapshots__');
const testDir = path.join(root, 'test');

module.exports = {
  resolveSnapshotPath: (testPath, extension) =>
    path.join(snapshotDir, path.relative(testDir, testPath).split(path.sep).join('__') + extension),
  resolveTestPath: (snapshotPath, extension) => path.join(testDir, path.basename(snapshotPath, extension).split('__').join(path.sep)),
  testPathForConsistencyCheck: path.join(testDir, 'construct', 'example.test.ts'),
};
