import { jsonLine, logger } from './log';

describe('AGORA_LOG_FORMAT=json', () => {
  const saved = { ...process.env };
  let lines: string[];
  let restore: () => void;
  beforeEach(() => {
    lines = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => { lines.push(String(chunk)); return true; }) as typeof process.stderr.write;
    restore = () => { process.stderr.write = write; };
    process.env.AGORA_LOG = 'debug';
  });
  afterEach(() => {
    restore();
    process.env = { ...saved };
  });

  it('writes each event as one JSON object on its own line, fields alongside, errors as their message', () => {
    process.env.AGORA_LOG_FORMAT = 'json';
    logger('master').child('nats').warn('agent refused', { agentId: 'a-1', n: 3, err: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: 'warn', component: 'master/nats', msg: 'agent refused',
      agentId: 'a-1', n: 3, err: { error: 'boom' },
    });
  });

  it("keeps a field named like the event's own keys under `fields`, never overwriting them", () => {
    expect(JSON.parse(jsonLine('t', 'info', 'c', 'm', { level: 'fake', msg: 'x', other: 1 }))).toEqual({
      time: 't', level: 'info', component: 'c', msg: 'm', other: 1, fields: { level: 'fake', msg: 'x' },
    });
  });

  it('without it, the plain line as before', () => {
    delete process.env.AGORA_LOG_FORMAT;
    logger('agent').info('started', { port: 5051 });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  agent: started \{"port":5051\}\n$/);
  });
});
