/**
 * Offers → launches: which waiting instances go on which offer, and, for every app that
 * still waits, why each offer it saw would not do (the answer `/v2/queue` gives to "why is
 * my app not starting?"). Pure: ids come from `newInstanceId`, time from `now`.
 *
 * Apps are served in the order given (deployments first, the framework decides); each takes
 * from the offers what fits, one instance at a time, with the constraints checked against
 * where its instances run, counting the ones placed in this same round.
 */
import { subtract, type Resources } from '../../common/resources';
import type { Offer, TaskInfo } from '../../common/types';
import { checkConstraints, type Placement } from './constraints';
import { taskFor, type RefusalKind } from './launch';
import type { AppRecord, InstanceRecord } from './model';

export interface Want {
  rec: AppRecord;
  count: number;
  /** Where the app's instances run now. */
  placed: Placement[];
}

export interface Refusal {
  offerId: string;
  agentId: string;
  hostname: string;
  /** What the offer held when it was refused. */
  resources: Resources;
  attributes: Record<string, string>;
  kind: RefusalKind;
  reason: string;
}

export interface PlacementResult {
  /** Per offer id: the tasks to launch with it, and the instance record of each. */
  launches: Map<string, { task: TaskInfo; instance: InstanceRecord }[]>;
  /** Per app id: why the offers it could not use were refused (one per offer). */
  refusals: Map<string, Refusal[]>;
}

export function placeOffers(offers: readonly Offer[], wants: readonly Want[], newInstanceId: () => string, now: number): PlacementResult {
  const left = new Map(offers.map((o) => [o.id, o]));
  const launches = new Map<string, { task: TaskInfo; instance: InstanceRecord }[]>();
  const refusals = new Map<string, Refusal[]>();
  let spare: string | undefined;   // an id drawn for a launch that did not fit, used for the next
  for (const want of wants) {
    const { app } = want.rec;
    const placed = [...want.placed];
    let count = want.count;
    const refused: Refusal[] = [];
    for (const original of offers) {
      if (count === 0) break;
      let offer = left.get(original.id) as Offer;
      for (;;) {
        if (count === 0) break;
        const at: Placement = { hostname: offer.hostname, attributes: offer.attributes };
        const verdict = checkConstraints(app.constraints, at, placed);
        if (!verdict.ok) {
          refused.push(refusal(offer, 'UnfulfilledConstraint', verdict.reason));
          break;
        }
        const instanceId = spare ?? newInstanceId();
        spare = undefined;
        const launch = taskFor(app, want.rec.version, offer, instanceId);
        if (!launch.ok) {
          spare = instanceId;
          refused.push(refusal(offer, launch.kind, launch.reason));
          break;
        }
        const instance: InstanceRecord = {
          instanceId: launch.task.taskId, taskId: launch.task.taskId, appId: app.id, configVersion: want.rec.configVersion, version: want.rec.version,
          agentId: offer.agentId, hostname: offer.hostname, attributes: { ...offer.attributes }, hostPorts: launch.hostPorts,
          state: 'STAGING', stagedAt: now,
        };
        const list = launches.get(offer.id) ?? [];
        list.push({ task: launch.task, instance });
        launches.set(offer.id, list);
        placed.push(at);
        offer = { ...offer, resources: subtract(offer.resources, launch.task.resources) };
        left.set(offer.id, offer);
        count--;
      }
    }
    if (count > 0 && refused.length > 0) refusals.set(app.id, refused);
  }
  return { launches, refusals };
}

function refusal(offer: Offer, kind: RefusalKind, reason: string): Refusal {
  return { offerId: offer.id, agentId: offer.agentId, hostname: offer.hostname, resources: offer.resources, attributes: offer.attributes, kind, reason };
}
