/**
 * Where a framework subscribes, and where it subscribes again. Given the masters' HTTP
 * addresses (`m1:5050,m2:5050,m3:5050`), the leader's gRPC address is read through the first
 * master that answers (a standby sends the question on to the leader); and each master's own
 * gRPC address is read from its `/health`, so that after a failover the SDK finds the new
 * leader among them even when the master it was first given is gone.
 *
 * The reconnect addresses: the one subscribed to, then `reconnect.grpcAddresses`, then each
 * master's as it is learned. A master that did not answer is asked again each time the SDK
 * looks for an address to subscribe to (one round of questions at a time), so a master that
 * was down when the framework started is found once it is back.
 */
import { getJson, type MasterAddress } from '../../common/operator-client';
import type { MasterEndpoint } from '../../common/master-list';

/** How long one master's `/health` may take: a master that slow is no help to reconnect to. */
const HEALTH_TIMEOUT_MS = 5_000;

export class GrpcTargets {
  private readonly addresses: string[] = [];
  /** The masters whose gRPC address is not known yet. */
  private unheard: MasterEndpoint[];
  private asking: Promise<void> | undefined;

  constructor(first: readonly string[], private readonly masters?: MasterAddress) {
    first.forEach((a) => this.add(a));
    this.unheard = [...(masters?.endpoints ?? [])];
    void this.learn();
  }

  /** The address for reconnect attempt `attempt` (from 0): the known ones in turn. Asks the unheard masters again for the next. */
  at(attempt: number): string {
    void this.learn();
    return this.addresses[attempt % this.addresses.length] as string;
  }

  /**
   * Asks each master not heard from yet for its gRPC address (its host as named, the port its
   * `/health` reports); resolves once each has answered or failed. Never rejects: a master
   * that cannot be asked now is asked again later.
   */
  learn(): Promise<void> {
    if (this.asking || !this.masters || this.unheard.length === 0) return this.asking ?? Promise.resolve();
    const masters = this.masters;
    const asked = this.unheard;
    this.asking = Promise.all(asked.map(async (endpoint) => {
      const health = await getJson<{ grpcPort?: unknown }>({ ...endpoint, endpoints: [endpoint], ...(masters.identity ? { identity: masters.identity } : {}) }, '/health', HEALTH_TIMEOUT_MS)
        .catch(() => undefined);
      const port = health?.grpcPort;
      if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) return;
      this.add(`${endpoint.host}:${port}`);
      this.unheard = this.unheard.filter((e) => e !== endpoint);
    })).then(() => { this.asking = undefined; });
    return this.asking;
  }

  private add(address: string): void {
    if (!this.addresses.includes(address)) this.addresses.push(address);
  }
}
