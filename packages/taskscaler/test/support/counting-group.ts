import type { Logger } from '@fleetrunner/common';
import type { CallOptions, ConnectInfo, DecreaseResult, IncreaseResult, InitSettings, InstanceGroup, InstanceStatus, ProviderInfo } from '@fleetrunner/fleeting';

/** Wraps any InstanceGroup (a plugin process, too) and records the calls that change the fleet. */
export class CountingGroup implements InstanceGroup {
  readonly increases: number[] = [];
  readonly decreases: string[][] = [];

  constructor(readonly inner: InstanceGroup) {}

  init(settings: InitSettings, options?: CallOptions & { logger?: Logger }): Promise<ProviderInfo> {
    return this.inner.init(settings, options);
  }
  update(options?: CallOptions): Promise<InstanceStatus[]> {
    return this.inner.update(options);
  }
  increase(delta: number, options?: CallOptions): Promise<IncreaseResult> {
    this.increases.push(delta);
    return this.inner.increase(delta, options);
  }
  decrease(ids: readonly string[], options?: CallOptions): Promise<DecreaseResult> {
    this.decreases.push([...ids]);
    return this.inner.decrease(ids, options);
  }
  connectInfo(id: string, options?: CallOptions): Promise<ConnectInfo> {
    return this.inner.connectInfo(id, options);
  }
  heartbeat(id: string, options?: CallOptions): Promise<void> {
    return this.inner.heartbeat(id, options);
  }
  shutdown(options?: CallOptions): Promise<void> {
    return this.inner.shutdown(options);
  }
}
