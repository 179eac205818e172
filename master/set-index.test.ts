import { SetIndex } from './set-index';

describe('SetIndex', () => {
  it('files ids under keys and answers an unknown key with an empty set', () => {
    const index = new SetIndex();
    index.add('fw-1', 'offer-a');
    index.add('fw-1', 'offer-b');
    index.add('fw-2', 'offer-c');
    expect([...index.get('fw-1')]).toEqual(['offer-a', 'offer-b']);
    expect([...index.get('fw-2')]).toEqual(['offer-c']);
    expect(index.get('fw-3').size).toBe(0);
  });

  it('drops a key once its last id is gone, so frameworks that came and went leave nothing behind', () => {
    const index = new SetIndex();
    for (let i = 0; i < 100; i++) {
      index.add(`fw-${i}`, `task-${i}`);
      index.delete(`fw-${i}`, `task-${i}`);
    }
    index.add('fw-live', 'task-x');
    index.delete('fw-live', 'task-y');
    index.delete('fw-unknown', 'task-z');
    expect(index.keys).toBe(1);
    expect([...index.get('fw-live')]).toEqual(['task-x']);
  });
});
