/**
 * Records every unhandled rejection and uncaught exception from now until `stop()`, so a test can
 * assert that a fault caused none.
 */
export function recordProcessErrors(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const record = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    seen,
    stop() {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
  };
}
