/**
 * The agent's epoch fence: the highest master epoch it has seen, checkpointed in its work dir,
 * and what it drops. Against the real file system; the message handler with recording seams.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { encodeKillTask, encodeReconcileTasks, encodeRunTask, encodeStatusAck } from '../common/agent-messages';
import { EpochCheckpointError, EpochFence, type FencedDrop } from './epoch-fence';
import { masterMessageHandler } from './master-messages';
import { frameworkInfo, taskInfo } from '../test/support/master-harness';
import { recordingLogger } from '../test/support/test-clients';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function workDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'agora-epoch-'));
  dirs.push(d);
  return d;
}

function fence(dir = workDir()) {
  const drops: FencedDrop[] = [];
  const log = recordingLogger();
  return { dir, drops, log, fence: new EpochFence({ workDir: dir, log, onDropped: (d) => drops.push(d) }) };
}

describe('the epoch fence', () => {
  it('takes a newer epoch as the highest, and drops an older one, saying both', () => {
    const { fence: f, drops, log } = fence();
    expect(f.highest).toBe(0);
    expect(f.admit('registration', 5, { masterId: 'm5' })).toBe(true);
    expect(f.highest).toBe(5);
    expect(f.admit('run', 5)).toBe(true);
    expect(f.admit('run', 4, { frameworkId: 'fw-1', taskId: 't1' })).toBe(false);
    expect(f.admit('kill', 6)).toBe(true);
    expect(f.admit('ack', 5)).toBe(false);
    expect(drops).toEqual([{ what: 'run', epoch: 4, highest: 5 }, { what: 'ack', epoch: 5, highest: 6 }]);
    const warned = log.lines.filter((l) => l.level === 'warn');
    expect(warned.map((l) => l.msg)).toEqual(['dropped a run from a deposed master (epoch 4 < 5)', 'dropped an ack from a deposed master (epoch 5 < 6)']);
    expect(warned[0]!.fields).toMatchObject({ frameworkId: 'fw-1', taskId: 't1', epoch: 4, highest: 5 });
  });

  it('takes epoch 0 (a master older than fencing) only while it has never seen an epoch', () => {
    const { fence: f, drops } = fence();
    expect(f.admit('run', 0)).toBe(true);
    expect(f.admit('heartbeat', 0)).toBe(true);
    expect(f.highest).toBe(0);
    expect(f.admit('heartbeat', 1)).toBe(true);
    expect(f.admit('run', 0)).toBe(false);
    expect(drops).toEqual([{ what: 'run', epoch: 0, highest: 1 }]);
  });

  it('keeps the highest epoch across a restart, in meta/epoch.json', () => {
    const first = fence();
    first.fence.admit('registration', 7);
    expect(JSON.parse(readFileSync(join(first.dir, 'meta', 'epoch.json'), 'utf8'))).toEqual({ version: 1, epoch: 7 });
    const again = fence(first.dir);
    expect(again.fence.highest).toBe(7);
    expect(again.fence.admit('run', 6)).toBe(false);
    expect(again.fence.admit('run', 0)).toBe(false);
    expect(again.fence.admit('run', 7)).toBe(true);
  });

  it('refuses to start on a checkpoint it cannot read, naming the file', () => {
    const dir = workDir();
    mkdirSync(join(dir, 'meta'));
    writeFileSync(join(dir, 'meta', 'epoch.json'), '{"version": 1, "epoch": "five"}');
    expect(() => fence(dir)).toThrow(EpochCheckpointError);
    expect(() => fence(dir)).toThrow(`the master epoch checkpoint ${join(dir, 'meta', 'epoch.json')} holds {"version":1,"epoch":"five"}`);
    writeFileSync(join(dir, 'meta', 'epoch.json'), '{not json');
    expect(() => fence(dir)).toThrow(/^cannot read the master epoch checkpoint .*epoch\.json: /);
  });
});

describe('master messages through the fence', () => {
  it('hands on a run, kill, ack or reconcile of the highest epoch, and drops one of an older epoch before it is acted on', () => {
    const { fence: f } = fence();
    f.admit('registration', 5);
    const acted: string[] = [];
    const handle = masterMessageHandler({
      subjects: { run: 'run', kill: 'kill', ack: 'ack', reconcile: 'reconcile' },
      runner: {
        run: (_fw, task) => { acted.push(`run ${task.taskId}`); return Promise.resolve(); },
        kill: (_fw, taskId) => { acted.push(`kill ${taskId}`); },
        acknowledged: () => undefined,
        reconcile: (tasks) => { acted.push(`reconcile ${tasks.map((t) => t.taskId).join()}`); },
      },
      updates: { acknowledge: (_fw, taskId) => { acted.push(`ack ${taskId}`); return 'acknowledged'; } },
      fence: f,
      log: recordingLogger(),
    });
    const run = (taskId: string, epoch: number) => encodeRunTask({ frameworkId: 'fw-1', frameworkInfo: frameworkInfo({ id: 'fw-1' }), task: taskInfo(taskId, 'cpus:1'), epoch });
    handle('run', run('stale', 4));
    handle('kill', encodeKillTask({ frameworkId: 'fw-1', taskId: 'stale', epoch: 4 }));
    handle('ack', encodeStatusAck({ frameworkId: 'fw-1', taskId: 'stale', uuid: 'u', epoch: 3 }));
    handle('reconcile', encodeReconcileTasks([{ frameworkId: 'fw-1', taskId: 'stale' }], 4));
    handle('run', run('fresh', 5));
    handle('kill', encodeKillTask({ frameworkId: 'fw-1', taskId: 'fresh', epoch: 6 }));
    handle('ack', encodeStatusAck({ frameworkId: 'fw-1', taskId: 'fresh', uuid: 'u', epoch: 5 }));
    handle('reconcile', encodeReconcileTasks([{ frameworkId: 'fw-1', taskId: 'fresh' }], 6));
    expect(acted).toEqual(['run fresh', 'kill fresh', 'reconcile fresh']);   // the ack came from epoch 5 after 6 was seen
    expect(f.highest).toBe(6);
  });
});
