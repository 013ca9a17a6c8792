import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { pluginCall, type Context } from './context.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * The part of shutdown after scaling has stopped: delete every instance (with `delete_instances_on_shutdown`),
 * or run one last update so that instances still being created get ids and are saved rather than found unknown
 * (and deleted) at the next start; then save the state and shut the group down. Every instance ends either
 * deleted or in the state file.
 */
export async function runShutdown(ctx: Context, lifecycle: Lifecycle, signal: AbortSignal | undefined): Promise<void> {
  const { config, fleet, logger } = ctx;
  try {
    if (config.deleteInstancesOnShutdown) await deleteAll(ctx, lifecycle, signal);
    else if (ctx.persister.enabled) await update(ctx, lifecycle, signal);
  } catch (err) {
    logger.warn('shutdown: instance clean-up stopped early', { err: toRunnerError(err).message });
  }
  if (!(await ctx.persister.flush())) logger.error('shutdown: the final state could not be saved');
  try {
    await pluginCall(ctx, config.pluginCallTimeoutMs, 'shutting down instance group', [signal], (s) => ctx.group.shutdown({ signal: s }));
  } catch (err) {
    logger.warn('shutdown: instance group shutdown failed', { err: toRunnerError(err).message });
  }
  logger.info('taskscaler stopped', { instancesLeft: fleet.byId.size, deleteOnShutdown: config.deleteInstancesOnShutdown });
}

async function update(ctx: Context, lifecycle: Lifecycle, signal: AbortSignal | undefined): Promise<void> {
  const statuses = await pluginCall(ctx, ctx.config.pluginCallTimeoutMs, 'updating instances', [signal], (s) => ctx.group.update({ signal: s }));
  lifecycle.reconcile(statuses);
}

function markAll(ctx: Context, lifecycle: Lifecycle): void {
  for (const r of ctx.fleet.byId.values()) {
    const holders = ctx.fleet.evict(r);
    for (const h of holders) h.lose(new RunnerError('aborted', `instance ${r.id} is deleted at shutdown`));
    lifecycle.markRemoving(r, 'shutdown', `removing instance ${r.id}: shutdown`);
  }
}

async function deleteAll(ctx: Context, lifecycle: Lifecycle, signal: AbortSignal | undefined): Promise<void> {
  const { fleet, config, clock, logger } = ctx;
  markAll(ctx, lifecycle);
  for (let attempt = 0; attempt < config.shutdownDeletionRetries; attempt++) {
    await lifecycle.issueDecreases(signal, 0);
    await clock.sleep(config.shutdownDeletionIntervalMs, { signal });
    try {
      await update(ctx, lifecycle, signal);
    } catch (err) {
      // A plugin being restarted may be back for the next attempt; anything else ends the clean-up.
      if (!ctx.plugin.failed(err)) throw err;
      continue;
    }
    // Requested instances that showed up late are deleted too.
    markAll(ctx, lifecycle);
    if (fleet.byId.size === 0 && fleet.requested === 0) return;
  }
  logger.warn('shutdown: instances not confirmed deleted; they stay in the state file', { ids: [...fleet.byId.keys()] });
}
