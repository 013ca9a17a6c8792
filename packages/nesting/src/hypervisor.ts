/** A VM as the API reports it: `addr` is host:port of its SSH server as seen from the daemon's host. */
export interface VirtualMachine {
  id: string;
  name: string;
  addr: string;
}

/** What a hypervisor reports after Init. */
export interface HypervisorInfo {
  /** Number of slots: Create takes slots 0 … slots-1. */
  slots: number;
}

/**
 * What the daemon drives: one implementation per hypervisor (`qemu`, `tart`). The server (see {@link serve}) owns
 * the Init state and the slots; a hypervisor only creates, lists and deletes VMs. Errors that are the caller's
 * fault are thrown as {@link NestingStatus} (see `invalidArgument`, `notFound`, `deadlineExceeded`).
 */
export interface Hypervisor {
  /** The name `serve -hypervisor` takes. */
  readonly name: string;
  /** Applies the Init configuration (the JSON object of InitRequest.config; `{}` when empty). */
  init(config: Record<string, unknown>, signal: AbortSignal): Promise<HypervisorInfo>;
  /** Deletes every VM; the server forgets the configuration afterwards. */
  shutdown(signal: AbortSignal): Promise<void>;
  /** Creates and starts a VM from `image`; resolves once it has an address. Nothing stays running on failure. */
  create(image: string, signal: AbortSignal): Promise<VirtualMachine>;
  /** Deletes a VM; a `notFound` status when it is unknown. */
  delete(id: string, signal: AbortSignal): Promise<void>;
  /** The VMs that exist now (a VM whose process died is not listed). */
  list(signal: AbortSignal): Promise<VirtualMachine[]>;
  /** Called when the daemon stops: delete every VM. */
  close(): Promise<void>;
}
