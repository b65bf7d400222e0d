// For bench/startup-instructions.mjs: required after the preload, it ends the fixture the moment
// it prints "listening", before any later tick runs, and first writes to stderr the heap in use
// (with no GC during the run, that is every byte allocated until then).
'use strict';
const write = process.stdout.write;
process.stdout.write = function (chunk) {
  if (String(chunk).startsWith('listening')) {
    require('fs').writeSync(2, `heap-used ${require('v8').getHeapStatistics().used_heap_size}\n`);
    process.reallyExit(0);
  }
  return write.apply(this, arguments);
};
