// The packaging tests (npm run test:package; root only): build both packages from a
// clean copy, lint them, install the .deb, run, scan, stop and purge it.
module.exports = {
  files: ['dist/test/packaging/*.test.js'],
  workerThreads: false,
  // One test installs and purges the package; nothing else may run beside it.
  concurrency: 1,
  timeout: '10m',
  verbose: true,
  // The tests skip themselves under plain `npm test`, whose ava config does not set this.
  environmentVariables: { SCANLOGD_PACKAGING_TESTS: '1' },
};
