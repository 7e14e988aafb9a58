// The order of the end-to-end files: by path, the same on every machine. Jest's own order depends
// on its cache of earlier runs (failed files first, then the slowest), so a fresh machine and a
// used one would run them in different orders.
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

class PathOrderSequencer extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

module.exports = PathOrderSequencer;
