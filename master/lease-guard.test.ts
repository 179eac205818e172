/**
 * A master elected under a lease asks it before every call and every allocation: one whose lease
 * ran out (a leader woken from a pause, say) offers nothing and refuses calls, before anything
 * tells it it was deposed.
 */
import { FakeClock, seededRandom } from '../common/clock';
import { parse } from '../common/resources';
import { resolveConfig } from './config';
import { Master } from './master';
import { OfferLog } from './offer-log';
import { frameworkInfo, RecordingAgents, RecordingStream } from '../test/support/master-harness';

it('offers nothing, refuses calls UNAVAILABLE and says it is not elected once its lease no longer holds', async () => {
  const clock = new FakeClock();
  let held = true;
  const lease = { check: () => { if (!held) throw new Error('lease expired'); return 3; } };
  const master = new Master({ config: resolveConfig({ clock, random: seededRandom(1), epoch: 3 }), agentPort: new RecordingAgents(), offerLog: new OfferLog(10), lease });
  master.start();
  await master.registerAgent({ agentInfo: { id: '', hostname: 'h', resources: parse('cpus:2;mem:512'), attributes: {}, port: 5051 }, tasks: [], version: 't' });
  const stream = new RecordingStream();
  const fw = master.subscribe(frameworkInfo(), stream);
  clock.advance(0);
  expect(stream.offers()).toHaveLength(1);
  expect(master.metrics()).toMatchObject({ elected: true, epoch: 3 });
  master.decline({ ...fw, offerIds: [stream.lastOffer().id], filters: { refuseMs: 0 } });

  held = false;
  clock.advance(5000);
  expect(stream.offers()).toHaveLength(1);   // no allocation without the lease
  expect(() => master.revive({ ...fw, roles: [] })).toThrow(/epoch 3\) no longer holds its lease/);
  expect(master.metrics()).toMatchObject({ elected: false, epoch: 3 });   // a scrape tells it no longer leads
  master.stop();
});
