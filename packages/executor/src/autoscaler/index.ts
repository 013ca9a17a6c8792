export { reserveSlot, waitForSlot, type SlotTicket, type SlotPool, type SlotAcquisition, type InstanceFleet, type PreparedInstance, type PrepareOptions, type WaitForSlotOptions } from './slot-ticket.js';
export { executorSettings, unsupportedJob, type RunnerIdentity, type UnsupportedJob } from './settings.js';
export { runFleetJob, type FleetJobOptions, type FleetJobResult } from './fleet-job.js';
export { startFleet, type Fleet, type FleetOptions } from './fleet.js';
export { FleetPool, fleetFactory, keyForLog, type FleetFactory } from './fleet-pool.js';
export { resolvePluginPath, pluginName, installHint, type PluginLookupOptions } from './plugin-lookup.js';
export { LowestFree } from './concurrent-ids.js';
export { enterVm, nestingImage, removeLeftoverVms, connectorSettingsOf, VM_CLEANUP_TIMEOUT_MS, type NestedVm, type ThroughConnector } from './vm-isolation.js';
