// Ends a jest run with one plain line that CI reads: "jest: N passed, N failed, N skipped".
// A test file that could not run (a compile error, a throw outside any test) counts as one failure.
// Printed at process exit, so it comes after jest's own summary, which jest always adds last.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once('exit', () => process.stdout.write(line));
  }
}

module.exports = SummaryReporter;
