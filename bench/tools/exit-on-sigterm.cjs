// For bench/tools/profile-real.mjs: a fixture that would outlive SIGTERM (hello.js leaks an
// interval on purpose) exits normally shortly after it, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => setTimeout(() => process.exit(0), 200));
