import { flag } from './api-routes';

const url = (query: string) => new URL(`http://services/v2/apps/x/tasks/t?${query}`);

describe('Marathon query booleans (Java Boolean.valueOf)', () => {
  it.each(['true', 'True', 'TRUE', 'tRuE'])('%s is true', (v) => {
    expect(flag(url(`scale=${v}`), 'scale')).toBe(true);
  });

  it.each(['false', 'False', '', '1', 'yes', 'on', 'truthy'])("'%s' is false, whatever the default", (v) => {
    expect(flag(url(`scale=${v}`), 'scale', true)).toBe(false);
  });

  it("an absent parameter takes Marathon's default for it (partialUpdate: true, force: false)", () => {
    expect(flag(url(''), 'partialUpdate', true)).toBe(true);
    expect(flag(url(''), 'force')).toBe(false);
  });
});
