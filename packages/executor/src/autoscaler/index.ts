export { reserveSlot, waitForSlot, type SlotTicket, type SlotPool, type SlotAcquisition, type InstanceFleet, type PreparedInstance, type PrepareOptions, type WaitForSlotOptions } from './slot-ticket.js';
export { executorSettings, unsupportedJob, type RunnerIdentity, type UnsupportedJob } from './settings.js';
export { runFleetJob, type FleetJobOptions, type FleetJobResult } from './fleet-job.js';
