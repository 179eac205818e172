/**
 * The chaos run, short: the whole cluster (3 NATS nodes, Redis, 3 HA masters, 2 process agents and a Docker one,
 * services and jobs) under load, one fault of each enabled kind in a seeded order — the leader
 * SIGKILLed, the leader frozen past its lease, a NATS node killed, all NATS restarted, Redis
 * restarted, Redis SIGKILLed, an agent killed, the Docker engine restarted, a framework leader killed — each healed and the cluster steady again before the next. Then
 * every rule of checkers.ts holds over the history: no task started twice, no acknowledged
 * update lost, each job run once, epochs only up, one leader per epoch, deposed leaders gone, apps at capacity.
 * `npm run chaos` is the long version (100 faults).
 */
import { rmSync } from 'fs';
import { NEMESES } from './nemesis';
import { runChaos } from './run';

jest.setTimeout(240_000);

it('survives one fault of each kind with no violation of any rule', async () => {
  const kinds = NEMESES.filter((n) => n.enabled).map((n) => n.kind);
  const { report, text, runDir } = await runChaos({ faults: kinds.length, seed: 20261204, warmupMs: 1500, gapMs: [300, 600] });
  // The report, with what broke, is the message when an expectation fails.
  expect({ stuck: report.stuck, failed: report.faultsFailed, violations: report.violations.map((v) => `[${v.rule}] ${v.message}`), text })
    .toEqual({ stuck: [], failed: [], violations: [], text });
  expect(Object.keys(report.faultsByKind).sort()).toEqual([...kinds].sort());
  // Work really went through the faults: tasks started, the SDK framework saw a newer epoch's offers after each leader fault.
  expect(report.tasksStarted).toBeGreaterThan(0);
  // Both kinds of agent ran work: Docker tasks too, through an engine restart.
  expect({ docker: report.tasksStartedIn.docker > 0, process: report.tasksStartedIn.process > 0 }).toEqual({ docker: true, process: true });
  expect({ launched: report.ops.launch!.ok > 0, apps: report.ops['app-create']!.ok > 0, runs: report.ops['job-run']!.ok > 0 }).toEqual({ launched: true, apps: true, runs: true });
  expect(report.failovers.map((f) => f.offerMs !== null)).toEqual(report.failovers.map(() => true));
  rmSync(runDir, { recursive: true, force: true });
});
