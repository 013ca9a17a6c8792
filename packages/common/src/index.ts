export { RunnerError, toRunnerError, hasCode, type ErrorCode } from './errors.js';
export { systemClock, FakeClock, flushMicrotasks, type Clock, type Timer } from './clock.js';
export {
  createLogger,
  nullLogger,
  textSink,
  jsonSink,
  memorySink,
  isLogLevel,
  type Logger,
  type LogLevel,
  type LogFields,
  type LogEntry,
  type LogSink,
  type LoggerOptions,
} from './logger.js';
export { throwIfAborted, abortError, raceAbort, linkSignals, deferred, type Deferred } from './abort.js';
export { Limiter, mapSettled } from './limiter.js';
export { Backoff } from './backoff.js';
export { parseGoDuration, tryParseGoDuration, formatGoDuration } from './go-duration.js';
export { parseGoBool } from './go-bool.js';
export { expandGo, isGoSpecialVarName } from './go-expand.js';
export { parseHostPort, splitHostPort, type HostPort } from './host-port.js';
export { writeFileAtomic, openAtomicWrite, type AtomicWrite, type AtomicWriteOptions } from './atomic-write.js';
export { retryWithBackoff, type RetryOptions, type RetryVerdict } from './retry.js';
