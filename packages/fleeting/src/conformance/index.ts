export { runConformance, type ConformanceOptions, type ConformanceReport, type CheckResult } from './suite.js';
export { sshProbe, type ProbeResult } from './ssh-probe.js';
