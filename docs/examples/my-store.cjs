// A store module for the command line: npx session-stores-conformance docs/examples/my-store.cjs --http
const session = require('express-session');

/** Called once per case with { namespace, ttl, touchAfter, disableTouch }; returns the store to test. */
module.exports.createStore = async function createStore(options) {
  return new session.MemoryStore();
};

/** The options the factory honours; cases needing another one are skipped. MemoryStore takes none. */
module.exports.supports = { namespaces: true };

/** Runs once after the last case: close what the factory shared between stores. */
module.exports.teardown = async function teardown() {};
